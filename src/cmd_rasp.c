/* cmd_rasp: `lengen rasp run PROGRAM --input "..."` runs a RASP-L program on one prompt and
 * prints the generated answer and every assignment's values position by position;
 * `lengen rasp stats PROGRAM` prints its size. PROGRAM is a name under configs/rasp/ or a path
 * (as in [task] main = rasp:PROGRAM). Exit 0; 1 when the program faults while running; 2 for
 * bad usage or a program that does not parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "tasks/rasp.h"

static RaspProg *load(const char *spec) {
    char path[512];
    LgErr err;
    RaspProg *p = NULL;
    if (rasp_resolve(spec, path, sizeof path, &err) == 0) p = rasp_load(path, &err);
    if (!p) fprintf(stderr, "lengen rasp: %s\n", err.msg);
    return p;
}

/* "3 1 2", "3,1,2" or "h2 5 h1 1 + h1 7 =" -> values; returns the count or -1 */
static int parse_input(const char *s, int *x, int cap) {
    int n = 0;
    while (*s) {
        if (*s == ' ' || *s == ',' || *s == '\t') {
            s++;
            continue;
        }
        if (n == cap) return -1;
        if (*s == '+' || *s == '=') {
            x[n++] = *s++ == '+' ? RASP_PLUS : RASP_EQUALS;
            continue;
        }
        int hint = *s == 'h';
        char *end;
        long v = strtol(s + hint, &end, 10);
        if (end == s + hint || *s == '-' || *s == '+' || v < 0 || v > RASP_TOKEN_MAX - (hint ? 100 : 0)) return -1;
        x[n++] = hint ? RASP_HINT0 - (int)v : (int)v;
        s = end;
    }
    return n;
}

static int rasp_run(int argc, char **argv) {
    const char *input = NULL;
    const CliOpt opts[] = {
        {"--input", "\"V V ...\"", CLI_STR, &input, 0, 0, "values 0..999 separated by spaces",
         "the prompt, tokens separated by spaces: values 0..999, hints hK, + and = (required)"},
    };
    const CliCommand cmd = {
        "rasp run", "PROGRAM --input \"V V ...\"", "PROGRAM",
        "Runs a RASP-L program (configs/rasp/PROGRAM.rasp or a path) on <bos> prompt <sep>, generates\n"
        "the answer, and prints each assignment's values at every position.\n",
        opts, 1};
    const char *spec;
    int rc = cli_parse(&cmd, argc, argv, &spec);
    if (rc >= 0) return rc;
    if (!input) {
        fprintf(stderr, "lengen rasp run: --input is required, e.g. --input \"3 1 2\"\n");
        return 2;
    }
    int x[1000];
    int n = parse_input(input, x, 1000);
    if (n < 0) {
        fprintf(stderr, "lengen rasp run: --input '%s': expected up to 1000 tokens separated by spaces: values 0..%d, "
                "hints h0..h%d, + and =\n", input, RASP_TOKEN_MAX, RASP_TOKEN_MAX - 100);
        return 2;
    }
    RaspProg *p = load(spec);
    if (!p) return 2;
    /* the answer bound's length: the list size, or b - a + 1 for a span prompt */
    int length = n;
    if (rasp_input(p) == RASP_INPUT_SPAN && n == 2 && x[1] >= x[0]) length = x[1] - x[0] + 1;
    int amax = rasp_answer_max(p, length);
    rasp_reserve(p, n + amax + 3);
    int *ans = lg_malloc((size_t)(amax + 1) * sizeof(int), "rasp answer");
    int n_ans;
    LgErr err;
    int bad = rasp_generate(p, x, n, length, ans, amax + 1, &n_ans, &err);
    rasp_print_table(p, stdout);
    if (bad) fprintf(stderr, "lengen rasp run: %s\n", err.msg);
    else {
        printf("answer:");
        char s[16];
        for (int i = 0; i < n_ans; i++) rasp_value_str(ans[i], s, sizeof s), printf(" %s", s);
        printf(" <eos>\n");
    }
    lg_free(ans);
    rasp_free(p);
    return bad ? 1 : 0;
}

static int rasp_stats_cmd(int argc, char **argv) {
    const CliCommand cmd = {
        "rasp stats", "PROGRAM", "PROGRAM",
        "Prints a RASP-L program's size: operations (maps, sequence maps, selects, aggregates,\n"
        "selector widths) and depth (the most aggregates and widths on one path to the output).\n",
        NULL, 0};
    const char *spec;
    int rc = cli_parse(&cmd, argc, argv, &spec);
    if (rc >= 0) return rc;
    RaspProg *p = load(spec);
    if (!p) return 2;
    RaspStats s;
    rasp_stats(p, &s);
    printf("program      %s\noperations   %d\ndepth        %d\nmaps         %d\nseqmaps      %d\n"
           "selects      %d\naggregates   %d\nwidths       %d\nassignments  %d\n",
           spec, s.ops, s.depth, s.maps, s.seqmaps, s.selects, s.aggregates, s.widths, s.assignments);
    if (s.index_arith_line)
        printf("RASP-L       no: arithmetic on positions at line %d:%d (RASP-L allows comparisons and constant shifts)\n",
               s.index_arith_line, s.index_arith_col);
    else printf("RASP-L       yes (positions only compared and shifted by constants)\n");
    rasp_free(p);
    return 0;
}

int cmd_rasp(int argc, char **argv) {
    const char *usage = "usage: lengen rasp run PROGRAM --input \"V V ...\"\n"
                        "       lengen rasp stats PROGRAM\n"
                        "PROGRAM: a name under configs/rasp/ (count, sort_unique, ...) or a path to a .rasp file\n";
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "run")) return rasp_run(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "stats")) return rasp_stats_cmd(argc - 1, argv + 1);
    fprintf(stderr, "lengen rasp: expected run or stats%s%s\n%s", argc >= 2 ? ", found " : "", argc >= 2 ? argv[1] : "", usage);
    return 2;
}
