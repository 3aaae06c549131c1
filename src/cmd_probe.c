/* cmd_probe: `lengen probe RUN|CKPT [--task NAME] [--length N] [--n K] [--hidden]
 *             [--out FILE.h5] [--batch B] [--threads N] [--set section.key=value]...`
 * Runs the model teacher-forced on K held-out examples of one task and length and writes
 * tokens, text, logits, attention maps (and hidden states) to HDF5 (probe.h, docs/probing.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "experiment.h"
#include "probe.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lengen probe RUN|CKPT [options]\n\n"
            "Runs the model (no grad) on held-out examples, teacher-forced on the full true sequence,\n"
            "and writes /tokens, /text, /vocab, /logits, /attn/layer<i> [N, H, T, T] (and\n"
            "/hidden/layer<i> [N, T, D]) to an HDF5 file; tools/plot_attention.py draws it.\n"
            "  --task NAME      task to probe (default: the run's main task)\n"
            "  --length N       task length of the examples (default: the run's [train] max_length)\n"
            "  --n K            examples (default 8)\n"
            "  --hidden         also write the residual stream after every block\n"
            "  --out FILE.h5    output file (default: probe_<task>_<length>.h5 beside the checkpoint)\n"
            "  --batch B        examples run together (default 8)\n"
            "  --threads N      threads (default: LENGEN_THREADS or all cores)\n"
            "  --set k=v        override a config key of the run\n");
}

int cmd_probe(int argc, char **argv) {
    const char *target = NULL, *task = NULL, *out = NULL, *sets[CLI_MAX_SETS];
    int n_sets = 0, hidden = 0;
    long threads = 0, n = 8, batch = 8, length = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--hidden")) {
            hidden = 1;
        } else if (!strcmp(a, "--n") || !strcmp(a, "--batch") || !strcmp(a, "--threads") || !strcmp(a, "--length")) {
            long *dst = a[2] == 'n' ? &n : a[2] == 'b' ? &batch : a[2] == 't' ? &threads : &length;
            if (cli_parse_long(val, 1, 1000000, dst) != 0) {
                fprintf(stderr, "lengen probe: %s needs a positive integer, got '%s'\n", a, val ? val : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--task") || !strcmp(a, "--out")) {
            if (!val) return fprintf(stderr, "lengen probe: %s needs a value\n", a), 2;
            *(a[2] == 't' ? &task : &out) = val;
            i++;
        } else if (!strcmp(a, "--set")) {
            if (cli_add_set("probe", sets, &n_sets, val)) return 2;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "lengen probe: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else if (!target) {
            target = a;
        } else {
            fprintf(stderr, "lengen probe: one RUN or CKPT expected, got '%s' and '%s'\n", target, a);
            return 2;
        }
    }
    if (!target) {
        usage(stderr);
        return 2;
    }
    Experiment e;
    CkptFile f;
    LgErr err = {{0}};
    if (exp_load(&e, target, sets, n_sets, &f, &err) != 0) {
        fprintf(stderr, "lengen probe: %s\n", err.msg);
        return 2;
    }
    char ckpt_path[512];
    snprintf(ckpt_path, sizeof ckpt_path, "%s", f.path);
    ProbeOptions o = {.n = (int)n, .hidden = hidden, .batch = (int)batch, .checkpoint = ckpt_path, .step = (long)f.step};
    ckpt_close(&f);
    lg_set_threads(threads > 0 ? (int)threads : e.cfg.run.threads);
    o.task = task ? exp_task_index(&e, task) : 0;
    if (o.task < 0) {
        fprintf(stderr, "lengen probe: the run has no task '%s'; its tasks:", task);
        for (int i = 0; i < e.n_tasks; i++) fprintf(stderr, " %s", task_name(e.tasks[i]));
        fprintf(stderr, "\n");
        exp_free(&e);
        return 2;
    }
    o.length = length ? (int)length : e.cfg.train.max_length;
    char out_path[700];
    if (out) {
        snprintf(out_path, sizeof out_path, "%s", out);
    } else {
        const char *slash = strrchr(ckpt_path, '/');
        int dir = slash ? (int)(slash + 1 - ckpt_path) : 0;
        snprintf(out_path, sizeof out_path, "%.*sprobe_%s_%d.h5", dir, ckpt_path, task_name(e.tasks[o.task]), o.length);
    }
    int rc = probe_write(&e, &o, out_path, &err);
    if (rc != 0) {
        fprintf(stderr, "lengen probe: %s\n", err.msg);
    } else {
        printf("probe: %d examples of %s at length %d (step %ld) -> %s\n", o.n, task_name(e.tasks[o.task]),
               o.length, o.step, out_path);
    }
    exp_free(&e);
    return rc ? 1 : 0;
}
