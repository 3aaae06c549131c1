/* sequence tasks: parity, sum mod 10, polynomial evaluation mod 10, lego, the copy family
 * (copy, reverse, duplicate, unique_copy) and the RASP-L tasks count and mode. Formats and the
 * meaning of length are in each TaskDef's help and in docs/tasks.md.
 */
#include "task_impl.h"

#define SEQ_MAX 1000

/* named tokens in t->sym (0..9 are digits when a task uses them) */
enum { S_PLUS = 10, S_MINUS, S_EQ, S_TIMES, S_POW, S_X, S_COLON, S_COMMA, S_QUERY, S_YES, S_NO, S_ARROW, S_NEXT };
static const char *const sym_names[] = {
    [S_PLUS] = "+", [S_MINUS] = "-", [S_EQ] = "=", [S_TIMES] = "*", [S_POW] = "^", [S_X] = "x",
    [S_COLON] = ":", [S_COMMA] = ",", [S_QUERY] = "?", [S_YES] = "yes", [S_NO] = "no", [S_ARROW] = "->",
    [S_NEXT] = "<next>",
};
static void add_sym(Task *t, int s) { t->sym[s] = vocab_add(t->vocab, sym_names[s]); }

/* ---- parity ---- */
enum { PAR_BIT, PAR_EVEN };
static const OptDef parity_opts[] = {
    {"scratchpad", OPTK_BOOL, "false", 0, 0, NULL, "answer with the running parities, then = and the parity"},
    {"answer", OPTK_ENUM, "bit", 0, 0, "bit|even",
     "the final answer: the parity bit (1 = odd), or yes/no for an even number of ones (NoPE paper)"},
};
static int parity_setup(Task *t, LgErr *err) {
    task_add_digits(t);
    add_sym(t, S_EQ);
    if (topt(t, 1) == PAR_EVEN) add_sym(t, S_YES), add_sym(t, S_NO);
    t->min_len = 1, t->max_len = SEQ_MAX;
    (void)err;
    return 0;
}
static int parity_max_tokens(const Task *t, int n) { return 2 * n + 6; }
static void parity_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int p = 0;
    for (int i = 0; i < n; i++) ex_put(ex, t->sym[rng_below(rng, 2)], 0);
    ex_put(ex, VOCAB_SEP, 0);
    ex_prompt_end(ex);
    for (int i = 0; i < n; i++) {
        p ^= ex->tokens[1 + i] == t->sym[1];
        if (topt(t, 0)) ex_put(ex, t->sym[p], 0);
    }
    if (topt(t, 0)) ex_put(ex, t->sym[S_EQ], 0);
    ex_put(ex, topt(t, 1) == PAR_EVEN ? t->sym[p ? S_NO : S_YES] : t->sym[p], 0);
}
const TaskDef task_def_parity = {"parity", "parity (xor) of n bits", "n, the number of bits",
                                 parity_opts, 2, parity_setup, parity_max_tokens, parity_gen};

/* ---- sum of digits mod 10 ---- */
static const OptDef sum_opts[] = {
    {"digits", OPTK_RANGE, "0..9", 0, 9, NULL, "the range of the terms"},
};
static int sum_setup(Task *t, LgErr *err) {
    task_add_digits(t);
    add_sym(t, S_PLUS), add_sym(t, S_EQ);
    t->min_len = 1, t->max_len = SEQ_MAX;
    (void)err;
    return 0;
}
static int sum_max_tokens(const Task *t, int n) { return 2 * n + 4; }
static void sum_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int s = 0;
    for (int i = 0; i < n; i++) {
        int d = (int)rng_range(rng, topt(t, 0), topt_hi(t, 0));
        s = (s + d) % 10;
        if (i) ex_put(ex, t->sym[S_PLUS], 0);
        ex_put(ex, t->sym[d], 1);
    }
    ex_put(ex, t->sym[S_EQ], 0);
    ex_prompt_end(ex);
    ex_put(ex, t->sym[s], 1);
}
const TaskDef task_def_sum = {"sum", "the sum of n digits mod 10", "n, the number of terms",
                              sum_opts, 1, sum_setup, sum_max_tokens, sum_gen};

/* ---- polynomial evaluation mod 10 ---- */
static int poly_setup(Task *t, LgErr *err) {
    task_add_digits(t);
    for (int s = S_PLUS; s <= S_COLON; s++) add_sym(t, s);
    t->min_len = 1, t->max_len = SEQ_MAX;
    (void)err;
    return 0;
}
static int poly_max_tokens(const Task *t, int n) { return 6 * n + 10; }
static void poly_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int x = (int)rng_range(rng, -2, 2), total = 0;
    ex_put(ex, t->sym[S_X], 0), ex_put(ex, t->sym[S_EQ], 0);
    if (x < 0) ex_put(ex, t->sym[S_MINUS], 0);
    ex_put(ex, t->sym[x < 0 ? -x : x], 1);
    ex_put(ex, t->sym[S_COLON], 0);
    for (int i = 0; i < n; i++) {
        int c = (int)rng_range(rng, -3, 3), deg = (int)rng_range(rng, 0, 3), term = c;
        for (int k = 0; k < deg; k++) term *= x;
        total += term;
        ex_put(ex, t->sym[c < 0 ? S_MINUS : S_PLUS], 0);
        ex_put(ex, t->sym[c < 0 ? -c : c], 1);
        ex_put(ex, t->sym[S_TIMES], 0), ex_put(ex, t->sym[S_X], 0), ex_put(ex, t->sym[S_POW], 0);
        ex_put(ex, t->sym[deg], 1);
    }
    ex_put(ex, t->sym[S_EQ], 0);
    ex_prompt_end(ex);
    ex_put(ex, t->sym[((total % 10) + 10) % 10], 1);
}
const TaskDef task_def_poly = {"poly", "evaluate a polynomial mod 10 (coefficients -3..3, degree <= 3, x in -2..2)",
                               "n, the number of terms", NULL, 0, poly_setup, poly_max_tokens, poly_gen};

/* ---- lego ---- */
static const OptDef lego_opts[] = {
    {"shuffle", OPTK_BOOL, "false", 0, 0, NULL, "present the clauses in random order instead of chain order"},
    {"names", OPTK_ENUM, "random", 0, 0, "random|ordered", "variable names: random distinct letters, or a, b, c, ..."},
    {"query", OPTK_ENUM, "any", 0, 0, "any|second_half",
     "the queried variable: any of the n, or one of the chain's second half (NoPE paper; needs n >= 2)"},
};
enum { LQ_ANY, LQ_SECOND_HALF };
static int lego_setup(Task *t, LgErr *err) {
    task_add_digits(t);
    add_sym(t, S_PLUS), add_sym(t, S_MINUS), add_sym(t, S_EQ), add_sym(t, S_COMMA), add_sym(t, S_QUERY);
    task_add_symbols(t, 26);
    t->min_len = topt(t, 2) == LQ_SECOND_HALF ? 2 : 1, t->max_len = 26;
    task_alloc_scratch(t, 3 * 26);
    (void)err;
    return 0;
}
static int lego_max_tokens(const Task *t, int n) { return 5 * n + 8; }
static void lego_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int *name = t->scratch, *sign = name + 26, *order = sign + 26;
    for (int i = 0; i < 26; i++) name[i] = i;
    if (topt(t, 1) == 0) rng_shuffle_int(rng, name, 26);
    /* variable i in the chain: v0 = s0 1, vi = si v(i-1); value(i) = product of signs */
    for (int i = 0; i < n; i++) sign[i] = rng_below(rng, 2) ? 1 : -1, order[i] = i;
    if (topt(t, 0)) rng_shuffle_int(rng, order, n);
    for (int k = 0; k < n; k++) {
        int i = order[k];
        if (k) ex_put(ex, t->sym[S_COMMA], 0);
        ex_put(ex, t->num[name[i]], 0), ex_put(ex, t->sym[S_EQ], 0);
        ex_put(ex, t->sym[sign[i] > 0 ? S_PLUS : S_MINUS], 0);
        ex_put(ex, i == 0 ? t->sym[1] : t->num[name[i - 1]], i == 0);
    }
    /* second_half: the NoPE paper's queries, chain indices ceil(n/2)..n-1 (0-based) */
    int q0 = topt(t, 2) == LQ_SECOND_HALF ? (n + 1) / 2 : 0;
    int q = q0 + (int)rng_below(rng, (uint64_t)(n - q0)), v = 1;
    for (int i = 0; i <= q; i++) v *= sign[i];
    ex_put(ex, t->sym[S_QUERY], 0), ex_put(ex, t->num[name[q]], 0), ex_put(ex, t->sym[S_EQ], 0);
    ex_prompt_end(ex);
    ex_put(ex, t->sym[v > 0 ? S_PLUS : S_MINUS], 0);
    ex_put(ex, t->sym[1], 1);
}
const TaskDef task_def_lego = {"lego", "a chain a = +1, b = -a, ...; give the value of a queried variable",
                               "n, the number of variables (1..26; 2..26 with query=second_half)", lego_opts, 3, lego_setup,
                               lego_max_tokens, lego_gen};

/* ---- copy family ---- */
enum { M_RANDOM, M_REPEAT, M_UNIQUE, M_REPLACE };
enum { TW_NONE, TW_SAME, TW_COPY };
enum { C_ALPHABET, C_MODE, C_TWICE, C_NEXT };
/* copy and reverse take all four; duplicate the first two, unique_copy the first */
static const OptDef copy_opts[] = {
    {"alphabet", OPTK_INT, "64", 2, 500, NULL, "symbols a..z, A..Z, s52, ... the sequence draws from"},
    {"mode", OPTK_ENUM, "random", 0, 0, "random|repeat|unique|replace",
     "random symbols; one symbol repeated; distinct symbols; or one symbol x repeated, answered with "
     "another symbol y named in the prompt (x -> y :)"},
    {"twice", OPTK_ENUM, "none", 0, 0, "none|same|copy",
     "a second half after the answer: none, the answer again (NoPE 2x forms), or the input copied (reverse: NoPE mcrv)"},
    {"next", OPTK_BOOL, "true", 0, 0, NULL, "with twice: a <next> token between the two halves (NoPE [NEXT])"},
};
static int copy_mode(const Task *t) { return t->def == &task_def_unique_copy ? M_UNIQUE : topt(t, C_MODE); }
static int copy_twice(const Task *t) { return t->def->n_opts > C_TWICE ? topt(t, C_TWICE) : TW_NONE; }
static int copy_setup(Task *t, LgErr *err) {
    int k = topt(t, C_ALPHABET);
    task_add_symbols(t, k);
    if (copy_mode(t) == M_REPLACE) add_sym(t, S_ARROW), add_sym(t, S_COLON);
    if (copy_twice(t) != TW_NONE && topt(t, C_NEXT)) add_sym(t, S_NEXT);
    t->min_len = 1, t->max_len = copy_mode(t) == M_UNIQUE && k < SEQ_MAX ? k : SEQ_MAX;
    task_alloc_scratch(t, k > SEQ_MAX ? k : SEQ_MAX);
    (void)err;
    return 0;
}
static int copy_max_tokens(const Task *t, int n) {
    int halves = t->def == &task_def_duplicate || copy_twice(t) != TW_NONE ? 2 : 1;
    return (1 + halves) * n + 8;
}
static void copy_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int *x = t->scratch, k = t->n_num, mode = copy_mode(t), to = -1;
    if (mode == M_UNIQUE) {
        for (int v = 0; v < k; v++) x[v] = v;
        for (int i = 0; i < n; i++) {
            int j = i + (int)rng_below(rng, (uint64_t)(k - i)), tmp = x[i];
            x[i] = x[j], x[j] = tmp;
        }
    } else {
        int c = (int)rng_below(rng, (uint64_t)k);
        for (int i = 0; i < n; i++) x[i] = mode == M_RANDOM ? (int)rng_below(rng, (uint64_t)k) : c;
        if (mode == M_REPLACE) {  /* another symbol, uniform over the k - 1 others */
            to = (int)rng_below(rng, (uint64_t)(k - 1));
            if (to >= c) to++;
            ex_put(ex, t->num[c], 0), ex_put(ex, t->sym[S_ARROW], 0), ex_put(ex, t->num[to], 0);
            ex_put(ex, t->sym[S_COLON], 0);
        }
    }
    for (int i = 0; i < n; i++) ex_put(ex, t->num[x[i]], 0);
    ex_put(ex, VOCAB_SEP, 0);
    ex_prompt_end(ex);
    if (to >= 0)
        for (int i = 0; i < n; i++) x[i] = to;
    int rev = t->def == &task_def_reverse, twice = copy_twice(t);
    int halves = t->def == &task_def_duplicate || twice != TW_NONE ? 2 : 1;
    for (int r = 0; r < halves; r++) {
        if (r && twice != TW_NONE && topt(t, C_NEXT)) ex_put(ex, t->sym[S_NEXT], 0);
        int back = rev && !(r && twice == TW_COPY);
        for (int i = 0; i < n; i++) ex_put(ex, t->num[x[back ? n - 1 - i : i]], 0);
    }
}
#define COPY_LEN_HELP "n, the number of input symbols"
const TaskDef task_def_copy = {"copy", "copy a sequence of symbols", COPY_LEN_HELP, copy_opts, 4,
                               copy_setup, copy_max_tokens, copy_gen};
const TaskDef task_def_reverse = {"reverse", "reverse a sequence of symbols", COPY_LEN_HELP, copy_opts, 4,
                                  copy_setup, copy_max_tokens, copy_gen};
const TaskDef task_def_duplicate = {"duplicate", "write a sequence of symbols twice", COPY_LEN_HELP, copy_opts, 2,
                                    copy_setup, copy_max_tokens, copy_gen};
const TaskDef task_def_unique_copy = {"unique_copy", "copy a sequence of distinct symbols (RASP-L)", COPY_LEN_HELP,
                                      copy_opts, 1, copy_setup, copy_max_tokens, copy_gen};

/* ---- count (RASP-L): a b -> a a+1 ... b ---- */
static const OptDef count_opts[] = {
    {"values", OPTK_RANGE, "0..127", 0, 999, NULL, "the range of numbers, each one token"},
};
static int count_setup(Task *t, LgErr *err) {
    task_add_numbers(t, topt(t, 0), topt_hi(t, 0));
    t->min_len = 1, t->max_len = t->n_num;
    (void)err;
    return 0;
}
static int count_max_tokens(const Task *t, int n) { return n + 5; }
static void count_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int a = (int)rng_below(rng, (uint64_t)(t->n_num - n + 1));
    ex_put(ex, t->num[a], 0), ex_put(ex, t->num[a + n - 1], 0);
    ex_put(ex, VOCAB_SEP, 0);
    ex_prompt_end(ex);
    for (int i = 0; i < n; i++) ex_put(ex, t->num[a + i], 0);
}
const TaskDef task_def_count = {"count", "count from a to b: a b -> a a+1 ... b (RASP-L)",
                                "n = b - a + 1, the number of answer tokens", count_opts, 1,
                                count_setup, count_max_tokens, count_gen};

/* ---- mode (RASP-L): the most frequent symbol, unique by construction ---- */
static const OptDef mode_opts[] = {
    {"alphabet", OPTK_INT, "8", 2, 500, NULL, "symbols a..z, A..Z, s52, ... the list draws from"},
};
static int mode_setup(Task *t, LgErr *err) {
    task_add_symbols(t, topt(t, 0));
    t->min_len = 1, t->max_len = SEQ_MAX;
    task_alloc_scratch(t, SEQ_MAX + t->n_num);
    (void)err;
    return 0;
}
static int mode_max_tokens(const Task *t, int n) { return n + 4; }
static void mode_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int *x = t->scratch, *cnt = x + SEQ_MAX, k = t->n_num;
    for (int v = 0; v < k; v++) cnt[v] = 0;
    for (int i = 0; i < n; i++) cnt[x[i] = (int)rng_below(rng, (uint64_t)k)]++;
    int best = 0, ties = 0;
    for (int v = 0; v < k; v++) {
        if (cnt[v] > cnt[best]) best = v;
    }
    for (int v = 0; v < k; v++) ties += cnt[v] == cnt[best];
    if (ties > 1) {
        /* pick the mode among the tied values, then turn one occurrence of another tied value
         * into it: the mode gains one, that value loses one, so the mode is unique */
        int pick = (int)rng_below(rng, (uint64_t)ties), other = (int)rng_below(rng, (uint64_t)(ties - 1));
        for (int v = 0; v < k; v++)
            if (cnt[v] == cnt[best] && pick-- == 0) { best = v; break; }
        int victim = -1;
        for (int v = 0; v < k; v++)
            if (v != best && cnt[v] == cnt[best] && other-- == 0) { victim = v; break; }
        int occ = (int)rng_below(rng, (uint64_t)cnt[victim]);
        for (int i = 0; i < n; i++)
            if (x[i] == victim && occ-- == 0) { x[i] = best; break; }
    }
    for (int i = 0; i < n; i++) ex_put(ex, t->num[x[i]], 0);
    ex_put(ex, VOCAB_SEP, 0);
    ex_prompt_end(ex);
    ex_put(ex, t->num[best], 0);
}
const TaskDef task_def_mode = {"mode", "the most frequent symbol of a list (unique by construction; RASP-L)",
                               "n, the number of list symbols", mode_opts, 1, mode_setup, mode_max_tokens, mode_gen};
