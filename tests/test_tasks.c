/* Task tests: the MEANING of every task's outputs on many random examples of several lengths,
 * the example conventions (EOS, prompt, loss mask, digit index, token bound), determinism, and
 * no heap allocation in task_generate. Golden strings are in test_tasks_golden.c, option and
 * CLI errors in test_tasks_errors.c. */
#include "task_helpers.h"
#include "test.h"

static int mod10(int v) { return v % 10; }

/* Every example: task token first, EOS last and only there, prompt ends before the answer,
 * within the token bound, mask per the documented convention. */
static int conventions_ok(TG *g, int len) {
    TaskExample *e = &g->ex;
    int n = e->n_tokens, p = e->prompt_len;
    if (!EXPECT(e->tokens[0] == task_token(g->t), "task token first")) return 0;
    if (!EXPECT(e->tokens[n - 1] == VOCAB_EOS, "%s: EOS last", task_name(g->t))) return 0;
    for (int i = 0; i < n - 1; i++)
        if (!EXPECT(e->tokens[i] != VOCAB_EOS && e->tokens[i] >= 0 && e->tokens[i] < vocab_size(&g->v), "token %d", i)) return 0;
    if (!EXPECT(p >= 2 && p < n, "prompt_len %d of %d", p, n)) return 0;
    if (!EXPECT(n <= task_max_tokens(g->t, len), "%s length %d: %d tokens > bound %d", task_name(g->t), len, n,
                task_max_tokens(g->t, len)))
        return 0;
    for (int i = 0; i < n; i++) {
        float want = (i >= p - 1 && i < n - 1) ? 1.0f : 0.0f;
        if (!EXPECT(e->loss_mask[i] == want, "%s: mask[%d] = %g, want %g (prompt %d, n %d)", task_name(g->t), i,
                    e->loss_mask[i], want, p, n))
            return 0;
        int d = e->digit_index[i];
        if (!EXPECT(d >= 0 ? d == 0 || tg_digit(g, i) >= 0 : d == DIGIT_AFTER_NUMBER && i > 0 && tg_digit(g, i - 1) >= 0,
                    "digit_index %d on a non-digit at %d", d, i))
            return 0;
    }
    return 1;
}

/* ---- sort and hints ---- */
static int stable_rank(const int *x, int n, int i) {
    int r = 0;
    for (int j = 0; j < n; j++) r += x[j] < x[i] || (x[j] == x[i] && j < i);
    return r;
}

static void check_list_task(const char *name, const char *opts, int lo, int hi, int unique) {
    TG g;
    CHECK(tg_open(&g, name, opts) == 0, "%s", g.err.msg);
    Rng r;
    rng_seed(&r, 7);
    int lens[] = {1, 2, 5, 20, 60};
    int x[64], y[64];
    for (int li = 0; li < 5; li++)
        for (int it = 0; it < 200; it++) {
            int n = lens[li];
            CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
            CHECK(conventions_ok(&g, n));
            for (int i = 0; i < n; i++) {
                x[i] = tg_int(&g, 1 + i);
                CHECK(x[i] >= lo && x[i] <= hi, "value %d outside %d..%d", x[i], lo, hi);
                if (unique)
                    for (int j = 0; j < i; j++) CHECK(x[j] != x[i], "repeated value %d in a unique list", x[i]);
            }
            CHECK(g.ex.tokens[1 + n] == VOCAB_SEP);
            int p = g.ex.prompt_len;
            CHECK(g.ex.n_tokens == p + n + 1, "%s: answer has %d tokens for n=%d", name, g.ex.n_tokens - p - 1, n);
            for (int i = 0; i < n; i++) y[i] = tg_int(&g, p + i);
            if (!strcmp(name, "sort") || !strcmp(name, "sort_unique") || !strcmp(name, "fill")) {
                /* sorted and a permutation of the input */
                for (int i = 0; i + 1 < n; i++) CHECK(y[i] <= y[i + 1], "not sorted at %d", i);
                for (int i = 0; i < n; i++) {
                    int cx = 0, cy = 0;
                    for (int j = 0; j < n; j++) cx += x[j] == x[i], cy += y[j] == x[i];
                    CHECK(cx == cy, "value %d appears %d times in input, %d in output", x[i], cx, cy);
                }
                if (!strcmp(name, "fill")) {  /* the blanked list agrees with the answer, >= 1 blank */
                    int blanks = 0;
                    for (int k = 0; k < n; k++) {
                        if (tg_is(&g, 2 + n + k, "_")) blanks++;
                        else CHECK(tg_int(&g, 2 + n + k) == y[k], "given sorted value at %d", k);
                    }
                    CHECK(blanks >= 1 && tg_is(&g, 2 + 2 * n, "<sep>"));
                }
            } else {
                for (int i = 0; i < n; i++) {
                    int ri = stable_rank(x, n, i), want = -2;
                    if (!strcmp(name, "rank")) want = ri;
                    else if (!strcmp(name, "min_prefix")) {
                        want = x[0];
                        for (int j = 1; j <= i; j++) want = x[j] < want ? x[j] : want;
                    } else {
                        int target = !strcmp(name, "successor") ? ri + 1 : ri - 1;
                        if (target < 0 || target >= n) {
                            CHECK(tg_is(&g, p + i, !strcmp(name, "successor") ? "<last>" : "<first>"), "end marker at %d", i);
                            continue;
                        }
                        for (int j = 0; j < n; j++)
                            if (stable_rank(x, n, j) == target) want = x[j];
                    }
                    CHECK(y[i] == want, "%s: element %d (value %d): got %d, want %d", name, i, x[i], y[i], want);
                }
            }
        }
    tg_close(&g);
}

TEST(task_sort_outputs_sorted_permutation) {
    check_list_task("sort", NULL, 0, 99, 0);
    if (test_failed()) return;
    check_list_task("sort", "values=5..500 repeat=false", 5, 500, 1);
    if (test_failed()) return;
    check_list_task("sort", "values=0..3", 0, 3, 0);
    if (test_failed()) return;
    check_list_task("sort_unique", NULL, 0, 99, 1);
}

TEST(task_sort_hints_agree_with_definitions) {
    const char *names[] = {"successor", "predecessor", "rank", "min_prefix", "fill"};
    for (int k = 0; k < 5; k++) {
        check_list_task(names[k], "values=0..9", 0, 9, 0);  /* small range: many ties */
        if (test_failed()) return;
        check_list_task(names[k], NULL, 0, 99, 0);
        if (test_failed()) return;
    }
}

/* next_larger and copies: one query from the list, answered from the list's values alone. */
static void check_query_task(const char *name, const char *opts, int training) {
    TG g;
    CHECK(tg_open(&g, name, opts) == 0, "%s", g.err.msg);
    Rng r;
    rng_seed(&r, 11);
    int lens[] = {1, 2, 5, 20, 100};
    for (int li = 0; li < 5; li++)
        for (int it = 0; it < 300; it++) {
            int n = lens[li], x[128];
            CHECK((training ? task_generate_train(g.t, &r, n, &g.ex, &g.err) : tg_gen(&g, &r, n)) == 0, "%s", g.err.msg);
            CHECK(conventions_ok(&g, n));
            for (int i = 0; i < n; i++) x[i] = tg_int(&g, 1 + i);
            int p = g.ex.prompt_len, q = tg_int(&g, p - 1), inlist = 0, next = -1, count = 0;
            CHECK(tg_is(&g, 1 + n, "<sep>") && p == n + 3, "%s: prompt is the list, <sep>, the query", name);
            for (int i = 0; i < n; i++) {
                inlist |= x[i] == q;
                count += x[i] == q;
                if (x[i] > q && (next < 0 || x[i] < next)) next = x[i];
            }
            CHECK(inlist, "%s: query %d is not in the list", name, q);
            if (!strcmp(name, "copies")) {
                int got = 0;
                for (int i = p; i < g.ex.n_tokens - 1; i++) got = 10 * got + tg_digit(&g, i);
                CHECK(got == count, "copies of %d: got %d, want %d", q, got, count);
            } else if (next < 0) {
                CHECK(tg_is(&g, p, "<last>") && g.ex.n_tokens == p + 2, "next_larger of the largest is <last>");
            } else {
                CHECK(tg_int(&g, p) == next && g.ex.n_tokens == p + 2, "next_larger of %d: got %s, want %d", q,
                      tg_s(&g, p), next);
            }
        }
    tg_close(&g);
}

TEST(task_position_free_hints_agree_with_definitions) {
    check_query_task("next_larger", NULL, 0);
    if (test_failed()) return;
    check_query_task("next_larger", "values=0..9", 0);  /* many ties: the answer skips copies */
    if (test_failed()) return;
    check_query_task("copies", "values=0..4", 0);
    if (test_failed()) return;
    check_query_task("copies", "window=1..3 window_share=100", 1);  /* counts of 10 and more */
    if (test_failed()) return;
    check_query_task("next_larger", "repeat=false window=2..30", 1);
}

/* The window sampler: training lists come from a run of w consecutive values (w in the window
 * range, widened to n for distinct values) in window_share percent of cases; task_generate (held-
 * out and evaluation sets) is untouched: the same rng gives the same examples as without it. */
static void check_window(const char *name, const char *opts, const char *plain, int wl, int wh, int share, int unique) {
    TG g, h;
    CHECK(tg_open(&g, name, opts) == 0, "%s", g.err.msg);
    CHECK(tg_open(&h, name, plain) == 0, "%s", h.err.msg);
    Rng r1, r2;
    rng_seed(&r1, 5), rng_seed(&r2, 5);
    for (int it = 0; it < 500; it++) {  /* evaluation examples: identical with and without window */
        int n = 1 + it % 40;
        CHECK(tg_gen(&g, &r1, n) == 0 && tg_gen(&h, &r2, n) == 0);
        CHECK(g.ex.n_tokens == h.ex.n_tokens && !memcmp(g.ex.tokens, h.ex.tokens, (size_t)g.ex.n_tokens * sizeof(int)),
              "%s: window changed an evaluation example", name);
    }
    int narrow = 0, total = 2000, n = 20;
    for (int it = 0; it < total; it++) {
        CHECK(task_generate_train(g.t, &r1, n, &g.ex, &g.err) == 0, "%s", g.err.msg);
        CHECK(conventions_ok(&g, n));
        int lo = 1000, hi = -1;
        for (int i = 0; i < n; i++) {
            int v = tg_int(&g, 1 + i);
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
            if (unique)
                for (int j = 0; j < i; j++) CHECK(tg_int(&g, 1 + j) != v, "repeated value %d in a distinct list", v);
        }
        int need = unique && n > wh ? n : wh;
        narrow += hi - lo + 1 <= need;
    }
    /* share percent come from a window of <= wh values; uniform lists of 20 from 0..99 almost
     * never span so few, so the observed share must be close to `share` */
    double got = 100.0 * narrow / total;
    CHECK(got > share - 5 && got < share + 5 + (unique ? 1 : 0), "%s %s: %.1f%% narrow lists, want about %d%%", name,
          opts, got, share);
    (void)wl;
    tg_close(&g);
    tg_close(&h);
}

TEST(task_sort_window_shapes_training_lists_only) {
    check_window("sort", "window=2..10", NULL, 2, 10, 50, 0);
    if (test_failed()) return;
    check_window("sort", "window=1..5 window_share=100", NULL, 1, 5, 100, 0);
    if (test_failed()) return;
    check_window("sort_unique", "window=1..25 window_share=30", NULL, 1, 25, 30, 1);
    if (test_failed()) return;
    check_window("successor", "window=3..8 window_share=70", NULL, 3, 8, 70, 0);
}

/* ---- arithmetic ---- */
/* Reads a number laid out at tokens [from, to), with hint tokens before digits when hinted.
 * Writes its digits most significant first into out and the hints' numbers (MS first) into
 * hints. Returns the digit count. */
static int read_number(TG *g, int from, int to, int hinted, int reversed, char *out, int *hints) {
    int k = 0;
    for (int i = from; i < to; i++) {
        if (hinted) {
            const char *h = tg_s(g, i);
            if (h[0] != 'h') return -1;
            hints[k] = atoi(h + 1);
            i++;
        }
        int d = tg_digit(g, i);
        if (d < 0) return -1;
        /* digit index: position from the least significant digit as laid out */
        out[k++] = (char)('0' + d);
    }
    out[k] = 0;
    if (reversed) {
        big_reverse(out);
        for (int i = 0; i < k / 2; i++) {
            int t = hints[i];
            hints[i] = hints[k - 1 - i], hints[k - 1 - i] = t;
        }
    }
    return k;
}

static int find_tok(TG *g, int from, int to, const char *s) {
    for (int i = from; i < to; i++)
        if (tg_is(g, i, s)) return i;
    return -1;
}

/* digit indices of the number at [from, to): 1..k from the least significant as laid out */
static int digit_indices_ok(TG *g, int from, int to, int hinted, int reversed) {
    int k = 0;
    for (int i = from; i < to; i++) k += g->ex.digit_index[i] > 0;
    int seen = 0;
    for (int i = from; i < to; i++) {
        if (hinted && tg_s(g, i)[0] == 'h') {
            if (!EXPECT(g->ex.digit_index[i] == 0, "hint token with a digit index")) return 0;
            continue;
        }
        int want = reversed ? seen + 1 : k - seen;
        if (!EXPECT(g->ex.digit_index[i] == want, "digit_index[%d] = %d, want %d", i, g->ex.digit_index[i], want)) return 0;
        seen++;
    }
    return 1;
}

static void check_addition(const char *opts, int fmt /* 0 plain 1 simple 2 detailed 3 steps */) {
    TG g;
    CHECK(tg_open(&g, "addition", opts) == 0, "%s: %s", opts, g.err.msg);
    int rev_all = strstr(opts, "reverse=all") != NULL, rev_ans = rev_all || strstr(opts, "reverse=answer");
    int pad = strstr(opts, "pad=true") != NULL, hinted = strstr(opts, "index_hints=true") != NULL;
    int steps_all = fmt == 3 && !strstr(opts, "=false");
    Rng r;
    rng_seed(&r, 11);
    int lens[] = {1, 2, 3, 7, 25, 120};
    static char a[512], b[512], s[512], want[512], tmp[512];
    int ha[512], hb[512], hs[512];
    for (int li = 0; li < 6; li++)
        for (int it = 0; it < (lens[li] > 30 ? 20 : 150); it++) {
            int n = lens[li];
            if (fmt == 2 && n > 25) continue;
            CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
            CHECK(conventions_ok(&g, n));
            int p = g.ex.prompt_len, end = g.ex.n_tokens - 1;
            int plus = find_tok(&g, 1, p, "+");
            CHECK(plus > 0 && tg_is(&g, p - 1, "="), "prompt shape");
            int la = read_number(&g, 1, plus, hinted, rev_all, a, ha);
            int lb = read_number(&g, plus + 1, p - 1, hinted, rev_all, b, hb);
            CHECK(la > 0 && lb > 0, "operands parse (%s)", opts);
            CHECK(digit_indices_ok(&g, 1, plus, hinted, rev_all) && digit_indices_ok(&g, plus + 1, p - 1, hinted, rev_all));
            /* position coupling's id one past the units digit: `+` and `=` after MSB-first operands */
            int after = rev_all ? 0 : DIGIT_AFTER_NUMBER;
            CHECK(g.ex.digit_index[plus] == after && g.ex.digit_index[p - 1] == after, "`+`, `=` digit_index %d, %d, want %d",
                  g.ex.digit_index[plus], g.ex.digit_index[p - 1], after);
            /* the final answer: the trailing digits (and hints) before EOS */
            int from = end;
            while (from > p && (tg_digit(&g, from - 1) >= 0 || (hinted && tg_s(&g, from - 1)[0] == 'h'))) from--;
            if (fmt != 0) CHECK(tg_is(&g, from - 1, fmt == 3 ? "#" : "\n") || (fmt == 3 && from == p), "answer follows the scratchpad");
            else CHECK(from == p, "plain answer is the whole answer");
            int ls = read_number(&g, from, end, hinted, rev_ans, s, hs);
            CHECK(ls > 0, "answer parses");
            CHECK(digit_indices_ok(&g, from, end, hinted, rev_ans));
            if (pad) CHECK(la == n + 1 && lb == n + 1 && ls == n + 1, "padded widths %d %d %d for n=%d", la, lb, ls, n);
            else {
                CHECK((la == n || lb == n) && la <= n && lb <= n, "operand digits %d, %d for n=%d", la, lb, n);
                CHECK((la == 1 || a[0] != '0') && (lb == 1 || b[0] != '0') && (ls == 1 || s[0] != '0'), "leading zero");
            }
            if (hinted)  /* one offset: the hint of significance j is off + j everywhere */
                for (int j = 0; j < ls; j++) {
                    int off = hs[ls - 1] ;
                    CHECK(hs[ls - 1 - j] == off + j, "answer hint at significance %d", j);
                    if (j < la) CHECK(ha[la - 1 - j] == off + j, "operand a hint at significance %d", j);
                    if (j < lb) CHECK(hb[lb - 1 - j] == off + j, "operand b hint at significance %d", j);
                }
            big_add(a, b, want);
            strcpy(tmp, s);
            big_strip(tmp);
            CHECK(!strcmp(tmp, want), "%s: %s + %s gave %s", opts, a, b, s);

            /* scratchpads: each line arithmetically right, carries chained */
            int wa = la, wb = lb, m = wa > wb ? wa : wb, carry = 0, i = p;
            if (fmt == 1) {
                for (int j = 0; j < m; j++, i += 8) {
                    int x = j < wa ? a[wa - 1 - j] - '0' : 0, y = j < wb ? b[wb - 1 - j] - '0' : 0, v = x + y + carry;
                    carry = v / 10;
                    CHECK(tg_is(&g, i, "A") && tg_is(&g, i + 1, "->") && tg_digit(&g, i + 2) == mod10(v) && tg_is(&g, i + 3, ",") &&
                              tg_is(&g, i + 4, "C") && tg_is(&g, i + 5, "->") && tg_digit(&g, i + 6) == carry && tg_is(&g, i + 7, "\n"),
                          "simple scratchpad line %d", j);
                }
                CHECK(i == from, "no extra lines");
            } else if (fmt == 2) {
                CHECK(tg_is(&g, i, "<scratch>"));
                int line = 0;
                for (int k = i; k < from; k++) {
                    if (!tg_is(&g, k, "\n") || line < 2 || (line - 2) >= m) { line += tg_is(&g, k, "\n"); continue; }
                    /* the step line j = line - 3 starts after this newline: find ", x + y + c = S , A -> d , C -> c" */
                    int j = line - 2, x = j < wa ? a[wa - 1 - j] - '0' : 0, y = j < wb ? b[wb - 1 - j] - '0' : 0;
                    int v = x + y + carry, e = find_tok(&g, k + 1, from, "\n");
                    int arrow = find_tok(&g, k + 1, e, "->");
                    CHECK(arrow > 0 && tg_digit(&g, arrow + 1) == mod10(v) && tg_digit(&g, arrow + 5) == v / 10,
                          "detailed step %d: A -> and C -> wrong", j);
                    /* x + y + c = S just before ", A ->" */
                    int q = arrow - 4 - (v >= 10);
                    CHECK(tg_digit(&g, q - 5) == x && tg_is(&g, q - 4, "+") && tg_digit(&g, q - 3) == y &&
                              tg_digit(&g, q - 1) == carry && tg_is(&g, q, "=") &&
                              (v >= 10 ? tg_digit(&g, q + 1) == 1 && tg_digit(&g, q + 2) == mod10(v) : tg_digit(&g, q + 1) == v),
                          "detailed step %d: computation wrong", j);
                    carry = v / 10;
                    line++;
                }
                CHECK(line == m + 5, "detailed scratchpad has %d lines, want %d", line, m + 5);
            } else if (fmt == 3 && steps_all) {
                for (int j = 0; j < m; j++) {
                    int x = j < wa ? a[wa - 1 - j] - '0' : 0, y = j < wb ? b[wb - 1 - j] - '0' : 0, v = x + y + carry;
                    CHECK(tg_is(&g, i, "in") && tg_digit(&g, i + 1) == x && tg_digit(&g, i + 3) == y && tg_is(&g, i + 4, "comp") &&
                              tg_digit(&g, i + 5) == x && tg_digit(&g, i + 7) == y && tg_digit(&g, i + 9) == carry,
                          "step %d input/computation", j);
                    i += 11;
                    if (v >= 10) {
                        CHECK(tg_digit(&g, i) == 1 && tg_digit(&g, i + 1) == mod10(v));
                        i += 2;
                    } else {
                        CHECK(tg_digit(&g, i) == v);
                        i += 1;
                    }
                    carry = v / 10;
                    CHECK(tg_is(&g, i, "out") && tg_digit(&g, i + 1) == mod10(v) && tg_is(&g, i + 2, "[") && tg_is(&g, i + 3, "carry") &&
                              tg_digit(&g, i + 5) == carry && tg_is(&g, i + 6, "]") && tg_is(&g, i + 7, "re"),
                          "step %d output/variable", j);
                    i += 8;
                    /* remaining input: digits of a and b above significance j */
                    int ra = wa - j - 1 > 0 ? wa - j - 1 : 0, rb = wb - j - 1 > 0 ? wb - j - 1 : 0;
                    read_number(&g, i, i + ra, 0, rev_all, tmp, ha);
                    CHECK(!strncmp(tmp, a, (size_t)ra), "step %d remaining a", j);
                    CHECK(tg_is(&g, i + ra, "+"), "step %d remaining +", j);
                    read_number(&g, i + ra + 1, i + ra + 1 + rb, 0, rev_all, tmp, hb);
                    CHECK(!strncmp(tmp, b, (size_t)rb), "step %d remaining b", j);
                    i += ra + 1 + rb;
                    CHECK(tg_is(&g, i, "#"), "step %d ends with #", j);
                    i++;
                }
                CHECK(i == from);
            }
        }
    tg_close(&g);
}

TEST(task_addition_equals_integer_sum_in_every_format) {
    const char *plain[] = {
        "format=plain", "reverse=answer", "reverse=all", "pad=true", "pad=true reverse=all",
        "index_hints=true", "index_hints=true reverse=all pad=true", "index_hints=true reverse=answer hint_alphabet=300",
        "operands=equal", "operands=balanced reverse=all",
        "carries=balanced", "carries=balanced pad=true reverse=all operands=balanced",
        "carries=balanced index_hints=true reverse=answer",
    };
    for (int k = 0; k < 13; k++) {
        check_addition(plain[k], 0);
        if (test_failed()) return;
    }
}

TEST(task_addition_scratchpad_lines_are_right) {
    check_addition("format=simple", 1);
    if (test_failed()) return;
    check_addition("format=simple reverse=answer pad=true", 1);
    if (test_failed()) return;
    check_addition("format=detailed", 2);
    if (test_failed()) return;
    check_addition("format=detailed reverse=all", 2);
    if (test_failed()) return;
    check_addition("format=steps", 3);
    if (test_failed()) return;
    check_addition("format=steps reverse=all pad=true", 3);
    if (test_failed()) return;
    check_addition("format=simple carries=balanced", 1);
    if (test_failed()) return;
    check_addition("format=steps step_comp=false step_rest=false", 3);
    if (test_failed()) return;
    check_addition("format=steps step_input=false step_comp=false step_output=false step_var=false step_rest=false", 3);
}

TEST(task_addition_operand_lengths_cover_pairs) {
    TG g;
    CHECK(tg_open(&g, "addition", "operands=balanced") == 0, "%s", g.err.msg);
    Rng r;
    rng_seed(&r, 3);
    int seen[6][6] = {{0}};
    char a[16], b[16];
    int h[16];
    for (int it = 0; it < 2000; it++) {
        CHECK(tg_gen(&g, &r, 5) == 0);
        int plus = find_tok(&g, 1, g.ex.prompt_len, "+");
        seen[read_number(&g, 1, plus, 0, 0, a, h)][read_number(&g, plus + 1, g.ex.prompt_len - 1, 0, 0, b, h)]++;
    }
    for (int x = 1; x <= 5; x++)
        for (int y = 1; y <= 5; y++) {
            int legal = x == 5 || y == 5;
            if (legal) CHECK(seen[x][y] > 2000 / 9 / 2, "pair (%d,%d) seen %d times of ~222", x, y, seen[x][y]);
            else CHECK(seen[x][y] == 0, "pair (%d,%d) has no operand of 5 digits", x, y);
        }
    tg_close(&g);
}

/* The plain bound is exact with pad=true (every number has n + 1 places), with and without index
 * hints, so a 40-digit plain sum fits 128 positions (the bound once counted hints for every
 * plain sum: 6(n+1)+8 = 254, and experiments/rasp could not train or evaluate it). */
TEST(task_addition_plain_bound_is_tight) {
    const char *opts[] = {"pad=true", "pad=true index_hints=true", "", "index_hints=true"};
    for (int c = 0; c < 4; c++) {
        TG g;
        CHECK(tg_open(&g, "addition", opts[c]) == 0, "%s", g.err.msg);
        Rng r;
        rng_seed(&r, 7);
        for (int n = 1; n <= 40; n += 13) {
            int most = 0;
            for (int it = 0; it < 200; it++) {
                CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
                if (g.ex.n_tokens > most) most = g.ex.n_tokens;
            }
            int bound = task_max_tokens(g.t, n), pad = c < 2;
            CHECK(most <= bound, "[%s] n=%d: %d tokens > bound %d", opts[c], n, most, bound);
            if (pad) CHECK(most == bound, "[%s] n=%d: longest %d, bound %d (not tight)", opts[c], n, most, bound);
        }
        if (c == 2) CHECK(task_max_tokens(g.t, 40) <= 128, "a 40-digit plain sum needs %d", task_max_tokens(g.t, 40));
        tg_close(&g);
    }
}

TEST(task_increment_and_multiplication_are_right) {
    const char *cases[][2] = {{"increment", NULL}, {"increment", "reverse=all"}, {"increment", "reverse=answer"},
                              {"multiplication", NULL}, {"multiplication", "reverse=all"},
                              {"multiplication", "reverse=answer multiplier_digits=2..2"}};
    static char a[600], b[600], s[600], want[600], acc[600], part[600];
    int h[600];
    for (int c = 0; c < 6; c++) {
        TG g;
        CHECK(tg_open(&g, cases[c][0], cases[c][1]) == 0, "%s", g.err.msg);
        int mul = cases[c][0][0] == 'm';
        int rev_all = cases[c][1] && strstr(cases[c][1], "all"), rev_ans = cases[c][1] && strstr(cases[c][1], "reverse");
        Rng r;
        rng_seed(&r, 5);
        int lens[] = {1, 2, 9, 40, 150};
        for (int li = 0; li < 5; li++)
            for (int it = 0; it < 100; it++) {
                int n = lens[li];
                CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
                CHECK(conventions_ok(&g, n));
                int p = g.ex.prompt_len, end = g.ex.n_tokens - 1;
                int op = mul ? find_tok(&g, 1, p, "*") : p - 1;
                CHECK(read_number(&g, 1, op, 0, rev_all, a, h) == n, "first operand has n digits");
                CHECK(n == 1 || a[0] != '0');
                CHECK(read_number(&g, p, end, 0, rev_ans, s, h) > 0);
                if (mul) {
                    int lb = read_number(&g, op + 1, p - 1, 0, rev_all, b, h);
                    CHECK(lb >= 1 && lb <= 3 && (lb == 1 || b[0] != '0'));
                    if (strstr(cases[c][1] ? cases[c][1] : "", "2..2")) CHECK(lb == 2);
                    strcpy(acc, "0");  /* a * b as sum of a * digit * 10^k */
                    for (int k = 0; k < lb; k++) {
                        big_mul_small(a, b[k] - '0', part);
                        big_mul_small(acc, 10, acc);
                        big_add(acc, part, acc);
                    }
                    strcpy(want, acc);
                } else big_add(a, "1", want);
                CHECK(!strcmp(s, want), "%s: got %s, want %s", cases[c][0], s, want);
            }
        tg_close(&g);
    }
}

/* ---- sequence tasks ---- */
TEST(task_parity_sum_poly_are_right) {
    const char *cases[][2] = {{"parity", NULL}, {"parity", "scratchpad=true"}, {"sum", NULL}, {"sum", "digits=1..9"}, {"poly", NULL}};
    for (int c = 0; c < 5; c++) {
        TG g;
        CHECK(tg_open(&g, cases[c][0], cases[c][1]) == 0, "%s", g.err.msg);
        Rng r;
        rng_seed(&r, 9);
        int lens[] = {1, 3, 8, 33, 200};
        for (int li = 0; li < 5; li++)
            for (int it = 0; it < 100; it++) {
                int n = lens[li];
                CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
                CHECK(conventions_ok(&g, n));
                int p = g.ex.prompt_len, end = g.ex.n_tokens - 1, want = 0;
                if (c <= 1) {
                    for (int i = 0; i < n; i++) {
                        int bit = tg_digit(&g, 1 + i);
                        CHECK(bit == 0 || bit == 1);
                        want ^= bit;
                        if (c == 1) CHECK(tg_digit(&g, p + i) == want, "running parity at %d", i);
                    }
                    if (c == 1) CHECK(tg_is(&g, end - 2, "="));
                    CHECK(end - p == (c == 1 ? n + 2 : 1));
                } else if (c <= 3) {
                    for (int i = 0; i < n; i++) {
                        int d = tg_digit(&g, 1 + 2 * i);
                        CHECK(d >= (c == 3) && d <= 9, "term %d", d);
                        want += d;
                        CHECK(tg_is(&g, 2 + 2 * i, i + 1 < n ? "+" : "="));
                    }
                    want %= 10;
                } else {
                    CHECK(tg_is(&g, 1, "x") && tg_is(&g, 2, "="));
                    int i = 3, sign = 1;
                    if (tg_is(&g, i, "-")) sign = -1, i++;
                    int x = sign * tg_digit(&g, i++);
                    CHECK(x >= -2 && x <= 2 && tg_is(&g, i++, ":"));
                    for (int k = 0; k < n; k++, i += 6) {
                        int cs = tg_is(&g, i, "-") ? -1 : 1, coef = cs * tg_digit(&g, i + 1), deg = tg_digit(&g, i + 5);
                        CHECK((tg_is(&g, i, "+") || cs < 0) && coef >= -3 && coef <= 3 && deg >= 0 && deg <= 3);
                        CHECK(tg_is(&g, i + 2, "*") && tg_is(&g, i + 3, "x") && tg_is(&g, i + 4, "^"));
                        int term = coef;
                        for (int d = 0; d < deg; d++) term *= x;
                        want += term;
                    }
                    CHECK(i == p - 1 && tg_is(&g, i, "="));
                    want = ((want % 10) + 10) % 10;
                }
                CHECK(tg_digit(&g, end - 1) == want, "%s: answer %s, want %d", cases[c][0], tg_s(&g, end - 1), want);
            }
        tg_close(&g);
    }
}

TEST(task_lego_answer_resolves_the_chain) {
    const char *opts[] = {NULL, "shuffle=true", "names=ordered shuffle=true"};
    for (int c = 0; c < 3; c++) {
        TG g;
        CHECK(tg_open(&g, "lego", opts[c]) == 0, "%s", g.err.msg);
        Rng r;
        rng_seed(&r, 4);
        for (int n = 1; n <= 26; n += 5)
            for (int it = 0; it < 100; it++) {
                CHECK(tg_gen(&g, &r, n) == 0);
                CHECK(conventions_ok(&g, n));
                /* clauses "v = s w" at 1 + 5k; resolve by repeated passes */
                int val[128] = {0}, known = 0;
                for (int pass = 0; pass < n + 1 && known < n; pass++)
                    for (int k = 0; k < n; k++) {
                        int at = 1 + 5 * k, v = (unsigned char)tg_s(&g, at)[0], s = tg_is(&g, at + 2, "+") ? 1 : -1;
                        CHECK(tg_is(&g, at + 1, "=") && (k + 1 == n || tg_is(&g, at + 4, ",")));
                        if (val[v]) continue;
                        const char *w = tg_s(&g, at + 3);
                        int wv = !strcmp(w, "1") ? 1 : val[(unsigned char)w[0]];
                        if (wv) val[v] = s * wv, known++;
                    }
                CHECK(known == n, "chain resolves");
                int p = g.ex.prompt_len, q = (unsigned char)tg_s(&g, p - 2)[0];
                CHECK(tg_is(&g, p - 3, "?") && val[q]);
                CHECK(tg_is(&g, p, val[q] > 0 ? "+" : "-") && tg_is(&g, p + 1, "1"), "lego answer");
                if (opts[c] && strstr(opts[c], "ordered")) CHECK(q >= 'a' && q < 'a' + n);
            }
        tg_close(&g);
    }
}

TEST(task_copy_family_count_mode_are_right) {
    const char *cases[][2] = {{"copy", NULL}, {"copy", "mode=repeat"}, {"copy", "mode=unique alphabet=30"},
                              {"reverse", NULL}, {"duplicate", NULL}, {"unique_copy", NULL}, {"count", NULL},
                              {"mode", NULL}, {"mode", "alphabet=2"}};
    for (int c = 0; c < 9; c++) {
        TG g;
        CHECK(tg_open(&g, cases[c][0], cases[c][1]) == 0, "%s", g.err.msg);
        Rng r;
        rng_seed(&r, 2);
        int lo, hi;
        task_length_range(g.t, &lo, &hi);
        const char *nm = cases[c][0], *o = cases[c][1] ? cases[c][1] : "";
        for (int n = 1; n <= 64 && n <= hi; n = n * 2 + 1)
            for (int it = 0; it < 100; it++) {
                CHECK(tg_gen(&g, &r, n) == 0, "%s", g.err.msg);
                CHECK(conventions_ok(&g, n));
                int p = g.ex.prompt_len, na = g.ex.n_tokens - 1 - p, *tk = g.ex.tokens;
                if (!strcmp(nm, "count")) {
                    int a = tg_int(&g, 1), b = tg_int(&g, 2);
                    CHECK(b - a + 1 == n && na == n);
                    for (int i = 0; i < n; i++) CHECK(tg_int(&g, p + i) == a + i);
                    continue;
                }
                if (!strcmp(nm, "mode")) {
                    int best = -1, bestc = 0, tie = 0;
                    for (int i = 0; i < n; i++) {
                        int cnt = 0;
                        for (int j = 0; j < n; j++) cnt += tk[1 + j] == tk[1 + i];
                        if (cnt > bestc) bestc = cnt, best = tk[1 + i], tie = 0;
                        else if (cnt == bestc && tk[1 + i] != best) tie = 1;
                    }
                    CHECK(!tie, "mode must be unique");
                    CHECK(na == 1 && tk[p] == best, "mode answer");
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    if (strstr(o, "repeat")) CHECK(tk[1 + i] == tk[1]);
                    if (strstr(o, "unique") || !strcmp(nm, "unique_copy"))
                        for (int j = 0; j < i; j++) CHECK(tk[1 + j] != tk[1 + i], "unique symbols");
                }
                int times = !strcmp(nm, "duplicate") ? 2 : 1, rev = !strcmp(nm, "reverse");
                CHECK(na == times * n);
                for (int k = 0; k < times * n; k++) {
                    int i = k % n;
                    CHECK(tk[p + k] == tk[1 + (rev ? n - 1 - i : i)], "%s output at %d", nm, k);
                }
            }
        tg_close(&g);
    }
}

/* An independent SCAN interpreter: words -> actions. Returns the action count or -1. */
static int scan_run(TG *g, int from, int to, const char **out) {
    int conj = -1, n = 0;
    for (int i = from; i < to; i++)
        if (tg_is(g, i, "and") || tg_is(g, i, "after")) conj = i;
    int parts[2][2] = {{from, conj < 0 ? to : conj}, {conj + 1, to}}, order[2] = {0, 1}, np = conj < 0 ? 1 : 2;
    if (conj >= 0 && tg_is(g, conj, "after")) order[0] = 1, order[1] = 0;
    static const char *const acts[] = {"walk", "I_WALK", "look", "I_LOOK", "run", "I_RUN", "jump", "I_JUMP"};
    for (int k = 0; k < np; k++) {
        int a = parts[order[k]][0], b = parts[order[k]][1], reps = 1;
        if (tg_is(g, b - 1, "twice")) reps = 2, b--;
        else if (tg_is(g, b - 1, "thrice")) reps = 3, b--;
        const char *u = NULL, *turn = NULL;
        for (int j = 0; j < 8; j += 2)
            if (tg_is(g, a, acts[j])) u = acts[j + 1];
        if (!u && !tg_is(g, a, "turn")) return -1;
        int opp = tg_is(g, a + 1, "opposite"), around = tg_is(g, a + 1, "around");
        int di = a + 1 + opp + around;
        if (di < b) turn = tg_is(g, di, "left") ? "I_TURN_LEFT" : tg_is(g, di, "right") ? "I_TURN_RIGHT" : NULL;
        if (di < b && !turn) return -1;
        if (!u && !turn) return -1;
        if (b != (turn ? di + 1 : a + 1)) return -1;
        for (int r = 0; r < reps; r++) {
            int loops = around ? 4 : 1;
            for (int l = 0; l < loops; l++) {
                if (turn) out[n++] = turn;
                if (turn && opp) out[n++] = turn;
                if (u) out[n++] = u;
            }
        }
    }
    return n;
}

TEST(task_scan_actions_match_an_interpreter) {
    TG g;
    CHECK(tg_open(&g, "scan", NULL) == 0);
    Rng r;
    rng_seed(&r, 8);
    const char *acts[64];
    for (int len = 1; len <= 48; len++)
        for (int it = 0; it < 60; it++) {
            CHECK(tg_gen(&g, &r, len) == 0, "%s", g.err.msg);
            CHECK(conventions_ok(&g, len));
            CHECK(g.ex.length <= len && g.ex.length >= len - 8, "length %d rounded to %d", len, g.ex.length);
            /* by the grammar, S has 1,2,3,4,6,8,9,12,16,24 actions and C one or two S */
            int infeasible = len == 23 || len == 29 || len == 31 || len == 34 || len == 35 || (len >= 37 && len <= 39) ||
                             (len >= 41 && len <= 47);
            CHECK(infeasible ? g.ex.length < len : g.ex.length == len, "length %d gave %d", len, g.ex.length);
            int p = g.ex.prompt_len, na = g.ex.n_tokens - 1 - p;
            CHECK(tg_is(&g, p - 1, "<sep>"));
            int n = scan_run(&g, 1, p - 1, acts);
            CHECK(n == na && n == g.ex.length, "interpreter gives %d actions, example %d (length %d)", n, na, g.ex.length);
            for (int i = 0; i < n; i++) CHECK(tg_is(&g, p + i, acts[i]), "action %d", i);
        }
    tg_close(&g);
}

/* ---- properties of every task ---- */
TEST(task_every_task_is_deterministic_and_allocation_free) {
    for (int i = 0; i < task_registry_count(); i++) {
        const char *name = task_registry_name(i);
        TG g1, g2;
        CHECK(tg_open(&g1, name, NULL) == 0 && tg_open(&g2, name, NULL) == 0, "%s", name);
        int lo, hi;
        task_length_range(g1.t, &lo, &hi);
        CHECK(lo >= 1 && hi >= lo && hi >= 8, "%s range %d..%d", name, lo, hi);
        Rng r1, r2;
        rng_seed(&r1, 42), rng_seed(&r2, 42);
        uint64_t before = lg_alloc_count();
        int differs = 0;
        uint64_t first_hash = 0;
        for (int it = 0; it < 200; it++) {
            int len = lo + it % (hi - lo + 1 < 30 ? hi - lo + 1 : 30);
            CHECK(tg_gen(&g1, &r1, len) == 0 && tg_gen(&g2, &r2, len) == 0, "%s: %s", name, g1.err.msg);
            CHECK(g1.ex.n_tokens == g2.ex.n_tokens && g1.ex.prompt_len == g2.ex.prompt_len);
            CHECK(!memcmp(g1.ex.tokens, g2.ex.tokens, (size_t)g1.ex.n_tokens * sizeof(int)), "%s not deterministic", name);
            CHECK(!memcmp(g1.ex.digit_index, g2.ex.digit_index, (size_t)g1.ex.n_tokens * sizeof(int)));
            CHECK(conventions_ok(&g1, len));
            uint64_t h = task_hash_prompt(&g1.ex);
            CHECK(h == task_hash_tokens(g2.ex.tokens, g2.ex.prompt_len));
            if (it == 0) first_hash = h;
            else differs |= h != first_hash;
        }
        CHECK(lg_alloc_count() == before, "%s: task_generate allocated %llu times", name,
              (unsigned long long)(lg_alloc_count() - before));
        CHECK(differs, "%s: 200 prompts all hashed alike", name);
        tg_close(&g1);
        tg_close(&g2);
    }
}

TEST(task_loss_mask_whole_sequence_and_answer_check) {
    TG g;
    CHECK(tg_open(&g, "sort", "loss=sequence") == 0, "%s", g.err.msg);
    Rng r;
    rng_seed(&r, 1);
    CHECK(tg_gen(&g, &r, 4) == 0);
    int n = g.ex.n_tokens;
    CHECK(n == 11 && g.ex.prompt_len == 6);
    for (int i = 0; i < n; i++) CHECK(g.ex.loss_mask[i] == (i < n - 1 ? 1.0f : 0.0f), "mask[%d]", i);
    task_set_whole_sequence_loss(g.t, 0);
    CHECK(tg_gen(&g, &r, 4) == 0);
    for (int i = 0; i < n; i++) CHECK(g.ex.loss_mask[i] == (i >= 5 && i < n - 1 ? 1.0f : 0.0f), "mask[%d]", i);
    /* exact match: the true answer matches, with trailing junk after EOS too; any change fails */
    int gen[16];
    memcpy(gen, g.ex.tokens + g.ex.prompt_len, 5 * sizeof(int));
    gen[5] = 7;
    CHECK(task_answer_matches(&g.ex, gen, 6));
    CHECK(!task_answer_matches(&g.ex, gen, 4), "a truncated answer does not match");
    gen[2] = gen[2] == 10 ? 11 : 10;
    CHECK(!task_answer_matches(&g.ex, gen, 6));
    gen[2] = g.ex.tokens[g.ex.prompt_len + 2];
    gen[4] = 9;  /* no EOS where it should be */
    CHECK(!task_answer_matches(&g.ex, gen, 6));
    tg_close(&g);
}

TEST(task_vocab_is_shared_and_ordered) {
    Vocab v;
    vocab_init(&v);
    CHECK(vocab_id(&v, "<pad>") == VOCAB_PAD && vocab_id(&v, "<bos>") == VOCAB_BOS && vocab_id(&v, "<eos>") == VOCAB_EOS &&
          vocab_id(&v, "<sep>") == VOCAB_SEP);
    const char *names[] = {"sort", "successor", "addition"};
    Task *t[3];
    TaskOpt o;
    memset(&o, 0, sizeof o);
    strcpy(o.key, "values"), strcpy(o.value, "0..20");
    LgErr err;
    CHECK(task_create_many(names, 3, &o, 1, &v, t, &err) == 0, "%s", err.msg);
    CHECK(task_token(t[0]) == 4 && task_token(t[1]) == 5 && task_token(t[2]) == 6, "task tokens come right after the specials");
    CHECK(!strcmp(vocab_str(&v, 4), "<sort>") && !strcmp(vocab_str(&v, 6), "<addition>"));
    CHECK(vocab_id(&v, "20") > 0 && vocab_id(&v, "21") < 0, "the values option reached sort and successor");
    CHECK(vocab_id(&v, "<last>") > 0 && vocab_id(&v, "+") > 0);
    CHECK(vocab_id(&v, "7") == 7 + 7, "digits are shared: \"7\" is the 8th number token after 7 ids");
    int n = vocab_size(&v);
    CHECK(n < 50, "vocab stays modest: %d", n);
    CHECK(!strcmp(vocab_str(&v, n), "<?>") && !strcmp(vocab_str(&v, -1), "<?>"));
    Rng r;
    rng_seed(&r, 1);
    int tok[64], dig[64];
    float mask[64];
    TaskExample ex = {tok, mask, dig, 64, 0, 0, 0};
    for (int k = 0; k < 3; k++) {
        CHECK(task_generate(t[k], &r, 5, &ex, &err) == 0, "%s", err.msg);
        for (int i = 0; i < ex.n_tokens; i++) CHECK(tok[i] < n);
    }
    for (int k = 0; k < 3; k++) task_free(t[k]);
    vocab_free(&v);
}
