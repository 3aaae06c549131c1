/* task_impl: what task families share inside the task library (not part of the public API).
 *
 * A family file (sort.c, arith.c, seq.c, scan.c) defines TaskDefs: option declarations, a
 * setup that adds the task's tokens to the vocab and sizes its scratch, a token bound and a
 * generator. task.c owns the registry, option parsing, the generate wrapper (range and buffer
 * checks, loss mask) and formatting.
 */
#ifndef LENGEN_TASK_IMPL_H
#define LENGEN_TASK_IMPL_H

#include "task.h"

#define TASK_MAX_OPTS 16
#define TASK_MAX_SYMS 96

typedef enum { OPTK_INT, OPTK_BOOL, OPTK_ENUM, OPTK_RANGE } OptKind;

typedef struct OptDef {
    const char *name;
    OptKind kind;
    const char *def;      /* default, parsed like a user value */
    int lo, hi;           /* bounds for INT and RANGE */
    const char *choices;  /* ENUM: "a|b|c", stored as the index */
    const char *help;
} OptDef;

typedef struct TaskDef {
    const char *name;
    const char *help;
    const char *length_help;
    const OptDef *opts;   /* n_opts entries; the common `loss` option is added by task.c */
    int n_opts;
    /* Adds tokens, sets t->min_len/max_len, allocates scratch. -1 with err on bad options. */
    int (*setup)(Task *t, LgErr *err);
    int (*max_tokens)(const Task *t, int length);
    /* Writes tokens/digits through ex_put and marks the prompt end with ex_prompt_end. May set
     * ex->length when it rounds the length (scan). Never allocates. */
    void (*gen)(Task *t, Rng *rng, int length, TaskExample *ex);
} TaskDef;

struct Task {
    const TaskDef *def;
    Vocab *vocab;
    int id_task;
    int whole_seq;
    int training;               /* 1 while task_generate_train runs the generator */
    int opt[TASK_MAX_OPTS][2];  /* parsed option values, in def->opts order (RANGE uses both) */
    int min_len, max_len;
    int sym[TASK_MAX_SYMS];     /* ids of named tokens, meaning per family */
    int *num;                   /* value -> id tables, owned; meaning per family */
    int n_num;
    int *num2;
    int n_num2;
    int *scratch;               /* per-example work space, owned, sized by setup */
    int n_scratch;
    char name[CFG_NAME_MAX];    /* the name it was built by (rasp:count), task token <name> */
    void *ext;                  /* family-owned state (rasp: the program), freed by ext_free */
    void (*ext_free)(void *ext);
    int gen_failed;             /* set by a generator that cannot produce the example (rasp) */
    LgErr gen_err;              /* why, when gen_failed */
};

/* families register their definitions here (see task.c) */
extern const TaskDef task_def_sort, task_def_sort_unique, task_def_successor, task_def_predecessor,
    task_def_rank, task_def_fill, task_def_min_prefix, task_def_next_larger, task_def_copies;
extern const TaskDef task_def_increment, task_def_addition, task_def_multiplication;
extern const TaskDef task_def_parity, task_def_copy, task_def_reverse, task_def_duplicate,
    task_def_unique_copy, task_def_sum, task_def_poly, task_def_lego, task_def_count, task_def_mode;
extern const TaskDef task_def_scan;
/* rasp:NAME or rasp:PATH, a RASP-L program as a task (rasp_task.c); not in the registry list */
extern const TaskDef task_def_rasp;
#define TASK_RASP_PREFIX "rasp:"
/* the task token of rasp:SPEC: <rasp:NAME>, NAME the file name without directory and .rasp */
void task_rasp_token(const char *name, char *buf, size_t cap);

/* ---- helpers for families ---- */
static inline int topt(const Task *t, int i) { return t->opt[i][0]; }
static inline int topt_hi(const Task *t, int i) { return t->opt[i][1]; }
void task_alloc_scratch(Task *t, int n_ints);
/* num table of ids for number tokens "lo".."hi" (value v -> num[v - lo]) */
void task_add_numbers(Task *t, int lo, int hi);
/* num table of n symbol tokens: "a".."z", "A".."Z", then "s52", "s53", ... */
void task_add_symbols(Task *t, int n);
/* digits "0".."9" into sym[0..9] */
void task_add_digits(Task *t);

static inline void ex_put(TaskExample *ex, int tok, int digit) {
    LG_ASSERT(ex->n_tokens < ex->cap, "task generator overran its max_tokens bound (%d)", ex->cap);
    ex->tokens[ex->n_tokens] = tok;
    if (ex->digit_index) ex->digit_index[ex->n_tokens] = digit;
    ex->n_tokens++;
}
static inline void ex_prompt_end(TaskExample *ex) { ex->prompt_len = ex->n_tokens; }
/* Writes the number with digits d[0..k) (d[0] least significant) through t->sym[0..9]:
 * most significant first, or least significant first when reversed; digit indices per task.h. */
static inline void ex_number(const Task *t, TaskExample *ex, const int *d, int k, int reversed) {
    for (int i = 0; i < k; i++) {
        int j = reversed ? i : k - 1 - i;
        ex_put(ex, t->sym[d[j]], j + 1);
    }
}
/* A non-negative int written as its decimal digits, most significant first. */
void ex_int(const Task *t, TaskExample *ex, int value);

#endif
