/* lengen: the command-line entry point. `lengen <command> [args]`; each command lives in its
 * own cmd_*.c and is listed here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "util.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} Command;

static const Command commands[] = {
    {"train", cmd_train, "train an experiment (a config file, or the built-in default) into runs/<name>/"},
    {"eval", cmd_eval, "exact match per task and length of a trained run or checkpoint"},
    {"sample", cmd_sample, "show prompts with the model's answer beside the truth"},
    {"probe", cmd_probe, "dump attention maps, logits (and hidden states) of held-out examples to HDF5"},
    {"data", cmd_data, "print generated examples of a task (--list: tasks and options)"},
    {"config", cmd_config, "check a config (files + --set) and print it resolved; --keys lists every key"},
    {"sweep", cmd_sweep, "train a grid of runs (e.g. posenc x seed) W at a time, skip finished ones, resume interrupted ones, table them"},
    {"inspect", cmd_inspect, "print a model file's format, step, config, vocabulary and datasets"},
    {"rasp", cmd_rasp, "run a RASP-L program on one prompt (rasp run) or print its size (rasp stats)"},
    {"bench", cmd_bench, "time training steps, sgemm or decoding (make bench compares with PyTorch)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: lengen <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`lengen <command> --help` describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            dist_init(&argc, &argv);   /* joins an MPI job only in lengen-mpi under a launcher */
            int rc = commands[i].run(argc - 1, argv + 1);
            dist_finalize();
            /* what a command printed is its result: output that did not reach its file (a full
             * disk, /dev/full) is a failure, not exit 0 */
            LgErr err;
            if (lg_flush_check(stdout, "standard output", &err) != 0) {
                fprintf(stderr, "lengen %s: %s\n", argv[1], err.msg);
                if (rc == 0) rc = 1;
            }
            return rc;
        }
    fprintf(stderr, "lengen: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
