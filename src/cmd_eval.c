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

static void usage(FILE *f) {
    fprintf(f,
            "usage: lengen eval RUN|CKPT [options]\n\n"
            "Exact match, token accuracy and first wrong position per task and length, by greedy\n"
            "decoding of held-out examples; printed as a table and appended to eval.csv beside the\n"
            "checkpoint (RUN is a run folder: its ckpt.h5; or give best.h5 or any .h5).\n"
            "  --lengths LIST   lengths to evaluate, e.g. 10,20:100:10 (default: the run's [eval] lengths)\n"
            "  --n N            held-out examples per length (default: the run's [eval] n)\n"
            "  --task NAME      only this task (default: the main task, and the hints when [eval] hints)\n"
            "  --batch B        sequences decoded together (default: the run's [eval] batch_size)\n"
            "  --threads N      threads (default: LENGEN_THREADS or all cores)\n"
            "  --set k=v        override a config key of the run (e.g. eval.n=100)\n");
}

int cmd_eval(int argc, char **argv) {
    const char *target = NULL, *task = NULL, *sets[CLI_MAX_SETS];
    int n_sets = 0;
    long threads = 0, n = 0, batch = 0;
    char lengths_set[600] = "", n_set[64], batch_set[64];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--lengths")) {
            if (!val) return fprintf(stderr, "lengen eval: --lengths needs a list like 10,20:100:10\n"), 2;
            snprintf(lengths_set, sizeof lengths_set, "eval.lengths=%s", val);
            if (cli_add_set("eval", sets, &n_sets, lengths_set)) return 2;
            i++;
        } else if (!strcmp(a, "--n") || !strcmp(a, "--batch") || !strcmp(a, "--threads")) {
            long *dst = a[2] == 'n' ? &n : a[2] == 'b' ? &batch : &threads;
            if (cli_parse_long(val, 1, 1000000, dst) != 0) {
                fprintf(stderr, "lengen eval: %s needs a positive integer, got '%s'\n", a, val ? val : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--task")) {
            if (!val) return fprintf(stderr, "lengen eval: --task needs a task name\n"), 2;
            task = val;
            i++;
        } else if (!strcmp(a, "--set")) {
            if (cli_add_set("eval", sets, &n_sets, val)) return 2;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "lengen eval: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else if (!target) {
            target = a;
        } else {
            fprintf(stderr, "lengen eval: one RUN or CKPT expected, got '%s' and '%s'\n", target, a);
            return 2;
        }
    }
    if (!target) {
        usage(stderr);
        return 2;
    }
    if (n) {
        snprintf(n_set, sizeof n_set, "eval.n=%ld", n);
        if (cli_add_set("eval", sets, &n_sets, n_set)) return 2;
    }
    if (batch) {
        snprintf(batch_set, sizeof batch_set, "eval.batch_size=%ld", batch);
        if (cli_add_set("eval", sets, &n_sets, batch_set)) return 2;
    }
    Experiment e;
    CkptFile f;
    LgErr err = {{0}};
    if (exp_load(&e, target, sets, n_sets, &f, &err) != 0) {
        fprintf(stderr, "lengen eval: %s\n", err.msg);
        return 2;
    }
    long step = f.step;
    /* eval.csv beside the checkpoint */
    char csv_path[600];
    const char *slash = strrchr(f.path, '/');
    snprintf(csv_path, sizeof csv_path, "%.*seval.csv", slash ? (int)(slash - f.path) + 1 : 0, f.path);
    ckpt_close(&f);
    lg_set_threads(threads > 0 ? (int)threads : e.cfg.run.threads);
    int only = -1;
    if (task) {
        only = exp_task_index(&e, task);
        if (only < 0) {
            fprintf(stderr, "lengen eval: the run has no task '%s'; its tasks:", task);
            for (int i = 0; i < e.n_tasks; i++) fprintf(stderr, " %s", task_name(e.tasks[i]));
            fprintf(stderr, "\n");
            exp_free(&e);
            return 2;
        }
    }
    const EvalConfig *ec = &e.cfg.eval;
    int n_results = e.n_tasks * ec->n_lengths;
    EvalResult *r = lg_calloc((size_t)n_results, sizeof *r, "eval results");
    int rc = 0;
    for (int t = 0; t < e.n_tasks && rc == 0; t++)
        for (int k = 0; k < ec->n_lengths && rc == 0; k++) {
            EvalResult *x = &r[t * ec->n_lengths + k];
            x->task = t;
            x->length = ec->lengths[k];
            if (only >= 0 ? t != only : t > 0 && !ec->hints) continue;
            rc = eval_task_length(&e, t, ec->lengths[k], ec->n, ec->batch_size, x, NULL, NULL, &err);
        }
    if (rc != 0) {
        fprintf(stderr, "lengen eval: %s\n", err.msg);
    } else {
        eval_print_table(stdout, &e, step, r, n_results);
        FILE *csv = fopen(csv_path, "a");
        if (!csv) {
            fprintf(stderr, "lengen eval: cannot append to %s\n", csv_path);
            rc = -1;
        } else {
            if (ftell(csv) == 0) fprintf(csv, "step,task,length,n,exact_match,token_accuracy,first_error\n");
            eval_write_csv(csv, &e, step, r, n_results);
            fclose(csv);
            printf("appended to %s\n", csv_path);
        }
    }
    lg_free(r);
    exp_free(&e);
    return rc ? 1 : 0;
}
