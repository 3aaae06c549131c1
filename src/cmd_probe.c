/* cmd_probe: `lengen probe RUN|CKPT [--task NAME] [--length N] [--n K] [--hidden]
 *             [--out FILE.h5] [--summary [--target NAME]] [--batch B] [--threads N] [--set k=v]...`
 * Runs the model teacher-forced on K held-out examples of one task and length and writes
 * tokens, text, logits, attention maps (and hidden states) to HDF5 (probe.h, docs/probing.md);
 * with --summary it prints attention entropy, distance and the share on a target per head
 * instead (and writes the file only when --out is given). */
#include <stdio.h>

#include "cli.h"
#include "cli_util.h"
#include "experiment.h"
#include "probe.h"

int cmd_probe(int argc, char **argv) {
    const char *target, *task = NULL, *out = NULL, *on = "next";
    CliSets sets = {.n = 0};
    int hidden = 0, summary = 0;
    long threads = 0, n = 8, batch = 8, length = 0;
    const CliOpt opts[] = {
        {"--task", "NAME", CLI_STR, &task, 0, 0, "a value", "task to probe (default: the run's main task)"},
        {"--length", "N", CLI_INT, &length, 1, 1000000, "a positive integer",
         "task length of the examples (default: the run's [train] max_length)"},
        {"--n", "K", CLI_INT, &n, 1, 1000000, "a positive integer", "examples (default 8)"},
        {"--hidden", NULL, CLI_FLAG, &hidden, 0, 0, "", "also write the residual stream after every block"},
        {"--out", "FILE.h5", CLI_STR, &out, 0, 0, "a value",
         "output file (default: probe_<task>_<length>.h5 beside the checkpoint)"},
        {"--summary", NULL, CLI_FLAG, &summary, 0, 0, "",
         "print per layer and head the attention entropy, mean distance and share on --target\n"
         "                   over the answer queries (no file unless --out)"},
        {"--target", "NAME", CLI_STR, &on, 0, 0, "a value",
         "with --summary: next (prompt tokens equal to the token being predicted: sort's next\n"
         "                   element), same (earlier copies of the query's token) or first (the task token)"},
        {"--batch", "B", CLI_INT, &batch, 1, 1000000, "a positive integer", "examples run together (default 8)"},
        CLI_OPT_THREADS(&threads),
        CLI_OPT_SET(&sets, "override a config key of the run"),
    };
    const CliCommand cmd = {
        "probe", "RUN|CKPT [options]", "RUN or CKPT",
        "Runs the model (no grad) on held-out examples, teacher-forced on the full true sequence,\n"
        "and writes /tokens, /digit_index, /text, /vocab, /logits, /attn/layer<i> [N, H, T, T] (and\n"
        "/hidden/layer<i> [N, T, D]) to an HDF5 file; tools/plot_attention.py draws it.\n",
        opts, (int)(sizeof opts / sizeof opts[0])};
    int rc = cli_parse(&cmd, argc, argv, &target);
    if (rc >= 0) return rc;
    int target_kind = probe_target_parse(on);
    if (target_kind < 0) {
        fprintf(stderr, "lengen probe: --target '%s' is not one of: next, same, first\n", on);
        return 2;
    }
    CliRun run;
    if ((rc = cli_load_run("probe", &run, target, &sets, threads)) != 0) return rc;
    Experiment *e = &run.e;
    ProbeOptions o = {.task = cli_task_index("probe", e, task), .n = (int)n, .hidden = hidden,
                      .batch = (int)batch, .checkpoint = run.ckpt_path, .step = run.step};
    if (o.task < 0) {
        exp_free(e);
        return 2;
    }
    o.length = length ? (int)length : e->cfg.train.max_length;
    char out_path[700], name[300];
    snprintf(name, sizeof name, "probe_%s_%d.h5", task_name(e->tasks[o.task]), o.length);
    if (out) snprintf(out_path, sizeof out_path, "%s", out);
    else lg_path_beside(out_path, sizeof out_path, run.ckpt_path, name);
    LgErr err = {{0}};
    if (summary) {
        ProbeSummary sum;
        if (probe_summary(e, &o, (ProbeTarget)target_kind, &sum, &err) != 0) {
            fprintf(stderr, "lengen probe: %s\n", err.msg);
            exp_free(e);
            return 1;
        }
        printf("probe summary: %s at length %d (step %ld)\n", task_name(e->tasks[o.task]), o.length, o.step);
        probe_summary_print(stdout, &sum);
        probe_summary_free(&sum);
        if (!out) {
            exp_free(e);
            return 0;
        }
    }
    rc = probe_write(e, &o, out_path, &err);
    if (rc != 0) {
        fprintf(stderr, "lengen probe: %s\n", err.msg);
    } else {
        printf("probe: %d examples of %s at length %d (step %ld) -> %s\n", o.n, task_name(e->tasks[o.task]),
               o.length, o.step, out_path);
    }
    exp_free(e);
    return rc ? 1 : 0;
}
