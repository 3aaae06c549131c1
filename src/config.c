/* config: INI files (libinih) and --set overrides -> a validated Config, and back to INI text.
 *
 * Everything about a key lives in one row of `schema` below: section, name, type, where it is
 * stored, default (as INI text), range and doc. Defaults are applied by parsing the default
 * text, so the defaults, the parser, the range checks and cfg_to_string cannot disagree;
 * docs/configs.md mirrors the table and a test checks every key appears there.
 *
 * Promises: bad input never crashes or exits; every error names origin:line, the section, the
 * key and the value, and for unknown keys the nearest valid one. The first error stops a load.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the schema ---- */

typedef enum {
    K_INT, K_FLOAT, K_BOOL, K_ENUM, K_STRING, K_U64, K_LENGTHS,
    K_MAIN, K_MAIN_WEIGHT, K_HINTS, K_LOSS_WEIGHTS   /* the task mixture */
} KeyType;

/* range flags: which bounds apply and whether they are open */
enum { R_LO = 1, R_HI = 2, R_LO_OPEN = 4, R_HI_OPEN = 8 };
/* K_LENGTHS: the list may be empty */
enum { R_EMPTY_OK = 16 };
/* a K_LENGTHS key points at a count followed by its CFG_MAX_LENGTHS-long list */
_Static_assert(offsetof(EvalConfig, lengths) == offsetof(EvalConfig, n_lengths) + sizeof(int), "n_lengths, lengths");
_Static_assert(offsetof(EvalConfig, best_lengths) == offsetof(EvalConfig, n_best_lengths) + sizeof(int),
               "n_best_lengths, best_lengths");

typedef struct Key {
    const char *section, *name;
    KeyType type;
    size_t off;                 /* offsetof(Config, ...) */
    size_t size;                /* K_STRING: buffer size */
    const char *const *names;   /* K_ENUM: names by value; K_STRING: allowed values or NULL */
    const char *def;
    int range;
    double lo, hi;
    const char *doc;
} Key;

static const char *const norm_names[] = {"layernorm", "rmsnorm", NULL};
static const char *const act_names[] = {"gelu", "relu", NULL};
static const char *const optim_names[] = {"adamw", "lion", "sgd", NULL};
static const char *const sched_names[] = {"constant", "cosine", "poly", NULL};
static const char *const lendist_names[] = {"uniform", "curriculum", "pairs", NULL};
static const char *const metric_names[] = {"exact_match", "token_accuracy", NULL};
static const char *const tie_names[] = {"earliest", "latest", NULL};
static const char *const section_names[] = {"model", "task", "train", "eval", "run", NULL};

#define OFF(f) offsetof(Config, f)
#define BIG 1e9
#define INT_KEY(sec, nm, f, d, rg, l, h, doc) {sec, nm, K_INT, OFF(f), 0, NULL, d, rg, l, h, doc}
#define FLT_KEY(sec, nm, f, d, rg, l, h, doc) {sec, nm, K_FLOAT, OFF(f), 0, NULL, d, rg, l, h, doc}
#define BOOL_KEY(sec, nm, f, d, doc) {sec, nm, K_BOOL, OFF(f), 0, NULL, d, 0, 0, 0, doc}
#define ENUM_KEY(sec, nm, f, names, d, doc) {sec, nm, K_ENUM, OFF(f), 0, names, d, 0, 0, 0, doc}
#define STR_KEY(sec, nm, f, names, d, doc) \
    {sec, nm, K_STRING, OFF(f), sizeof(((Config *)0)->f), names, d, 0, 0, 0, doc}
#define LO R_LO
#define LOHI (R_LO | R_HI)
#define POS (R_LO | R_LO_OPEN)

static const Key schema[] = {
    /* [model] */
    INT_KEY("model", "layers", model.layers, "2", LOHI, 1, 256, "number of transformer blocks"),
    INT_KEY("model", "heads", model.heads, "4", LOHI, 1, 256, "attention heads per block; must divide d_model"),
    INT_KEY("model", "d_model", model.d_model, "128", LOHI, 1, 65536, "residual stream width"),
    INT_KEY("model", "d_ff", model.d_ff, "0", LOHI, 0, 1 << 20, "feed-forward hidden width; 0 = 4 * d_model"),
    FLT_KEY("model", "dropout", model.dropout, "0", LOHI | R_HI_OPEN, 0, 1, "dropout probability on the embedding sum and on the attention and MLP residual branches, not on attention probabilities (training only)"),
    ENUM_KEY("model", "norm", model.norm, norm_names, "layernorm", "normalisation layer (pre-norm), both with epsilon 1e-5"),
    BOOL_KEY("model", "bias", model.bias, "true", "biases in linear layers and norms"),
    ENUM_KEY("model", "activation", model.activation, act_names, "gelu", "MLP nonlinearity"),
    BOOL_KEY("model", "tie_embeddings", model.tie_embeddings, "true", "output head shares the token embedding matrix"),
    INT_KEY("model", "max_pos", model.max_pos, "512", LOHI, 1, 1 << 20, "longest sequence (tokens) the model accepts, train and eval"),
    FLT_KEY("model", "init_std", model.init_std, "0.02", POS | R_HI, 0, 1, "standard deviation of the normal weight init"),
    ENUM_KEY("model", "posenc", model.posenc, pe_names, "nope", "positional encoding"),
    FLT_KEY("model", "rope_base", model.rope_base, "10000", POS, 1, 0, "RoPE frequency base (must be > 1)"),
    FLT_KEY("model", "rope_fraction", model.rope_fraction, "1", POS | R_HI, 0, 1, "fraction of each head's dims rotated by RoPE (0.25 as in the NoPE paper); must give an even count"),
    INT_KEY("model", "t5_buckets", model.t5_buckets, "32", LOHI, 2, 4096, "T5 relative-bias buckets"),
    INT_KEY("model", "t5_max_distance", model.t5_max_distance, "128", LOHI, 1, 1 << 20, "T5 distance beyond which all offsets share the last bucket"),
    BOOL_KEY("model", "t5_shared", model.t5_shared, "true", "T5: one bias table (layer 0) used by every layer; false = one per layer"),
    FLT_KEY("model", "sinusoid_scale", model.sinusoid_scale, "1", POS, 0, 0, "sinusoidal: factor on the table added to the token embeddings; 1 is the classic table, rows of norm sqrt(d_model / 2), far larger than tokens at init_std; 1 / sqrt(d_model / 2) (0.125 at d_model 128) makes rows of norm 1, about the size trained token embeddings reach (docs/model.md)"),
    INT_KEY("model", "fire_hidden", model.fire_hidden, "32", LOHI, 1, 256, "FIRE: hidden width of the position MLP"),
    FLT_KEY("model", "fire_c_init", model.fire_c_init, "0.1", POS, 0, 0, "FIRE: initial c in the log transform log(c x + 1)"),
    FLT_KEY("model", "fire_L_init", model.fire_L_init, "512", POS, 0, 0, "FIRE: initial length threshold L"),
    INT_KEY("model", "abacus_max_offset", model.abacus_max_offset, "100", LOHI, 1, 1 << 20, "Abacus: training offsets are drawn from [0, abacus_max_offset)"),
    INT_KEY("model", "abacus_max_digits", model.abacus_max_digits, "128", LOHI, 1, 1 << 20, "Abacus: digit positions the table holds (beyond the offset)"),
    BOOL_KEY("model", "random_positions", model.random_positions, "false", "train on a sorted random subset of [0, random_max_pos) as positions (eval uses 0..n-1 unless [eval] random_positions)"),
    INT_KEY("model", "random_max_pos", model.random_max_pos, "2048", LOHI, 1, 1 << 24, "range of the randomized positions; >= max_pos"),
    ENUM_KEY("model", "temperature", model.temperature, pe_temp_names, "off", "length-dependent attention temperature: query row i's logits times log(n_i)/log(base), n_i = the keys it sees (i + 1); learned_log: also times a learned scale per head [H] in every layer; log_beyond: max(1, log(n_i)/log(base)), the identity on rows that see <= base keys (set base to the longest training sequence to extrapolate a trained model)"),
    INT_KEY("model", "temperature_base", model.temperature_base, "20", LOHI, 2, 1 << 24, "length at which the temperature factor is 1"),
    FLT_KEY("model", "attn_scale", model.attn_scale, "1", POS, 0, 0, "constant factor on every attention logit (times 1/sqrt(head dim) and any temperature), training and decoding; e.g. lengen eval RUN --set model.attn_scale=1.5 to test attention dilution on a checkpoint"),

    /* [task] (any other key in [task] is a task option) */
    {"task", "main", K_MAIN, 0, 0, NULL, "", 0, 0, 0, "the task to learn and evaluate (e.g. sort); required"},
    {"task", "main_weight", K_MAIN_WEIGHT, 0, 0, NULL, "1", POS, 0, 0, "sampling weight of the main task against the hints"},
    {"task", "hints", K_HINTS, 0, 0, NULL, "", 0, 0, 0, "hint tasks trained alongside, name:sample_weight, comma separated (weight defaults to 1)"},
    {"task", "loss_weights", K_LOSS_WEIGHTS, 0, 0, NULL, "", 0, 0, 0, "per-task loss multipliers, name:weight, comma separated; unnamed tasks get 1"},
    BOOL_KEY("task", "whole_sequence_loss", task.whole_sequence_loss, "false", "loss on every token (prompt too) instead of the answer only"),

    /* [train] */
    INT_KEY("train", "steps", train.steps, "2000", LOHI, 1, BIG, "optimizer steps"),
    INT_KEY("train", "batch_size", train.batch_size, "64", LOHI, 1, 4096, "examples per micro-batch"),
    INT_KEY("train", "grad_accum", train.grad_accum, "1", LOHI, 1, 4096, "micro-batches accumulated per optimizer step"),
    ENUM_KEY("train", "optimizer", train.optimizer, optim_names, "adamw", "optimizer (update rules in docs/optim.md)"),
    FLT_KEY("train", "lr", train.lr, "0.001", POS, 0, 0, "peak learning rate"),
    FLT_KEY("train", "min_lr", train.min_lr, "0.0001", LO, 0, 0, "learning rate at the end of the decay; <= lr"),
    INT_KEY("train", "warmup", train.warmup, "100", LOHI, 0, BIG, "steps of linear warmup from 0 to lr; < steps"),
    ENUM_KEY("train", "schedule", train.schedule, sched_names, "cosine", "decay after warmup: constant (stays at lr), cosine or poly, to min_lr at `steps`"),
    FLT_KEY("train", "poly_power", train.poly_power, "1", POS, 0, 0, "power of the poly decay; 1 = linear"),
    FLT_KEY("train", "weight_decay", train.weight_decay, "0.1", LO, 0, 0, "decoupled weight decay, on matrices and embeddings only (not biases, norms)"),
    FLT_KEY("train", "beta1", train.beta1, "0.9", LOHI | R_HI_OPEN, 0, 1, "AdamW first-moment decay; Lion update interpolation"),
    FLT_KEY("train", "beta2", train.beta2, "0.99", LOHI | R_HI_OPEN, 0, 1, "AdamW second-moment decay; Lion momentum decay"),
    FLT_KEY("train", "eps", train.eps, "1e-8", POS, 0, 0, "AdamW denominator epsilon"),
    FLT_KEY("train", "momentum", train.momentum, "0.9", LOHI | R_HI_OPEN, 0, 1, "SGD momentum; 0 = plain SGD"),
    FLT_KEY("train", "grad_clip", train.grad_clip, "1", LO, 0, 0, "clip the global gradient norm to this; 0 = off"),
    INT_KEY("train", "min_length", train.min_length, "1", LOHI, 1, 1 << 20, "shortest training instance (task length units)"),
    INT_KEY("train", "max_length", train.max_length, "20", LOHI, 1, 1 << 20, "longest training instance"),
    INT_KEY("train", "hint_max_length", train.hint_max_length, "0", LOHI, 0, 1 << 20, "longest training instance of the hint tasks (every task but main); 0 = max_length. A deviation knob: hints may train longer than the main task"),
    ENUM_KEY("train", "length_dist", train.length_dist, lendist_names, "uniform", "how training lengths are drawn from [min_length, max_length]"),
    INT_KEY("train", "curriculum_steps", train.curriculum_steps, "0", LOHI, 0, BIG, "curriculum: steps over which the max length grows from min_length to max_length"),
    BOOL_KEY("train", "pack", train.pack, "false", "pack several examples per row, starting at a random shift"),
    INT_KEY("train", "pack_len", train.pack_len, "0", LOHI, 0, 1 << 20, "row length when packing; 0 = max_pos"),
    INT_KEY("train", "length_split", train.length_split, "8", LOHI, 1, 16, "run each batch as this many parts of rows of similar length, each padded to its own longest row; same gradient, less padding (1 = off: two strided row slices, as a batch of one length)"),
    INT_KEY("train", "bucket", train.bucket, "0", LOHI, 0, 1024, "draw this many batches' examples at once, group them by length into batches, shuffle the batches (less padding, but batches of one length: see docs/training.md; 0 or 1 = off; ignored with pack)"),
    INT_KEY("train", "examples", train.examples, "0", LOHI, 0, CFG_MAX_TRAIN_EXAMPLES, "size of a fixed training set trained on in epochs (each a new shuffle); 0 = a fresh example every draw. Not with pack or length_dist = curriculum (docs/training.md)"),
    INT_KEY("train", "log_every", train.log_every, "50", LOHI, 1, BIG, "steps between train.csv lines"),
    INT_KEY("train", "eval_every", train.eval_every, "500", LOHI, 0, BIG, "steps between evaluations; 0 = only at the end"),
    INT_KEY("train", "ckpt_every", train.ckpt_every, "500", LOHI, 0, BIG, "steps between checkpoints; 0 = only at the end"),

    /* [eval] */
    {"eval", "lengths", K_LENGTHS, OFF(eval.n_lengths), 0, NULL, "10:100:10", 0, 0, 0, "lengths evaluated: numbers and start:stop:step ranges (stop inclusive), comma separated, ascending"},
    INT_KEY("eval", "n", eval.n, "200", LOHI, 1, 1 << 24, "held-out examples per length"),
    INT_KEY("eval", "batch_size", eval.batch_size, "64", LOHI, 1, 1 << 20, "examples decoded together"),
    BOOL_KEY("eval", "hints", eval.hints, "true", "also evaluate the hint tasks (false: the main task only, half the time for one hint)"),
    BOOL_KEY("eval", "random_positions", eval.random_positions, "false", "evaluate at a sorted random subset of [0, [model] random_max_pos) per example, as training draws them (Ruoss et al. evaluate so); needs [model] random_positions"),
    STR_KEY("eval", "best_metric", eval.best_metric, metric_names, "exact_match", "metric (mean over best_lengths, main task) that picks best.h5"),
    {"eval", "best_lengths", K_LENGTHS, OFF(eval.n_best_lengths), 0, NULL, "", R_EMPTY_OK, 0, 0, "the lengths (a subset of lengths) whose mean best_metric picks best.h5, e.g. the validation lengths, leaving out-of-distribution lengths only watched; empty = all of lengths"},
    STR_KEY("eval", "best_ties", eval.best_ties, tie_names, "earliest", "of evaluations with an equal best score, which keeps best.h5: earliest (the first step) or latest (each later one replaces it)"),

    /* [run] */
    STR_KEY("run", "name", run.name, NULL, "default", "run name; output goes to out_dir/name/ (letters, digits, . _ -)"),
    STR_KEY("run", "out_dir", run.out_dir, NULL, "runs", "directory holding the runs"),
    {"run", "seed", K_U64, OFF(run.seed), 0, NULL, "1", 0, 0, 0, "seed of every random stream (init, data, dropout, positions)"},
    INT_KEY("run", "threads", run.threads, "0", LOHI, 0, 4096, "OpenMP/BLAS threads; 0 = LENGEN_THREADS or all cores"),
};
#define N_KEYS ((int)(sizeof schema / sizeof schema[0]))

/* inih reads lines into a 200-byte buffer: "key = value" must fit in this many characters
 * (cfg_validate checks that every resolved value does, so cfg_to_string's text loads back) */
#define CFG_LINE_MAX 198
/* the longest formatted value (256 lengths of up to 8 digits, with separators) */
#define CFG_VALUE_TEXT_MAX 4096

/* ---- small helpers ---- */

static void copy_str(char *dst, size_t size, const char *src) {
    size_t n = strlen(src);
    if (n > size - 1) n = size - 1;
    memset(dst, 0, size);   /* zero-padded so configs compare with memcmp */
    memcpy(dst, src, n);
}

static const char *skip_ws(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

/* [s, e) trimmed of blanks into buf; returns buf */
static char *trim_copy(char *buf, size_t size, const char *s, const char *e) {
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) e--;
    size_t n = (size_t)(e - s) < size - 1 ? (size_t)(e - s) : size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* Can `v` be written as "key = v" and read back as v? (inih ends a value at " ;") */
static int writable_value(const char *v) {
    return !strchr(v, '\n') && !strchr(v, '\r') && v[0] != ';' && !strstr(v, " ;") && !strstr(v, "\t;");
}

/* Is `cand` a plausible intended spelling of `typed`? Returns a score (lower is better) or -1. */
static int suggest_score(const char *typed, const char *cand) {
    int d = lg_edit_distance(typed, cand, 0);
    int limit = (int)strlen(typed) / 3;
    if (limit < 2) limit = 2;
    if (d <= limit) return d;
    if (strlen(cand) >= 3 && strstr(typed, cand)) return 50 + d;  /* lr_warmup -> warmup */
    if (strlen(typed) >= 3 && strstr(cand, typed)) return 50 + d;  /* decay -> weight_decay */
    return -1;
}

static int find_key(const char *section, const char *name) {
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(schema[i].section, section) && !strcmp(schema[i].name, name)) return i;
    return -1;
}

static int is_section(const char *s) {
    for (int i = 0; section_names[i]; i++)
        if (!strcmp(section_names[i], s)) return 1;
    return 0;
}

/* "a|b|c" */
static void join_names(char *buf, size_t size, const char *const *names, const char *sep) {
    buf[0] = '\0';
    for (int i = 0; names[i]; i++) {
        if (i) strncat(buf, sep, size - strlen(buf) - 1);
        strncat(buf, names[i], size - strlen(buf) - 1);
    }
}

/* ---- value parsing ---- */

/* All parse_* fill `why` (the tail of "[sec] key = 'v' ...") and return -1 on bad input. */

static int parse_long(const char *v, long long *out) {
    char *end;
    if (!*v) return -1;
    long long x = strtoll(v, &end, 10);
    if (end == v || *skip_ws(end)) return -1;
    *out = x;
    return 0;
}

static int parse_double(const char *v, double *out) {
    char *end;
    if (!*v) return -1;
    double x = strtod(v, &end);
    if (end == v || *skip_ws(end)) return -1;
    *out = x;
    return 0;
}

static int parse_bool(const char *v, int *out) {
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) { *out = 1; return 0; }
        if (!strcasecmp(v, no[i])) { *out = 0; return 0; }
    }
    return -1;
}

static void range_text(const Key *k, char *buf, size_t size) {
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.15g", k->lo);
    snprintf(hi, sizeof hi, "%.15g", k->hi);
    if ((k->range & R_LO) && (k->range & R_HI))
        snprintf(buf, size, "%s%s, %s%s", k->range & R_LO_OPEN ? "(" : "[", lo, hi, k->range & R_HI_OPEN ? ")" : "]");
    else if (k->range & R_LO)
        snprintf(buf, size, "%s %s", k->range & R_LO_OPEN ? ">" : ">=", lo);
    else if (k->range & R_HI)
        snprintf(buf, size, "%s %s", k->range & R_HI_OPEN ? "<" : "<=", hi);
    else
        buf[0] = '\0';
}

static int in_range(const Key *k, double x) {
    if (k->range & R_LO) {
        if (k->range & R_LO_OPEN ? !(x > k->lo) : !(x >= k->lo)) return 0;
    }
    if (k->range & R_HI) {
        if (k->range & R_HI_OPEN ? !(x < k->hi) : !(x <= k->hi)) return 0;
    }
    return 1;
}

/* "successor:0.5, rank" -> names and weights. need_weight: every item must carry ":w".
 * A RASP-L task's name keeps its first colon: "rasp:count:0.5" is rasp:count with weight 0.5,
 * and its program path may hold '/' and '.'. */
static int parse_task_list(const char *v, TaskWeight *out, int max, int *n, int need_weight,
                           int loss, char *why, size_t why_size) {
    *n = 0;
    const char *p = v;
    if (!*skip_ws(p)) return 0;
    for (;;) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        char item[256], name[256];
        trim_copy(item, sizeof item, p, e);
        int rasp = !strncmp(item, "rasp:", 5);
        char *colon = strchr(item + (rasp ? 5 : 0), ':');
        trim_copy(name, sizeof name, item, colon ? colon : item + strlen(item));
        if (!name[0]) {
            snprintf(why, why_size, "has an empty item; write name:weight, comma separated");
            return -1;
        }
        for (const char *c = name; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' ||
                  (rasp && (*c == '/' || *c == '.' || (*c == ':' && c == name + 4))))) {
                snprintf(why, why_size, "has a bad task name '%s' (letters, digits, _ and -; rasp:PATH also / and .)", name);
                return -1;
            }
        if (strlen(name) >= CFG_NAME_MAX) {
            snprintf(why, why_size, "has a task name longer than %d characters: '%s'", CFG_NAME_MAX - 1, name);
            return -1;
        }
        double w = 1.0;
        if (colon) {
            char wtxt[256];
            trim_copy(wtxt, sizeof wtxt, colon + 1, colon + strlen(colon));
            if (parse_double(wtxt, &w) || !isfinite(w) || w <= 0 || w > 1e30) {
                snprintf(why, why_size, "gives '%s' the weight '%s'; weights are numbers > 0", name, wtxt);
                return -1;
            }
        } else if (need_weight) {
            snprintf(why, why_size, "lists '%s' without a weight; write %s:WEIGHT", name, name);
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (!strcmp(out[i].name, name)) {
                snprintf(why, why_size, "names '%s' twice", name);
                return -1;
            }
        if (*n == max) {
            snprintf(why, why_size, "lists more than %d tasks", max);
            return -1;
        }
        TaskWeight *t = &out[(*n)++];
        memset(t, 0, sizeof *t);
        copy_str(t->name, sizeof t->name, name);
        if (loss) t->loss_weight = (float)w;
        else t->sample_weight = (float)w;
        if (!*e) break;
        p = e + 1;
    }
    return 0;
}

int cfg_parse_lengths(const char *s, int *out, int max, int *n, LgErr *err) {
    *n = 0;
    if (!*skip_ws(s)) return lg_err(err, "no lengths given; write e.g. 5,10:100:10");
    const char *p = s;
    for (;;) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        char piece[128];
        trim_copy(piece, sizeof piece, p, e);
        long long part[3] = {0, 0, 1};
        int nparts = 0;
        char *q = piece;
        for (;;) {
            char *colon = strchr(q, ':');
            if (colon) *colon = '\0';
            char num[128];
            trim_copy(num, sizeof num, q, q + strlen(q));
            if (nparts == 3 || parse_long(num, &part[nparts]) || part[nparts] < 1 || part[nparts] > (1 << 24)) {
                if (colon) *colon = ':';
                trim_copy(piece, sizeof piece, p, e);
                return lg_err(err, "bad length piece '%s': use N or START:STOP[:STEP] with whole numbers >= 1", piece);
            }
            nparts++;
            if (!colon) break;
            q = colon + 1;
        }
        trim_copy(piece, sizeof piece, p, e);
        if (nparts == 1) part[1] = part[0];
        if (part[1] < part[0])
            return lg_err(err, "bad length piece '%s': stop %lld is below start %lld", piece, part[1], part[0]);
        for (long long x = part[0]; x <= part[1]; x += part[2]) {
            if (*n == max) return lg_err(err, "more than %d lengths (at piece '%s')", max, piece);
            out[(*n)++] = (int)x;
        }
        if (!*e) break;
        p = e + 1;
    }
    return 0;
}

/* ---- the task mixture ---- */

static void resolve_loss_weights(TaskConfig *t) {
    for (int i = 0; i < t->n_tasks; i++) {
        t->tasks[i].loss_weight = 1.0f;
        for (int j = 0; j < t->n_loss_weights; j++)
            if (!strcmp(t->loss_weights[j].name, t->tasks[i].name)) t->tasks[i].loss_weight = t->loss_weights[j].loss_weight;
    }
}

const TaskOpt *cfg_task_opt(const TaskConfig *t, const char *key) {
    for (int i = 0; i < t->n_opts; i++)
        if (!strcmp(t->opts[i].key, key)) return &t->opts[i];
    return NULL;
}

/* ---- applying one key ---- */

typedef struct Where {
    const char *origin;
    int line;     /* 0 for --set */
} Where;

static int where_err(LgErr *err, Where w, const char *fmt, ...) LG_PRINTF(3, 4);
static int where_err(LgErr *err, Where w, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w.line > 0) return lg_err(err, "%s:%d: %s", w.origin, w.line, msg);
    return lg_err(err, "%s: %s", w.origin, msg);
}

/* The [task] keys that name tasks: main, hints, loss_weights. */
static int set_task_list(Config *c, const Key *k, const char *v, Where w, LgErr *err) {
    char why[512];
    switch (k->type) {
    case K_MAIN: {
        TaskWeight one;
        int n;
        if (parse_task_list(v, &one, 1, &n, 0, 0, why, sizeof why) || strchr(v + (strncmp(v, "rasp:", 5) ? 0 : 5), ':') ||
            strchr(v, ','))
            return where_err(err, w, "[task] main = '%s' must be one task name (weights go in main_weight)", v);
        copy_str(c->task.tasks[0].name, CFG_NAME_MAX, n ? one.name : "");
        resolve_loss_weights(&c->task);
        return 0;
    }
    case K_HINTS: {
        TaskWeight h[CFG_MAX_TASKS];
        int n;
        if (parse_task_list(v, h, CFG_MAX_TASKS - 1, &n, 0, 0, why, sizeof why)) return where_err(err, w, "[task] hints = '%s' %s", v, why);
        TaskConfig *t = &c->task;
        memset(&t->tasks[1], 0, sizeof t->tasks - sizeof t->tasks[0]);
        for (int i = 0; i < n; i++) t->tasks[1 + i] = h[i];
        t->n_tasks = 1 + n;
        resolve_loss_weights(t);
        return 0;
    }
    case K_LOSS_WEIGHTS: {
        TaskWeight lw[CFG_MAX_TASKS];
        int n;
        if (parse_task_list(v, lw, CFG_MAX_TASKS, &n, 1, 1, why, sizeof why)) return where_err(err, w, "[task] loss_weights = '%s' %s", v, why);
        TaskConfig *t = &c->task;
        memset(t->loss_weights, 0, sizeof t->loss_weights);
        for (int i = 0; i < n; i++) t->loss_weights[i] = lw[i];
        t->n_loss_weights = n;
        resolve_loss_weights(t);
        return 0;
    }
    default: break;
    }
    return where_err(err, w, "internal: key type %d is not a task list", (int)k->type);
}

static int set_key(Config *c, const Key *k, const char *v, Where w, LgErr *err) {
    char *base = (char *)c;
    char why[512];
    const char *hint = strstr(v, " #") ? " (inline comments start with ';')" : "";
    switch (k->type) {
    case K_INT: {
        long long x;
        if (parse_long(v, &x)) return where_err(err, w, "[%s] %s = '%s' is not a whole number%s", k->section, k->name, v, hint);
        if (!in_range(k, (double)x)) {
            range_text(k, why, sizeof why);
            return where_err(err, w, "[%s] %s = %s must be %s%s", k->section, k->name, v, why[0] == '[' || why[0] == '(' ? "in " : "", why);
        }
        *(int *)(base + k->off) = (int)x;
        return 0;
    }
    case K_FLOAT:
    case K_MAIN_WEIGHT: {
        double x;
        if (parse_double(v, &x)) return where_err(err, w, "[%s] %s = '%s' is not a number%s", k->section, k->name, v, hint);
        if (!isfinite(x) || fabs(x) > 3e38) return where_err(err, w, "[%s] %s = '%s' is not a finite float", k->section, k->name, v);
        if (!in_range(k, x)) {
            range_text(k, why, sizeof why);
            return where_err(err, w, "[%s] %s = %s must be %s%s", k->section, k->name, v, why[0] == '[' || why[0] == '(' ? "in " : "", why);
        }
        if (k->type == K_MAIN_WEIGHT) c->task.tasks[0].sample_weight = (float)x;
        else *(float *)(base + k->off) = (float)x;
        return 0;
    }
    case K_BOOL:
        if (parse_bool(v, (int *)(base + k->off)))
            return where_err(err, w, "[%s] %s = '%s' is not a boolean; use true/false (or 1/0, yes/no, on/off)%s", k->section, k->name, v, hint);
        return 0;
    case K_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (!strcmp(v, k->names[i])) {
                *(int *)(base + k->off) = i;
                return 0;
            }
        join_names(why, sizeof why, k->names, ", ");
        return where_err(err, w, "[%s] %s = '%s' is not one of: %s%s", k->section, k->name, v, why, hint);
    case K_STRING:
        if (k->names) {
            int ok = 0;
            for (int i = 0; k->names[i]; i++) ok |= !strcmp(v, k->names[i]);
            if (!ok) {
                join_names(why, sizeof why, k->names, ", ");
                return where_err(err, w, "[%s] %s = '%s' is not one of: %s%s", k->section, k->name, v, why, hint);
            }
        }
        if (strlen(v) >= k->size) return where_err(err, w, "[%s] %s = '%s' is longer than %zu characters", k->section, k->name, v, k->size - 1);
        if (!writable_value(v))
            return where_err(err, w, "[%s] %s = '%s' cannot be written back to an INI file (a newline, a leading ';' or ' ;')", k->section, k->name, v);
        copy_str(base + k->off, k->size, v);
        return 0;
    case K_U64: {
        char *end;
        if (!*v || *v == '-') return where_err(err, w, "[%s] %s = '%s' is not a non-negative whole number", k->section, k->name, v);
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (end == v || *skip_ws(end) || errno == ERANGE) return where_err(err, w, "[%s] %s = '%s' is not a non-negative whole number%s", k->section, k->name, v, hint);
        *(unsigned long long *)(base + k->off) = x;
        return 0;
    }
    case K_LENGTHS: {
        LgErr e2;
        int n = 0;
        int *count = (int *)(base + k->off), *list = count + 1;   /* n_X then X[CFG_MAX_LENGTHS] */
        int tmp[CFG_MAX_LENGTHS];
        if (!((k->range & R_EMPTY_OK) && !*skip_ws(v)) && cfg_parse_lengths(v, tmp, CFG_MAX_LENGTHS, &n, &e2))
            return where_err(err, w, "[%s] %s = '%s': %s", k->section, k->name, v, e2.msg);
        memset(list, 0, CFG_MAX_LENGTHS * sizeof(int));
        memcpy(list, tmp, (size_t)n * sizeof(int));
        *count = n;
        return 0;
    }
    case K_MAIN:
    case K_HINTS:
    case K_LOSS_WEIGHTS:
        return set_task_list(c, k, v, w, err);
    }
    return where_err(err, w, "internal: key type %d", (int)k->type);
}

static int set_task_opt(Config *c, const char *key, const char *v, Where w, LgErr *err) {
    TaskConfig *t = &c->task;
    if (strlen(key) >= CFG_NAME_MAX) return where_err(err, w, "[task] option name '%s' is longer than %d characters", key, CFG_NAME_MAX - 1);
    if (strlen(v) >= sizeof t->opts[0].value || strlen(key) + 3 + strlen(v) > CFG_LINE_MAX)
        return where_err(err, w, "[task] %s = '%s' is too long: a config line holds at most %d characters", key, v, CFG_LINE_MAX);
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
            return where_err(err, w, "[task] option name '%s': use letters, digits, '_', '-' and '.' only", key);
    if (!writable_value(v))
        return where_err(err, w, "[task] %s = '%s' cannot be written back to an INI file (a newline, a leading ';' or ' ;')", key, v);
    TaskOpt *o = (TaskOpt *)cfg_task_opt(t, key);
    if (!o) {
        if (t->n_opts == CFG_MAX_TASK_OPTS) return where_err(err, w, "[task] too many task options (at most %d) at '%s'", CFG_MAX_TASK_OPTS, key);
        o = &t->opts[t->n_opts++];
    }
    memset(o, 0, sizeof *o);
    copy_str(o->key, sizeof o->key, key);
    copy_str(o->value, sizeof o->value, v);
    copy_str(o->file, sizeof o->file, w.origin);
    o->line = w.line;
    return 0;
}

/* The message for a key not in `section`'s schema. */
static int unknown_key(const char *section, const char *name, Where w, LgErr *err) {
    /* the exact key in another section? */
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(schema[i].name, name) && strcmp(schema[i].section, section)) {
            if (!section[0]) return where_err(err, w, "key '%s' is outside any section; it belongs in [%s]", name, schema[i].section);
            return where_err(err, w, "unknown key '%s' in [%s] ('%s' belongs in [%s])", name, section, name, schema[i].section);
        }
    int best = -1, best_score = 1 << 30, best_other = -1, other_score = 1 << 30;
    for (int i = 0; i < N_KEYS; i++) {
        int s = suggest_score(name, schema[i].name);
        if (s < 0) continue;
        if (!strcmp(schema[i].section, section)) {
            if (s < best_score) best_score = s, best = i;
        } else if (s < other_score) {
            other_score = s, best_other = i;
        }
    }
    if (!section[0]) {
        if (best_other >= 0)
            return where_err(err, w, "key '%s' is outside any section (did you mean '%s' in [%s]?)", name, schema[best_other].name, schema[best_other].section);
        return where_err(err, w, "key '%s' is outside any section; put keys under [model], [task], [train], [eval] or [run]", name);
    }
    if (best >= 0) return where_err(err, w, "unknown key '%s' in [%s] (did you mean '%s'?)", name, section, schema[best].name);
    if (best_other >= 0)
        return where_err(err, w, "unknown key '%s' in [%s] (did you mean '%s' in [%s]?)", name, section, schema[best_other].name, schema[best_other].section);
    return where_err(err, w, "unknown key '%s' in [%s]; the keys are listed in docs/configs.md", name, section);
}

static int unknown_section(const char *section, Where w, LgErr *err) {
    int best = -1, best_d = 1 << 30;
    for (int i = 0; section_names[i]; i++) {
        int s = suggest_score(section, section_names[i]);
        if (s >= 0 && s < best_d) best_d = s, best = i;
    }
    if (best >= 0)
        return where_err(err, w, "unknown section [%s] (did you mean [%s]?)", section, section_names[best]);
    return where_err(err, w, "unknown section [%s]; the sections are [model], [task], [train], [eval], [run]", section);
}

/* Applies section.key = value from a file line or --set. seen: keys set in this file (NULL for
 * --set, where a later value simply replaces the earlier one). */
typedef struct Load {
    Config *c;
    const char *origin;
    const char *text, *pos;   /* reader state */
    int line;
    int failed;
    LgErr *err;
    unsigned char seen[N_KEYS];
    char seen_opts[CFG_MAX_TASK_OPTS][CFG_NAME_MAX];
    int n_seen_opts;
} Load;

static int apply(Config *c, const char *section, const char *name, const char *value, Where w,
                 Load *ld, LgErr *err) {
    if (section[0] && !is_section(section)) return unknown_section(section, w, err);
    int i = find_key(section, name);
    if (i < 0) {
        if (!strcmp(section, "task")) {
            if (!name[0]) return where_err(err, w, "[task] empty option name");
            if (ld) {
                for (int j = 0; j < ld->n_seen_opts; j++)
                    if (!strcmp(ld->seen_opts[j], name)) return where_err(err, w, "duplicate key '%s' in [task]", name);
                if (ld->n_seen_opts < CFG_MAX_TASK_OPTS) copy_str(ld->seen_opts[ld->n_seen_opts++], CFG_NAME_MAX, name);
            }
            return set_task_opt(c, name, value, w, err);
        }
        return unknown_key(section, name, w, err);
    }
    if (ld) {
        if (ld->seen[i]) return where_err(err, w, "duplicate key '%s' in [%s]", name, section);
        ld->seen[i] = 1;
    }
    return set_key(c, &schema[i], value, w, err);
}

/* ---- reading INI text through inih ---- */

/* inih's fgets-style reader over our text. Lines are left-trimmed (so indentation is allowed
 * and never turns a key into a continuation line), section headers are checked here (so an
 * empty unknown section is caught too), and too-long lines are an error, not a silent split. */
static char *ini_read_line(char *buf, int num, void *stream) {
    Load *ld = stream;
    if (ld->failed || !*ld->pos) return NULL;
    const char *s = ld->pos, *e = strchr(s, '\n');
    if (!e) e = s + strlen(s);
    ld->pos = *e ? e + 1 : e;
    ld->line++;
    if (ld->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF) s += 3;
    s = skip_ws(s);
    size_t len = (size_t)(e - s);
    Where w = {ld->origin, ld->line};
    if (len + 2 > (size_t)num) {
        ld->failed = 1;
        where_err(ld->err, w, "line is longer than %d characters", num - 2);
        return NULL;
    }
    memcpy(buf, s, len);
    buf[len] = '\n';
    buf[len + 1] = '\0';
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close) {
            char name[256];
            trim_copy(name, sizeof name, buf + 1, close);
            if (!is_section(name)) {
                ld->failed = 1;
                unknown_section(name, w, ld->err);
                return NULL;
            }
        }
    }
    return buf;
}

static int ini_on_key(void *user, const char *section, const char *name, const char *value) {
    Load *ld = user;
    if (ld->failed) return 0;
    Where w = {ld->origin, ld->line};
    if (apply(ld->c, section, name, value, w, ld, ld->err)) {
        ld->failed = 1;
        return 0;
    }
    return 1;
}

int cfg_load_string(Config *c, const char *text, const char *origin, LgErr *err) {
    Load *ld = lg_calloc(1, sizeof *ld, "config loader");
    ld->c = c;
    ld->origin = origin;
    ld->text = ld->pos = text;
    ld->err = err;
    int rc = ini_parse_stream(ini_read_line, ld, ini_on_key, ld);
    int ret = 0;
    if (ld->failed) ret = -1;
    else if (rc != 0) ret = lg_err(err, "%s:%d: syntax error: expected '[section]', 'key = value' or a comment (';' or '#')", origin, rc);
    lg_free(ld);
    return ret;
}

int cfg_load_file(Config *c, const char *path, LgErr *err) {
    if (lg_check_input_file(path, CFG_MAX_FILE_BYTES, "config file", err) != 0) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return lg_err(err, "%s: cannot open config file: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *text = lg_malloc(cap, "config text");
    size_t got;
    while ((got = fread(text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) text = lg_realloc(text, cap *= 2, "config text");
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        lg_free(text);
        return lg_err(err, "%s: read error", path);
    }
    text[n] = '\0';
    if (strlen(text) != n) {
        lg_free(text);
        return lg_err(err, "%s: contains a NUL byte; is it a text INI file?", path);
    }
    int rc = cfg_load_string(c, text, path, err);
    lg_free(text);
    return rc;
}

int cfg_set(Config *c, const char *assignment, LgErr *err) {
    Where w = {"--set", 0};
    const char *eq = strchr(assignment, '=');
    if (!eq) return lg_err(err, "--set '%s': expected section.key=value, e.g. train.lr=3e-4", assignment);
    char lhs[256], value[512], section[64], name[192];
    trim_copy(lhs, sizeof lhs, assignment, eq);
    trim_copy(value, sizeof value, eq + 1, eq + strlen(eq));
    char *dot = strchr(lhs, '.');
    if (!dot) {
        for (int i = 0; i < N_KEYS; i++)
            if (!strcmp(schema[i].name, lhs))
                return lg_err(err, "--set '%s': name the section: %s.%s=%s", assignment, schema[i].section, lhs, value);
        return lg_err(err, "--set '%s': expected section.key=value, e.g. train.lr=3e-4", assignment);
    }
    trim_copy(section, sizeof section, lhs, dot);
    trim_copy(name, sizeof name, dot + 1, dot + strlen(dot));
    if (!section[0] || !name[0]) return lg_err(err, "--set '%s': expected section.key=value, e.g. train.lr=3e-4", assignment);
    return apply(c, section, name, value, w, NULL, err);
}

/* ---- defaults ---- */

void cfg_defaults(Config *c) {
    memset(c, 0, sizeof *c);
    c->task.n_tasks = 1;
    for (int i = 0; i < N_KEYS; i++) {
        LgErr err;
        Where w = {"schema default", 0};
        if (set_key(c, &schema[i], schema[i].def, w, &err))
            lg_die("bad default for [%s] %s: %s", schema[i].section, schema[i].name, err.msg);
    }
}

/* ---- writing ---- */

/* The shortest text that reads back as the same float: 0.001, 1e-8, 10000. */
static void format_float(char *buf, size_t size, float x) {
    if (x == floorf(x) && fabsf(x) < 1e9f) {
        snprintf(buf, size, "%.0f", (double)x);
        return;
    }
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    /* tidy the exponent: 1e-08 -> 1e-8, 1e+20 -> 1e20 */
    char *e = strchr(buf, 'e');
    if (e) {
        char *d = e + 1, *src = e + 1;
        if (*src == '+') src++;
        else if (*src == '-') *d++ = *src++;
        while (*src == '0' && src[1]) src++;
        memmove(d, src, strlen(src) + 1);
    }
}

static void format_task_list(char *buf, size_t size, const TaskWeight *t, int n, int loss) {
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        char w[32], item[CFG_NAME_MAX + 640];
        format_float(w, sizeof w, loss ? t[i].loss_weight : t[i].sample_weight);
        snprintf(item, sizeof item, "%s%s:%s", i ? ", " : "", t[i].name, w);
        strncat(buf, item, size - strlen(buf) - 1);
    }
}

/* Compresses runs of equal steps into start:stop:step. */
static void format_lengths(char *buf, size_t size, const int *v, int n) {
    buf[0] = '\0';
    for (int i = 0; i < n;) {
        int j = i + 1;
        if (i + 2 < n && v[i + 1] > v[i]) {
            int step = v[i + 1] - v[i];
            while (j < n && v[j] - v[j - 1] == step) j++;
            if (j - i < 3) j = i + 1;
        }
        char item[64];
        if (j - i >= 3) {
            int step = v[i + 1] - v[i];
            if (step == 1) snprintf(item, sizeof item, "%s%d:%d", i ? ", " : "", v[i], v[j - 1]);
            else snprintf(item, sizeof item, "%s%d:%d:%d", i ? ", " : "", v[i], v[j - 1], step);
        } else {
            snprintf(item, sizeof item, "%s%d", i ? ", " : "", v[i]);
        }
        strncat(buf, item, size - strlen(buf) - 1);
        i = j;
    }
}

static void format_key(const Config *c, const Key *k, char *buf, size_t size) {
    const char *base = (const char *)c;
    switch (k->type) {
    case K_INT: snprintf(buf, size, "%d", *(const int *)(base + k->off)); break;
    case K_FLOAT: format_float(buf, size, *(const float *)(base + k->off)); break;
    case K_BOOL: snprintf(buf, size, "%s", *(const int *)(base + k->off) ? "true" : "false"); break;
    case K_ENUM: {
        int v = *(const int *)(base + k->off), n = 0;
        while (k->names[n]) n++;
        snprintf(buf, size, "%s", v >= 0 && v < n ? k->names[v] : "?");
        break;
    }
    case K_STRING: snprintf(buf, size, "%s", base + k->off); break;
    case K_U64: snprintf(buf, size, "%llu", *(const unsigned long long *)(base + k->off)); break;
    case K_LENGTHS: {
        const int *count = (const int *)(base + k->off);
        format_lengths(buf, size, count + 1, *count);
        break;
    }
    case K_MAIN: snprintf(buf, size, "%s", c->task.tasks[0].name); break;
    case K_MAIN_WEIGHT: format_float(buf, size, c->task.tasks[0].sample_weight); break;
    case K_HINTS: format_task_list(buf, size, c->task.tasks + 1, c->task.n_tasks - 1, 0); break;
    case K_LOSS_WEIGHTS: format_task_list(buf, size, c->task.loss_weights, c->task.n_loss_weights, 1); break;
    }
}

typedef struct Text {
    char *s;
    size_t n, cap;
} Text;

static void text_add(Text *t, const char *a, const char *b, const char *c) {
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(parts[i]);
        while (t->n + l + 1 > t->cap) t->s = lg_realloc(t->s, t->cap *= 2, "config text");
        memcpy(t->s + t->n, parts[i], l + 1);
        t->n += l;
    }
}

char *cfg_to_string(const Config *c) {
    Text t = {lg_malloc(8192, "config text"), 0, 8192};
    t.s[0] = '\0';
    char val[CFG_VALUE_TEXT_MAX];
    for (int i = 0; i < N_KEYS; i++) {
        if (i == 0 || strcmp(schema[i].section, schema[i - 1].section))
            text_add(&t, i ? "\n[" : "[", schema[i].section, "]\n");
        format_key(c, &schema[i], val, sizeof val);
        text_add(&t, schema[i].name, val[0] ? " = " : " =", val);
        text_add(&t, "\n", "", "");
        int last_of_section = i + 1 == N_KEYS || strcmp(schema[i].section, schema[i + 1].section);
        if (last_of_section && !strcmp(schema[i].section, "task"))
            for (int j = 0; j < c->task.n_opts; j++) {
                text_add(&t, c->task.opts[j].key, " = ", c->task.opts[j].value);
                text_add(&t, "\n", "", "");
            }
    }
    return t.s;
}

int cfg_get(const Config *c, const char *key, char *buf, size_t len, LgErr *err) {
    const char *dot = strchr(key, '.');
    char section[64] = "";
    if (dot) trim_copy(section, sizeof section, key, dot);
    const char *name = dot ? dot + 1 : key;
    int i = find_key(section, name);
    if (i >= 0) {
        char val[CFG_VALUE_TEXT_MAX];
        format_key(c, &schema[i], val, sizeof val);
        snprintf(buf, len, "%s", val);
        return 0;
    }
    if (!strcmp(section, "task")) {
        const TaskOpt *o = cfg_task_opt(&c->task, name);
        if (o) {
            snprintf(buf, len, "%s", o->value);
            return 0;
        }
        return lg_err(err, "task option '%s' is not set", name);
    }
    Where w = {"cfg_get", 0};
    if (!is_section(section)) return unknown_section(section, w, err);
    return unknown_key(section, name, w, err);
}

int cfg_equal(const Config *a, const Config *b) {
    Config *x = lg_malloc(2 * sizeof *x, "config compare"), *y = x + 1;
    memcpy(x, a, sizeof *x);
    memcpy(y, b, sizeof *y);
    for (int i = 0; i < CFG_MAX_TASK_OPTS; i++) {
        memset(x->task.opts[i].file, 0, sizeof x->task.opts[i].file);
        memset(y->task.opts[i].file, 0, sizeof y->task.opts[i].file);
        x->task.opts[i].line = y->task.opts[i].line = 0;
    }
    int eq = memcmp(x, y, sizeof *x) == 0;
    lg_free(x);
    return eq;
}

/* ---- validation ---- */

int cfg_validate(const Config *c, LgErr *err) {
    /* every key's own range, for configs built or changed in code */
    for (int i = 0; i < N_KEYS; i++) {
        const Key *k = &schema[i];
        if (!k->range) continue;
        double x;
        if (k->type == K_INT) x = *(const int *)((const char *)c + k->off);
        else if (k->type == K_FLOAT) x = *(const float *)((const char *)c + k->off);
        else continue;
        if (!in_range(k, x)) {
            char r[64];
            range_text(k, r, sizeof r);
            return lg_err(err, "[%s] %s = %g must be %s%s", k->section, k->name, x, r[0] == '[' || r[0] == '(' ? "in " : "", r);
        }
    }
    const ModelConfig *m = &c->model;
    const TrainConfig *t = &c->train;
    const TaskConfig *tk = &c->task;
    const EvalConfig *ev = &c->eval;
    if (m->d_model % m->heads)
        return lg_err(err, "[model] heads = %d does not divide d_model = %d; pick heads from the divisors of d_model", m->heads, m->d_model);
    if (pe_check(m, err)) return -1;
    if (!tk->tasks[0].name[0]) return lg_err(err, "[task] main is not set; name the task to learn, e.g. main = sort");
    for (int i = 0; i < tk->n_tasks; i++) {
        if (!tk->tasks[i].name[0]) return lg_err(err, "[task] task %d has no name", i);
        if (!(tk->tasks[i].sample_weight > 0) || !isfinite(tk->tasks[i].sample_weight))
            return lg_err(err, "[task] %s's sample weight %g must be > 0", tk->tasks[i].name, (double)tk->tasks[i].sample_weight);
        if (!(tk->tasks[i].loss_weight > 0) || !isfinite(tk->tasks[i].loss_weight))
            return lg_err(err, "[task] %s's loss weight %g must be > 0", tk->tasks[i].name, (double)tk->tasks[i].loss_weight);
        for (int j = 0; j < i; j++)
            if (!strcmp(tk->tasks[i].name, tk->tasks[j].name))
                return lg_err(err, "[task] '%s' appears twice in main and hints; each task may appear once", tk->tasks[i].name);
    }
    for (int j = 0; j < tk->n_loss_weights; j++) {
        int found = 0;
        for (int i = 0; i < tk->n_tasks; i++) found |= !strcmp(tk->loss_weights[j].name, tk->tasks[i].name);
        if (!found)
            return lg_err(err, "[task] loss_weights names '%s', which is neither main nor a hint", tk->loss_weights[j].name);
    }
    if (t->min_lr > t->lr) return lg_err(err, "[train] min_lr = %g must be <= lr = %g", (double)t->min_lr, (double)t->lr);
    if (t->warmup >= t->steps) return lg_err(err, "[train] warmup = %d must be < steps = %d", t->warmup, t->steps);
    if (t->min_length > t->max_length)
        return lg_err(err, "[train] min_length = %d must be <= max_length = %d", t->min_length, t->max_length);
    if (t->hint_max_length && t->hint_max_length < t->min_length)
        return lg_err(err, "[train] hint_max_length = %d must be 0 (same as max_length) or >= min_length = %d",
                      t->hint_max_length, t->min_length);
    if (t->hint_max_length && tk->n_tasks < 2)
        return lg_err(err, "[train] hint_max_length = %d is set but [task] has no hints; add hints or remove it",
                      t->hint_max_length);
    if (t->length_dist == LENDIST_CURRICULUM && (t->curriculum_steps < 1 || t->curriculum_steps > t->steps))
        return lg_err(err, "[train] length_dist = curriculum needs curriculum_steps in [1, steps = %d] (got %d)", t->steps, t->curriculum_steps);
    if (t->examples && t->pack)
        return lg_err(err, "[train] examples = %d (a fixed training set) does not combine with pack = true: packed "
                      "rows take a varying number of examples, so a resumed run could not find its place in the "
                      "epoch; set pack = false or examples = 0", t->examples);
    if (t->examples && t->length_dist == LENDIST_CURRICULUM)
        return lg_err(err, "[train] examples = %d (a fixed training set) does not combine with length_dist = "
                      "curriculum: the set's lengths are fixed when it is drawn, so there is no growing range to "
                      "follow; use length_dist = uniform or pairs, or examples = 0", t->examples);
    if (t->pack && t->pack_len > m->max_pos)
        return lg_err(err, "[train] pack_len = %d must be <= [model] max_pos = %d", t->pack_len, m->max_pos);
    if (ev->n_lengths < 1) return lg_err(err, "[eval] lengths is empty; list the lengths to evaluate, e.g. 10:100:10");
    for (int i = 0; i < ev->n_lengths; i++) {
        if (ev->lengths[i] < 1) return lg_err(err, "[eval] lengths: %d is not a positive length", ev->lengths[i]);
        if (i && ev->lengths[i] <= ev->lengths[i - 1])
            return lg_err(err, "[eval] lengths must be ascending without repeats, but %d follows %d", ev->lengths[i], ev->lengths[i - 1]);
    }
    for (int i = 0; i < ev->n_best_lengths; i++) {
        int in = 0;
        for (int k = 0; k < ev->n_lengths; k++) in |= ev->lengths[k] == ev->best_lengths[i];
        if (!in)
            return lg_err(err, "[eval] best_lengths: %d is not one of [eval] lengths; best_lengths picks "
                          "best.h5 from lengths that are evaluated, so list a subset of lengths (or leave it "
                          "empty for all of them)", ev->best_lengths[i]);
    }
    if (ev->random_positions && !c->model.random_positions)
        return lg_err(err, "[eval] random_positions = true needs [model] random_positions = true: the positions "
                      "are drawn as training draws them; set both, or neither");
    int metric_ok = 0;
    for (int i = 0; metric_names[i]; i++) metric_ok |= !strcmp(ev->best_metric, metric_names[i]);
    if (!metric_ok) return lg_err(err, "[eval] best_metric = '%s' is not one of: exact_match, token_accuracy", ev->best_metric);
    if (!c->run.name[0]) return lg_err(err, "[run] name is empty");
    for (const char *p = c->run.name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
            return lg_err(err, "[run] name = '%s': use letters, digits, '.', '_' and '-' only (it names a directory)", c->run.name);
    if (!strcmp(c->run.name, ".") || !strcmp(c->run.name, ".."))
        return lg_err(err, "[run] name = '%s' is not a usable directory name", c->run.name);
    if (!c->run.out_dir[0]) return lg_err(err, "[run] out_dir is empty; use e.g. runs");
    /* everything must be writable as INI lines that load back */
    char *val = lg_malloc(CFG_VALUE_TEXT_MAX, "config value");
    for (int i = 0; i < N_KEYS; i++) {
        format_key(c, &schema[i], val, CFG_VALUE_TEXT_MAX);
        size_t len = strlen(schema[i].name) + 3 + strlen(val);
        if (len > CFG_LINE_MAX) {
            int rc = lg_err(err, "[%s] %s: written out, this value takes a %zu-character line, more than the %d an INI line holds; shorten it%s",
                            schema[i].section, schema[i].name, len, CFG_LINE_MAX,
                            schema[i].type == K_LENGTHS ? " (use start:stop:step ranges)" : "");
            lg_free(val);
            return rc;
        }
    }
    lg_free(val);
    return 0;
}

/* ---- names and schema access ---- */

const char *cfg_optim_name(OptimKind k) { return k >= 0 && k <= OPT_SGD ? optim_names[k] : "?"; }

int cfg_key_count(void) { return N_KEYS; }

CfgKeyInfo cfg_key_info(int i) {
    static const char *const type_names[] = {"int", "float", "bool", "enum", "string", "uint64", "lengths",
                                             "task name", "float", "task list", "task list"};
    static char range_buf[N_KEYS][256];
    LG_ASSERT(i >= 0 && i < N_KEYS, "key index %d of %d", i, N_KEYS);
    const Key *k = &schema[i];
    if (k->names) join_names(range_buf[i], sizeof range_buf[i], k->names, ", ");
    else range_text(k, range_buf[i], sizeof range_buf[i]);
    return (CfgKeyInfo){k->section, k->name, type_names[k->type], k->def, range_buf[i], k->doc};
}
