/* task: the registry, option parsing and validation, the generate wrapper (length and buffer
 * checks, EOS, loss mask), formatting, answer checking and hashing. See task.h. */
#include "task_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const TaskDef *const registry[] = {
    &task_def_sort, &task_def_sort_unique, &task_def_successor, &task_def_predecessor,
    &task_def_rank, &task_def_fill, &task_def_min_prefix, &task_def_next_larger, &task_def_copies,
    &task_def_increment, &task_def_addition, &task_def_multiplication,
    &task_def_parity, &task_def_sum, &task_def_poly, &task_def_lego,
    &task_def_copy, &task_def_reverse, &task_def_duplicate, &task_def_unique_copy,
    &task_def_count, &task_def_mode, &task_def_scan,
};
#define N_REGISTRY ((int)(sizeof registry / sizeof registry[0]))

/* Every task also takes `loss`, kept after its own options. */
static const OptDef loss_opt = {"loss", OPTK_ENUM, "answer", 0, 0, "answer|sequence",
                                "tokens that carry loss: the answer only, or the whole sequence"};

static int def_n_opts(const TaskDef *d) { return d->n_opts + 1; }
static const OptDef *def_opt(const TaskDef *d, int i) { return i < d->n_opts ? &d->opts[i] : &loss_opt; }

/* ---- registry ---- */
int task_registry_count(void) { return N_REGISTRY; }
const char *task_registry_name(int i) { return registry[i]->name; }

static void opt_form(const OptDef *o, char *buf, size_t cap) {
    switch (o->kind) {
    case OPTK_INT: snprintf(buf, cap, "an integer in %d..%d", o->lo, o->hi); break;
    case OPTK_BOOL: snprintf(buf, cap, "true|false"); break;
    case OPTK_ENUM: snprintf(buf, cap, "%s", o->choices); break;
    case OPTK_RANGE: snprintf(buf, cap, "LO..HI with %d <= LO <= HI <= %d", o->lo, o->hi); break;
    }
}

static TaskOptInfo info_cache[N_REGISTRY][TASK_MAX_OPTS + 1];
static char form_cache[N_REGISTRY][TASK_MAX_OPTS + 1][96];

const TaskOptInfo *task_registry_opts(int i, int *n) {
    const TaskDef *d = registry[i];
    *n = def_n_opts(d);
    for (int k = 0; k < *n; k++) {
        const OptDef *o = def_opt(d, k);
        opt_form(o, form_cache[i][k], sizeof form_cache[i][k]);
        info_cache[i][k] = (TaskOptInfo){o->name, o->def, form_cache[i][k], o->help};
    }
    return info_cache[i];
}

void task_print_list(FILE *f) {
    for (int i = 0; i < N_REGISTRY; i++) {
        const TaskDef *d = registry[i];
        fprintf(f, "%s: %s\n  length: %s\n", d->name, d->help, d->length_help);
        int n;
        const TaskOptInfo *o = task_registry_opts(i, &n);
        for (int k = 0; k < n; k++)
            fprintf(f, "  %-14s = %-10s %s (%s)\n", o[k].name, o[k].def, o[k].help, o[k].form);
    }
    fprintf(f, "rasp:NAME, rasp:PATH.rasp: %s\n  length: %s\n", task_def_rasp.help, task_def_rasp.length_help);
}

static const TaskDef *find_def(const char *name) {
    if (!strncmp(name, TASK_RASP_PREFIX, strlen(TASK_RASP_PREFIX))) return &task_def_rasp;
    for (int i = 0; i < N_REGISTRY; i++)
        if (!strcmp(registry[i]->name, name)) return registry[i];
    return NULL;
}

/* ---- suggestions ---- */
/* appends to buf (NUL-terminated) */
static void cat(char *buf, size_t cap, const char *fmt, ...) LG_PRINTF(3, 4);
static void cat(char *buf, size_t cap, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static void where(char *buf, size_t cap, const TaskOpt *o) {
    buf[0] = 0;
    if (o->file[0] && o->line > 0) snprintf(buf, cap, "%s:%d: ", o->file, o->line);
    else if (o->file[0]) snprintf(buf, cap, "%s: ", o->file);
}

/* ---- option values ---- */
static int parse_int(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno) return -1;
    *out = v;
    return 0;
}

static int parse_opt(const OptDef *o, const char *value, int out[2]) {
    long a, b;
    switch (o->kind) {
    case OPTK_INT:
        if (parse_int(value, &a) || a < o->lo || a > o->hi) return -1;
        out[0] = (int)a;
        return 0;
    case OPTK_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "on")) out[0] = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no") || !strcmp(value, "off")) out[0] = 0;
        else return -1;
        return 0;
    case OPTK_ENUM: {
        const char *c = o->choices;
        for (int idx = 0;; idx++) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (strlen(value) == len && !strncmp(value, c, len)) {
                out[0] = idx;
                return 0;
            }
            if (!bar) return -1;
            c = bar + 1;
        }
    }
    case OPTK_RANGE: {
        const char *dots = strstr(value, "..");
        if (!dots || dots - value > 30) return -1;
        char lo[32];
        memcpy(lo, value, (size_t)(dots - value));
        lo[dots - value] = 0;
        if (parse_int(lo, &a) || parse_int(dots + 2, &b)) return -1;
        if (a < o->lo || b > o->hi || a > b) return -1;
        out[0] = (int)a;
        out[1] = (int)b;
        return 0;
    }
    }
    return -1;
}

static int def_find_opt(const TaskDef *d, const char *key) {
    for (int k = 0; k < def_n_opts(d); k++)
        if (!strcmp(def_opt(d, k)->name, key)) return k;
    return -1;
}

static int set_opt(Task *t, int k, const char *value, const TaskOpt *src, LgErr *err) {
    const OptDef *o = def_opt(t->def, k);
    if (parse_opt(o, value, t->opt[k]) == 0) {
        if (k == t->def->n_opts) t->whole_seq = t->opt[k][0];
        return 0;
    }
    char w[300] = "", form[96];
    if (src) where(w, sizeof w, src);
    opt_form(o, form, sizeof form);
    return lg_err(err, "%sbad value '%s' for task option '%s' of %s: expected %s", w, value, o->name,
                  t->def->name, form);
}

/* ---- building ---- */
static Task *task_new(const TaskDef *d, const char *name, Vocab *vocab) {
    Task *t = lg_calloc(1, sizeof *t, "task");
    t->def = d;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->vocab = vocab;
    for (int k = 0; k < def_n_opts(d); k++) {
        int r = set_opt(t, k, def_opt(d, k)->def, NULL, NULL);
        LG_ASSERT(r == 0, "default '%s' of option %s of %s does not parse", def_opt(d, k)->def,
                  def_opt(d, k)->name, d->name);
    }
    return t;
}

void task_free(Task *t) {
    if (!t) return;
    if (t->ext_free) t->ext_free(t->ext);
    lg_free(t->num);
    lg_free(t->num2);
    lg_free(t->scratch);
    lg_free(t);
}

static int unknown_task(const char *name, LgErr *err) {
    char list[1024] = "";
    const char *best = NULL;
    int bestd = 99;
    for (int i = 0; i < N_REGISTRY; i++) {
        cat(list, sizeof list, "%s%s", i ? ", " : "", registry[i]->name);
        int dd = lg_edit_distance(name, registry[i]->name, 1);
        if (dd < bestd) bestd = dd, best = registry[i]->name;
    }
    char hint[128] = "";
    if (best && bestd <= 3) snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
    return lg_err(err, "unknown task '%s'%s; valid tasks: %s", name, hint, list);
}

static int unknown_opt(const TaskOpt *o, const TaskDef *const *defs, int n, LgErr *err) {
    char w[300], list[700] = "";
    const char *best = NULL;
    int bestd = 99;
    where(w, sizeof w, o);
    for (int i = 0; i < n; i++) {
        cat(list, sizeof list, "%soptions of %s: ", i ? "; " : "", defs[i]->name);
        for (int k = 0; k < def_n_opts(defs[i]); k++) {
            const char *name = def_opt(defs[i], k)->name;
            cat(list, sizeof list, "%s%s", k ? ", " : "", name);
            int dd = lg_edit_distance(o->key, name, 1);
            if (dd < bestd) bestd = dd, best = name;
        }
    }
    char hint[128] = "";
    if (best && bestd <= 3) snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
    return lg_err(err, "%sunknown task option '%s'%s; %s", w, o->key, hint, list);
}

int task_create_many(const char *const *names, int n_tasks, const TaskOpt *opts, int n_opts,
                     Vocab *vocab, Task **out, LgErr *err) {
    const TaskDef *defs[CFG_MAX_TASKS];
    if (n_tasks < 1 || n_tasks > CFG_MAX_TASKS)
        return lg_err(err, "%d tasks given; between 1 and %d can share a model", n_tasks, CFG_MAX_TASKS);
    for (int i = 0; i < n_tasks; i++) {
        defs[i] = find_def(names[i]);
        if (!defs[i]) return unknown_task(names[i], err);
        out[i] = NULL;
    }
    for (int j = 0; j < n_opts; j++) {
        int known = 0;
        for (int i = 0; i < n_tasks; i++) known |= def_find_opt(defs[i], opts[j].key) >= 0;
        if (!known) return unknown_opt(&opts[j], defs, n_tasks, err);
    }
    for (int i = 0; i < n_tasks; i++) {
        out[i] = task_new(defs[i], names[i], vocab);
        for (int j = 0; j < n_opts; j++) {
            int k = def_find_opt(defs[i], opts[j].key);
            if (k >= 0 && set_opt(out[i], k, opts[j].value, &opts[j], err)) goto fail;
        }
    }
    for (int i = 0; i < n_tasks; i++) {
        char tok[VOCAB_TOKEN_MAX + 64];
        if (defs[i] == &task_def_rasp) task_rasp_token(names[i], tok, sizeof tok);
        else snprintf(tok, sizeof tok, "<%s>", out[i]->name);
        if (strlen(tok) >= VOCAB_TOKEN_MAX) {
            lg_err(err, "task %s: its task token %s is longer than %d characters; use a shorter name",
                   names[i], tok, VOCAB_TOKEN_MAX - 1);
            goto fail;
        }
        out[i]->id_task = vocab_add(vocab, tok);
    }
    for (int i = 0; i < n_tasks; i++) {
        if (defs[i]->setup(out[i], err)) goto fail;
        LG_ASSERT(out[i]->min_len >= 1 && out[i]->min_len <= out[i]->max_len, "%s: bad length range", defs[i]->name);
    }
    return 0;
fail:
    for (int i = 0; i < n_tasks; i++) task_free(out[i]), out[i] = NULL;
    return -1;
}

Task *task_create(const char *name, const TaskOpt *opts, int n_opts, Vocab *vocab, LgErr *err) {
    Task *t;
    return task_create_many(&name, 1, opts, n_opts, vocab, &t, err) ? NULL : t;
}

const char *task_name(const Task *t) { return t->name; }
int task_token(const Task *t) { return t->id_task; }
void task_length_range(const Task *t, int *min, int *max) { *min = t->min_len, *max = t->max_len; }
void task_set_whole_sequence_loss(Task *t, int on) { t->whole_seq = on != 0; }

/* ---- helpers for families ---- */
void task_alloc_scratch(Task *t, int n_ints) {
    lg_free(t->scratch);
    t->scratch = lg_malloc((size_t)(n_ints > 0 ? n_ints : 1) * sizeof(int), "task scratch");
    t->n_scratch = n_ints;
}

void task_add_numbers(Task *t, int lo, int hi) {
    char s[VOCAB_TOKEN_MAX];
    lg_free(t->num);
    t->n_num = hi - lo + 1;
    t->num = lg_malloc((size_t)t->n_num * sizeof(int), "task number ids");
    for (int v = lo; v <= hi; v++) {
        snprintf(s, sizeof s, "%d", v);
        t->num[v - lo] = vocab_add(t->vocab, s);
    }
}

void task_add_symbols(Task *t, int n) {
    char s[VOCAB_TOKEN_MAX];
    lg_free(t->num);
    t->n_num = n;
    t->num = lg_malloc((size_t)n * sizeof(int), "task symbol ids");
    for (int i = 0; i < n; i++) {
        if (i < 26) snprintf(s, sizeof s, "%c", 'a' + i);
        else if (i < 52) snprintf(s, sizeof s, "%c", 'A' + i - 26);
        else snprintf(s, sizeof s, "s%d", i);
        t->num[i] = vocab_add(t->vocab, s);
    }
}

void task_add_digits(Task *t) {
    char s[2] = "0";
    for (int d = 0; d < 10; d++) {
        s[0] = (char)('0' + d);
        t->sym[d] = vocab_add(t->vocab, s);
    }
}

void ex_int(const Task *t, TaskExample *ex, int value) {
    int d[12], k = 0;
    do d[k++] = value % 10, value /= 10; while (value);
    ex_number(t, ex, d, k, 0);
}

/* ---- generating ---- */
int task_max_tokens(const Task *t, int length) {
    if (length < t->min_len || length > t->max_len) return 0;
    return t->def->max_tokens(t, length);
}

static int generate(Task *t, Rng *rng, int length, TaskExample *ex, int training, LgErr *err) {
    if (length < t->min_len || length > t->max_len)
        return lg_err(err, "%s: length %d is out of range: this task takes lengths %d..%d (length = %s)",
                      t->def->name, length, t->min_len, t->max_len, t->def->length_help);
    int need = t->def->max_tokens(t, length);
    if (!ex->tokens || ex->cap < need)
        return lg_err(err, "%s: example buffers hold %d tokens but length %d needs up to %d (task_max_tokens)",
                      t->def->name, ex->cap, length, need);
    int cap = ex->cap;
    ex->cap = need;  /* the bound is what the generator must respect */
    ex->n_tokens = 0;
    ex->prompt_len = -1;
    ex->length = length;
    ex_put(ex, t->id_task, 0);
    t->training = training;
    t->gen_failed = 0;
    t->def->gen(t, rng, length, ex);
    t->training = 0;
    if (t->gen_failed) {
        ex->cap = cap;
        return lg_err(err, "%s", t->gen_err.msg);
    }
    ex_put(ex, VOCAB_EOS, 0);
    ex->cap = cap;
    LG_ASSERT(ex->prompt_len >= 1 && ex->prompt_len < ex->n_tokens, "%s: generator did not mark its prompt", t->def->name);
    if (ex->loss_mask) {
        int first = t->whole_seq ? 0 : ex->prompt_len - 1;
        for (int i = 0; i < ex->n_tokens; i++) ex->loss_mask[i] = (i >= first && i < ex->n_tokens - 1) ? 1.0f : 0.0f;
    }
    return 0;
}

int task_generate(Task *t, Rng *rng, int length, TaskExample *ex, LgErr *err) {
    return generate(t, rng, length, ex, 0, err);
}

int task_generate_train(Task *t, Rng *rng, int length, TaskExample *ex, LgErr *err) {
    return generate(t, rng, length, ex, 1, err);
}

/* ---- reading ---- */
int task_format_tokens(const Vocab *v, const int *tokens, int n, char *buf, size_t cap) {
    size_t len = 0;
    if (cap == 0) return 0;
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        const char *s = vocab_str(v, tokens[i]);
        int nl = !strcmp(s, "\n");
        int space = i > 0 && !nl && strcmp(vocab_str(v, tokens[i - 1]), "\n");
        size_t sl = strlen(s) + (size_t)space;
        if (len + sl + 4 >= cap) {
            if (cap >= 4) {
                size_t at = len < cap - 4 ? len : cap - 4;
                memcpy(buf + at, "...", 4);
                return (int)(at + 3);
            }
            buf[cap - 1] = 0;
            return (int)cap - 1;
        }
        if (space) buf[len++] = ' ';
        memcpy(buf + len, s, strlen(s) + 1);
        len += strlen(s);
    }
    return (int)len;
}

int task_format(const Task *t, const TaskExample *ex, char *buf, size_t cap) {
    return task_format_tokens(t->vocab, ex->tokens, ex->n_tokens, buf, cap);
}

int task_answer_matches(const TaskExample *ex, const int *gen, int n_gen) {
    int n_ans = ex->n_tokens - ex->prompt_len;
    if (n_gen < n_ans) return 0;
    for (int i = 0; i < n_ans; i++)
        if (gen[i] != ex->tokens[ex->prompt_len + i]) return 0;
    return 1;  /* the true answer ends in EOS, so gen's first EOS is at the same place */
}

uint64_t task_hash_tokens(const int *tokens, int n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++) {
        uint32_t x = (uint32_t)tokens[i];
        for (int b = 0; b < 4; b++) {
            h ^= (x >> (8 * b)) & 0xff;
            h *= 0x100000001b3ULL;
        }
    }
    return h;
}
