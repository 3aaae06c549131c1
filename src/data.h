/* data: training batches generated on the fly, and the held-out evaluation sets.
 *
 * A Batch holds B rows of T positions, inputs and next-token targets side by side:
 *   tokens[b,t]   input id (PAD after the row's end)
 *   targets[b,t]  the id to predict at t (the example's token t+1)
 *   weights[b,t]  loss weight: the task's loss mask at t times its loss_weight (0 on padding)
 *   digit_index   the input token's digit place (Abacus)
 *   pos_task      which task position t belongs to (-1 on padding), for per-task losses
 * Unpacked rows are one example each, right-padded to the longest row of the batch. Packed
 * rows (train.pack) concatenate examples into rows of pack_len tokens starting at a random
 * shift into the first example; loss falls only on examples wholly inside the row.
 *
 * The stream draws the task (by sample weight), the length (uniform over the train range, or
 * a curriculum whose top grows over curriculum_steps) and the example from one Rng, whose
 * state is the stream's whole position: a checkpoint saves it and resume continues exactly.
 * Examples whose prompt is in the held-out set are drawn again (up to a bound, for tasks whose
 * space is too small to avoid them). data_next makes no heap allocation.
 *
 * The held-out set of (task, length) is the first n examples of an Rng seeded from the run
 * seed, the task index and the length: every evaluation sees the same examples.
 */
#ifndef LENGEN_DATA_H
#define LENGEN_DATA_H

#include "config.h"
#include "rng.h"
#include "tasks/task.h"

typedef struct Batch {
    int B, T;                 /* rows, positions per row in use */
    int cap_T;                /* positions per row allocated */
    int *tokens, *targets, *digit_index, *pos_task;   /* [B * cap_T], row stride cap_T... */
    float *weights;           /* ...but filled densely as [B, T] for the model */
    long n_tokens;            /* non-padding positions */
} Batch;

void batch_init(Batch *b, int B, int cap_T);
void batch_free(Batch *b);

typedef struct DataStream {
    const Config *cfg;
    Task **tasks;
    int n_tasks;
    double cum_weight[CFG_MAX_TASKS];  /* cumulative sample weights, last = total */
    Rng rng;                           /* the stream's position */
    uint64_t *excluded;                /* open-addressing set of held-out prompt hashes */
    size_t excluded_cap;
    int ex_cap;
    TaskExample ex;                    /* scratch example */
    long redrawn;                      /* training draws that hit the held-out set */
} DataStream;

/* Sets up the stream for cfg's train section over tasks, seeded from the run seed, and
 * collects the prompts of every held-out set (all eval lengths legal for each task) to keep
 * them out of training. Returns 0 or -1 with err. */
int data_init(DataStream *d, const Config *cfg, Task **tasks, int n_tasks, LgErr *err);
void data_free(DataStream *d);

/* The next training batch (rows = train.batch_size) for optimizer step `step` (the curriculum
 * reads it). b must come from batch_init with cap_T >= data_max_T(d). Returns 0 or -1. */
int data_next(DataStream *d, int step, Batch *b, LgErr *err);
/* The longest row data_next can produce. */
int data_max_T(const DataStream *d);
/* Tokens of the longest training example of task t: at its longest legal length up to
 * [train] max_length (a row of input positions is one shorter). */
int data_train_tokens(const TrainConfig *tr, const Task *t);

/* The held-out example i of (task, length): regenerates the same example every call (it
 * replays the set's Rng from the start, so call it with i = 0, 1, 2, ... via an EvalSetIter
 * to stay linear). */
typedef struct EvalSetIter {
    Rng rng;
    Task *task;
    int length;
} EvalSetIter;
void eval_set_begin(EvalSetIter *it, const Config *cfg, Task *task, int task_index, int length);
int eval_set_next(EvalSetIter *it, TaskExample *ex, LgErr *err);

#endif
