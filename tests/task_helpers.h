/* Helpers shared by the task tests: build a task from "key=value ..." text, generate into owned
 * buffers, read tokens back as strings, and decimal big-number arithmetic on digit strings
 * (independent of the library's digit arrays). */
#ifndef LENGEN_TEST_TASK_HELPERS_H
#define LENGEN_TEST_TASK_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "../src/tasks/task.h"

#define TG_CAP 200000

typedef struct {
    Vocab v;
    Task *t;
    TaskExample ex;
    LgErr err;
} TG;

/* opts: space-separated key=value pairs, or NULL. Returns 0 or -1 (message in g->err). */
static inline int tg_parse_opts(const char *opts, TaskOpt *o, int *n) {
    *n = 0;
    if (!opts) return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", opts);
    for (char *kv = strtok(buf, " "); kv; kv = strtok(NULL, " ")) {
        char *eq = strchr(kv, '=');
        if (!eq) return -1;
        memset(&o[*n], 0, sizeof o[*n]);
        snprintf(o[*n].key, sizeof o[*n].key, "%.*s", (int)(eq - kv), kv);
        snprintf(o[*n].value, sizeof o[*n].value, "%s", eq + 1);
        snprintf(o[*n].file, sizeof o[*n].file, "test.ini");
        o[*n].line = 10 + *n;
        (*n)++;
    }
    return 0;
}

static inline int tg_open(TG *g, const char *name, const char *opts) {
    TaskOpt o[CFG_MAX_TASK_OPTS];
    int n;
    memset(g, 0, sizeof *g);
    vocab_init(&g->v);
    if (tg_parse_opts(opts, o, &n)) return -1;
    g->t = task_create(name, o, n, &g->v, &g->err);
    g->ex.tokens = malloc(TG_CAP * sizeof(int));
    g->ex.loss_mask = malloc(TG_CAP * sizeof(float));
    g->ex.digit_index = malloc(TG_CAP * sizeof(int));
    g->ex.cap = TG_CAP;
    return g->t ? 0 : -1;
}

static inline void tg_close(TG *g) {
    task_free(g->t);
    vocab_free(&g->v);
    free(g->ex.tokens);
    free(g->ex.loss_mask);
    free(g->ex.digit_index);
}

static inline int tg_gen(TG *g, Rng *r, int len) { return task_generate(g->t, r, len, &g->ex, &g->err); }
static inline const char *tg_s(const TG *g, int i) { return vocab_str(&g->v, g->ex.tokens[i]); }
static inline int tg_is(const TG *g, int i, const char *s) { return i >= 0 && i < g->ex.n_tokens && !strcmp(tg_s(g, i), s); }
static inline int tg_digit(const TG *g, int i) {
    const char *s = tg_s(g, i);
    return s[0] >= '0' && s[0] <= '9' && !s[1] ? s[0] - '0' : -1;
}
/* the token at i as a non-negative integer, or -1 */
static inline int tg_int(const TG *g, int i) {
    const char *s = tg_s(g, i);
    if (!*s) return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    return atoi(s);
}

/* ---- decimal strings, most significant digit first ---- */
static inline void big_strip(char *s) {
    size_t z = 0, n = strlen(s);
    while (z + 1 < n && s[z] == '0') z++;
    memmove(s, s + z, n - z + 1);
}
static inline void big_reverse(char *s) {
    for (size_t i = 0, j = strlen(s); i + 1 < j; i++, j--) {
        char c = s[i];
        s[i] = s[j - 1], s[j - 1] = c;
    }
}
static inline void big_add(const char *a, const char *b, char *out) {
    int la = (int)strlen(a), lb = (int)strlen(b), k = 0, carry = 0;
    char tmp[4096];
    for (int i = 0; i < la || i < lb || carry; i++) {
        int v = carry + (i < la ? a[la - 1 - i] - '0' : 0) + (i < lb ? b[lb - 1 - i] - '0' : 0);
        tmp[k++] = (char)('0' + v % 10), carry = v / 10;
    }
    tmp[k] = 0;
    big_reverse(tmp);
    strcpy(out, tmp);
    big_strip(out);
}
static inline void big_mul_small(const char *a, int m, char *out) {
    int la = (int)strlen(a), k = 0, carry = 0;
    char tmp[4096];
    for (int i = 0; i < la || carry; i++) {
        int v = carry + (i < la ? (a[la - 1 - i] - '0') * m : 0);
        tmp[k++] = (char)('0' + v % 10), carry = v / 10;
    }
    tmp[k] = 0;
    big_reverse(tmp);
    strcpy(out, tmp);
    big_strip(out);
}

#endif
