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
 * a curriculum whose top grows over curriculum_steps) and the example from one Rng. Examples
 * whose prompt is in the held-out set are drawn again (up to a bound, for tasks whose space is
 * too small to avoid them). data_next makes no heap allocation.
 *
 * Bucketing (train.bucket = k > 1, unpacked rows): the stream draws k batches' examples at
 * once in stream order (a pool), sorts them by length (stably), cuts them into k batches and
 * hands those out in an order drawn from the same Rng. Every example drawn is used once, so
 * the length and task mix are those of the unbucketed stream; only which examples share a
 * batch changes. Each pooled batch's loss weights are scaled by its share of the pool's loss
 * positions (count_b / mean count), so that with op_cross_entropy's per-batch mean every loss
 * position of the pool counts the same, as it does without bucketing. Pools start at batch
 * numbers that are multiples of k; a pool's lengths follow the curriculum at its first step.
 *
 * Position and resume: pool_rng is the Rng at the start of the current pool (the live Rng
 * itself when not bucketing) and `served` counts batches handed out. A checkpoint saves
 * pool_rng; data_seek(batches served) restores rng from it and redraws the partly used pool,
 * so a resumed stream continues bit-identically.
 *
 * A fixed training set (train.examples = N > 0): example i of the set (0 <= i < N) is drawn
 * exactly as a fresh example is (task by sample weight, length, example, held-out prompts drawn
 * again), but from its own Rng, seeded from the run seed, a label for the set and i; so the set
 * is a function of the seed alone and needs no storage. The stream serves it in epochs: epoch e
 * is the order set_order, a shuffle of 0..N-1 by an Rng seeded from the run seed, a label for
 * epochs and e; the stream's k-th example is example set_order[k % N] of epoch k / N. Unpacked
 * rows take batch_size examples per batch, so data_seek finds k from the batches served and
 * resume stays exact (config.c refuses the set with pack, whose rows take a varying number, and
 * with the curriculum, which has no fixed lengths to follow). The stream's own Rng still orders
 * the buckets.
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
    int cap_B, cap_T;         /* rows, positions per row allocated */
    int *tokens, *targets, *digit_index, *pos_task;   /* [B * cap_T], row stride cap_T... */
    float *weights;           /* ...but filled densely as [B, T] for the model */
    long n_tokens;            /* non-padding positions */
} Batch;

void batch_init(Batch *b, int B, int cap_T);
void batch_free(Batch *b);

/* Splits b's rows, ordered by length (stably), into n consecutive parts of about B / n rows;
 * parts[i] (from batch_init with cap_B >= ceil(B / n) and cap_T >= b->T) is padded only to its
 * own longest row, and its loss weights are scaled by count_i / count (count: positions with
 * weight > 0, what op_cross_entropy divides by) so the parts' losses add up to b's loss.
 * scratch holds 2 * b->B + b->T + 2 ints. Returns the number of parts written (min(n, B)), or 0
 * when n <= 1 or every row has the same length (nothing to save: use b itself). A row's length
 * is its leading run of positions with pos_task >= 0 (unpacked rows). Allocates nothing. */
int batch_split_by_length(const Batch *b, int n, Batch *parts, int *scratch);

/* Rows first, first + stride, first + 2 stride, ... of b into out (from batch_init with cap_B
 * >= their count and cap_T >= b->T), padded only to their own longest row, loss weights scaled
 * by count_out / count_b (count: positions with weight > 0, what op_cross_entropy divides by),
 * so that the losses of the stride slices first = 0..stride-1 add up to b's loss and their
 * gradients to b's gradient: data-parallel rank `first` of `stride` takes its share of the
 * global batch this way (strided, so a length-sorted bucketed batch is spread evenly). Returns
 * the rows taken (0 when first >= b->B). Allocates nothing. */
int batch_take_rows(const Batch *b, int first, int stride, Batch *out);

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
    /* bucketing: pool of bucket * batch_size examples, each in a slot of ex_cap tokens */
    Rng pool_rng;                      /* rng at the start of the current pool; saved by checkpoints */
    long served;                       /* batches handed out by data_next (or skipped by data_seek) */
    int pool_k;                        /* batches per pool; 0 = bucketing off */
    int pool_next;                     /* next batch of the pool to hand out; pool_k = used up */
    int *pool_tokens, *pool_digits;    /* [pool_k * B * ex_cap] */
    float *pool_mask;                  /* [pool_k * B * ex_cap] */
    int *pool_len, *pool_task;         /* [pool_k * B] tokens (n_tokens), task index per slot */
    int *pool_sorted;                  /* [pool_k * B] slots by length */
    int *pool_count;                   /* [ex_cap + 2] counting-sort scratch */
    int *pool_order;                   /* [pool_k] batch order */
    float *pool_scale;                 /* [pool_k] loss-weight scale of each sorted batch */
    /* a fixed training set (train.examples > 0) */
    Rng set_rng;                       /* example i's Rng is rng_fork(&set_rng, i) */
    Rng epoch_rng;                     /* epoch e's order is shuffled by rng_fork(&epoch_rng, e) */
    int *set_order;                    /* [train.examples] the order of epoch set_epoch; NULL = no set */
    long long set_epoch;               /* the epoch set_order holds; -1 = none yet */
    long long set_taken;               /* examples the stream has taken from the set */
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
/* The longest training length of task number ti ([task] order: 0 = main, then the hints):
 * [train] max_length, or hint_max_length for a hint when that is set. */
int data_max_length(const TrainConfig *tr, int ti);
/* Tokens of the longest training example of task t (number ti): at its longest legal length
 * up to data_max_length (a row of input positions is one shorter). */
int data_train_tokens(const TrainConfig *tr, const Task *t, int ti);
/* Positions the stream after `batches` batches from the state in d->pool_rng (as a checkpoint
 * saved it, at step = batches / grad_accum): sets rng from it and, mid-pool, redraws the pool
 * and skips its used batches. Returns 0 or -1 with err. */
int data_seek(DataStream *d, long batches, LgErr *err);

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
