/* Task errors: unknown tasks and options, bad values, illegal lengths and small buffers give
 * -1 with messages that name the value, the file:line and the valid choices; and `lengen data`
 * (the binary named by env LENGEN_BIN) turns them into exit status 2. */
#include <stdlib.h>
#include <sys/wait.h>

#include "task_helpers.h"
#include "cli_run.h"
#include "test.h"

static TaskOpt opt(const char *k, const char *v, const char *file, int line) {
    TaskOpt o;
    memset(&o, 0, sizeof o);
    snprintf(o.key, sizeof o.key, "%s", k);
    snprintf(o.value, sizeof o.value, "%s", v);
    snprintf(o.file, sizeof o.file, "%s", file);
    o.line = line;
    return o;
}

#define HAS(msg, s) CHECK(strstr(msg, s), "message lacks \"%s\": %s", s, msg)

TEST(task_error_unknown_task_lists_valid_names) {
    Vocab v;
    vocab_init(&v);
    LgErr err;
    CHECK(task_create("srot", NULL, 0, &v, &err) == NULL);
    HAS(err.msg, "unknown task 'srot'");
    HAS(err.msg, "did you mean 'sort'");
    HAS(err.msg, "valid tasks:");
    for (int i = 0; i < task_registry_count(); i++) HAS(err.msg, task_registry_name(i));
    vocab_free(&v);
}

TEST(task_error_unknown_option_names_file_line_and_nearest) {
    Vocab v;
    vocab_init(&v);
    LgErr err;
    TaskOpt o = opt("valuez", "0..9", "exp.ini", 12);
    CHECK(task_create("sort", &o, 1, &v, &err) == NULL);
    HAS(err.msg, "exp.ini:12: unknown task option 'valuez'");
    HAS(err.msg, "did you mean 'values'");
    HAS(err.msg, "options of sort: values, window, window_share, repeat, loss");
    /* several tasks: an option applies where declared; one no task declares is an error */
    const char *names[] = {"addition", "multiplication"};
    Task *t[2];
    TaskOpt ok[2] = {opt("format", "simple", "exp.ini", 3), opt("reverse", "all", "exp.ini", 4)};
    CHECK(task_create_many(names, 2, ok, 2, &v, t, &err) == 0, "%s", err.msg);
    Rng r;
    rng_seed(&r, 1);
    int tok[256];
    TaskExample ex = {tok, NULL, NULL, 256, 0, 0, 0};
    CHECK(task_generate(t[1], &r, 3, &ex, &err) == 0, "%s", err.msg);  /* NULL mask/digits are allowed */
    task_free(t[0]), task_free(t[1]);
    TaskOpt bad = opt("rank_max", "10", "exp.ini", 5);
    CHECK(task_create_many(names, 2, &bad, 1, &v, t, &err) == -1);
    HAS(err.msg, "exp.ini:5: unknown task option 'rank_max'");
    HAS(err.msg, "options of addition:");
    HAS(err.msg, "options of multiplication:");
    vocab_free(&v);
}

TEST(task_error_bad_values_name_the_expected_form) {
    struct { const char *task, *key, *value, *want; } cases[] = {
        {"sort", "values", "9..1", "LO..HI with 0 <= LO <= HI <= 999"},
        {"sort", "values", "0..5000", "LO..HI"},
        {"sort", "repeat", "maybe", "true|false"},
        {"addition", "format", "fancy", "plain|simple|detailed|steps"},
        {"addition", "hint_alphabet", "1", "an integer in 2..1000"},
        {"copy", "alphabet", "12x", "an integer in 2..500"},
        {"sum", "loss", "all", "answer|sequence"},
    };
    Vocab v;
    vocab_init(&v);
    LgErr err;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        TaskOpt o = opt(cases[k].key, cases[k].value, "exp.ini", 7);
        CHECK(task_create(cases[k].task, &o, 1, &v, &err) == NULL, "%s=%s accepted", cases[k].key, cases[k].value);
        char want[128];
        snprintf(want, sizeof want, "exp.ini:7: bad value '%s' for task option '%s'", cases[k].value, cases[k].key);
        HAS(err.msg, want);
        HAS(err.msg, cases[k].want);
    }
    TaskOpt o[2] = {opt("index_hints", "true", "exp.ini", 1), opt("format", "steps", "exp.ini", 2)};
    CHECK(task_create("addition", o, 2, &v, &err) == NULL);
    HAS(err.msg, "index_hints=true needs format=plain");
    vocab_free(&v);
}

TEST(task_error_length_out_of_range_and_small_buffer) {
    TG g;
    CHECK(tg_open(&g, "sort", "repeat=false values=0..9") == 0, "%s", g.err.msg);
    int lo, hi;
    task_length_range(g.t, &lo, &hi);
    CHECK(lo == 1 && hi == 10, "a list of distinct values from 0..9 has 1..10 elements, got %d..%d", lo, hi);
    Rng r;
    rng_seed(&r, 1);
    CHECK(tg_gen(&g, &r, 11) == -1);
    HAS(g.err.msg, "length 11 is out of range");
    HAS(g.err.msg, "1..10");
    CHECK(tg_gen(&g, &r, 0) == -1 && tg_gen(&g, &r, -5) == -1);
    CHECK(task_max_tokens(g.t, 11) == 0 && task_max_tokens(g.t, 10) >= 23);
    g.ex.cap = 5;
    CHECK(tg_gen(&g, &r, 4) == -1);
    HAS(g.err.msg, "task_max_tokens");
    tg_close(&g);
    CHECK(tg_open(&g, "addition", "index_hints=true hint_alphabet=20") == 0, "%s", g.err.msg);
    task_length_range(g.t, &lo, &hi);
    CHECK(hi == 19, "hints of n+1 significances need n <= K-1, got %d", hi);
    tg_close(&g);
}

TEST(task_list_shows_every_task_with_options) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    task_print_list(f);
    fclose(f);
    for (int i = 0; i < task_registry_count(); i++) {
        char want[64];
        snprintf(want, sizeof want, "%s: ", task_registry_name(i));
        HAS(text, want);
        int n;
        const TaskOptInfo *o = task_registry_opts(i, &n);
        for (int k = 0; k < n; k++) CHECK(o[k].name && o[k].def && o[k].help && o[k].form);
    }
    HAS(text, "values         = 0..99");
    HAS(text, "length: n, the number of list elements");
    free(text);
}


TEST(task_cli_data_errors_exit_2_with_clear_messages) {
    static char out[1 << 16];
    struct { const char *args, *want; } cases[] = {
        {"data srot", "unknown task 'srot' (did you mean 'sort'?)"},
        {"data sort --set task.valuez=3", "--set task.valuez=3: unknown task option 'valuez' (did you mean 'values'?)"},
        {"data sort --set values=9..1", "bad value '9..1' for task option 'values' of sort"},
        {"data sort --length 0", "--length needs a positive integer"},
        {"data sort --length 5000", "length 5000 is out of range"},
        {"data sort --set repeat=false --length 101", "length 101 is out of range: this task takes lengths 1..100"},
        {"data addition --set index_hints=true --set format=simple", "index_hints=true needs format=plain"},
        {"data sort --bogus", "unknown option '--bogus'"},
        {"data", "usage: lengen data"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int st = cli_run(cases[k].args, out, sizeof out);
        CHECK(st == 2, "`lengen %s` exited %d, want 2: %s", cases[k].args, st, out);
        HAS(out, cases[k].want);
    }
}

TEST(task_cli_data_prints_every_task_and_format) {
    static char out[1 << 16], again[1 << 16];
    char args[256];
    for (int i = 0; i < task_registry_count(); i++) {
        snprintf(args, sizeof args, "data %s --length 3 --n 2 --seed 9", task_registry_name(i));
        CHECK(cli_run(args, out, sizeof out) == 0, "%s: %s", args, out);
        char tok[64];
        snprintf(tok, sizeof tok, "<%s> ", task_registry_name(i));
        HAS(out, tok);
        HAS(out, "<eos>");
        CHECK(cli_run(args, again, sizeof again) == 0 && !strcmp(out, again), "same seed, same output");
    }
    const char *formats[] = {"plain", "simple", "detailed", "steps"};
    for (int k = 0; k < 4; k++) {
        snprintf(args, sizeof args, "data addition --set format=%s --set task.reverse=all --length 4 --n 1 --meta", formats[k]);
        CHECK(cli_run(args, out, sizeof out) == 0, "%s: %s", args, out);
        HAS(out, "<- answer starts");
    }
    CHECK(cli_run("data sort,successor,rank --set values=0..9 --n 1 --ids", out, sizeof out) == 0, "%s", out);
    HAS(out, "<successor>");
    HAS(out, "ids: 5 ");  /* <successor> is the second task token: id 5 */
    CHECK(cli_run("data --list", out, sizeof out) == 0);
    for (int i = 0; i < task_registry_count(); i++) HAS(out, task_registry_name(i));
}

TEST(task_docs_describe_every_task_and_option) {
    FILE *f = fopen("docs/tasks.md", "r");
    CHECK(f, "docs/tasks.md must exist (tests run from the repository root)");
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = 0;
    for (int i = 0; i < task_registry_count(); i++) {
        char want[96];
        snprintf(want, sizeof want, "\n## %s\n", task_registry_name(i));
        HAS(doc, want);
        char *sec = strstr(doc, want), *next = strstr(sec + 1, "\n## ");
        snprintf(want, sizeof want, "`lengen data %s ", task_registry_name(i));
        CHECK(strstr(sec, want) && (!next || strstr(sec, want) < next), "docs: no example of %s", task_registry_name(i));
        int no;
        const TaskOptInfo *o = task_registry_opts(i, &no);
        for (int k = 0; k < no; k++) {
            snprintf(want, sizeof want, "| `%s` | `%s` |", o[k].name, o[k].def);
            char *hit = strstr(sec, want);
            CHECK(hit && (!next || hit < next), "docs: option %s of %s missing from its section", o[k].name,
                  task_registry_name(i));
        }
    }
}
