/* cmd_sample: `lengen sample RUN|CKPT [--task NAME] [--length N] [--n K] [--seed S]`
 * Shows K prompts with the model's greedy answer beside the truth; tokens that differ from the
 * truth are marked [like this]. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "eval.h"
#include "experiment.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lengen sample RUN|CKPT [--task NAME] [--length N] [--n K] [--seed S]\n\n"
            "Prints K held-out prompts (default 5) of length N (default: the run's longest training\n"
            "length) with the model's answer and the truth; wrong tokens are shown [in brackets].\n"
            "--seed draws other examples than the run's held-out set.\n");
}

typedef struct {
    int shown;
    char buf[16384];
} SampleCtx;

static void show(const Experiment *e, int task, const TaskExample *ex, const int *gen, int n_gen,
                 int correct, void *vctx) {
    SampleCtx *c = vctx;
    const Vocab *v = &e->vocab;
    c->shown++;
    task_format_tokens(v, ex->tokens, ex->prompt_len, c->buf, sizeof c->buf);
    printf("#%d %s  %s\n", c->shown, correct ? "right" : "WRONG", c->buf);
    printf("   model:");
    int answer_len = ex->n_tokens - ex->prompt_len;
    for (int i = 0; i < n_gen; i++) {
        int truth = i < answer_len ? ex->tokens[ex->prompt_len + i] : -1;
        const char *s = vocab_str(v, gen[i]);
        if (gen[i] == truth) printf(" %s", strcmp(s, "\n") ? s : "\\n");
        else printf(" [%s]", strcmp(s, "\n") ? s : "\\n");
    }
    printf("\n   truth:");
    for (int i = 0; i < answer_len; i++) {
        const char *s = vocab_str(v, ex->tokens[ex->prompt_len + i]);
        printf(" %s", strcmp(s, "\n") ? s : "\\n");
    }
    printf("\n");
    (void)task;
}

int cmd_sample(int argc, char **argv) {
    const char *target = NULL, *task = NULL, *sets[CLI_MAX_SETS];
    int n_sets = 0;
    long length = 0, n = 5, seed = -1;
    char seed_set[64];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--length") || !strcmp(a, "--n") || !strcmp(a, "--seed")) {
            long *dst = a[2] == 'l' ? &length : a[2] == 'n' ? &n : &seed;
            if (cli_parse_long(val, a[2] == 's' ? 0 : 1, 1000000000, dst) != 0) {
                fprintf(stderr, "lengen sample: %s needs a %s integer, got '%s'\n", a,
                        a[2] == 's' ? "non-negative" : "positive", val ? val : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--task")) {
            if (!val) return fprintf(stderr, "lengen sample: --task needs a task name\n"), 2;
            task = val;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "lengen sample: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else if (!target) {
            target = a;
        } else {
            fprintf(stderr, "lengen sample: one RUN or CKPT expected, got '%s' and '%s'\n", target, a);
            return 2;
        }
    }
    if (!target) {
        usage(stderr);
        return 2;
    }
    if (seed >= 0) {
        snprintf(seed_set, sizeof seed_set, "run.seed=%ld", seed);
        sets[n_sets++] = seed_set;
    }
    Experiment e;
    LgErr err = {{0}};
    if (exp_load(&e, target, sets, n_sets, NULL, &err) != 0) {
        fprintf(stderr, "lengen sample: %s\n", err.msg);
        return 2;
    }
    lg_set_threads(e.cfg.run.threads);
    int ti = 0;
    if (task && (ti = exp_task_index(&e, task)) < 0) {
        fprintf(stderr, "lengen sample: the run has no task '%s'; its tasks:", task);
        for (int i = 0; i < e.n_tasks; i++) fprintf(stderr, " %s", task_name(e.tasks[i]));
        fprintf(stderr, "\n");
        exp_free(&e);
        return 2;
    }
    if (!length) length = e.cfg.train.max_length;
    SampleCtx ctx = {0};
    EvalResult r;
    int rc = eval_task_length(&e, ti, (int)length, (int)n, (int)n, &r, show, &ctx, &err);
    if (rc != 0) fprintf(stderr, "lengen sample: %s\n", err.msg);
    else if (r.skipped[0]) {
        fprintf(stderr, "lengen sample: length %ld: %s\n", length, r.skipped);
        rc = -2;
    } else {
        printf("%s, length %ld: %d of %d right\n", task_name(e.tasks[ti]), length,
               (int)(r.exact_match * r.n + 0.5), r.n);
    }
    exp_free(&e);
    return rc == 0 ? 0 : rc == -2 ? 2 : 1;
}
