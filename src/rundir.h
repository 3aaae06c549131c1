/* rundir: a run folder and the files in it. The one place that names them, writes the CSVs'
 * headers and rows, and cuts the CSVs back when a run resumes.
 *
 *   <out_dir>/<name>/config.ini  the resolved config, written when the run starts
 *                    train.csv   step,loss,loss_<task>...,lr,grad_norm,tokens_per_s,elapsed_s
 *                                (a row per logging interval; loss_<task> empty when the
 *                                interval had no position of that task)
 *                    eval.csv    step,task,length,n,exact_match,token_accuracy,first_error
 *                                (a row per evaluated task and length)
 *                    ckpt.h5     the latest checkpoint; best.h5 the best evaluation's
 *                    lock        flock'ed by the one process writing the folder; holds its
 *                                PID and command ("12345 train")
 *
 * `lengen eval` appends to the eval.csv beside the checkpoint it reads (any .h5, not only a
 * run folder's). Checkpoints themselves are written by checkpoint.c (atomically, checksummed).
 *
 * Every write is checked: a CSV header or row is flushed and the stream's error flag read, so a
 * failed write (a full disk) returns -1 with "cannot write PATH: <errno text> (disk full)"
 * instead of going unnoticed; closing checks fclose too. config.ini is written atomically
 * (lg_write_atomic).
 */
#ifndef LENGEN_RUNDIR_H
#define LENGEN_RUNDIR_H

#include <stdio.h>

#include "config.h"

typedef struct RunDir {
    char dir[512];                 /* <out_dir>/<name> */
    char ckpt[600], best[600];     /* dir/ckpt.h5, dir/best.h5 */
    FILE *train_csv, *eval_csv;    /* open after rundir_create or rundir_continue */
} RunDir;

/* A file of a run folder. */
typedef enum { RUNDIR_CONFIG, RUNDIR_TRAIN_CSV, RUNDIR_EVAL_CSV, RUNDIR_CKPT, RUNDIR_BEST, RUNDIR_LOCK } RundirFile;

/* The path of file `which` in run folder dir ("dir/train.csv", ...). */
void rundir_file(char *out, size_t cap, const char *dir, RundirFile which);

/* The paths of cfg's run folder (<out_dir>/<name>); opens and creates nothing. */
void rundir_init(RunDir *r, const Config *cfg);
/* The paths of the run folder dir (a resumed run lives where it is, whatever its config says). */
void rundir_init_at(RunDir *r, const char *dir);

/* Takes dir's lock: flock(LOCK_EX | LOCK_NB) on dir/lock, then writes "PID who" into it.
 * create: make the lock file when missing (dir must exist); else a folder without one is not
 * a locked run folder and 0 is returned with nothing held (*fd = -1). Returns 0 with *fd >= 0
 * held until rundir_unlock or the process ends (the kernel releases it even after kill -9, so
 * a stale lock needs no cleanup), or -1 with err naming the process that holds it. */
int rundir_lock(const char *dir, const char *who, int create, int *fd, LgErr *err);
void rundir_unlock(int fd);   /* fd < 0: nothing */
/* Whether another process holds dir's lock (a run training there now), without taking it for
 * longer than the test: 0 when none does (no lock file, or it is free), else the holder's PID
 * as written in the lock file, or -1 when that cannot be read. */
long rundir_holder(const char *dir);

/* Whether dir holds a run's checkpoint (ckpt.h5), or only the start of a run stopped before
 * its first one (config.ini or train.csv without ckpt.h5). */
typedef enum { RUNDIR_EMPTY, RUNDIR_NO_CKPT, RUNDIR_HAS_CKPT } RundirState;
RundirState rundir_state(const char *dir);

/* Starts a new run: refuses a folder that already holds one (a ckpt.h5) unless force, which
 * removes its checkpoints (a folder of a run stopped before its first checkpoint is started
 * over without force); creates the folder, writes config.ini and opens both
 * CSVs from scratch with their headers (train.csv gets a loss column per task name).
 * Returns 0 or -1 with err. */
int rundir_create(RunDir *r, const char *config_text, const char *const *task_names, int n_tasks, int force,
                  LgErr *err);

/* Continues a run whose checkpoint is at `step`: keeps the header and the rows of both CSVs up
 * to that step (a resumed run repeats no step) and opens them for appending. Returns 0 or -1. */
int rundir_continue(RunDir *r, const char *const *task_names, int n_tasks, long step, LgErr *err);

/* Flushes both CSVs and fsyncs them, so the rows up to a checkpoint outlive a power loss with
 * it (train.c calls it before each ckpt.h5). Returns 0 or -1 with err. */
int rundir_sync(RunDir *r, LgErr *err);

/* Starts run folder r as a fork of the run in src_dir at `step`: copies src_dir's train.csv
 * and eval.csv rows up to that step (the source is only read). Returns 0 or -1 with err. */
int rundir_fork_history(const RunDir *r, const char *src_dir, long step, LgErr *err);

/* Copies the file src to dst atomically (dst.tmp, then rename). Returns 0 or -1 with err. */
int rundir_copy_file(const char *src, const char *dst, LgErr *err);

/* Closes the CSVs (r may be zeroed or half set up). Returns 0, or -1 with err (may be NULL)
 * when a write or the close of either failed. */
int rundir_close(RunDir *r, LgErr *err);

/* Appends a train.csv row and flushes. task_sum[i] / task_count[i] is task i's mean loss over
 * the interval (an empty field when task_count[i] = 0). Returns 0 or -1 with err. */
int rundir_train_row(RunDir *r, long step, double loss, const double *task_sum, const long *task_count,
                     int n_tasks, float lr, float norm, double tokens_per_s, double elapsed_s, LgErr *err);

/* Opens an eval.csv at path, appending (append != 0) or from scratch; writes the header when
 * the file is empty. Returns the file or NULL with err. */
FILE *rundir_eval_csv_open(const char *path, int append, LgErr *err);
/* The eval.csv beside a checkpoint file (what `lengen eval` appends to). */
void rundir_eval_csv_path(char *out, size_t cap, const char *ckpt_path);
/* Appends one eval.csv row (the header's columns; with overrides neither NULL nor "", an 8th
 * field holding them, CSV-quoted: the --set assignments of a `lengen eval` that changed what
 * was evaluated, so the row never passes for one of the run's own); lg_flush_check (util.h)
 * tells whether it was written. */
void rundir_eval_row(FILE *f, long step, const char *task, int length, int n, double exact_match,
                     double token_accuracy, double first_error, const char *overrides);

/* The step of the last row of dir's train.csv, or -1 without a file or a row. */
long rundir_last_train_step(const char *dir);

/* The run's training wall time from dir's train.csv (evaluations and checkpoints included):
 * elapsed_s, its last field, restarts at 0 when a stopped run resumes, so this sums the last
 * elapsed_s of each stretch. -1 without a file or a row. */
double rundir_train_seconds(const char *dir);

/* One eval.csv row, as rundir_eval_row writes it. */
typedef struct RundirEvalRow {
    long step;
    char task[128];
    int length, n;
    double exact_match, token_accuracy, first_error;
} RundirEvalRow;

/* Calls row(ctx, r) for each row of the eval.csv at path, in file order (the header, lines
 * without step,task,length,n,exact_match and rows with an overrides field are skipped: those
 * are not the run's own evaluations; missing later fields read as 0).
 * Returns 0, or -1 when the file cannot be opened. */
int rundir_read_eval(const char *path, void (*row)(void *ctx, const RundirEvalRow *r), void *ctx);

/* The checkpoint a command argument names: a run folder "runs/x" -> "runs/x/ckpt.h5"; a path
 * ending in .h5, or any existing file, as it is. */
void rundir_ckpt_of(const char *arg, char *out, size_t cap);

#endif
