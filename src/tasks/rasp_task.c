/* rasp_task: a RASP-L program as a task. `rasp:count` loads configs/rasp/count.rasp,
 * `rasp:dir/x.rasp` a path (see rasp_resolve). An example is a random prompt of the declared
 * input form and length, then <sep>, then the answer the program generates:
 *
 *   <rasp:sort_unique> 42 7 13 <sep> 7 13 42 <eos>
 *
 * Input forms (length n): list = n values drawn uniformly from the alphabet; distinct = n
 * different values; span = two values a, a+n-1 (count's prompt); addition = two numbers, one of n
 * digits and one of 1..n (as the built-in addition's operands=longest), each digit preceded by its
 * index hint h(off + significance), off random per example: h3 5 h2 1 + h2 7 = (the built-in
 * addition with index_hints=true). The program's values map to tokens one to one: v >= 0 is the
 * token "v", SEP is <sep>, PLUS "+", EQUALS "=", -100-k the hint "hk"; the answer may hold the
 * values the file declares under `outputs` (default: the alphabet) and hints. setup runs the program on a few inputs
 * of the shortest, a middle and the longest length so a program that blows up or does not stop
 * is refused when the task is built; should a later example still fault, task_generate returns
 * -1 with the program's message.
 */
#include <string.h>

#include "rasp.h"
#include "task_impl.h"

typedef struct {
    RaspProg *prog;
    int lo, hi;    /* t->num[v - lo] is the token of value v in lo..hi */
    int out_lo, out_hi;
    int id_plus, id_eq;  /* "+" and "=" (input addition) */
    int *prompt, *answer;
    int cap;
} RaspTask;

void task_rasp_token(const char *name, char *buf, size_t cap) {
    const char *spec = name + strlen(TASK_RASP_PREFIX), *slash = strrchr(spec, '/');
    const char *base = slash ? slash + 1 : spec;
    size_t len = strlen(base);
    if (len > 5 && !strcmp(base + len - 5, ".rasp")) len -= 5;
    snprintf(buf, cap, "<rasp:%.*s>", (int)len, base);
}

static void rasp_task_free(void *ext) {
    RaspTask *r = ext;
    rasp_free(r->prog);
    lg_free(r->prompt);
    lg_free(r->answer);
    lg_free(r);
}

/* the token of value v, or -1 when v has none (hints: t->num2) */
static int value_token(const Task *t, int v) {
    const RaspTask *r = t->ext;
    if (v >= r->lo && v <= r->hi) return t->num[v - r->lo];
    if (v <= RASP_HINT0 && RASP_HINT0 - v < t->n_num2) return t->num2[RASP_HINT0 - v];
    if (v == RASP_PLUS && r->id_plus >= 0) return r->id_plus;
    if (v == RASP_EQUALS && r->id_eq >= 0) return r->id_eq;
    if (v == RASP_SEP) return VOCAB_SEP;
    return -1;
}

/* one addend of k digits (leading digit nonzero when k > 1), each after its hint */
static int put_addend(Rng *rng, int *x, int k, int off) {
    int m = 0;
    for (int j = k - 1; j >= 0; j--) {
        x[m++] = RASP_HINT0 - (off + j);
        x[m++] = j == k - 1 && k > 1 ? 1 + (int)rng_below(rng, 9) : (int)rng_below(rng, 10);
    }
    return m;
}

/* draws the prompt of length n into r->prompt; returns its size */
static int draw_prompt(Task *t, Rng *rng, int n) {
    RaspTask *r = t->ext;
    int lo, hi;
    rasp_alphabet(r->prog, &lo, &hi);
    int k = hi - lo + 1, *x = r->prompt;
    switch (rasp_input(r->prog)) {
    case RASP_INPUT_SPAN: {
        int a = lo + (int)rng_below(rng, (uint64_t)(k - n + 1));
        x[0] = a, x[1] = a + n - 1;
        return 2;
    }
    case RASP_INPUT_DISTINCT: {
        /* a partial Fisher-Yates over the alphabet held in t->scratch */
        int *pool = t->scratch;
        for (int v = 0; v < k; v++) pool[v] = lo + v;
        for (int i = 0; i < n; i++) {
            int j = i + (int)rng_below(rng, (uint64_t)(k - i)), tmp = pool[i];
            pool[i] = pool[j], pool[j] = tmp;
            x[i] = pool[i];
        }
        return n;
    }
    case RASP_INPUT_ADDITION: {
        int la = n, lb = 1 + (int)rng_below(rng, (uint64_t)n);
        if (rng_below(rng, 2)) la = lb, lb = n;
        int off = (int)rng_below(rng, (uint64_t)(rasp_hints(r->prog) - (n + 1) + 1)), m = 0;
        m += put_addend(rng, x + m, la, off);
        x[m++] = RASP_PLUS;
        m += put_addend(rng, x + m, lb, off);
        x[m++] = RASP_EQUALS;
        return m;
    }
    case RASP_INPUT_LIST:
    default:
        for (int i = 0; i < n; i++) x[i] = lo + (int)rng_below(rng, (uint64_t)k);
        return n;
    }
}

/* runs the program on a prompt of length n; 0, or -1 with err */
static int run_one(Task *t, Rng *rng, int n, int *n_prompt, int *n_answer, LgErr *err) {
    RaspTask *r = t->ext;
    *n_prompt = draw_prompt(t, rng, n);
    if (rasp_generate(r->prog, r->prompt, *n_prompt, n, r->answer, r->cap, n_answer, err)) return -1;
    for (int i = 0; i < *n_answer; i++) {
        int v = r->answer[i];
        if ((v < r->out_lo || v > r->out_hi) && !(v <= RASP_HINT0 && RASP_HINT0 - v < t->n_num2)) {
            char s[16];
            rasp_value_str(v, s, sizeof s);
            return lg_err(err, "%s: answer token %d is %s, outside the declared outputs %d..%d%s (declare `outputs "
                          "LO..HI`)", t->name, i, s, r->out_lo, r->out_hi, t->n_num2 ? " and hints" : "");
        }
    }
    return 0;
}

static int rasp_setup(Task *t, LgErr *err) {
    char path[512];
    if (rasp_resolve(t->name + strlen(TASK_RASP_PREFIX), path, sizeof path, err)) return -1;
    RaspTask *r = lg_calloc(1, sizeof *r, "rasp task");
    t->ext = r;
    t->ext_free = rasp_task_free;
    if (!(r->prog = rasp_load(path, err))) return -1;
    int alo, ahi;
    rasp_alphabet(r->prog, &alo, &ahi);
    rasp_outputs(r->prog, &r->out_lo, &r->out_hi);
    rasp_length(r->prog, &t->min_len, &t->max_len);
    r->lo = alo < r->out_lo ? alo : r->out_lo;
    r->hi = ahi > r->out_hi ? ahi : r->out_hi;
    task_add_numbers(t, r->lo, r->hi);
    r->id_plus = r->id_eq = -1;
    if (rasp_input(r->prog) == RASP_INPUT_ADDITION) r->id_plus = vocab_add(t->vocab, "+"), r->id_eq = vocab_add(t->vocab, "=");
    if ((t->n_num2 = rasp_hints(r->prog)) > 0) {
        t->num2 = lg_malloc((size_t)t->n_num2 * sizeof(int), "rasp hint ids");
        for (int k = 0; k < t->n_num2; k++) {
            char s[16];
            snprintf(s, sizeof s, "h%d", k);
            t->num2[k] = vocab_add(t->vocab, s);
        }
    }
    r->cap = rasp_answer_max(r->prog, t->max_len) + 1;
    r->prompt = lg_malloc((size_t)rasp_prompt_len(r->prog, t->max_len) * sizeof(int), "rasp prompt");
    r->answer = lg_malloc((size_t)r->cap * sizeof(int), "rasp answer");
    task_alloc_scratch(t, ahi - alo + 1);
    Rng rng;
    rng_seed(&rng, 12345);
    int lens[3] = {t->min_len, (t->min_len + t->max_len) / 2, t->max_len};
    for (int li = 0; li < 3; li++)
        for (int k = 0; k < 4; k++) {
            int np, na;
            LgErr e;
            if (run_one(t, &rng, lens[li], &np, &na, &e))
                return lg_err(err, "%s: refused: on a test input of length %d: %s", t->name, lens[li], e.msg);
        }
    return 0;
}

static int rasp_max_tokens(const Task *t, int n) {
    const RaspTask *r = t->ext;
    return rasp_prompt_len(r->prog, n) + rasp_answer_max(r->prog, n) + 3;
}

static void rasp_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    RaspTask *r = t->ext;
    int np, na;
    if (run_one(t, rng, n, &np, &na, &t->gen_err)) {
        t->gen_failed = 1;
        return;
    }
    int add = rasp_input(r->prog) == RASP_INPUT_ADDITION;
    for (int i = 0; i < np; i++) ex_put(ex, value_token(t, r->prompt[i]), 0);
    if (!add) ex_put(ex, VOCAB_SEP, 0);  /* addition's prompt ends in "=", as the built-in's */
    ex_prompt_end(ex);
    for (int i = 0; i < na; i++) ex_put(ex, value_token(t, r->answer[i]), 0);
}

const TaskDef task_def_rasp = {
    "rasp", "a RASP-L program (configs/rasp/NAME.rasp or a path) run on random inputs; its output is the answer",
    "the input length as the program declares it (`length LO..HI`; list size, or b - a + 1 for input span)",
    NULL, 0, rasp_setup, rasp_max_tokens, rasp_gen,
};
