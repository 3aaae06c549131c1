/* config: an experiment's settings, read from an INI file (libinih) with command-line
 * overrides, validated, and written back out resolved.
 *
 * Sections [model], [task], [train], [eval], [run]. Every key has a default (below, and in
 * docs/configs.md). Unknown sections or keys, bad values and impossible combinations are
 * errors that name file:line, the value and the nearest valid key.
 *
 * [task] holds the task mixture (main, main_weight, hints, loss_weights, whole_sequence_loss)
 * plus options for the tasks themselves (e.g. `reverse = true`); those are kept as raw
 * key=value pairs with their source line and validated by the task library when the tasks are
 * built.
 *
 * One table in config.c (the schema) lists every key with its type, default, range and doc;
 * parsing, defaults, validation ranges and cfg_to_string all follow from it, and
 * docs/configs.md mirrors it (a test checks that every key is documented).
 *
 * A Config is a plain value: cfg_defaults zeroes it first, strings are zero-padded, so two
 * configs holding the same settings compare equal with cfg_equal.
 */
#ifndef LENGEN_CONFIG_H
#define LENGEN_CONFIG_H

#include "posenc_list.h"
#include "util.h"

#define CFG_NAME_MAX 64
#define CFG_MAX_TASKS 8
#define CFG_MAX_TASK_OPTS 32
#define CFG_MAX_LENGTHS 256
#define CFG_MAX_FILE_BYTES (1 << 20)   /* a config (or sweep) file larger than 1 MiB is refused */
#define CFG_MAX_TRAIN_EXAMPLES 10000000   /* [train] examples: its epoch order is an int per example (40 MB) */

typedef enum { NORM_LAYERNORM, NORM_RMSNORM } NormKind;
typedef enum { ACT_GELU, ACT_RELU } ActKind;

/* digit_index (TaskExample, ModelBatch) of the token right after a number's units digit, such
 * as addition's `+` and `=` after operands written most significant first: Cho et al.'s coupled
 * position one past the units digit. coupled embeds it in its own row; abacus as a non-digit. */
#define DIGIT_AFTER_NUMBER (-1)

typedef struct ModelConfig {
    int layers;             /* 2 */
    int heads;              /* 4 */
    int d_model;            /* 128; divisible by heads */
    int d_ff;               /* 4 * d_model when 0 */
    float dropout;          /* 0.0 */
    NormKind norm;          /* layernorm */
    int bias;               /* 1: biases in linears and norms */
    ActKind activation;     /* gelu */
    int tie_embeddings;     /* 1: head shares tok_emb */
    int max_pos;            /* 512: longest sequence (tokens) the model accepts */
    float init_std;         /* 0.02 */
    /* positional encoding */
    PeKind posenc;          /* nope */
    float rope_base;        /* 10000 */
    float rope_fraction;    /* 1.0: fraction of head dims rotated (0.25 = NoPE paper) */
    int t5_buckets;         /* 32 */
    int t5_max_distance;    /* 128 */
    int t5_shared;          /* 1: one table from layer 0 used by all layers; 0: per layer */
    int fire_hidden;        /* 32 */
    float sinusoid_scale;   /* 1: factor on the sinusoidal table, whose rows have norm
                               sqrt(d_model / 2) against init_std tokens (docs/model.md) */
    float fire_c_init;      /* 0.1 */
    float fire_L_init;      /* 512 */
    int abacus_max_offset;  /* 100: training offsets drawn from [0, abacus_max_offset) */
    int abacus_max_digits;  /* 128: digit positions the abacus table holds (plus offset) */
    int random_positions;   /* 0: train on a sorted random subset of [0, random_max_pos) */
    int random_max_pos;     /* 2048 */
    /* length-dependent attention temperature */
    TempKind temperature;   /* off */
    int temperature_base;   /* 20: log n / log base, so the factor is 1 at n = base */
    float attn_scale;       /* 1: constant factor on every attention logit, on top of any temperature */
} ModelConfig;

typedef struct TaskWeight {
    char name[CFG_NAME_MAX];
    float sample_weight;    /* share of training examples (main defaults to 1) */
    float loss_weight;      /* multiplies the task's per-token loss (default 1) */
} TaskWeight;

typedef struct TaskOpt {
    char key[CFG_NAME_MAX];
    char value[256];
    char file[256];         /* where it was set: file name or "--set" */
    int line;
} TaskOpt;

typedef struct TaskConfig {
    int n_tasks;                          /* 1 + number of hints */
    TaskWeight tasks[CFG_MAX_TASKS];      /* tasks[0] is the main task ("" until set), then hints */
    int whole_sequence_loss;              /* 0: loss on the answer only */
    int n_opts;
    TaskOpt opts[CFG_MAX_TASK_OPTS];      /* task options, validated by the task library */
    /* `loss_weights` as written (name, loss_weight; sample_weight unused). tasks[i].loss_weight
     * is resolved from it whenever main, hints or loss_weights change, so the keys may come in
     * any order. */
    int n_loss_weights;
    TaskWeight loss_weights[CFG_MAX_TASKS];
} TaskConfig;

typedef enum { OPT_ADAMW, OPT_LION, OPT_SGD } OptimKind;
/* All schedules start with `warmup` steps of linear warmup from 0 (see optim_lr_at). */
typedef enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_POLY } SchedKind;
/* uniform; a growing top (curriculum); P(n) proportional to 2n - 1 (pairs: with addition
 * operands=balanced, every operand-length pair equally often) */
typedef enum { LENDIST_UNIFORM, LENDIST_CURRICULUM, LENDIST_PAIRS } LenDist;

typedef struct TrainConfig {
    int steps;              /* 2000 */
    int batch_size;         /* 64 */
    int grad_accum;         /* 1 */
    OptimKind optimizer;    /* adamw */
    float lr;               /* 1e-3 */
    float min_lr;           /* 1e-4: the floor of the decay */
    int warmup;             /* 100 steps */
    SchedKind schedule;     /* cosine */
    float poly_power;       /* 1.0: poly schedule decays as (1 - progress)^poly_power; 1 = linear */
    float weight_decay;     /* 0.1, decoupled, matrices and embeddings only (ndim >= 2) */
    float beta1, beta2;     /* 0.9, 0.99 (AdamW moments; Lion interpolation / momentum) */
    float eps;              /* 1e-8 */
    float momentum;         /* 0.9 (sgd) */
    float grad_clip;        /* 1.0; 0 = off */
    int min_length;         /* 1 */
    int max_length;         /* 20 */
    int hint_max_length;    /* 0 = max_length; else the hint tasks' longest training instance */
    LenDist length_dist;    /* uniform */
    int curriculum_steps;   /* 0; curriculum: steps over which max length grows from min to max */
    int pack;               /* 0; 1 = pack examples into rows with a random shift */
    int pack_len;           /* row length when packing (0 = model max_pos) */
    int length_split;       /* 8; parts of similar-length rows each batch runs as (1 = two row slices) */
    int bucket;             /* 0; batches per length-sorted pool (0, 1 = off; unpacked rows only) */
    int examples;           /* 0 = a fresh example every draw; N = a fixed training set of N examples, in epochs */
    int log_every;          /* 50 */
    int eval_every;         /* 500; 0 = only at the end */
    int ckpt_every;         /* 500; 0 = only at the end */
} TrainConfig;

typedef struct EvalConfig {
    int n_lengths;
    int lengths[CFG_MAX_LENGTHS];   /* "10:100:10": 10, 20, ..., 100; ascending, unique */
    int n;                          /* 200 held-out examples per length */
    int batch_size;                 /* 64 */
    int hints;                      /* 1: evaluate the hint tasks too; 0: the main task only */
    int random_positions;           /* 0: positions 0..n-1; 1: a sorted random subset of
                                       [0, model.random_max_pos) per example (seeded) */
    char best_metric[CFG_NAME_MAX]; /* "exact_match" (or "token_accuracy"): mean over the
                                       best lengths, main task; picks best.h5 */
    int n_best_lengths;             /* 0 (""): all of lengths */
    int best_lengths[CFG_MAX_LENGTHS];   /* a subset of lengths; the mean that picks best.h5 */
    char best_ties[CFG_NAME_MAX];   /* "earliest": of equal best scores the first step keeps
                                       best.h5; "latest": each later one replaces it */
} EvalConfig;

typedef struct RunConfig {
    char name[CFG_NAME_MAX];        /* "default" */
    char out_dir[256];              /* "runs" -> runs/<name>/ */
    unsigned long long seed;        /* 1 */
    int threads;                    /* 0 = LENGEN_THREADS or all cores */
} RunConfig;

typedef struct Config {
    ModelConfig model;
    TaskConfig task;
    TrainConfig train;
    EvalConfig eval;
    RunConfig run;
} Config;

/* All defaults (the schema's), main task unset. Zeroes *c first. */
void cfg_defaults(Config *c);
/* Reads an INI file over the current values (so several files and --set layer). Returns 0, or
 * -1 with err naming file:line, e.g. "sort.ini:12: unknown key 'lr_warmup' in [train] (did you
 * mean 'warmup'?)". Does not validate cross-field constraints: call cfg_validate. On error *c
 * holds the keys read before the bad line. */
int cfg_load_file(Config *c, const char *path, LgErr *err);
/* Reads INI text (e.g. the config stored in a checkpoint); `origin` names it in messages. */
int cfg_load_string(Config *c, const char *text, const char *origin, LgErr *err);
/* Applies "section.key=value" (the CLI's --set), with the same parsing and messages as a file
 * line; origin "--set". A [task] key that is not a mixture key sets a task option. */
int cfg_set(Config *c, const char *assignment, LgErr *err);
/* Every key's range (as in the schema) and the cross-field checks: heads divide d_model, the
 * positional keys (pe_check: rope dims, t5 buckets, random positions, ...), min_length <= max_length, warmup < steps, eval lengths ascending and unique, best_lengths a subset of them, main
 * task set, no duplicate task names, ... Checks that need the task library (lengths legal for
 * the task, sequences fitting max_pos) are the trainer's. Returns 0 or -1 with err. */
int cfg_validate(const Config *c, LgErr *err);
/* The resolved config as INI text, every key written in schema order, task options last in
 * [task]; caller frees with lg_free. Loading it over cfg_defaults gives a cfg_equal Config. */
char *cfg_to_string(const Config *c);
/* Same settings? Compares every field; task options by key and value, not where they were set. */
int cfg_equal(const Config *a, const Config *b);
/* One key's value as cfg_to_string writes it, e.g. cfg_get(c, "model.posenc", buf, n) -> "rope".
 * Returns 0, or -1 with err when the key is unknown (task options included: "task.reverse"). */
int cfg_get(const Config *c, const char *key, char *buf, size_t len, LgErr *err);
/* "5,10:100:10" -> 5, 10, 20, ..., 100 (start:stop:step, stop inclusive; start:stop = step 1).
 * Every number >= 1. Writes at most max values; returns 0, or -1 with err naming the bad piece. */
int cfg_parse_lengths(const char *s, int *out, int max, int *n, LgErr *err);

/* The task option `key` (last value set), or NULL. */
const TaskOpt *cfg_task_opt(const TaskConfig *t, const char *key);

/* Names used in the INI files. */
const char *cfg_optim_name(OptimKind k);

/* The schema, read-only, for docs and tools: every key in file order. */
typedef struct CfgKeyInfo {
    const char *section, *name;
    const char *type;       /* "int", "float", "bool", "enum", "string", "lengths", "tasks", ... */
    const char *def;        /* default, as written in an INI file */
    const char *range;      /* "[1, 64]", "> 0", "nope, learned, ..." (enum names), or "" */
    const char *doc;
} CfgKeyInfo;
int cfg_key_count(void);
CfgKeyInfo cfg_key_info(int i);

#endif
