/* RASP-L tests: every primitive on hand-checked sequences, causality, the run-time refusals
 * (value blow-up, division by zero, no EOS), every parse and type error path (file:line:column
 * and what was expected), each shipped program against the built-in generator of the same task
 * on thousands of prompts, programs as tasks (conventions, determinism, no allocation, config
 * names), and a parser fuzz test. */
#include <stdlib.h>
#include <string.h>

#include "../src/config.h"
#include "../src/tasks/rasp.h"
#include "cli_run.h"
#include "task_helpers.h"
#include "test.h"

#define HEAD "alphabet 0..20\nlength 1..10\n"

/* parses HEAD + body, runs the prompt; returns the program (caller frees) or NULL */
static RaspProg *run_text(const char *body, const int *x, int n, LgErr *err) {
    char text[4096];
    snprintf(text, sizeof text, HEAD "%s", body);
    RaspProg *p = rasp_parse(text, "t.rasp", err);
    if (!p) return NULL;
    int out;
    rasp_reset(p);
    if (rasp_push(p, RASP_BOS, &out, err)) goto fail;
    for (int i = 0; i < n; i++)
        if (rasp_push(p, x[i], &out, err)) goto fail;
    return p;
fail:
    rasp_free(p);
    return NULL;
}

/* the values of assignment `name` at positions 0..n-1 equal want[] */
static int values_are(const RaspProg *p, const char *name, const int *want, int n) {
    for (int k = 0; k < rasp_n_named(p); k++) {
        int op;
        if (strcmp(rasp_named(p, k, &op), name)) continue;
        for (int i = 0; i < n; i++)
            if (!EXPECT(rasp_value(p, op, i) == want[i], "%s[%d] = %d, want %d", name, i, rasp_value(p, op, i), want[i]))
                return 0;
        return 1;
    }
    return EXPECT(0, "no assignment %s", name);
}

TEST(rasp_primitives) {
    LgErr err;
    int x[] = {3, 1, 3, 7};  /* positions 1..4 after <bos> */
    RaspProg *p = run_text(
        "t = tokens\ni = indices\nm = tokens * 2 + 1\nsm = tokens + indices\n"
        "eq = width(select(tokens, tokens, ==))\nne = width(select(tokens, tokens, !=))\n"
        "lt = width(select(tokens, tokens, <))\nle = width(select(tokens, tokens, <=))\n"
        "gt = width(select(tokens, tokens, >))\nge = width(select(tokens, tokens, >=))\n"
        "all = width(select(tokens, tokens, true))\n"
        "mean = aggregate(select(tokens, tokens, true), tokens)\n"
        "none = aggregate(select(tokens, 100, ==), tokens, 9)\n"
        "mx = aggregate_max(select(indices, indices, <), tokens, -5)\n"
        "mn = aggregate_min(select(indices, indices, true), tokens)\n"
        "one = aggregate(select(indices, indices - 1, ==), tokens)\n"
        "both = width(select(tokens, tokens, ==) & select(indices, 2, >=))\n"
        "either = width(select(tokens, 1, ==) | select(indices, 0, ==))\n"
        "neither = width(!select(tokens, tokens, ==))\n"
        "w = where(tokens > 2, tokens, 0 - 1)\n"
        "ar = (tokens - 4) / 2 * 10 + (tokens - 4) % 3\n"
        "lg = (tokens == 3) | !(indices < 4) & 1\n"
        "mm = min(tokens, 2) + max(tokens, 5) * 10\nab = abs(0 - tokens)\n",
        x, 4, &err);
    CHECK(p, "%s", err.msg);
    int t[] = {-1, 3, 1, 3, 7}, i[] = {0, 1, 2, 3, 4};
    CHECK(values_are(p, "t", t, 5) && values_are(p, "i", i, 5));
    CHECK(values_are(p, "m", (int[]){-1, 7, 3, 7, 15}, 5));
    CHECK(values_are(p, "sm", (int[]){-1, 4, 3, 6, 11}, 5));
    /* select(k, q, pred) compares pred(key, query), keys at positions <= the query's only */
    CHECK(values_are(p, "eq", (int[]){1, 1, 1, 2, 1}, 5));
    CHECK(values_are(p, "ne", (int[]){0, 1, 2, 2, 4}, 5));
    CHECK(values_are(p, "lt", (int[]){0, 1, 1, 2, 4}, 5));   /* keys smaller than the query */
    CHECK(values_are(p, "le", (int[]){1, 2, 2, 4, 5}, 5));
    CHECK(values_are(p, "gt", (int[]){0, 0, 1, 0, 0}, 5));
    CHECK(values_are(p, "ge", (int[]){1, 1, 2, 2, 1}, 5));
    CHECK(values_are(p, "all", (int[]){1, 2, 3, 4, 5}, 5));
    /* mean truncates toward zero: (-1+3)/2 = 1, (-1+3+1)/3 = 1, 6/4 = 1, 13/5 = 2 */
    CHECK(values_are(p, "mean", (int[]){-1, 1, 1, 1, 2}, 5));
    CHECK(values_are(p, "none", (int[]){9, 9, 9, 9, 9}, 5));
    CHECK(values_are(p, "mx", (int[]){-5, -1, 3, 3, 3}, 5));
    CHECK(values_are(p, "mn", (int[]){-1, -1, -1, -1, -1}, 5));
    CHECK(values_are(p, "one", (int[]){0, -1, 3, 1, 3}, 5));
    CHECK(values_are(p, "both", (int[]){0, 0, 1, 1, 1}, 5));
    CHECK(values_are(p, "either", (int[]){1, 1, 2, 2, 2}, 5));
    CHECK(values_are(p, "neither", (int[]){0, 1, 2, 2, 4}, 5));
    CHECK(values_are(p, "w", (int[]){-1, 3, -1, 3, 7}, 5));
    /* floor division and Python's modulo: -5/2 = -3, -5%3 = 1, -1/2 = -1, -1%3 = 2, -3/2 = -2 */
    CHECK(values_are(p, "ar", (int[]){-29, -8, -20, -8, 10}, 5));
    CHECK(values_are(p, "lg", (int[]){0, 1, 0, 1, 1}, 5));
    CHECK(values_are(p, "mm", (int[]){49, 52, 51, 52, 72}, 5));
    CHECK(values_are(p, "ab", (int[]){1, 3, 1, 3, 7}, 5));
    rasp_free(p);
}

TEST(rasp_is_causal) {
    /* every value at a position is the same whatever follows it */
    LgErr err;
    const char *body = "a = width(select(tokens, tokens, <=))\nb = aggregate_max(select(indices, indices, true), tokens)\n"
                       "c = aggregate(select(tokens, a, ==), indices)\n";
    int x1[] = {4, 2, 9, 1, 5}, x2[] = {4, 2, 9, 0, 0};
    RaspProg *p1 = run_text(body, x1, 5, &err), *p2 = run_text(body, x2, 5, &err);
    CHECK(p1 && p2, "%s", err.msg);
    for (int k = 0; k < rasp_n_named(p1); k++) {
        int op;
        rasp_named(p1, k, &op);
        for (int i = 0; i <= 3; i++) CHECK(rasp_value(p1, op, i) == rasp_value(p2, op, i), "op %d pos %d", k, i);
    }
    rasp_free(p1);
    rasp_free(p2);
}

TEST(rasp_runtime_refusals) {
    LgErr err;
    int x[] = {20, 20, 20, 20, 20, 20};
    /* the running product of 20s blows past 32767 at the fourth token */
    RaspProg *p = run_text("a = tokens * tokens * tokens * tokens\n", x, 6, &err);
    CHECK(!p);
    CHECK(strstr(err.msg, "t.rasp:3:") && strstr(err.msg, "blew up") && strstr(err.msg, "-32768..32767"), "%s", err.msg);
    p = run_text("a = 100 / (tokens - 20)\n", x, 1, &err);
    CHECK(!p && strstr(err.msg, "t.rasp:3:9") && strstr(err.msg, "division by zero"), "%s", err.msg);
    /* a program that never emits EOS is stopped at answer_max */
    p = rasp_parse(HEAD "answer_max 2*n+1\nout = tokens + 1\n", "t.rasp", &err);
    CHECK(p, "%s", err.msg);
    int ans[64], na;
    CHECK(rasp_generate(p, x, 3, 3, ans, 64, &na, &err) == -1);
    CHECK(strstr(err.msg, "no EOS after 7 answer tokens"), "%s", err.msg);
    rasp_free(p);
}

/* each bad program and the message it must give (file:line:column and what was expected) */
static const struct { const char *text, *want; } bad[] = {
    {"alphabet 0..9\nlength 1..5\nx = tokens +\n", "b.rasp:3:13: expected a number, a name"},
    {"alphabet 0..9\nlength 1..5\nx = foo + 1\n", "b.rasp:3:5: 'foo' is not defined"},
    {"alphabet 0..9\nlength 1..5\nx = tokens\nx = tokens\n", "b.rasp:4:1: 'x' is assigned twice"},
    {"alphabet 0..9\nlength 1..5\nx = select(tokens, tokens, +)\n", "b.rasp:3:28: expected a comparison"},
    {"alphabet 0..9\nlength 1..5\nx = select(tokens, tokens)\n", "b.rasp:3:26: expected ','"},
    {"alphabet 0..9\nlength 1..5\ns = select(tokens, tokens, ==)\nx = s + 1\n", "b.rasp:4:7: '+' between a selector and a sequence"},
    {"alphabet 0..9\nlength 1..5\nx = aggregate(tokens, tokens)\n", "b.rasp:3:5: aggregate's first argument must be a selector"},
    {"alphabet 0..9\nlength 1..5\ns = select(tokens, tokens, ==)\nx = aggregate(s, s)\n", "b.rasp:4:5: the values aggregated must be a sequence"},
    {"alphabet 0..9\nlength 1..5\nx = aggregate(select(tokens, tokens, ==), tokens, tokens)\n", "b.rasp:3:5: aggregate's default"},
    {"alphabet 0..9\nlength 1..5\nx = width(tokens)\n", "b.rasp:3:5: width's argument must be a selector"},
    {"alphabet 0..9\nlength 1..5\nx = where(tokens, 1)\n", "b.rasp:3:5: where takes 3 arguments, 2 given"},
    {"alphabet 0..9\nlength 1..5\nx = frob(tokens)\n", "b.rasp:3:5: unknown function 'frob'"},
    {"alphabet 0..9\nlength 1..5\nx = (tokens + 1\n", "b.rasp:3:16: expected ')'"},
    {"alphabet 0..9\nlength 1..5\nx = tokens $ 1\n", "b.rasp:3:12: unexpected character '$'"},
    {"alphabet 0..9\nlength 1..5\nx = tokens 1\n", "b.rasp:3:12: expected the end of the line"},
    {"alphabet 0..9\nlength 1..5\nx = tokens / 0\n", "b.rasp:3:12: division by zero"},
    {"alphabet 0..9\nlength 1..5\nx = 300 * 300\n", "b.rasp:3:9: the constant 90000 is outside"},
    {"alphabet 0..9\nlength 1..5\nx = 12345678\n", "b.rasp:3:5: the number 12345678... is too large"},
    {"alphabet 0..9\nlength 1..5\nselect = tokens\n", "b.rasp:3:1: 'select' is a reserved word"},
    {"alphabet 0..9\nlength 1..5\nx = -select(tokens, tokens, ==)\n", "b.rasp:3:5: '-' needs a sequence"},
    {"alphabet 0..9\nlength 1..5\n= tokens\n", "b.rasp:3:1: expected a declaration"},
    {"alphabet 0..9\nlength 1..5\nx tokens\n", "b.rasp:3:3: expected '=' after the name"},
    {"alphabet 0..9\nlength 1..5\nx = select(tokens, tokens, ==)\n", "b.rasp:3:5: the output is a selector"},
    {"alphabet 0..9\nlength 1..5\n", "b.rasp:3:1: expected at least one assignment"},
    {"length 1..5\nx = tokens\n", "b.rasp:3:1: missing declaration 'alphabet LO..HI'"},
    {"alphabet 0..9\nx = tokens\n", "b.rasp:3:1: missing declaration 'length LO..HI'"},
    {"alphabet 9..0\nlength 1..5\nx = tokens\n", "b.rasp:1:11: empty range 9..0"},
    {"alphabet 0..1000\nlength 1..5\nx = tokens\n", "b.rasp:1:13: an alphabet value must lie in 0..999"},
    {"alphabet 0 9\nlength 1..5\nx = tokens\n", "b.rasp:1:12: expected '..'"},
    {"alphabet 0..9\nlength 1..5\ninput sorted\nx = tokens\n", "b.rasp:3:7: expected an input form"},
    {"alphabet 0..9\nlength 1..5\nanswer_max 2*m\nx = tokens\n", "b.rasp:3:14: expected the answer bound"},
    {"alphabet 0..9\nlength 1..5\nanswer_max 0\nx = tokens\n", "b.rasp:3:1: answer_max must allow"},
    {"alphabet 0..9\nlength 1..5\nx = tokens\nlength 1..4\n", "b.rasp:4:1: declarations come before"},
    {"alphabet 0..3\nlength 1..5\ninput distinct\nx = tokens\n", "input distinct: lengths up to 5 but the alphabet holds 4"},
    {"alphabet 0..9\nlength 1..5\nx = tokens\naverylongnamethatgoesonandonforeverandever = 1\n", "b.rasp:4:1: a name is at most 31"},
};

TEST(rasp_parse_errors_name_file_line_column) {
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        LgErr err = {{0}};
        RaspProg *p = rasp_parse(bad[k].text, "b.rasp", &err);
        if (p) rasp_free(p);
        CHECK(!p, "case %zu parsed: %s", k, bad[k].text);
        CHECK(strstr(err.msg, bad[k].want), "case %zu: got '%s', want '%s'", k, err.msg, bad[k].want);
    }
    LgErr err;
    CHECK(!rasp_load("tests/data/no_such.rasp", &err) && strstr(err.msg, "no_such.rasp: cannot open"), "%s", err.msg);
}

/* ---- shipped programs against the built-in tasks ---- */

/* value of a built-in token: a number token, or a symbol a..z A..Z s52.. as its index */
static int tok_value(const TG *g, int i) {
    const char *s = tg_s(g, i);
    if (s[0] >= 'a' && s[0] <= 'z' && !s[1]) return s[0] - 'a';
    if (s[0] >= 'A' && s[0] <= 'Z' && !s[1]) return 26 + s[0] - 'A';
    if (s[0] == 's' && s[1] >= '0' && s[1] <= '9') return atoi(s + 1);
    if (s[0] == 'h' && s[1] >= '0' && s[1] <= '9') return RASP_HINT0 - atoi(s + 1);
    if (!strcmp(s, "+")) return RASP_PLUS;
    if (!strcmp(s, "=")) return RASP_EQUALS;
    return tg_int(g, i);
}

/* For `tries` prompts of the built-in task (lengths spread over lens), the program's answer on
 * the same prompt equals the built-in answer. */
static void against_builtin(const char *prog, const char *task, const char *opts, const int *lens, int n_lens, int tries) {
    LgErr err;
    char path[256];
    snprintf(path, sizeof path, "configs/rasp/%s.rasp", prog);
    RaspProg *p = rasp_load(path, &err);
    CHECK(p, "%s", err.msg);
    TG g;
    CHECK(tg_open(&g, task, opts) == 0, "%s", g.err.msg);
    Rng r;
    rng_seed(&r, 99);
    int x[1000], ans[2100], na;
    for (int it = 0; it < tries; it++) {
        int len = lens[it % n_lens];
        CHECK(tg_gen(&g, &r, len) == 0, "%s", g.err.msg);
        int add = rasp_input(p) == RASP_INPUT_ADDITION;
        int np = g.ex.prompt_len - (add ? 1 : 2);  /* task token ... <sep> (addition: ... =) */
        for (int i = 0; i < np; i++) x[i] = tok_value(&g, 1 + i);
        CHECK(rasp_generate(p, x, np, len, ans, 2100, &na, &err) == 0, "%s on length %d: %s", prog, len, err.msg);
        int want = g.ex.n_tokens - 1 - g.ex.prompt_len;
        CHECK(na == want, "%s length %d: %d answer tokens, built-in %d", prog, len, na, want);
        for (int i = 0; i < na; i++)
            CHECK(ans[i] == tok_value(&g, g.ex.prompt_len + i), "%s length %d: answer[%d] = %d, built-in %d", prog,
                  len, i, ans[i], tok_value(&g, g.ex.prompt_len + i));
    }
    tg_close(&g);
    rasp_free(p);
}

TEST(rasp_count_equals_builtin) {
    int lens[] = {1, 2, 5, 17, 40, 64};
    against_builtin("count", "count", NULL, lens, 6, 2000);
}
TEST(rasp_mode_equals_builtin) {
    int lens[] = {1, 2, 3, 8, 25, 60};
    against_builtin("mode", "mode", NULL, lens, 6, 3000);
}
TEST(rasp_unique_copy_equals_builtin) {
    int lens[] = {1, 2, 7, 20, 45};
    against_builtin("unique_copy", "unique_copy", "alphabet=128", lens, 5, 2000);
}
TEST(rasp_sort_unique_equals_builtin) {
    int lens[] = {1, 2, 7, 20, 45};
    against_builtin("sort_unique", "sort_unique", "values=0..127", lens, 5, 2000);
}
TEST(rasp_addition_hints_equals_builtin) {
    int lens[] = {1, 2, 3, 6, 15, 40};
    against_builtin("addition_hints", "addition", "index_hints=true reverse=answer", lens, 6, 3000);
}
TEST(rasp_reverse_equals_builtin) {
    int lens[] = {1, 2, 7, 20, 45};
    against_builtin("reverse", "reverse", "alphabet=128", lens, 5, 2000);
}

TEST(rasp_stats_size_depth_and_index_arithmetic) {
    static const struct { const char *prog; int ops, depth, index_line; } want[] = {
        {"count", 9, 1, 0}, {"mode", 10, 3, 0}, {"unique_copy", 11, 2, 0}, {"sort_unique", 8, 2, 0}, {"reverse", 9, 2, 9},
        {"addition_hints", 52, 3, 0},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        char path[128];
        LgErr err;
        snprintf(path, sizeof path, "configs/rasp/%s.rasp", want[k].prog);
        RaspProg *p = rasp_load(path, &err);
        CHECK(p, "%s", err.msg);
        RaspStats s;
        rasp_stats(p, &s);
        rasp_free(p);
        CHECK(s.ops == want[k].ops && s.depth == want[k].depth, "%s: %d ops depth %d", want[k].prog, s.ops, s.depth);
        CHECK(s.index_arith_line == want[k].index_line, "%s: index arithmetic at line %d", want[k].prog, s.index_arith_line);
    }
    /* by hand: a chain of two aggregates after a width is depth 3; i % 2 and i - j are index arithmetic */
    static const struct { const char *body; int ops, depth, line; } hand[] = {
        {"a = width(select(tokens, tokens, ==))\nb = aggregate(select(a, a, <), tokens)\nc = aggregate(select(b, b, ==), b) + 1\n", 7, 3, 0},
        {"a = indices + 1\nb = indices == a\nc = aggregate(select(indices, a, ==), indices) - 2\n", 5, 1, 0},
        {"a = indices % 2\n", 1, 0, 3},
        {"a = aggregate(select(tokens, SEP, ==), indices)\nb = indices - a\n", 3, 1, 4},
    };
    for (size_t k = 0; k < sizeof hand / sizeof hand[0]; k++) {
        char text[512];
        LgErr err;
        snprintf(text, sizeof text, HEAD "%s", hand[k].body);
        RaspProg *p = rasp_parse(text, "h.rasp", &err);
        CHECK(p, "%s", err.msg);
        RaspStats s;
        rasp_stats(p, &s);
        rasp_free(p);
        CHECK(s.ops == hand[k].ops && s.depth == hand[k].depth && s.index_arith_line == hand[k].line,
              "case %zu: %d ops, depth %d, index arithmetic line %d", k, s.ops, s.depth, s.index_arith_line);
    }
}

/* ---- programs as tasks ---- */
TEST(rasp_task_conventions_determinism_no_allocation) {
    const char *names[] = {"rasp:count", "rasp:mode", "rasp:unique_copy", "rasp:sort_unique", "rasp:reverse",
                           "rasp:addition_hints", "rasp:configs/rasp/sort_unique.rasp"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        TG g, h;
        CHECK(tg_open(&g, names[k], NULL) == 0, "%s: %s", names[k], g.err.msg);
        CHECK(tg_open(&h, names[k], NULL) == 0, "%s", h.err.msg);
        CHECK(!strcmp(task_name(g.t), names[k]));
        CHECK(!strcmp(vocab_str(&g.v, task_token(g.t)), k == 6 ? "<rasp:sort_unique>" : vocab_str(&g.v, task_token(g.t))));
        Rng r1, r2;
        rng_seed(&r1, 5), rng_seed(&r2, 5);
        for (int it = 0; it < 50; it++) {
            int len = 1 + it % 20;
            uint64_t before = lg_alloc_count();
            CHECK(tg_gen(&g, &r1, len) == 0, "%s", g.err.msg);
            CHECK(lg_alloc_count() == before, "%s allocated", names[k]);
            CHECK(tg_gen(&h, &r2, len) == 0, "%s", h.err.msg);
            CHECK(g.ex.n_tokens == h.ex.n_tokens && !memcmp(g.ex.tokens, h.ex.tokens, sizeof(int) * (size_t)g.ex.n_tokens));
            TaskExample *e = &g.ex;
            CHECK(e->tokens[0] == task_token(g.t) && e->tokens[e->n_tokens - 1] == VOCAB_EOS);
            const char *last = vocab_str(&g.v, e->tokens[e->prompt_len - 1]);
            CHECK(k == 5 ? !strcmp(last, "=") : e->tokens[e->prompt_len - 1] == VOCAB_SEP, "%s: prompt ends in %s", names[k], last);
            CHECK(e->n_tokens <= task_max_tokens(g.t, len));
            for (int i = 0; i < e->n_tokens; i++)
                CHECK(e->loss_mask[i] == ((i >= e->prompt_len - 1 && i < e->n_tokens - 1) ? 1.0f : 0.0f));
        }
        tg_close(&g);
        tg_close(&h);
    }
}

TEST(rasp_task_refuses_bad_programs) {
    const char *dir = "build/test_rasp_tmp";
    char cmd[256], path[256];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(system(cmd) == 0);
    static const struct { const char *file, *text, *want; } cases[] = {
        {"loop.rasp", "alphabet 0..9\nlength 1..5\nout = tokens + 1\n", "refused: on a test input of length 1"},
        {"big.rasp", "alphabet 0..9\nlength 1..5\nout = where(tokens == SEP, 1, EOS) + width(select(tokens, tokens, true)) * 20000\n",
         "blew up"},
        {"range.rasp", "alphabet 0..9\nlength 1..5\nout = where(tokens == SEP, 50, EOS)\n", "outside the declared outputs 0..9"},
        {"syntax.rasp", "alphabet 0..9\nlength 1..5\nout = tokens +\n", "syntax.rasp:3:15: expected"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, cases[k].file);
        FILE *f = fopen(path, "w");
        CHECK(f);
        fputs(cases[k].text, f);
        fclose(f);
        char name[300];
        snprintf(name, sizeof name, "rasp:%s", path);
        TG g;
        CHECK(tg_open(&g, name, NULL) == -1, "%s was accepted", cases[k].file);
        CHECK(strstr(g.err.msg, cases[k].want), "%s: %s", cases[k].file, g.err.msg);
        tg_close(&g);
    }
    TG g;
    CHECK(tg_open(&g, "rasp:nothere", NULL) == -1 && strstr(g.err.msg, "configs/rasp/nothere.rasp: cannot open"), "%s", g.err.msg);
    tg_close(&g);
}

TEST(rasp_task_names_in_config) {
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(cfg_load_string(&c, "[task]\nmain = rasp:sort_unique\nhints = rasp:configs/rasp/count.rasp:0.5\n", "x.ini", &err) == 0,
          "%s", err.msg);
    CHECK(!strcmp(c.task.tasks[0].name, "rasp:sort_unique"), "%s", c.task.tasks[0].name);
    CHECK(c.task.n_tasks == 2 && !strcmp(c.task.tasks[1].name, "rasp:configs/rasp/count.rasp"), "%s", c.task.tasks[1].name);
    CHECK(c.task.tasks[1].sample_weight == 0.5f);
    cfg_defaults(&c);
    CHECK(cfg_load_string(&c, "[task]\nhints = sort/x\n", "x.ini", &err) == -1 && strstr(err.msg, "bad task name"), "%s", err.msg);
}

/* ---- the command ---- */
TEST(rasp_cli_run_and_stats) {
    static char out[16384];
    CHECK(cli_run("rasp run sort_unique --input \"5 3 9\"", out, sizeof out) == 0, "%s", out);
    CHECK(strstr(out, "answer: 3 5 9 <eos>") && strstr(out, "seen_sep") && strstr(out, "<sep>"), "%s", out);
    CHECK(cli_run("rasp run addition_hints --input \"h3 5 h2 1 + h2 7 =\"", out, sizeof out) == 0, "%s", out);
    CHECK(strstr(out, "answer: h2 8 h3 5 <eos>"), "%s", out);
    CHECK(cli_run("rasp stats count", out, sizeof out) == 0, "%s", out);
    CHECK(strstr(out, "operations   9\n") && strstr(out, "depth        1\n") && strstr(out, "RASP-L       yes"), "%s", out);
    CHECK(cli_run("rasp stats reverse", out, sizeof out) == 0 && strstr(out, "RASP-L       no: arithmetic on positions at line 9"), "%s", out);
    /* bad usage and bad programs: exit 2 with the place; a fault while running: exit 1 */
    CHECK(cli_run("rasp run count", out, sizeof out) == 2 && strstr(out, "--input is required"), "%s", out);
    CHECK(cli_run("rasp run count --input \"1 x\"", out, sizeof out) == 2 && strstr(out, "expected up to 1000 tokens"), "%s", out);
    CHECK(cli_run("rasp stats no_such_program", out, sizeof out) == 2 && strstr(out, "configs/rasp/no_such_program.rasp: cannot open"), "%s", out);
    CHECK(cli_run("rasp frob", out, sizeof out) == 2 && strstr(out, "expected run or stats"), "%s", out);
    CHECK(system("mkdir -p build/test_rasp_tmp && printf 'alphabet 0..9\\nlength 1..5\\nx = tokens +\\n' > build/test_rasp_tmp/cli_bad.rasp && "
                 "printf 'alphabet 0..9\\nlength 1..5\\nx = 10 / (tokens - 4)\\n' > build/test_rasp_tmp/cli_div.rasp") == 0);
    CHECK(cli_run("rasp stats build/test_rasp_tmp/cli_bad.rasp", out, sizeof out) == 2 && strstr(out, "cli_bad.rasp:3:13: expected"), "%s", out);
    CHECK(cli_run("rasp run build/test_rasp_tmp/cli_div.rasp --input \"3 4\"", out, sizeof out) == 1 &&
          strstr(out, "cli_div.rasp:3:8: at position 2: division by zero"), "%s", out);
}

/* ---- fuzz ---- */
TEST(rasp_parser_fuzz) {
    static const char *const frags[] = {"alphabet 0..9\n", "length 1..5\n", "input span\n", "input distinct\n",
                                        "answer_max 2*n+1\n", "x = ", "select(", "aggregate(", "width(", "where(",
                                        "tokens", "indices", "SEP", "EOS", ", ", ")", "(", "==", "<", "true", "+",
                                        "-", "*", "/", "%", "&", "|", "!", "1", "0", "32767", "\n", "y = x", " # c\n",
                                        "min(", "aggregate_max(", "..", "output = "};
    Rng r;
    rng_seed(&r, 2024);
    char buf[600];
    LgErr err;
    int parsed = 0;
    for (int it = 0; it < 4000; it++) {
        int n = 0;
        if (it % 2) {
            int len = (int)rng_below(&r, 300);
            for (int i = 0; i < len; i++) buf[n++] = (char)(1 + rng_below(&r, 255));
        } else {
            n = snprintf(buf, sizeof buf, "%s", it % 4 ? "alphabet 0..9\nlength 1..5\nx = " : "");
            int k = (int)rng_below(&r, 12);
            for (int i = 0; i < k; i++) {
                const char *f = frags[rng_below(&r, sizeof frags / sizeof frags[0])];
                size_t l = strlen(f);
                if (n + (int)l >= (int)sizeof buf - 1) break;
                memcpy(buf + n, f, l);
                n += (int)l;
            }
        }
        buf[n] = 0;
        RaspProg *p = rasp_parse(buf, "fuzz.rasp", &err);
        if (!p) {
            CHECK(!strncmp(err.msg, "fuzz.rasp:", 10), "message without a place: %s", err.msg);
            continue;
        }
        parsed++;
        int x[5] = {1, 2, 3, 4, 5}, ans[64], na;
        rasp_generate(p, x, 1 + it % 5, 1 + it % 5, ans, 64, &na, &err);  /* may fault; must not crash */
        rasp_free(p);
    }
    CHECK(parsed > 0, "the fragment fuzz never produced a valid program");
}
