/* cmd_data: `lengen data TASK[,TASK...] [--length N] [--n K] [--seed S] [--set task.opt=v]...
 * [--ids] [--meta] [--list]` prints generated examples, to look at formats and check options.
 * Bad usage (unknown task, option, value, out-of-range length) prints the library's message and
 * exits 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "config.h"
#include "tasks/task.h"

static void data_usage(FILE *f) {
    fprintf(f,
            "usage: lengen data TASK[,TASK...] [--length N] [--n K] [--seed S] [--set task.opt=value]...\n"
            "                   [--ids] [--meta] [--train]\n"
            "       lengen data --list\n\n"
            "Prints K examples (default 3) of length N (default 10, clamped to the task's range) per task.\n"
            "  --set task.opt=v  a task option as in the config's [task] section (also opt=v)\n"
            "  --ids             also print token ids\n"
            "  --meta            also print each token with its loss mask and digit index\n"
            "  --train           draw training examples (options such as sort's window apply)\n"
            "  --list            list tasks, what length means, and their options\n");
}

/* `--set task.opt=v` (or `opt=v`): a task option, through cfg_set like a config line; a later
 * value replaces an earlier one. The option remembers the whole argument, so the task
 * library's messages name it. Returns 0, or -1 after printing why. */
static int set_task_option(Config *cfg, const char *arg) {
    const char *eq = strchr(arg, '='), *key = strncmp(arg, "task.", 5) ? arg : arg + 5;
    if (!eq || eq <= key) {
        fprintf(stderr, "lengen data: --set '%s': expected task.option=value\n", arg);
        return -1;
    }
    char assignment[512], name[CFG_NAME_MAX];
    snprintf(assignment, sizeof assignment, "task.%s", key);
    snprintf(name, sizeof name, "%.*s", (int)(eq - key), key);
    LgErr err;
    if (cfg_set(cfg, assignment, &err)) {
        fprintf(stderr, "lengen data: %s\n", err.msg);
        return -1;
    }
    TaskOpt *o = (TaskOpt *)cfg_task_opt(&cfg->task, name);
    if (!o) {
        fprintf(stderr, "lengen data: --set '%s': '%s' chooses the task mixture of a config; here the "
                "tasks are the TASK argument (TASK,TASK for several)\n", arg, name);
        return -1;
    }
    snprintf(o->file, sizeof o->file, "--set %s", arg);
    return 0;
}

/* Prints n examples of task t at length len drawn from rng (with ids and/or the per-token
 * meta lines). Returns 0, or 2 after printing the task's error. */
/* train: draw training examples (task_generate_train) */
static int print_examples(Task *t, const Vocab *vocab, Rng *rng, int len, long n, int ids, int meta, int train) {
    LgErr err;
    int status = 0;
    int cap = task_max_tokens(t, len);
    if (cap == 0) cap = 1;  /* task_generate reports the range */
    TaskExample ex = {lg_malloc((size_t)cap * sizeof(int), "tokens"),
                      lg_malloc((size_t)cap * sizeof(float), "mask"), lg_malloc((size_t)cap * sizeof(int), "digits"),
                      cap, 0, 0, 0};
    size_t bufcap = (size_t)cap * (VOCAB_TOKEN_MAX + 1) + 16;
    char *buf = lg_malloc(bufcap, "text");
    for (long i = 0; i < n; i++) {
        if ((train ? task_generate_train : task_generate)(t, rng, len, &ex, &err)) {
            fprintf(stderr, "lengen data: %s\n", err.msg);
            status = 2;
            break;
        }
        task_format(t, &ex, buf, bufcap);
        printf("%s\n", buf);
        if (ids) {
            printf("ids:");
            for (int j = 0; j < ex.n_tokens; j++) printf(" %d", ex.tokens[j]);
            printf("\n");
        }
        if (meta) {
            printf("length %d, %d tokens, prompt %d, vocab %d\n", ex.length, ex.n_tokens, ex.prompt_len,
                   vocab_size(vocab));
            for (int j = 0; j < ex.n_tokens; j++) {
                const char *s = vocab_str(vocab, ex.tokens[j]);
                printf("  %4d %-14s mask %.0f digit %d%s\n", j, strcmp(s, "\n") ? s : "\\n", ex.loss_mask[j],
                       ex.digit_index[j], j == ex.prompt_len ? "  <- answer starts" : "");
            }
        }
    }
    lg_free(buf);
    lg_free(ex.tokens);
    lg_free(ex.loss_mask);
    lg_free(ex.digit_index);
    return status;
}

int cmd_data(int argc, char **argv) {
    const char *names_arg = NULL;
    long length = -1, n = 3, seed = 1;
    int ids = 0, meta = 0, train = 0;
    Config cfg;   /* only its task options are used: parsed and checked as in a config file */
    cfg_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return data_usage(stdout), 0;
        if (!strcmp(a, "--list")) return task_print_list(stdout), 0;
        if (!strcmp(a, "--ids")) ids = 1;
        else if (!strcmp(a, "--meta")) meta = 1;
        else if (!strcmp(a, "--train")) train = 1;
        else if (!strcmp(a, "--length") || !strcmp(a, "--n") || !strcmp(a, "--seed")) {
            long *dst = a[2] == 'l' ? &length : a[2] == 'n' ? &n : &seed;
            long hi = a[2] == 'n' ? 1000000 : 2147483647;
            if (!has_val || cli_parse_long(argv[i + 1], a[2] == 's' ? 0 : 1, hi, dst)) {
                fprintf(stderr, "lengen data: %s needs a positive integer%s%s\n", a, has_val ? ", got " : "",
                        has_val ? argv[i + 1] : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--set")) {
            if (!has_val) return fprintf(stderr, "lengen data: --set needs task.option=value\n"), 2;
            if (set_task_option(&cfg, argv[++i])) return 2;
        } else if (a[0] == '-') {
            fprintf(stderr, "lengen data: unknown option '%s'\n\n", a);
            data_usage(stderr);
            return 2;
        } else if (!names_arg) names_arg = a;
        else {
            fprintf(stderr, "lengen data: one TASK argument expected (use TASK,TASK for several), got '%s' too\n", a);
            return 2;
        }
    }
    if (!names_arg) {
        data_usage(stderr);
        return 2;
    }

    char namebuf[512];
    const char *names[CFG_MAX_TASKS];
    int n_tasks = 0;
    snprintf(namebuf, sizeof namebuf, "%s", names_arg);
    for (char *tok = strtok(namebuf, ","); tok; tok = strtok(NULL, ",")) {
        if (n_tasks == CFG_MAX_TASKS) return fprintf(stderr, "lengen data: at most %d tasks\n", CFG_MAX_TASKS), 2;
        names[n_tasks++] = tok;
    }
    Vocab vocab;
    vocab_init(&vocab);
    Task *tasks[CFG_MAX_TASKS];
    LgErr err;
    int status = 0;
    if (task_create_many(names, n_tasks, cfg.task.opts, cfg.task.n_opts, &vocab, tasks, &err)) {
        fprintf(stderr, "lengen data: %s\n", err.msg);
        vocab_free(&vocab);
        return 2;
    }
    Rng rng;
    rng_seed(&rng, (uint64_t)seed);
    for (int k = 0; k < n_tasks && !status; k++) {
        Task *t = tasks[k];
        int lo, hi;
        task_length_range(t, &lo, &hi);
        int len = length > 0 ? (int)length : (10 < lo ? lo : 10 > hi ? hi : 10);
        status = print_examples(t, &vocab, &rng, len, n, ids, meta, train);
    }
    for (int k = 0; k < n_tasks; k++) task_free(tasks[k]);
    vocab_free(&vocab);
    return status;
}
