/* cmd_train: `lengen train [CONFIG.ini] [--set section.key=value]... [--threads N] [--force]
 *             [--resume RUN [--fork NEWDIR]] [--stop-at STEP] [--quiet]`
 * Without CONFIG it trains the embedded default experiment (configs/default.ini). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "config.h"
#include "train.h"

extern const char lengen_default_config[];   /* configs/default.ini, compiled in */

static void usage(FILE *f) {
    fprintf(f,
            "usage: lengen train [CONFIG.ini] [options]\n"
            "       lengen train --resume RUN|CKPT [--fork NEWDIR] [--set section.key=value]...\n\n"
            "Trains the experiment in CONFIG.ini (without it: the built-in default experiment,\n"
            "configs/default.ini) into <out_dir>/<name>/ and prints exact match per length at the end.\n"
            "  --set section.key=value  override a config key (repeatable), e.g. --set model.posenc=rope\n"
            "  --threads N              threads for OpenMP and OpenBLAS (default: LENGEN_THREADS or all cores)\n"
            "  --force                  start over in a run folder that already holds a run\n"
            "  --resume RUN             continue RUN (a run folder or its ckpt.h5) exactly where it stopped,\n"
            "                           in RUN's folder whatever its config's out_dir and name say\n"
            "  --fork NEWDIR            with --resume: continue in the new run folder NEWDIR instead (e.g.\n"
            "                           from RUN/best.h5: config and history up to its step are copied)\n"
            "  --stop-at STEP           stop as if interrupted after STEP (writes the checkpoint; for tests)\n"
            "  --quiet                  no progress output\n");
}

int cmd_train(int argc, char **argv) {
    const char *config_path = NULL, *sets[CLI_MAX_SETS];
    int n_sets = 0;
    TrainOptions o = {0};
    long threads = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--set")) {
            int rc = cli_add_set("train", sets, &n_sets, val);
            if (rc) return rc;
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_long(val, 1, 1024, &threads) != 0) {
                fprintf(stderr, "lengen train: --threads needs a count in 1..1024, got '%s'\n", val ? val : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--stop-at")) {
            if (cli_parse_long(val, 1, 2000000000, &o.stop_at) != 0) {
                fprintf(stderr, "lengen train: --stop-at needs a step >= 1, got '%s'\n", val ? val : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--resume")) {
            if (!val) return fprintf(stderr, "lengen train: --resume needs a run folder or checkpoint\n"), 2;
            o.resume = val;
            i++;
        } else if (!strcmp(a, "--fork")) {
            if (!val) return fprintf(stderr, "lengen train: --fork needs a new run folder\n"), 2;
            o.fork = val;
            i++;
        } else if (!strcmp(a, "--force")) {
            o.force = 1;
        } else if (!strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "lengen train: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else if (!config_path) {
            config_path = a;
        } else {
            fprintf(stderr, "lengen train: one CONFIG expected, got '%s' and '%s'\n", config_path, a);
            return 2;
        }
    }
    if (threads > 0) {
        static char buf[32];
        snprintf(buf, sizeof buf, "run.threads=%ld", threads);
        if (cli_add_set("train", sets, &n_sets, buf)) return 2;
    }
    if (o.resume && config_path) {
        fprintf(stderr, "lengen train: --resume takes its config from the checkpoint; drop '%s' "
                "(use --set to change keys)\n", config_path);
        return 2;
    }
    if (o.fork && !o.resume) {
        fprintf(stderr, "lengen train: --fork NEWDIR continues a checkpoint in a new folder: give it with "
                "--resume RUN|CKPT\n");
        return 2;
    }
    Config cfg;
    LgErr err = {{0}};
    if (o.resume) {
        o.overrides = sets;
        o.n_overrides = n_sets;
        return train_run(NULL, &o);
    }
    cfg_defaults(&cfg);
    int rc = config_path ? cfg_load_file(&cfg, config_path, &err)
                         : cfg_load_string(&cfg, lengen_default_config, "configs/default.ini (built in)", &err);
    for (int i = 0; rc == 0 && i < n_sets; i++) rc = cfg_set(&cfg, sets[i], &err);
    if (rc == 0) rc = cfg_validate(&cfg, &err);
    if (rc != 0) {
        fprintf(stderr, "lengen train: %s\n", err.msg);
        return 2;
    }
    return train_run(&cfg, &o);
}
