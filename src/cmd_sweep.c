/* cmd_sweep: `lengen sweep FILE [--workers W] [--threads T] [--table] [--quiet]`: runs a grid
 * of training runs (src/sweep.h), then writes and prints the results table and draws the plot.
 * `--slurm` submits the unfinished runs as one Slurm job array instead, whose task I runs
 * `lengen sweep FILE --task I`; under mpirun (lengen-mpi) rank r of N runs r, r + N, ... and
 * rank 0 writes the table. `--finished LIST` names runs that finished elsewhere: none of these
 * paths trains or submits them. `--status` trains nothing: it prints where each run stands and
 * the training time left (sweep_status). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "dist.h"
#include "sweep.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lengen sweep FILE [--workers W] [--threads T] [--table] [--quiet] [--finished LIST]\n"
            "       lengen sweep FILE --status [--quiet] [--finished LIST]\n"
            "       lengen sweep FILE --slurm [--wait] [--sbatch OPTION]... [--dry-run] [--finished LIST]\n"
            "       mpirun -np N lengen-mpi sweep FILE [--workers W] [--threads T] [--finished LIST]\n\n"
            "Trains every run of the grid in FILE (a [sweep] section naming the base config, and a [grid]\n"
            "section of section.key = v1, v2, ... axes; a named axis NAME = v1, v2, ... sets the keys of\n"
            "the sections [NAME.v1], [NAME.v2], ...) as child `lengen train` processes, W at a time with\n"
            "T threads each (default: T = 1, W = cores / T). Finished runs are skipped, interrupted ones\n"
            "resumed. Ends with results.csv, results.md (exact match per length of every run) and\n"
            "results.png (tools/plot_eval.py, with /usr/bin/python3 or python3 if it has matplotlib) in\n"
            "<out_dir>/<name>/.\n"
            "  --workers W  runs at a time (overrides [sweep] workers)\n"
            "  --threads T  threads per run (overrides [sweep] threads)\n"
            "  --table      only write and print the table of what has finished\n"
            "  --status     only print each run's state (finished, the step it resumes from, not started)\n"
            "               and the training time left at the mean of the runs finished here; with\n"
            "               --quiet the summary line only\n"
            "  --quiet      print only the table and failures\n"
            "  --slurm      submit the unfinished runs as one Slurm job array (sbatch --array), one run\n"
            "               per task; again after it ends to resubmit what did not finish\n"
            "  --wait       with --slurm: wait for the array to finish, then write the table\n"
            "  --sbatch OPT with --slurm: pass OPT to sbatch (repeatable), e.g. --sbatch --time=2:00:00\n"
            "  --dry-run    with --slurm: write the job script and print the sbatch command only\n"
            "  --task I     train grid point I only (what each array task runs); no table\n"
            "  --finished LIST\n"
            "               runs that finished elsewhere, whose results are kept elsewhere (run\n"
            "               folders lost with a machine): neither trained nor submitted. LIST has one\n"
            "               <sweep name>/<run name> a line (cmc/seed-1_posenc-nope); blank lines, #\n"
            "               comments and other sweeps' lines are skipped\n"
            "Under mpirun (lengen-mpi) the ranks share the runs: rank r of N trains runs r, r + N, ...\n"
            "docs/sweeps.md has the file format and an example.\n");
}

/* tools/plot_eval.py beside the binary, or under the current folder; NULL if neither. */
static const char *find_plotter(const char *exe, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", exe);
    char *slash = strrchr(buf, '/');
    if (slash) {
        snprintf(slash + 1, cap - (size_t)(slash + 1 - buf), "tools/plot_eval.py");
        if (access(buf, R_OK) == 0) return buf;
    }
    snprintf(buf, cap, "tools/plot_eval.py");
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* Runs argv quietly; returns its exit status or -1. */
static int run_quiet(const char *const *argv) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The python with matplotlib: Debian's /usr/bin/python3 (where python3-matplotlib installs),
 * else the python3 first on PATH; NULL if neither has it. */
static const char *find_python(void) {
    static const char *const candidates[] = {"/usr/bin/python3", "python3"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        const char *probe[] = {candidates[i], "-c", "import matplotlib", NULL};
        if (run_quiet(probe) == 0) return candidates[i];
    }
    return NULL;
}

static void plot(const Sweep *s, const char *exe, int quiet) {
    char tool[PATH_MAX];
    const char *script = find_plotter(exe, tool, sizeof tool), *python = script ? find_python() : NULL;
    if (!script || !python) {
        if (!quiet) printf("(no plot: tools/plot_eval.py or python3 with matplotlib not found)\n");
        return;
    }
    int n = 0;
    const char **argv = lg_calloc((size_t)s->n_runs + 8, sizeof *argv, "plot arguments");
    char (*dirs)[900] = lg_calloc((size_t)s->n_runs, sizeof *dirs, "plot run folders");
    char out[1000];
    snprintf(out, sizeof out, "%s/%s/results.png", s->out_dir, s->name);
    argv[n++] = python;
    argv[n++] = script;
    for (int r = 0; r < s->n_runs; r++) {
        char name[256], path[1200];
        sweep_run_name(s, r, name, sizeof name);
        snprintf(dirs[r], sizeof dirs[r], "%s/%s/%s", s->out_dir, s->name, name);
        snprintf(path, sizeof path, "%s/eval.csv", dirs[r]);
        if (access(path, R_OK) == 0) argv[n++] = dirs[r];
    }
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n] = NULL;
    int rc = n > 4 ? run_quiet(argv) : -1;
    if (rc == 0) printf("plot: %s\n", out);
    else if (!quiet) printf("(no plot: %s failed)\n", script);
    lg_free(argv);
    lg_free(dirs);
}

int cmd_sweep(int argc, char **argv) {
    const char *file = NULL, *finished = NULL;
    long workers = -1, threads = -1;
    int table_only = 0, quiet = 0, slurm = 0, status = 0;
    long task = -1;
    SweepSlurm so = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--workers") || !strcmp(a, "--threads")) {
            long *dst = a[2] == 'w' ? &workers : &threads;
            if (cli_parse_long(val, 1, 1024, dst)) {
                fprintf(stderr, "lengen sweep: %s needs an integer in 1..1024, got '%s'\n", a, val ? val : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--task")) {
            if (cli_parse_long(val, 0, 4095, &task)) {
                fprintf(stderr, "lengen sweep: --task needs a grid index in 0..4095, got '%s'\n", val ? val : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--sbatch")) {
            if (!val || so.n_args >= (int)(sizeof so.args / sizeof so.args[0])) {
                fprintf(stderr, "lengen sweep: --sbatch needs an sbatch option (at most 16)\n");
                return 2;
            }
            so.args[so.n_args++] = val;
            i++;
        } else if (!strcmp(a, "--finished")) {
            if (!val) {
                fprintf(stderr, "lengen sweep: --finished needs a file listing <sweep name>/<run name> lines\n");
                return 2;
            }
            finished = val;
            i++;
        } else if (!strcmp(a, "--slurm")) {
            slurm = 1;
        } else if (!strcmp(a, "--wait")) {
            so.wait = 1;
        } else if (!strcmp(a, "--dry-run")) {
            so.dry_run = 1;
        } else if (!strcmp(a, "--table")) {
            table_only = 1;
        } else if (!strcmp(a, "--status")) {
            status = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' || file) {
            fprintf(stderr, "lengen sweep: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            file = a;
        }
    }
    if (!file) {
        fprintf(stderr, "lengen sweep: name the sweep file\n");
        usage(stderr);
        return 2;
    }
    if (!slurm && (so.wait || so.dry_run || so.n_args)) {
        fprintf(stderr, "lengen sweep: --wait, --dry-run and --sbatch go with --slurm\n");
        return 2;
    }
    if (status && (slurm || table_only || task >= 0)) {
        fprintf(stderr, "lengen sweep: --status only reports; it does not go with --slurm, --table or --task\n");
        return 2;
    }
    if ((slurm || table_only) && task >= 0) {
        fprintf(stderr, "lengen sweep: --task trains one run; it does not go with --slurm or --table\n");
        return 2;
    }
    Sweep s;
    LgErr err;
    if (sweep_load(&s, file, &err) != 0) {
        fprintf(stderr, "lengen sweep: %s\n", err.msg);
        return 2;
    }
    if (finished && sweep_load_finished(&s, finished, dist_rank() == 0 ? stderr : NULL, &err) != 0) {
        fprintf(stderr, "lengen sweep: %s\n", err.msg);
        return 2;
    }
    if (status) return sweep_status(&s, stdout, quiet) == 0 ? 0 : 1;
    if (task >= s.n_runs) {
        fprintf(stderr, "lengen sweep: --task %ld: %s has runs 0..%d\n", task, file, s.n_runs - 1);
        return 2;
    }
    if (threads > 0) {
        s.threads = (int)threads;
        if (workers < 0) {
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            s.workers = cores > s.threads ? (int)(cores / s.threads) : 1;
        }
    }
    if (workers > 0) s.workers = (int)workers;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "lengen sweep: cannot find the lengen binary (/proc/self/exe): %s\n", strerror(errno));
        return 1;
    }
    exe[n] = 0;
    if (slurm) {
        int rc = sweep_slurm_submit(&s, exe, file, &so, &err);
        if (rc < 0) {
            fprintf(stderr, "lengen sweep: %s\n", err.msg);
            return 1;
        }
        if (!so.wait || so.dry_run) return rc;
        table_only = 1;   /* the array has finished: gather */
        if (sweep_table(&s, stdout, &err) != 0) {
            fprintf(stderr, "lengen sweep: %s\n", err.msg);
            return 1;
        }
        printf("table: %s/%s/results.csv, results.md\n", s.out_dir, s.name);
        return rc;
    }
    if (task >= 0) {   /* one grid point: an array task */
        s.first = (int)task;
        s.stride = s.n_runs;
        s.workers = 1;
        return sweep_execute(&s, exe, quiet);
    }
    if (dist_size() > 1) {
        /* ranks share the runs; every rank's runs must end before rank 0 writes the table */
        s.first = dist_rank();
        s.stride = dist_size();
        if (workers < 0 && threads < 0) {
            long cores = sysconf(_SC_NPROCESSORS_ONLN) / dist_local_size();
            s.workers = cores > s.threads ? (int)(cores / s.threads) : 1;
        }
        double failed = table_only ? 0 : sweep_execute(&s, exe, quiet);
        dist_reduce_f64(&failed, 1, DIST_SUM);
        if (dist_rank() > 0) return failed > 0;
        if (sweep_table(&s, stdout, &err) != 0) {
            fprintf(stderr, "lengen sweep: %s\n", err.msg);
            return 1;
        }
        printf("table: %s/%s/results.csv, results.md\n", s.out_dir, s.name);
        return failed > 0;
    }
    int rc = table_only ? 0 : sweep_execute(&s, exe, quiet);
    if (sweep_table(&s, stdout, &err) != 0) {
        fprintf(stderr, "lengen sweep: %s\n", err.msg);
        return 1;
    }
    printf("table: %s/%s/results.csv, results.md\n", s.out_dir, s.name);
    plot(&s, exe, quiet);
    return rc;
}
