/* cmd_eval: `lengen eval RUN|CKPT [--lengths 10,20:100:10] [--n N] [--task NAME]
 *            [--batch B] [--threads N] [--set section.key=value]... [--out FILE]`
 * Decodes held-out examples at each length (greedy, KV cache), prints exact match per task and
 * length and appends the rows to the run folder's eval.csv (to FILE with --out; nowhere for a
 * checkpoint outside a run folder). Rows evaluated with overrides of what is evaluated (a --set
 * outside [eval]) carry them in an 8th field, so they never pass for the run's own rows. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "eval.h"
#include "experiment.h"
#include "rundir.h"

/* The --set assignments that change what is evaluated (the model, the tasks, the seed of the
 * held-out sets: any key outside [eval] but run.threads), space-separated into buf; "" when none. */
static void eval_overrides(const CliSets *sets, char *buf, size_t cap) {
    buf[0] = 0;
    for (int i = 0; i < sets->n; i++) {
        const char *a = sets->v[i];
        if (!strncmp(a, "eval.", 5) || !strncmp(a, "run.threads=", 12)) continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", len ? " " : "", a);
    }
}

int cmd_eval(int argc, char **argv) {
    const char *target, *task = NULL, *lengths = NULL, *out = NULL;
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
        CLI_OPT_SET(&sets, "override a config key of the run (e.g. eval.n=100); --lengths, --n, --batch win over it;\n"
                           "                      rows evaluated with a key outside [eval] set carry it in eval.csv's 8th field"),
        {"--out", "FILE", CLI_STR, &out, 0, 0, "a file name",
         "append the rows to FILE (eval.csv's format) instead of the run folder's eval.csv"},
    };
    const CliCommand cmd = {
        "eval", "RUN|CKPT [options]", "RUN or CKPT",
        "Exact match, token accuracy and first wrong position per task and length, by greedy\n"
        "decoding of held-out examples; printed as a table and appended to the run folder's\n"
        "eval.csv (RUN is a run folder: its ckpt.h5; or give best.h5 or any .h5). A checkpoint\n"
        "outside a run folder is only printed, unless --out FILE names where the rows go.\n",
        opts, (int)(sizeof opts / sizeof opts[0])};
    int rc = cli_parse(&cmd, argc, argv, &target);
    if (rc >= 0) return rc;
    /* the options win over --set */
    char lengths_set[600], n_set[64], batch_set[64];
    snprintf(lengths_set, sizeof lengths_set, "eval.lengths=%s", lengths ? lengths : "");
    snprintf(n_set, sizeof n_set, "eval.n=%ld", n);
    snprintf(batch_set, sizeof batch_set, "eval.batch_size=%ld", batch);
    /* best_lengths picks best.h5 in training and means nothing here; cleared, it cannot fail
     * the subset check when --lengths or --set eval.lengths names other lengths than the run's */
    if (cli_add_set("eval", sets.v, &sets.n, "eval.best_lengths=") ||
        (lengths && cli_add_set("eval", sets.v, &sets.n, lengths_set)) ||
        (n && cli_add_set("eval", sets.v, &sets.n, n_set)) ||
        (batch && cli_add_set("eval", sets.v, &sets.n, batch_set)))
        return 2;
    CliRun run;
    if ((rc = cli_load_run("eval", &run, target, &sets, threads)) != 0) return rc;
    Experiment *e = &run.e;
    char overrides[1024], csv_path[600], dir[600];
    eval_overrides(&sets, overrides, sizeof overrides);
    /* where the rows go: --out, else the run folder's eval.csv, else nowhere (printed only) */
    csv_path[0] = 0;
    if (out) {
        snprintf(csv_path, sizeof csv_path, "%s", out);
    } else {
        rundir_eval_csv_path(csv_path, sizeof csv_path, run.ckpt_path);
        lg_path_beside(dir, sizeof dir, run.ckpt_path, ".");
        if (rundir_state(dir) == RUNDIR_EMPTY) csv_path[0] = 0;   /* no config.ini, train.csv or ckpt.h5 */
    }
    /* a run folder's eval.csv belongs to its trainer while that runs: take the folder's lock
     * (a folder without a lock file is no run's, and nothing is held) */
    int lock_fd = -1;
    if (csv_path[0]) {
        lg_path_beside(dir, sizeof dir, csv_path, ".");
        LgErr lerr;
        if (rundir_lock(dir, "eval", 0, &lock_fd, &lerr) != 0) {
            fprintf(stderr, "lengen eval: %s. Its eval.csv is written by that process; to evaluate the "
                    "checkpoint now, write the rows elsewhere (--out FILE)\n", lerr.msg);
            exp_free(e);
            return 1;
        }
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
        FILE *csv = csv_path[0] ? rundir_eval_csv_open(csv_path, 1, &err) : NULL;
        if (!csv_path[0]) {
            printf("rows not written: %s is not in a run folder (--out FILE appends them to FILE)\n", run.ckpt_path);
        } else if (!csv) {
            rc = -1;
        } else {
            rc = eval_write_csv(csv, csv_path, e, run.step, r, n_results, overrides, &err);
            if (fclose(csv) != 0 && rc == 0) rc = lg_err_io(&err, "close", csv_path);
            if (rc == 0 && overrides[0])
                printf("appended to %s, marked with the overrides '%s' (its 8th field)\n", csv_path, overrides);
            else if (rc == 0)
                printf("appended to %s\n", csv_path);
        }
    }
    if (rc != 0) fprintf(stderr, "lengen eval: %s\n", err.msg);
    rundir_unlock(lock_fd);
    lg_free(r);
    exp_free(e);
    return rc ? 1 : 0;
}
