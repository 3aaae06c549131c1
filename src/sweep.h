/* sweep: `lengen sweep FILE`: a grid of runs over a base config, run as child `lengen train`
 * processes, W at a time with T threads each, ending in one table of exact match per length.
 *
 * FILE is INI (docs/sweeps.md):
 *   [sweep]  base = CONFIG.ini (relative to the current folder), name (the sweep folder under
 *            out_dir), out_dir (default runs), threads (per run, default 1), workers (default
 *            cores / threads), set = section.key=value (repeatable: fixed overrides)
 *   [grid]   section.key = v1, v2, ...   one axis per line; the runs are the cross product
 *            NAME = v1, v2, ...          a named axis: value v sets the keys of section [NAME.v]
 *   [NAME.v] section.key = value         (repeatable) what value v of the named axis NAME sets
 * Run r of the grid trains into <out_dir>/<name>/<run name>, where the run name joins
 * "<key>-<value>" of every axis with "_" (the key's last component, or a named axis' NAME:
 * posenc-rope_seed-2, scheme-fire_rand_seed-2).
 *
 * A run whose train.csv has reached [train] steps and that has an eval.csv is skipped; one with a
 * ckpt.h5 short of that is resumed (`lengen train --resume`); any other starts fresh (--force).
 * A run listed in a --finished file (sweep_load_finished) finished elsewhere and is skipped too.
 * Children get OMP_WAIT_POLICY=passive and GOMP_SPINCOUNT=10000 (unless already set), so runs
 * sharing cores do not spin-wait each other. Each child's output goes to <sweep>/<run>.log.
 * At the end results.csv and results.md (exact match per evaluated length of the main task at
 * its last evaluated step, from each run's eval.csv) are written to the sweep folder, the
 * Markdown also printed, and results.png drawn by tools/plot_eval.py when /usr/bin/python3
 * (Debian's) or the python3 on PATH has matplotlib.
 */
#ifndef LENGEN_SWEEP_H
#define LENGEN_SWEEP_H

#include <stdio.h>

#include "util.h"

#define SWEEP_MAX_AXES 8
#define SWEEP_MAX_VALUES 32
#define SWEEP_MAX_SETS 32
#define SWEEP_MAX_NAMED_SETS 128                   /* [NAME.v] lines of the whole file */
#define SWEEP_MAX_RUN_SETS (SWEEP_MAX_AXES + SWEEP_MAX_NAMED_SETS)   /* a grid point's --set */
#define SWEEP_MAX_RUNS 4096                        /* the grid's size */

typedef struct SweepAxis {
    char key[96];                              /* section.key, or NAME of a named axis */
    int named;                                 /* a named axis: its values' keys are in named[] */
    int n;
    char values[SWEEP_MAX_VALUES][64];
} SweepAxis;

/* One line `section.key = value` of a [NAME.v] section: set when the named axis NAME takes v. */
typedef struct SweepNamedSet {
    char section[160];                         /* NAME.v as written */
    char set[256];                             /* section.key=value */
    int axis, value;                           /* resolved once the file is read */
} SweepNamedSet;

typedef struct Sweep {
    char base[512], name[128], out_dir[512];
    int threads, workers;
    int n_sets;
    char sets[SWEEP_MAX_SETS][256];
    int n_axes;
    SweepAxis axes[SWEEP_MAX_AXES];
    int n_named;
    SweepNamedSet named[SWEEP_MAX_NAMED_SETS];
    int n_runs;                                /* product of the axes' sizes */
    int first, stride;                         /* sweep_execute runs first, first + stride, ...
                                                  (0, 1 from sweep_load: every run) */
    char finished_file[512];                   /* the --finished list, "" without one */
    unsigned char elsewhere[SWEEP_MAX_RUNS];   /* run r is listed there: it finished elsewhere */
} Sweep;

/* Reads and checks a sweep file (every run's config must validate). Returns 0 or -1 with err. */
int sweep_load(Sweep *s, const char *path, LgErr *err);

/* Reads the --finished list at path into s (after sweep_load): runs that finished elsewhere and
 * whose results are kept elsewhere (their run folders lost with a machine), which the sweep
 * must not train again. One run a line, `<sweep name>/<run name>` (cmc/seed-1_posenc-nope);
 * blank lines and lines starting with # are skipped, lines of other sweeps ignored (one file
 * serves every sweep of a study). A listed run counts as finished (sweep_run_finished): it is
 * neither trained nor submitted. A line of this sweep naming no run of its grid is reported to
 * `warn` (if not NULL) and ignored. Returns 0, or -1 with err when the file cannot be read or
 * a line is not of the form x/y (its line number). */
int sweep_load_finished(Sweep *s, const char *path, FILE *warn, LgErr *err);

/* The grid point of run r: its name (cap bytes). */
void sweep_run_name(const Sweep *s, int r, char *name, size_t cap);

/* Runs the sweep's runs first, first + stride, ... with the binary `exe`. A run whose folder
 * another process holds (rundir_holder: a second queue on the same sweep file training it now)
 * is skipped and left to that process, so two queues share one sweep's runs. Returns 0 when
 * every run it started finished, 1 otherwise. */
int sweep_execute(const Sweep *s, const char *exe, int quiet);

/* Has run r reached [train] steps with an eval.csv, or is it listed as finished elsewhere (what
 * sweep_execute skips)? */
int sweep_run_finished(const Sweep *s, int r);

/* Slurm (sweep_slurm.c): submits the unfinished runs of the sweep in file `file` as one job
 * array, `sbatch --array=<their grid indices>`; task I runs `exe sweep FILE --task I` (grid
 * point I, resumed if it has a checkpoint). The job script goes to <sweep>/slurm/job.sh, the
 * tasks' output to <sweep>/slurm/<job>_<task>.out. Refuses while jobs of the same sweep are
 * queued or running (squeue), so a run is never trained twice at once. */
typedef struct SweepSlurm {
    int wait;                 /* sbatch --wait: return when the array has finished */
    int dry_run;              /* write job.sh and print the sbatch command, submit nothing */
    int n_args;
    const char *args[16];     /* more sbatch options (--partition=..., --time=...) */
} SweepSlurm;
/* Returns 0 (submitted, or nothing left to run), 1 when sbatch or a task failed, -1 with err
 * when it could not submit. */
int sweep_slurm_submit(const Sweep *s, const char *exe, const char *file, const SweepSlurm *o, LgErr *err);

/* Where the sweep stands, to `out`: each run's state (finished, with its training wall time from
 * train.csv; finished elsewhere, by the --finished list; the step its ckpt.h5 resumes from; not
 * started; "training now, in process P" when a process holds its folder) unless
 * quiet, then one line: the counts and the training time left, one run after
 * another, at the mean wall time of the runs finished here (a run to resume counts as the
 * fraction of its steps left). The line reads
 *   NAME: N runs: D finished (E elsewhere), R to resume, F not started; training left: about X h, ...
 * Returns 0, or -1 when out could not be written. */
int sweep_status(const Sweep *s, FILE *out, int quiet);

/* Writes results.csv and results.md into the sweep folder from the runs' eval.csv (runs
 * without one are listed with empty cells) and prints the Markdown to `out` if not NULL.
 * Returns 0 or -1 with err. */
int sweep_table(const Sweep *s, FILE *out, LgErr *err);

#endif
