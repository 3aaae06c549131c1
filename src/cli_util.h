/* cli_util: what the commands share: integer arguments, --set lists, and the front end of the
 * commands that take a run or a checkpoint (eval, sample, probe, inspect): one option parser
 * driven by a table, one way to load the run and to name a task of it. Messages go to stderr
 * as "lengen CMD: ..." and the exit codes are cli.h's (2 for bad usage or a bad file). */
#ifndef LENGEN_CLI_UTIL_H
#define LENGEN_CLI_UTIL_H

#include <stdio.h>

#include "experiment.h"

#define CLI_MAX_SETS 64

/* Parses a whole decimal integer in [lo, hi]; returns 0 or -1. */
int cli_parse_long(const char *s, long lo, long hi, long *out);

/* Collects the value of `--set` options: returns 0, or prints an error and returns 2. */
int cli_add_set(const char *cmd, const char **sets, int *n_sets, const char *value);

/* ---- the run-or-checkpoint front end ---- */

typedef struct CliSets {
    const char *v[CLI_MAX_SETS];   /* "section.key=value" */
    int n;
} CliSets;

typedef enum {
    CLI_INT,    /* dst: long *, a value in [lo, hi] */
    CLI_STR,    /* dst: const char ** */
    CLI_FLAG,   /* dst: int *, set to 1; takes no value */
    CLI_SET,    /* dst: CliSets *, one more override */
} CliKind;

typedef struct CliOpt {
    const char *name;         /* "--n" */
    const char *arg;          /* the value's name in the usage ("N"), NULL for a flag */
    CliKind kind;
    void *dst;
    long lo, hi;              /* CLI_INT */
    const char *need;         /* what a missing or bad value must be: "a positive integer" */
    const char *help;         /* the usage line */
} CliOpt;

/* The two options every run-or-checkpoint command takes: --threads N and --set k=v (help says
 * what the override is for). */
#define CLI_OPT_THREADS(dst) \
    {"--threads", "N", CLI_INT, (dst), 1, 1000000, "a positive integer", "threads (default: LENGEN_THREADS or all cores)"}
#define CLI_OPT_SET(dst, help) {"--set", "k=v", CLI_SET, (dst), 0, 0, "section.key=value", (help)}

typedef struct CliCommand {
    const char *name;         /* "eval" */
    const char *synopsis;     /* after "usage: lengen eval ": "RUN|CKPT [options]" */
    const char *target;       /* what the one positional argument is: "RUN or CKPT", "FILE" */
    const char *about;        /* what the command does, lines ending in \n */
    const CliOpt *opts;
    int n_opts;
} CliCommand;

/* Parses argv[1..argc) of `lengen c->name`: the options of c->opts and exactly one positional
 * argument, stored in *target. -h/--help prints the usage (synopsis, about, a line per option
 * from the table) to stdout. Returns -1 when parsing
 * succeeded (go on), else the exit status to return: 0 after --help, 2 after a message (an
 * unknown option, a missing or bad value, no target or two of them). */
int cli_parse(const CliCommand *c, int argc, char **argv, const char **target);

/* A run (folder or .h5 file) loaded for a command: the experiment with `sets` applied, where
 * its checkpoint is and at which step, threads set to `threads` (0: the run's [run] threads).
 * Returns 0, or 2 after printing the error. Free with exp_free. */
typedef struct CliRun {
    Experiment e;
    char ckpt_path[512];
    long step;
} CliRun;
int cli_load_run(const char *cmd, CliRun *r, const char *target, const CliSets *sets, long threads);

/* The index of task `name` in the run (0, the main task, when name is NULL), or -1 after
 * printing the run's tasks. */
int cli_task_index(const char *cmd, const Experiment *e, const char *name);

#endif
