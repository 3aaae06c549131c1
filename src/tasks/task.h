/* task: synthetic algorithmic tasks for length generalization, behind one interface.
 *
 * A Task is built by name from the registry with options from the config's [task] section
 * (TaskOpt: key, value, file, line) and a shared Vocab. It turns (rng, length) into one example:
 * the whole token sequence (task token, prompt, separator or format tokens, answer ending in
 * EOS), where the answer starts, a per-token loss mask and a per-token digit index. What
 * "length" means is per task (list size, digits per operand, bits, output actions) and is
 * documented in docs/tasks.md and in the registry's help.
 *
 * Promises:
 *   - deterministic: the same task options, Rng state and length give the same example;
 *   - task_generate fills CALLER-OWNED buffers and makes no heap allocation (scratch space is
 *     allocated once by task_create);
 *   - bad input (unknown task or option, bad value, length out of range, buffer too small)
 *     returns -1 with an LgErr message naming the value and what to do; nothing exits.
 *
 * Conventions of an example (n = n_tokens, p = prompt_len):
 *   tokens[0]      the task token, e.g. <sort>; there is no BOS (the task token plays its role).
 *   tokens[0:p)    the prompt: what a model is given.
 *   tokens[p:n)    the answer the model must produce; tokens[n-1] == VOCAB_EOS.
 *   loss_mask[t]   INPUT-ALIGNED: the weight of predicting tokens[t+1] from tokens[0..t]. By
 *                  default 1 for t in [p-1, n-2] (the next token is an answer token) and 0
 *                  elsewhere; with option loss=sequence, 1 for t in [0, n-2]. loss_mask[n-1]=0.
 *                  A trainer using inputs tokens[0..n-2] and targets tokens[1..n-1] takes the
 *                  weight of position t from loss_mask[t].
 *   digit_index[t] 0 for tokens that are not digits of a number; for a digit, its 1-based
 *                  position inside its own number counted from the least-significant digit as
 *                  laid out: in `1 2 8` (plain) the 8 has 1 and the 1 has 3; in a reversed number
 *                  `8 2 1` the 8 (first) has 1. Zero padding counts as digits. Digits standing
 *                  alone (a carry, a scratchpad digit, a sum mod 10) have 1. Bits of parity and
 *                  number tokens such as sort's "42" are not digits (0). Addition's `+` and `=`
 *                  right after an operand's units digit have DIGIT_AFTER_NUMBER (-1, config.h;
 *                  0 when the operands are reversed). For Abacus and position coupling.
 */
#ifndef LENGEN_TASK_H
#define LENGEN_TASK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../config.h"
#include "../rng.h"
#include "../util.h"
#include "vocab.h"

typedef struct Task Task;

/* One example in caller-owned buffers. Set tokens, loss_mask, digit_index (mask and digit_index
 * may be NULL when not wanted) and cap (their capacity, >= task_max_tokens) before calling
 * task_generate; it sets the rest. */
typedef struct TaskExample {
    int *tokens;
    float *loss_mask;
    int *digit_index;
    int cap;
    int n_tokens;     /* tokens written, the last is VOCAB_EOS */
    int prompt_len;   /* tokens before the first answer token */
    int length;       /* the task length this example has (scan may round down, see docs) */
} TaskExample;

/* ---- registry ---- */
typedef struct TaskOptInfo {
    const char *name;
    const char *def;    /* default value as text */
    const char *form;   /* expected form, e.g. "LO..HI with 0 <= LO <= HI <= 999" or "a|b" */
    const char *help;
} TaskOptInfo;

int task_registry_count(void);
const char *task_registry_name(int i);           /* 0 <= i < count */
/* Options of task i (the common option `loss` included), *n set to their number. */
const TaskOptInfo *task_registry_opts(int i, int *n);
/* Prints every task, its length meaning and its options with defaults and help. */
void task_print_list(FILE *f);

/* ---- building ---- */
/* Builds one task. Every option must be one the task declares (an unknown one is an error
 * naming file:line, the task's valid options and the nearest). Adds the task token and the
 * task's tokens to vocab (which must outlive the task). NULL with err on bad input. */
Task *task_create(const char *name, const TaskOpt *opts, int n_opts, Vocab *vocab, LgErr *err);
/* Builds several tasks sharing vocab (main task + hints, or a mixture). Task tokens of all of
 * them are added first, in the given order, then each task's own tokens. Each option applies
 * to the tasks that declare it; an option no listed task declares is an error. Writes out[0..n)
 * and returns 0, or returns -1 with err (and frees what it built). */
int task_create_many(const char *const *names, int n_tasks, const TaskOpt *opts, int n_opts,
                     Vocab *vocab, Task **out, LgErr *err);
void task_free(Task *t);

const char *task_name(const Task *t);
int task_token(const Task *t);                   /* the id of the task token, e.g. <sort> */
/* Legal lengths [min, max] under the task's options. */
void task_length_range(const Task *t, int *min, int *max);
/* Overrides option loss: 1 = whole-sequence loss, 0 = answer only. */
void task_set_whole_sequence_loss(Task *t, int on);

/* ---- generating ---- */
/* An upper bound of n_tokens for any example of this length (0 for an illegal length). */
int task_max_tokens(const Task *t, int length);
/* Writes one example of the given length into ex's buffers, drawing from rng. Returns 0, or -1
 * with err when the length is out of range or ex->cap < task_max_tokens(t, length). Makes no
 * heap allocation. */
int task_generate(Task *t, Rng *rng, int length, TaskExample *ex, LgErr *err);
/* The same for a training example: options that shape the training distribution only (sort's
 * `window`) take effect here and nowhere else, so held-out and evaluation sets keep the task's
 * own distribution. Without such options it equals task_generate. */
int task_generate_train(Task *t, Rng *rng, int length, TaskExample *ex, LgErr *err);

/* ---- reading ---- */
/* Renders tokens[0:n) as text into buf (always NUL-terminated, truncated with "..." when cap is
 * too small): tokens separated by spaces, the newline token "\n" as a line break. Returns the
 * number of characters written. Ids outside the vocabulary print as "<?>". */
int task_format_tokens(const Vocab *v, const int *tokens, int n, char *buf, size_t cap);
/* Renders the whole example (task_format_tokens of tokens[0:n_tokens)). */
int task_format(const Task *t, const TaskExample *ex, char *buf, size_t cap);
/* Exact match: 1 when gen[0..] up to and including its first EOS equals the example's answer
 * tokens[prompt_len:n_tokens), else 0 (also when gen has no EOS within n_gen). */
int task_answer_matches(const TaskExample *ex, const int *gen, int n_gen);
/* 64-bit FNV-1a hash of token ids, to exclude eval prompts from training data. */
uint64_t task_hash_tokens(const int *tokens, int n);
static inline uint64_t task_hash_prompt(const TaskExample *ex) { return task_hash_tokens(ex->tokens, ex->prompt_len); }

#endif
