/* cmd_eval: `lengen eval RUN|CKPT [--lengths 10,20:100:10] [--n N] [--task NAME]
 *            [--batch B] [--threads N] [--set section.key=value]...`
 * Decodes held-out examples at each length (greedy, KV cache), prints exact match per task and
 * length and appends the rows to eval.csv beside the checkpoint. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "eval.h"
#include "experiment.h"
#include "rundir.h"

int cmd_eval(int argc, char **argv) {
    const char *target, *task = NULL, *lengths = NULL;
    CliSets sets = {.n = 0};
    long threads = 0, n = 0, batch = 0;
    const CliOpt opts[] = {
        {"--lengths", "LIST", CLI_STR, &lengths, 0, 0, "a list like 10,20:100:10",
         "lengths to evaluate, e.g. 10,20:100:10 (default: the run's [eval] lengths)"},
        {"--n", "N", CLI_INT, &n, 1, 1000000, "a positive integer",
         "held-out examples per length (default: the run's [eval] n)"},
        {"--task", "NAME", CLI_STR, &task, 0, 0, "a task name",
         "only this task (default: the main task, and the hints when [eval] hints)"},
        {"--batch", "B", CLI_INT, &batch, 1, 1000000, "a positive integer",
         "sequences decoded together (default: the run's [eval] batch_size)"},
        CLI_OPT_THREADS(&threads),
        CLI_OPT_SET(&sets, "override a config key of the run (e.g. eval.n=100); --lengths, --n, --batch win over it"),
    };
    const CliCommand cmd = {
        "eval", "RUN|CKPT [options]", "RUN or CKPT",
        "Exact match, token accuracy and first wrong position per task and length, by greedy\n"
        "decoding of held-out examples; printed as a table and appended to eval.csv beside the\n"
        "checkpoint (RUN is a run folder: its ckpt.h5; or give best.h5 or any .h5).\n",
        opts, (int)(sizeof opts / sizeof opts[0])};
    int rc = cli_parse(&cmd, argc, argv, &target);
    if (rc >= 0) return rc;
    /* the options win over --set */
    char lengths_set[600], n_set[64], batch_set[64];
    snprintf(lengths_set, sizeof lengths_set, "eval.lengths=%s", lengths ? lengths : "");
    snprintf(n_set, sizeof n_set, "eval.n=%ld", n);
    snprintf(batch_set, sizeof batch_set, "eval.batch_size=%ld", batch);
    /* other lengths than the run's: best_lengths (which picks best.h5 in training, a subset of
     * the run's lengths) does not apply */
    if ((lengths && cli_add_set("eval", sets.v, &sets.n, "eval.best_lengths=")) ||
        (lengths && cli_add_set("eval", sets.v, &sets.n, lengths_set)) ||
        (n && cli_add_set("eval", sets.v, &sets.n, n_set)) ||
        (batch && cli_add_set("eval", sets.v, &sets.n, batch_set)))
        return 2;
    CliRun run;
    if ((rc = cli_load_run("eval", &run, target, &sets, threads)) != 0) return rc;
    Experiment *e = &run.e;
    /* eval.csv belongs to the run folder's trainer while it runs: take the folder's lock */
    char csv_path[600], dir[600];
    rundir_eval_csv_path(csv_path, sizeof csv_path, run.ckpt_path);
    snprintf(dir, sizeof dir, "%s", csv_path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    int lock_fd;
    LgErr lerr;
    if (rundir_lock(dir, "eval", 0, &lock_fd, &lerr) != 0) {
        fprintf(stderr, "lengen eval: %s. Its eval.csv is written by that process; to evaluate the "
                "checkpoint now, copy it elsewhere first (cp %s /tmp/x.h5; lengen eval /tmp/x.h5)\n",
                lerr.msg, run.ckpt_path);
        exp_free(e);
        return 1;
    }
    int only = -1;
    if (task && (only = cli_task_index("eval", e, task)) < 0) {
        exp_free(e);
        return 2;
    }
    int n_results = e->n_tasks * e->cfg.eval.n_lengths;
    EvalResult *r = lg_calloc((size_t)n_results, sizeof *r, "eval results");
    LgErr err = {{0}};
    rc = eval_sweep(e, only, r, &err);
    if (rc == 0) {
        eval_print_table(stdout, e, run.step, r, n_results);
        FILE *csv = rundir_eval_csv_open(csv_path, 1, &err);
        if (!csv) {
            rc = -1;
        } else {
            rc = eval_write_csv(csv, csv_path, e, run.step, r, n_results, &err);
            if (fclose(csv) != 0 && rc == 0) rc = lg_err_io(&err, "close", csv_path);
            if (rc == 0) printf("appended to %s\n", csv_path);
        }
    }
    if (rc != 0) fprintf(stderr, "lengen eval: %s\n", err.msg);
    rundir_unlock(lock_fd);
    lg_free(r);
    exp_free(e);
    return rc ? 1 : 0;
}
