/* eval: exact-match evaluation at many lengths by batched greedy decoding with the KV cache.
 *
 * For one (task, length), the held-out set (data.h) is decoded in batches: the prompts are run
 * once (model_prefill), then one token per step per sequence (model_decode_step), each sequence
 * stopping at its EOS or after as many tokens as its true answer has. Metrics:
 *   exact_match     the whole answer, EOS included, equals the truth
 *   token_accuracy  answer positions whose token equals the truth (missing tokens are wrong)
 *   first_error     mean position (0-based, in the answer) of the first wrong token over the
 *                   examples that are wrong; -1 when every example is right
 * Abacus digit indices of generated tokens are the true example's at that position (as in
 * training; causal for the reversed formats Abacus is meant for). Positions are 0..n-1, or with
 * [eval] random_positions a sorted random subset of [0, random_max_pos) per example, drawn from
 * the run's seed, task and length example by example (independent of the batch size).
 */
#ifndef LENGEN_EVAL_H
#define LENGEN_EVAL_H

#include "experiment.h"

typedef struct EvalResult {
    int task;                 /* index into the experiment's tasks */
    int length;
    int n;                    /* examples evaluated (0 when skipped) */
    double exact_match, token_accuracy, first_error;
    char skipped[160];        /* why the length was not evaluated, or "" */
} EvalResult;

/* The positions of the held-out examples of (task, length): 0..n-1, or with [eval]
 * random_positions a sorted random subset of [0, [model] random_max_pos), example i's from the
 * i-th draw of a stream seeded by the run seed, the task and the length. eval, sample and probe
 * read them alike, so an example sits at the same positions in each. */
typedef struct EvalPositions {
    Rng rng;
    int random, max_pos;
} EvalPositions;
void eval_positions_begin(EvalPositions *p, const Config *cfg, int task, int length);
/* The next example's n positions into out[0, n), and its last one repeated over out[n, width)
 * (the padding a batch runs after a shorter example); n <= max_pos when random (dies
 * otherwise: check with eval_positions_fit). */
void eval_positions_next(EvalPositions *p, float *out, int n, int width);
/* 0 if examples of up to n_tokens tokens fit the random positions of cfg (always without
 * [eval] random_positions), else -1 with err naming [model] random_max_pos. */
int eval_positions_fit(const Config *cfg, int n_tokens, LgErr *err);

/* Called for each decoded example when given (lengen sample): the example, the generated
 * tokens (n_gen of them) and whether it matched. */
typedef void (*EvalExampleFn)(const Experiment *e, int task, const TaskExample *ex,
                              const int *gen, int n_gen, int correct, void *ctx);

/* Evaluates `n` held-out examples of (task, length) in batches of `batch`. A length the task
 * does not allow, or one whose sequences exceed what the model can take, is reported in
 * r->skipped (not an error). Returns 0, 1 when interrupted (r->n = 0), or -1 with err on a
 * task failure. */
int eval_task_length(Experiment *e, int task, int length, int n, int batch, EvalResult *r,
                     EvalExampleFn fn, void *ctx, LgErr *err);

/* The eval grid: every length of cfg.eval for the task `only` (a task index), or with only < 0
 * for every task of the experiment (the main task only with [eval] hints = false). results
 * gets n_tasks * n_lengths entries (task-major; cells not evaluated have n = 0). Returns 0
 * when done, 1 when interrupted (see eval_set_interrupt), or -1 with err. */
int eval_sweep(Experiment *e, int only, EvalResult *results, LgErr *err);

/* A flag (set by a signal handler) that evaluation polls between decoded batches: once it is
 * non-zero, eval_task_length and eval_sweep stop and return 1 with the unfinished length's
 * n = 0. One per process, like the signal that sets it; NULL (the default) = never. */
void eval_set_interrupt(const volatile int *flag);

/* Appends a row per evaluated result to the eval.csv f (rundir.h: its columns; path names it
 * in messages; overrides, when neither NULL nor "", go in every row's 8th field) and flushes.
 * Returns 0, or -1 with err when the rows could not be written. */
int eval_write_csv(FILE *f, const char *path, const Experiment *e, long step, const EvalResult *r, int n_results,
                   const char *overrides, LgErr *err);
/* Prints the exact-match table: a row per length, a column per task; lengths inside the
 * training range are marked. */
void eval_print_table(FILE *f, const Experiment *e, long step, const EvalResult *r, int n_results);
/* Mean of the chosen metric ("exact_match" or "token_accuracy") over the evaluated lengths of
 * the main task that are in [eval] best_lengths (all of them when that is empty); the score
 * that picks best.h5. -1 when none was evaluated. */
double eval_score(const Experiment *e, const EvalResult *r, int n_results, const char *metric);

#endif
