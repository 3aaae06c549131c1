/* arithmetic on decimal digits, one token per digit: increment, addition (with every format of
 * the seed papers) and multiplication. Numbers are digit arrays (d[0] least significant), so
 * lengths of hundreds of digits are exact.
 *
 * Operands of k digits have a non-zero leading digit unless k = 1. Length = n, the number of
 * digits of the (longer) operand; multiplication's second operand has 1..3 digits.
 * Formats are described in docs/tasks.md, with an example each.
 */
#include "task_impl.h"

#include <math.h>

#define ARITH_MAX 500

/* named tokens in t->sym (0..9 are the digits) */
enum {
    S_PLUS = 10, S_EQ, S_TIMES, S_A, S_C, S_ARROW, S_COMMA, S_DOT, S_NL, S_LBR, S_RBR, S_HAS, S_DIGITS,
    S_END, S_SCRATCH, S_ENDSCRATCH, S_IN, S_COMP, S_OUT, S_CARRY, S_RE, S_STEP, S_COLON
};
static const char *const sym_names[] = {
    [S_PLUS] = "+", [S_EQ] = "=", [S_TIMES] = "*", [S_A] = "A", [S_C] = "C", [S_ARROW] = "->",
    [S_COMMA] = ",", [S_DOT] = ".", [S_NL] = "\n", [S_LBR] = "[", [S_RBR] = "]", [S_HAS] = "has",
    [S_DIGITS] = "digits", [S_END] = "END", [S_SCRATCH] = "<scratch>", [S_ENDSCRATCH] = "</scratch>",
    [S_IN] = "in", [S_COMP] = "comp", [S_OUT] = "out", [S_CARRY] = "carry", [S_RE] = "re", [S_STEP] = "#",
    [S_COLON] = ":",
};
static void add_syms(Task *t, int from, int to) {
    for (int s = from; s <= to; s++) t->sym[s] = vocab_add(t->vocab, sym_names[s]);
}

enum { REV_NONE, REV_ANSWER, REV_ALL };
#define REVERSE_OPT {"reverse", OPTK_ENUM, "none", 0, 0, "none|answer|all", \
    "reverse the answer (answer) or the operands and the answer (all): least significant digit first"}

static void random_number(Rng *rng, int *d, int k) {
    for (int i = 0; i < k; i++) d[i] = (int)rng_below(rng, 10);
    if (k > 1) d[k - 1] = 1 + (int)rng_below(rng, 9);
}

/* ---- increment ---- */
static const OptDef inc_opts[] = {REVERSE_OPT};

static int inc_setup(Task *t, LgErr *err) {
    task_add_digits(t);
    t->min_len = 1, t->max_len = ARITH_MAX;
    task_alloc_scratch(t, 2 * (ARITH_MAX + 2));
    (void)err;
    return 0;
}
static int inc_max_tokens(const Task *t, int n) { return 2 * n + 5; }
static void inc_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int *a = t->scratch, *s = a + ARITH_MAX + 2, rev = topt(t, 0);
    random_number(rng, a, n);
    int carry = 1, k;
    for (k = 0; k < n; k++) {
        int v = a[k] + carry;
        s[k] = v % 10, carry = v / 10;
    }
    if (carry) s[k++] = 1;
    ex_number(t, ex, a, n, rev == REV_ALL);
    ex_put(ex, VOCAB_SEP, 0);
    ex_prompt_end(ex);
    ex_number(t, ex, s, k, rev != REV_NONE);
}
const TaskDef task_def_increment = {"increment", "add one to an n-digit number", "n, the number of digits",
                                    inc_opts, 1, inc_setup, inc_max_tokens, inc_gen};

/* ---- addition ---- */
enum { A_FORMAT, A_REVERSE, A_PAD, A_HINTS, A_HINT_ALPHA, A_OPERANDS, A_SI, A_SC, A_SO, A_SV, A_SR, A_STEP_FORM, A_CARRIES };
enum { F_PLAIN, F_SIMPLE, F_DETAILED, F_STEPS };
enum { OPS_LONGEST, OPS_EQUAL, OPS_BALANCED };
static const OptDef add_opts[] = {
    {"format", OPTK_ENUM, "plain", 0, 0, "plain|simple|detailed|steps",
     "plain answer, Lee et al.'s simplified or detailed scratchpad, or the NoPE paper's steps"},
    REVERSE_OPT,
    {"pad", OPTK_BOOL, "false", 0, 0, NULL, "zero-pad operands and answer to n+1 digits"},
    {"index_hints", OPTK_BOOL, "false", 0, 0, NULL,
     "a hint token before every digit, by significance, shared by operands and answer (plain format)"},
    {"hint_alphabet", OPTK_INT, "128", 2, 1000, NULL, "hint tokens h0..h{K-1}; a random offset per example"},
    {"operands", OPTK_ENUM, "longest", 0, 0, "longest|equal|balanced",
     "operand lengths: one has n digits and the other 1..n; both n; or uniform over pairs with max n"},
    {"step_input", OPTK_BOOL, "true", 0, 0, NULL, "steps format: show the input digits (in x , y)"},
    {"step_comp", OPTK_BOOL, "true", 0, 0, NULL, "steps format: show the computation (comp x + y + c = s)"},
    {"step_output", OPTK_BOOL, "true", 0, 0, NULL, "steps format: show the output digit (out d)"},
    {"step_var", OPTK_BOOL, "true", 0, 0, NULL, "steps format: show the variable update ([ carry = c ])"},
    {"step_rest", OPTK_BOOL, "true", 0, 0, NULL, "steps format: show the remaining input (re ...)"},
    {"step_form", OPTK_ENUM, "short", 0, 0, "short|nope",
     "steps format: comp x + y + c = s and [ carry = c ], or the NoPE paper's two-stage "
     "comp x + y + carry = x+y + c = s and [ carry : c ]"},
    {"carries", OPTK_ENUM, "any", 0, 0, "any|balanced",
     "digits uniform (any), or the number of carries uniform over 0..max(len a, len b) (Teaching Arithmetic's balanced data)"},
};
enum { SF_SHORT, SF_NOPE };
enum { CARRY_ANY, CARRY_BALANCED };

static int add_setup(Task *t, LgErr *err) {
    int fmt = topt(t, A_FORMAT);
    if (topt(t, A_HINTS) && fmt != F_PLAIN)
        return lg_err(err, "addition: index_hints=true needs format=plain (format is %s)",
                      fmt == F_SIMPLE ? "simple" : fmt == F_DETAILED ? "detailed" : "steps");
    task_add_digits(t);
    add_syms(t, S_PLUS, S_EQ);
    if (fmt == F_SIMPLE) add_syms(t, S_A, S_COMMA), t->sym[S_NL] = vocab_add(t->vocab, "\n");
    if (fmt == F_DETAILED) add_syms(t, S_A, S_ENDSCRATCH);
    if (fmt == F_STEPS) add_syms(t, S_COMMA, S_COMMA), add_syms(t, S_LBR, S_RBR), add_syms(t, S_IN, S_STEP);
    if (fmt == F_STEPS && topt(t, A_STEP_FORM) == SF_NOPE) add_syms(t, S_COLON, S_COLON);
    t->min_len = 1, t->max_len = ARITH_MAX;
    if (topt(t, A_HINTS)) {
        int k = topt(t, A_HINT_ALPHA);
        t->n_num = k;
        t->num = lg_malloc((size_t)k * sizeof(int), "hint ids");
        for (int i = 0; i < k; i++) {
            char s[16];
            snprintf(s, sizeof s, "h%d", i);
            t->num[i] = vocab_add(t->vocab, s);
        }
        if (k - 1 < t->max_len) t->max_len = k - 1;
    }
    task_alloc_scratch(t, 5 * (ARITH_MAX + 2));
    return 0;
}

/* Plain: the task token, a, +, b, =, the sum and <eos>, each number at most w = n + 1 places
 * (exactly w with pad), so 3w + 4; index hints put a hint before every digit: 6w + 4. */
static int add_max_tokens(const Task *t, int n) {
    int w = n + 1;
    switch (topt(t, A_FORMAT)) {
    case F_SIMPLE: return 11 * w + 10;
    case F_DETAILED: return 6 * w * w + 40 * w + 60;
    case F_STEPS: return w * (2 * w + 30) + 3 * w + 10;
    default: return (topt(t, A_HINTS) ? 6 : 3) * w + 4;
    }
}

/* a number with an optional hint token (h[off + significance]) before each digit */
static void put_hinted(const Task *t, TaskExample *ex, const int *d, int k, int rev, int off) {
    if (off < 0) {
        ex_number(t, ex, d, k, rev);
        return;
    }
    for (int i = 0; i < k; i++) {
        int j = rev ? i : k - 1 - i;
        ex_put(ex, t->num[off + j], 0);
        ex_put(ex, t->sym[d[j]], j + 1);
    }
}

/* a digit list "[ d , d , d ]" most significant first, of d[lo..hi) */
static void put_list(const Task *t, TaskExample *ex, const int *d, int lo, int hi) {
    ex_put(ex, t->sym[S_LBR], 0);
    for (int j = hi - 1; j >= lo; j--) {
        ex_put(ex, t->sym[d[j]], 1);
        if (j > lo) ex_put(ex, t->sym[S_COMMA], 0);
    }
    ex_put(ex, t->sym[S_RBR], 0);
}

/* ---- the scratchpad formats: a [wa] and b [wb] are the operands' digits as laid out (padded
 * with pad=true), least significant first; s the sum's digits; m = max(wa, wb) positions ---- */

/* Lee et al.'s simplified scratchpad: "A -> d , C -> c" per position. */
static void add_simple(Task *t, TaskExample *ex, const int *a, int wa, const int *b, int wb, int m) {
    int carry = 0;
    for (int j = 0; j < m; j++) {
        int v = (j < wa ? a[j] : 0) + (j < wb ? b[j] : 0) + carry;
        carry = v / 10;
        ex_put(ex, t->sym[S_A], 0), ex_put(ex, t->sym[S_ARROW], 0), ex_put(ex, t->sym[v % 10], 1);
        ex_put(ex, t->sym[S_COMMA], 0);
        ex_put(ex, t->sym[S_C], 0), ex_put(ex, t->sym[S_ARROW], 0), ex_put(ex, t->sym[carry], 1);
        ex_put(ex, t->sym[S_NL], 0);
    }
}

/* Lee et al.'s detailed scratchpad (O(n^2) tokens). */
static void add_detailed(Task *t, TaskExample *ex, const int *a, int wa, const int *b, int wb, const int *s, int m) {
    ex_put(ex, t->sym[S_SCRATCH], 0), ex_put(ex, t->sym[S_NL], 0);
    for (int op = 0; op < 2; op++) {
        put_list(t, ex, op ? b : a, 0, op ? wb : wa);
        ex_put(ex, t->sym[S_HAS], 0);
        ex_int(t, ex, op ? wb : wa);
        ex_put(ex, t->sym[S_DIGITS], 0), ex_put(ex, t->sym[S_DOT], 0), ex_put(ex, t->sym[S_NL], 0);
    }
    int carry = 0;
    for (int j = 0; j <= m; j++) {
        put_list(t, ex, a, j < wa ? j : wa, wa);
        ex_put(ex, t->sym[S_PLUS], 0);
        put_list(t, ex, b, j < wb ? j : wb, wb);
        ex_put(ex, t->sym[S_COMMA], 0), ex_put(ex, t->sym[S_A], 0), ex_put(ex, t->sym[S_EQ], 0);
        put_list(t, ex, s, 0, j);
        if (j == m) {  /* Lee et al.'s last line: "[] + [] , A=[...] C=c , END" */
            ex_put(ex, t->sym[S_C], 0), ex_put(ex, t->sym[S_EQ], 0), ex_put(ex, t->sym[carry], 1);
            ex_put(ex, t->sym[S_COMMA], 0), ex_put(ex, t->sym[S_END], 0), ex_put(ex, t->sym[S_NL], 0);
            break;
        }
        int x = j < wa ? a[j] : 0, y = j < wb ? b[j] : 0, v = x + y + carry;
        ex_put(ex, t->sym[S_COMMA], 0);
        ex_put(ex, t->sym[S_C], 0), ex_put(ex, t->sym[S_EQ], 0), ex_put(ex, t->sym[carry], 1);
        ex_put(ex, t->sym[S_COMMA], 0);
        ex_put(ex, t->sym[x], 1), ex_put(ex, t->sym[S_PLUS], 0), ex_put(ex, t->sym[y], 1);
        ex_put(ex, t->sym[S_PLUS], 0), ex_put(ex, t->sym[carry], 1), ex_put(ex, t->sym[S_EQ], 0);
        ex_int(t, ex, v);
        carry = v / 10;
        ex_put(ex, t->sym[S_COMMA], 0);
        ex_put(ex, t->sym[S_A], 0), ex_put(ex, t->sym[S_ARROW], 0), ex_put(ex, t->sym[v % 10], 1);
        ex_put(ex, t->sym[S_COMMA], 0);
        ex_put(ex, t->sym[S_C], 0), ex_put(ex, t->sym[S_ARROW], 0), ex_put(ex, t->sym[carry], 1);
        ex_put(ex, t->sym[S_NL], 0);
    }
    ex_put(ex, t->sym[S_ENDSCRATCH], 0), ex_put(ex, t->sym[S_NL], 0);
}

/* The NoPE paper's steps, each part switched by its option; rev: the prompt's operands are
 * reversed (the rest after `re` is laid out as in the prompt). */
static void add_steps(Task *t, TaskExample *ex, const int *a, int wa, const int *b, int wb, int m, int rev) {
    int si = topt(t, A_SI), sc = topt(t, A_SC), so = topt(t, A_SO), sv = topt(t, A_SV), sr = topt(t, A_SR);
    int nope = topt(t, A_STEP_FORM) == SF_NOPE, carry = 0;
    for (int j = 0; j < m && (si || sc || so || sv || sr); j++) {
        int x = j < wa ? a[j] : 0, y = j < wb ? b[j] : 0, v = x + y + carry;
        if (si) {
            ex_put(ex, t->sym[S_IN], 0), ex_put(ex, t->sym[x], 1);
            ex_put(ex, t->sym[S_COMMA], 0), ex_put(ex, t->sym[y], 1);
        }
        if (sc && nope) {  /* comp x + y + carry = x+y + c = v (the NoPE paper's two stages) */
            ex_put(ex, t->sym[S_COMP], 0), ex_put(ex, t->sym[x], 1), ex_put(ex, t->sym[S_PLUS], 0);
            ex_put(ex, t->sym[y], 1), ex_put(ex, t->sym[S_PLUS], 0), ex_put(ex, t->sym[S_CARRY], 0);
            ex_put(ex, t->sym[S_EQ], 0);
            ex_int(t, ex, x + y);
            ex_put(ex, t->sym[S_PLUS], 0), ex_put(ex, t->sym[carry], 1), ex_put(ex, t->sym[S_EQ], 0);
            ex_int(t, ex, v);
        } else if (sc) {
            ex_put(ex, t->sym[S_COMP], 0), ex_put(ex, t->sym[x], 1), ex_put(ex, t->sym[S_PLUS], 0);
            ex_put(ex, t->sym[y], 1), ex_put(ex, t->sym[S_PLUS], 0), ex_put(ex, t->sym[carry], 1);
            ex_put(ex, t->sym[S_EQ], 0);
            ex_int(t, ex, v);
        }
        carry = v / 10;
        if (so) ex_put(ex, t->sym[S_OUT], 0), ex_put(ex, t->sym[v % 10], 1);
        if (sv) {
            ex_put(ex, t->sym[S_LBR], 0), ex_put(ex, t->sym[S_CARRY], 0), ex_put(ex, t->sym[nope ? S_COLON : S_EQ], 0);
            ex_put(ex, t->sym[carry], 1), ex_put(ex, t->sym[S_RBR], 0);
        }
        if (sr) {  /* the digits not yet consumed, laid out as in the prompt */
            ex_put(ex, t->sym[S_RE], 0);
            if (j + 1 < wa) ex_number(t, ex, a + j + 1, wa - j - 1, rev == REV_ALL);
            ex_put(ex, t->sym[S_PLUS], 0);
            if (j + 1 < wb) ex_number(t, ex, b + j + 1, wb - j - 1, rev == REV_ALL);
        }
        ex_put(ex, t->sym[S_STEP], 0);
    }
}

static double log_choose(int n, int k) {
    if (k < 0 || k > n) return -INFINITY;
    return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0);
}

/* k distinct positions of [0, n) uniformly, flagged in set[] (which the caller zeroed);
 * idx holds n ints of scratch. Partial Fisher-Yates. */
static void pick_subset(Rng *rng, int *set, int *idx, int n, int k) {
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)rng_below(rng, (uint64_t)(n - i)), tmp = idx[i];
        idx[i] = idx[j], idx[j] = tmp;
        set[idx[i]] = 1;
    }
}

/* A digit of a k-digit operand at position j (d[0] least significant): 1..9 at the top of a
 * number of 2+ digits, else 0..9. */
static int digit_lo(int j, int k) { return j == k - 1 && k > 1 ? 1 : 0; }

/* Operands a [la], b [lb] whose sum has exactly c carries, c uniform over 0..m (m = max(la, lb)),
 * and, given c, the carry pattern uniform over the patterns that are possible (Teaching
 * Arithmetic's carry-balanced data, for any lengths). Positions j < s = min(la, lb) hold two
 * digits and may carry or not whatever comes in; a position above s holds one digit and carries
 * only as 9 + an incoming carry, so the carries there form a run that starts at s and needs a
 * carry out of s - 1. With r carries in that run, the pattern is a (c - r)-subset of [0, s) (with
 * s - 1 in it when r > 0): C(s, c) patterns for r = 0, C(s - 1, c - r - 1) for r > 0. Then every
 * position draws its digits uniformly among those that give its carry. */
static void balanced_carries(Rng *rng, int *a, int la, int *b, int lb, int *carry, int *idx) {
    int m = la > lb ? la : lb, s = la < lb ? la : lb, c = (int)rng_below(rng, (uint64_t)(m + 1));
    double lw[ARITH_MAX + 2], top = -INFINITY, total = 0;
    for (int r = 0; r <= m - s; r++) {
        lw[r] = r == 0 ? log_choose(s, c) : log_choose(s - 1, c - r - 1);
        if (lw[r] > top) top = lw[r];
    }
    for (int r = 0; r <= m - s; r++) total += lw[r] == -INFINITY ? 0 : exp(lw[r] - top);
    double u = rng_uniform(rng) * total;
    int run = 0;
    for (int r = 0; r <= m - s; r++) {
        double w = lw[r] == -INFINITY ? 0 : exp(lw[r] - top);
        if (w > 0) run = r;  /* the last possible r, should rounding leave u past the end */
        if (w > 0 && u < w) break;
        u -= w;
    }
    for (int j = 0; j < m; j++) carry[j] = 0;
    if (run == 0) pick_subset(rng, carry, idx, s, c);
    else {
        carry[s - 1] = 1;
        pick_subset(rng, carry, idx, s - 1, c - run - 1);
        for (int j = s; j < s + run; j++) carry[j] = 1;
    }
    int *lng = la >= lb ? a : b, ll = la >= lb ? la : lb;
    for (int j = 0; j < m; j++) {
        int cin = j ? carry[j - 1] : 0;
        if (j < s) {
            int xlo = digit_lo(j, la), ylo = digit_lo(j, lb), x, y;
            do {
                x = xlo + (int)rng_below(rng, (uint64_t)(10 - xlo));
                y = ylo + (int)rng_below(rng, (uint64_t)(10 - ylo));
            } while ((x + y + cin >= 10) != carry[j]);
            a[j] = x, b[j] = y;
        } else if (carry[j]) {
            lng[j] = 9;  /* 9 + the incoming carry */
        } else {
            int lo = digit_lo(j, ll), x;
            do x = lo + (int)rng_below(rng, (uint64_t)(10 - lo));
            while (x + cin >= 10);
            lng[j] = x;
        }
    }
}

static void add_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int *a = t->scratch, *b = a + ARITH_MAX + 2, *s = b + ARITH_MAX + 2;
    int fmt = topt(t, A_FORMAT), rev = topt(t, A_REVERSE), pad = topt(t, A_PAD);
    int la = n, lb = n;
    switch (topt(t, A_OPERANDS)) {
    case OPS_LONGEST:
        lb = 1 + (int)rng_below(rng, (uint64_t)n);
        if (rng_below(rng, 2)) la = lb, lb = n;
        break;
    case OPS_BALANCED: {
        int r = (int)rng_below(rng, (uint64_t)(2 * n - 1));
        if (r < n) lb = r + 1;
        else la = r - n + 1;
        break;
    }
    default: break;
    }
    if (topt(t, A_CARRIES) == CARRY_BALANCED) {
        int *carry = s + ARITH_MAX + 2;
        balanced_carries(rng, a, la, b, lb, carry, carry + ARITH_MAX + 2);
    } else {
        random_number(rng, a, la);
        random_number(rng, b, lb);
    }
    int wa = la, wb = lb;
    if (pad) {
        for (int j = la; j <= n; j++) a[j] = 0;
        for (int j = lb; j <= n; j++) b[j] = 0;
        wa = wb = n + 1;
    }
    int m = wa > wb ? wa : wb, carry = 0;
    for (int j = 0; j < m; j++) {
        int v = (j < wa ? a[j] : 0) + (j < wb ? b[j] : 0) + carry;
        s[j] = v % 10, carry = v / 10;
    }
    int ls = m;
    if (carry) s[ls++] = 1;  /* never with pad: two n-digit numbers sum below 10^(n+1) */
    int off = topt(t, A_HINTS) ? (int)rng_below(rng, (uint64_t)(t->n_num - (n + 1) + 1)) : -1;

    /* `+` and `=` follow the operands' units digits unless the operands are reversed */
    int after = rev == REV_ALL ? 0 : DIGIT_AFTER_NUMBER;
    put_hinted(t, ex, a, wa, rev == REV_ALL, off);
    ex_put(ex, t->sym[S_PLUS], after);
    put_hinted(t, ex, b, wb, rev == REV_ALL, off);
    ex_put(ex, t->sym[S_EQ], after);
    ex_prompt_end(ex);

    if (fmt == F_SIMPLE) add_simple(t, ex, a, wa, b, wb, m);
    else if (fmt == F_DETAILED) add_detailed(t, ex, a, wa, b, wb, s, m);
    else if (fmt == F_STEPS) add_steps(t, ex, a, wa, b, wb, m, rev);
    put_hinted(t, ex, s, ls, rev != REV_NONE, off);
}

const TaskDef task_def_addition = {"addition", "add two numbers of up to n digits",
                                   "n, the number of digits of the longer operand (without padding)",
                                   add_opts, (int)(sizeof add_opts / sizeof add_opts[0]),
                                   add_setup, add_max_tokens, add_gen};

/* ---- multiplication ---- */
static const OptDef mul_opts[] = {
    REVERSE_OPT,
    {"multiplier_digits", OPTK_RANGE, "1..3", 1, 3, NULL, "digits of the second operand, drawn uniformly"},
};
static int mul_setup(Task *t, LgErr *err) {
    task_add_digits(t);
    add_syms(t, S_EQ, S_TIMES);
    t->min_len = 1, t->max_len = ARITH_MAX;
    task_alloc_scratch(t, 3 * (ARITH_MAX + 4));
    (void)err;
    return 0;
}
static int mul_max_tokens(const Task *t, int n) { return 2 * n + 14; }
static void mul_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int *a = t->scratch, *b = a + ARITH_MAX + 4, *p = b + ARITH_MAX + 4, rev = topt(t, 0);
    int lb = (int)rng_range(rng, topt(t, 1), topt_hi(t, 1));
    random_number(rng, a, n);
    random_number(rng, b, lb);
    for (int k = 0; k < n + lb; k++) p[k] = 0;
    for (int j = 0; j < lb; j++) {
        int carry = 0;
        for (int i = 0; i < n; i++) {
            int v = p[i + j] + a[i] * b[j] + carry;
            p[i + j] = v % 10, carry = v / 10;
        }
        for (int k = j + n; carry; k++) {
            int v = p[k] + carry;
            p[k] = v % 10, carry = v / 10;
        }
    }
    int lp = n + lb;
    while (lp > 1 && p[lp - 1] == 0) lp--;
    ex_number(t, ex, a, n, rev == REV_ALL);
    ex_put(ex, t->sym[S_TIMES], 0);
    ex_number(t, ex, b, lb, rev == REV_ALL);
    ex_put(ex, t->sym[S_EQ], 0);
    ex_prompt_end(ex);
    ex_number(t, ex, p, lp, rev != REV_NONE);
}
const TaskDef task_def_multiplication = {"multiplication", "multiply an n-digit number by a 1- to 3-digit number",
                                         "n, the number of digits of the first operand", mul_opts, 2,
                                         mul_setup, mul_max_tokens, mul_gen};
