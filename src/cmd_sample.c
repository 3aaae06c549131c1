/* cmd_sample: `lengen sample RUN|CKPT [--task NAME] [--length N] [--n K] [--seed S]
 *              [--threads N] [--set section.key=value]...`
 * Shows K prompts with the model's greedy answer beside the truth; tokens that differ from the
 * truth are marked [like this]. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "eval.h"
#include "experiment.h"

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
    const char *target, *task = NULL;
    long length = 0, n = 5, seed = -1, threads = 0;
    CliSets sets = {.n = 0};
    const CliOpt opts[] = {
        {"--task", "NAME", CLI_STR, &task, 0, 0, "a task name", "task to sample (default: the run's main task)"},
        {"--length", "N", CLI_INT, &length, 1, 1000000000, "a positive integer",
         "task length (default: the run's [train] max_length)"},
        {"--n", "K", CLI_INT, &n, 1, 100000, "an integer in 1..100000", "examples (default 5)"},
        {"--seed", "S", CLI_INT, &seed, 0, 1000000000, "a non-negative integer",
         "draw other examples than the run's held-out set"},
        CLI_OPT_THREADS(&threads),
        CLI_OPT_SET(&sets, "override a config key of the run (e.g. model.temperature=log_beyond)"),
    };
    const CliCommand cmd = {
        "sample", "RUN|CKPT [options]", "RUN or CKPT",
        "Prints K held-out prompts of length N with the model's greedy answer and the truth;\n"
        "wrong tokens are shown [in brackets].\n",
        opts, (int)(sizeof opts / sizeof opts[0])};
    int rc = cli_parse(&cmd, argc, argv, &target);
    if (rc >= 0) return rc;
    char seed_set[64];
    snprintf(seed_set, sizeof seed_set, "run.seed=%ld", seed);
    if (seed >= 0) {
        if (sets.n == CLI_MAX_SETS) return fprintf(stderr, "lengen sample: too many --set with --seed\n"), 2;
        sets.v[sets.n++] = seed_set;
    }
    CliRun run;
    if ((rc = cli_load_run("sample", &run, target, &sets, threads)) != 0) return rc;
    Experiment *e = &run.e;
    int ti = cli_task_index("sample", e, task);
    if (ti < 0) {
        exp_free(e);
        return 2;
    }
    if (!length) length = e->cfg.train.max_length;
    SampleCtx ctx = {0};
    EvalResult r;
    LgErr err = {{0}};
    /* decoded in batches of [eval] batch_size, so memory does not grow with K */
    int batch = (int)n < e->cfg.eval.batch_size ? (int)n : e->cfg.eval.batch_size;
    rc = eval_task_length(e, ti, (int)length, (int)n, batch, &r, show, &ctx, &err);
    if (rc != 0) fprintf(stderr, "lengen sample: %s\n", err.msg);
    else if (r.skipped[0]) {
        fprintf(stderr, "lengen sample: length %ld: %s\n", length, r.skipped);
        rc = -2;
    } else {
        printf("%s, length %ld: %d of %d right\n", task_name(e->tasks[ti]), length,
               (int)(r.exact_match * r.n + 0.5), r.n);
    }
    exp_free(e);
    return rc == 0 ? 0 : rc == -2 ? 2 : 1;
}
