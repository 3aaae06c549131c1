/* The NoPE paper's formats as task options (copy replace and the 2x forms, parity answered
 * yes/no, sum terms 1..9, the two-stage steps scratchpad, LEGO's second-half queries): each
 * checked on many draws against its definition, with its legal lengths and bad values. */
#include "task_helpers.h"
#include "test.h"

#define HAS(msg, s) CHECK(strstr(msg, s), "message lacks \"%s\": %s", s, msg)

static int find_tok(TG *g, int from, int to, const char *s) {
    for (int i = from; i < to; i++)
        if (tg_is(g, i, s)) return i;
    return -1;
}

TEST(task_copy_replace_and_2x_forms_are_right) {
    const char *cases[][2] = {
        {"copy", "mode=replace"}, {"reverse", "mode=replace alphabet=2"}, {"duplicate", "mode=replace"},
        {"copy", "twice=same"}, {"copy", "twice=same mode=repeat next=false"}, {"reverse", "twice=same"},
        {"reverse", "twice=copy"}, {"copy", "twice=copy mode=replace"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        TG g;
        const char *nm = cases[c][0], *o = cases[c][1];
        CHECK(tg_open(&g, nm, o) == 0, "%s %s: %s", nm, o, g.err.msg);
        int replace = strstr(o, "replace") != NULL, next = strstr(o, "twice=") && !strstr(o, "next=false");
        int halves = !strcmp(nm, "duplicate") || strstr(o, "twice=") ? 2 : 1;
        int rev = !strcmp(nm, "reverse"), second_copy = strstr(o, "twice=copy") != NULL;
        Rng r;
        rng_seed(&r, 5);
        for (int n = 1; n <= 90; n = n * 3 + 1)
            for (int it = 0; it < 60; it++) {
                CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
                int *tk = g.ex.tokens, p = g.ex.prompt_len, end = g.ex.n_tokens - 1;
                CHECK(g.ex.n_tokens <= task_max_tokens(g.t, n), "bound");
                int in = 1, to = -1;
                if (replace) {  /* x -> y : x x ... x */
                    CHECK(tg_is(&g, 2, "->") && tg_is(&g, 4, ":"), "%s [%s] replace prompt", nm, o);
                    CHECK(tk[1] != tk[3], "the new symbol differs from the old");
                    to = tk[3], in = 5;
                    for (int i = 0; i < n; i++) CHECK(tk[in + i] == tk[1], "the input repeats x");
                }
                CHECK(tk[in + n] == VOCAB_SEP && p == in + n + 1, "prompt ends in <sep>");
                CHECK(end - p == halves * n + (next ? 1 : 0), "%s [%s]: answer of %d tokens for n=%d", nm, o, end - p, n);
                int k = p;
                for (int h = 0; h < halves; h++) {
                    if (h && next) CHECK(tg_is(&g, k++, "<next>"), "<next> between the halves");
                    int back = rev && !(h && second_copy);
                    for (int i = 0; i < n; i++, k++) {
                        int want = to >= 0 ? to : tk[in + (back ? n - 1 - i : i)];
                        CHECK(tk[k] == want, "%s [%s] half %d token %d", nm, o, h, i);
                    }
                }
                CHECK(k == end);
                if (!next) CHECK(find_tok(&g, 0, end, "<next>") < 0);
            }
        tg_close(&g);
    }
}

TEST(task_parity_even_answer_and_sum_terms_one_to_nine) {
    const char *opts[] = {"answer=even", "answer=even scratchpad=true"};
    for (int c = 0; c < 2; c++) {
        TG g;
        CHECK(tg_open(&g, "parity", opts[c]) == 0, "%s", g.err.msg);
        Rng r;
        rng_seed(&r, 6);
        int yes = 0, no = 0;
        for (int n = 1; n <= 300; n += 37)
            for (int it = 0; it < 50; it++) {
                CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
                int ones = 0, end = g.ex.n_tokens - 1;
                for (int i = 0; i < n; i++) ones += tg_digit(&g, 1 + i) == 1;
                const char *want = ones & 1 ? "no" : "yes";
                CHECK(tg_is(&g, end - 1, want), "%d ones answered %s", ones, tg_s(&g, end - 1));
                yes += ones % 2 == 0, no += ones % 2;
            }
        CHECK(yes > 100 && no > 100, "both answers occur (%d yes, %d no)", yes, no);
        tg_close(&g);
    }
    TG g;
    CHECK(tg_open(&g, "sum", "digits=1..9") == 0, "%s", g.err.msg);
    Rng r;
    rng_seed(&r, 7);
    int seen[10] = {0};
    for (int it = 0; it < 300; it++) {
        CHECK(tg_gen(&g, &r, 20) == 0);
        for (int i = 0; i < 20; i++) seen[tg_digit(&g, 1 + 2 * i)]++;
    }
    CHECK(seen[0] == 0, "no term 0 with digits=1..9");
    for (int d = 1; d <= 9; d++) CHECK(seen[d] > 6000 / 9 * 8 / 10, "term %d seen %d times of ~667", d, seen[d]);
    tg_close(&g);
}

TEST(task_addition_nope_steps_two_stage) {
    TG g;
    CHECK(tg_open(&g, "addition", "format=steps step_form=nope") == 0, "%s", g.err.msg);
    Rng r;
    rng_seed(&r, 8);
    for (int n = 1; n <= 40; n += 3)
        for (int it = 0; it < 40; it++) {
            CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
            CHECK(g.ex.n_tokens <= task_max_tokens(g.t, n));
            int end = g.ex.n_tokens - 1, steps = 0, carry = 0;
            /* every step: in x , y comp x + y + carry = S1 + c = S out d [ carry : c' ] re ... # */
            for (int i = find_tok(&g, g.ex.prompt_len, end, "comp"); i >= 0; i = find_tok(&g, i + 1, end, "comp")) {
                int x = tg_digit(&g, i + 1), y = tg_digit(&g, i + 3);
                CHECK(tg_is(&g, i + 2, "+") && tg_is(&g, i + 4, "+") && tg_is(&g, i + 5, "carry") && tg_is(&g, i + 6, "="));
                int k = i + 7, s1 = x + y;
                CHECK(s1 >= 10 ? tg_digit(&g, k) == 1 && tg_digit(&g, k + 1) == s1 - 10 : tg_digit(&g, k) == s1, "x + y");
                k += s1 >= 10 ? 2 : 1;
                CHECK(tg_is(&g, k, "+") && tg_digit(&g, k + 1) == carry && tg_is(&g, k + 2, "="), "step %d: + carry-in", steps);
                int v = s1 + carry;
                k += 3;
                CHECK(v >= 10 ? tg_digit(&g, k) == 1 && tg_digit(&g, k + 1) == v - 10 : tg_digit(&g, k) == v, "total");
                k += v >= 10 ? 2 : 1;
                carry = v / 10;
                int units = v - 10 * carry;
                CHECK(tg_is(&g, k, "out") && tg_digit(&g, k + 1) == units && tg_is(&g, k + 2, "[") &&
                          tg_is(&g, k + 3, "carry") && tg_is(&g, k + 4, ":") && tg_digit(&g, k + 5) == carry && tg_is(&g, k + 6, "]"),
                      "step %d: out and [ carry : c ]", steps);
                steps++;
            }
            CHECK(steps == n, "%d steps for n = %d", steps, n);
        }
    tg_close(&g);
}

TEST(task_lego_second_half_queries) {
    TG g;
    CHECK(tg_open(&g, "lego", "query=second_half") == 0, "%s", g.err.msg);
    int lo, hi;
    task_length_range(g.t, &lo, &hi);
    CHECK(lo == 2 && hi == 26, "second-half queries need two variables: %d..%d", lo, hi);
    Rng r;
    rng_seed(&r, 9);
    CHECK(tg_gen(&g, &r, 1) == -1);
    HAS(g.err.msg, "length 1 is out of range");
    for (int n = 2; n <= 26; n++) {
        int hits[26] = {0};
        for (int it = 0; it < 40 * n; it++) {
            CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
            /* chain order (no shuffle): clause k names variable k at 1 + 5k */
            int q = g.ex.tokens[g.ex.prompt_len - 2], idx = -1;
            for (int k = 0; k < n; k++)
                if (g.ex.tokens[1 + 5 * k] == q) idx = k;
            CHECK(idx >= (n + 1) / 2 && idx < n, "n=%d: queried chain index %d, want %d..%d", n, idx, (n + 1) / 2, n - 1);
            hits[idx]++;
        }
        for (int k = (n + 1) / 2; k < n; k++) CHECK(hits[k] > 0, "n=%d: index %d never queried", n, k);
    }
    tg_close(&g);
}

TEST(task_paper_format_bad_values_are_clear) {
    struct { const char *task, *key, *value, *want; } cases[] = {
        {"copy", "mode", "swap", "random|repeat|unique|replace"},
        {"reverse", "twice", "thrice", "none|same|copy"},
        {"copy", "next", "maybe", "true|false"},
        {"parity", "answer", "odd", "bit|even"},
        {"lego", "query", "last", "any|second_half"},
        {"addition", "step_form", "long", "short|nope"},
        {"sum", "digits", "1..10", "LO..HI with 0 <= LO <= HI <= 9"},
    };
    Vocab v;
    vocab_init(&v);
    LgErr err;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        TaskOpt o;
        memset(&o, 0, sizeof o);
        snprintf(o.key, sizeof o.key, "%s", cases[k].key);
        snprintf(o.value, sizeof o.value, "%s", cases[k].value);
        snprintf(o.file, sizeof o.file, "pe.ini");
        o.line = 4;
        CHECK(task_create(cases[k].task, &o, 1, &v, &err) == NULL, "%s=%s accepted", cases[k].key, cases[k].value);
        char want[160];
        snprintf(want, sizeof want, "pe.ini:4: bad value '%s' for task option '%s' of %s", cases[k].value, cases[k].key,
                 cases[k].task);
        HAS(err.msg, want);
        HAS(err.msg, cases[k].want);
    }
    /* duplicate and unique_copy do not take twice: the option is unknown to them */
    TaskOpt o;
    memset(&o, 0, sizeof o);
    snprintf(o.key, sizeof o.key, "twice");
    snprintf(o.value, sizeof o.value, "same");
    CHECK(task_create("duplicate", &o, 1, &v, &err) == NULL);
    HAS(err.msg, "unknown task option 'twice'");
    vocab_free(&v);
}

/* ---- operand sampling ---- */

/* carries of a + b, digit strings most significant first */
static int count_carries(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b), c = 0, n = 0;
    for (int i = 0; i < la || i < lb; i++) {
        int v = c + (i < la ? a[la - 1 - i] - '0' : 0) + (i < lb ? b[lb - 1 - i] - '0' : 0);
        c = v / 10, n += c;
    }
    return n;
}

/* the plain prompt's operands as digit strings */
static void read_operands(TG *g, char *a, char *b) {
    int plus = find_tok(g, 1, g->ex.prompt_len, "+"), k = 0;
    for (int i = 1; i < plus; i++) a[k++] = (char)('0' + tg_digit(g, i));
    a[k] = 0, k = 0;
    for (int i = plus + 1; i < g->ex.prompt_len - 1; i++) b[k++] = (char)('0' + tg_digit(g, i));
    b[k] = 0;
}

TEST(task_addition_carries_balanced_is_uniform_over_carry_counts) {
    struct { const char *opts; int n, draws; } cases[] = {
        {"carries=balanced operands=equal", 3, 8000},
        {"carries=balanced", 12, 13000},
        {"carries=balanced operands=balanced reverse=all", 30, 31000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        TG g;
        CHECK(tg_open(&g, "addition", cases[c].opts) == 0, "%s", g.err.msg);
        Rng r;
        rng_seed(&r, 12);
        int n = cases[c].n, hist[64] = {0}, rev = strstr(cases[c].opts, "reverse=all") != NULL;
        char a[64], b[64];
        for (int it = 0; it < cases[c].draws; it++) {
            CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
            read_operands(&g, a, b);
            if (rev) big_reverse(a), big_reverse(b);
            int la = (int)strlen(a), lb = (int)strlen(b);
            CHECK((la == 1 || a[0] != '0') && (lb == 1 || b[0] != '0'), "leading zero in %s + %s", a, b);
            CHECK(la <= n && lb <= n && (la == n || lb == n), "operand lengths %d, %d at n = %d", la, lb, n);
            hist[count_carries(a, b)]++;
        }
        /* carries 0..n, each about draws / (n + 1): within 15% (many standard deviations) */
        double want = (double)cases[c].draws / (n + 1);
        for (int k = 0; k <= n; k++)
            CHECK(hist[k] > 0.85 * want && hist[k] < 1.15 * want, "[%s] n=%d: %d carries %d times, want ~%.0f",
                  cases[c].opts, n, k, hist[k], want);
        for (int k = n + 1; k < 64; k++) CHECK(hist[k] == 0);
        tg_close(&g);
    }
    /* the default keeps the uniform digits: at n = 3 (equal), 3 carries in ~16% of sums, not 25% */
    TG g;
    CHECK(tg_open(&g, "addition", "operands=equal") == 0, "%s", g.err.msg);
    Rng r;
    rng_seed(&r, 12);
    int three = 0;
    char a[8], b[8];
    for (int it = 0; it < 8000; it++) {
        CHECK(tg_gen(&g, &r, 3) == 0);
        read_operands(&g, a, b);
        three += count_carries(a, b) == 3;
    }
    CHECK(three > 8000 * 0.13 && three < 8000 * 0.19, "uniform digits: 3 carries %d of 8000 (exact share 16.2%%)", three);
    tg_close(&g);
}
