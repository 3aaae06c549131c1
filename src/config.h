/* config: an experiment's settings, read from an INI file (libinih) with command-line
 * overrides, validated, and written back out resolved.
 *
 * Sections [model], [task], [train], [eval], [run]. Every key has a default (below, and in
 * docs/configs.md). Unknown sections or keys, bad values and impossible combinations are
 * errors that name file:line, the value and the nearest valid key.
 *
 * [task] holds the task mixture (main, hints, loss_weights) plus options for the tasks
 * themselves (e.g. `reverse = true`); those are kept as raw key=value pairs with their source
 * line and validated by the task library when the tasks are built.
 */
#ifndef LENGEN_CONFIG_H
#define LENGEN_CONFIG_H

#include "util.h"

#define CFG_NAME_MAX 64
#define CFG_MAX_TASKS 8
#define CFG_MAX_TASK_OPTS 32
#define CFG_MAX_LENGTHS 256

typedef enum { NORM_LAYERNORM, NORM_RMSNORM } NormKind;
typedef enum { ACT_GELU, ACT_RELU } ActKind;
typedef enum {
    PE_NOPE, PE_LEARNED, PE_SINUSOIDAL, PE_T5, PE_ALIBI, PE_ROPE, PE_FIRE, PE_ABACUS
} PeKind;
typedef enum { TEMP_OFF, TEMP_LOG, TEMP_LEARNED_LOG } TempKind;

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
    float fire_c_init;      /* 0.1 */
    float fire_L_init;      /* 512 */
    int abacus_max_offset;  /* 100: training offsets drawn from [0, abacus_max_offset) */
    int abacus_max_digits;  /* 128: digit positions the abacus table holds (plus offset) */
    int random_positions;   /* 0: train on a sorted random subset of [0, random_max_pos) */
    int random_max_pos;     /* 2048 */
    /* length-dependent attention temperature */
    TempKind temperature;   /* off */
    int temperature_base;   /* 20: log n / log base, so the factor is 1 at n = base */
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
    int n_tasks;                          /* tasks[0] is the main task, then hints */
    TaskWeight tasks[CFG_MAX_TASKS];
    int whole_sequence_loss;              /* 0: loss on the answer only */
    int n_opts;
    TaskOpt opts[CFG_MAX_TASK_OPTS];      /* task options, validated by the task library */
} TaskConfig;

typedef enum { OPT_ADAMW, OPT_LION, OPT_SGD } OptimKind;
typedef enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_LINEAR } SchedKind;
typedef enum { LENDIST_UNIFORM, LENDIST_CURRICULUM } LenDist;

typedef struct TrainConfig {
    int steps;              /* 2000 */
    int batch_size;         /* 64 */
    int grad_accum;         /* 1 */
    OptimKind optimizer;    /* adamw */
    float lr;               /* 1e-3 */
    float min_lr;           /* 1e-4: the floor of the decay */
    int warmup;             /* 100 steps */
    SchedKind schedule;     /* cosine */
    float poly_power;       /* 1.0 (linear) */
    float weight_decay;     /* 0.1, matrices only */
    float beta1, beta2;     /* 0.9, 0.99 (Lion: 0.9, 0.99) */
    float eps;              /* 1e-8 */
    float momentum;         /* 0.9 (sgd) */
    float grad_clip;        /* 1.0; 0 = off */
    int min_length;         /* 1 */
    int max_length;         /* 20 */
    LenDist length_dist;    /* uniform */
    int curriculum_steps;   /* steps over which max length grows from min to max */
    int pack;               /* 0; 1 = pack examples into rows with a random shift */
    int pack_len;           /* row length when packing (0 = model max_pos) */
    int log_every;          /* 50 */
    int eval_every;         /* 500; 0 = only at the end */
    int ckpt_every;         /* 500; 0 = only at the end */
} TrainConfig;

typedef struct EvalConfig {
    int n_lengths;
    int lengths[CFG_MAX_LENGTHS];   /* "5,10:100:10" expands to a list */
    int n;                          /* 200 held-out examples per length */
    int batch_size;                 /* 64 */
    char best_metric[CFG_NAME_MAX]; /* "exact_match": mean over lengths, main task */
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

void cfg_defaults(Config *c);
/* Reads an INI file over the current values. Returns 0, or -1 with err naming file:line. */
int cfg_load_file(Config *c, const char *path, LgErr *err);
/* Reads INI text (e.g. the config stored in a checkpoint); `origin` names it in messages. */
int cfg_load_string(Config *c, const char *text, const char *origin, LgErr *err);
/* Applies "section.key=value". */
int cfg_set(Config *c, const char *assignment, LgErr *err);
/* Cross-field checks (heads divide d_model, lengths fit max_pos, ...). */
int cfg_validate(const Config *c, LgErr *err);
/* The resolved config as INI text, every key written; caller frees with lg_free. Loading it
 * back gives an equal Config. */
char *cfg_to_string(const Config *c);
/* "5,10:100:10" -> 5, 10, 20, ..., 100. */
int cfg_parse_lengths(const char *s, int *out, int max, int *n, LgErr *err);

const char *cfg_pe_name(PeKind k);

#endif
