/* train: the loop, logging, evaluation schedule, checkpoints, resume and signals. See train.h. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"
#include "dist.h"
#include "eval.h"
#include "experiment.h"
#include "ops/ops.h"
#include "optim.h"
#include "rundir.h"
#include "step.h"
#include "util.h"

#define RNG_LABEL_MODEL 0x6d6f64656cULL   /* "model" */

static volatile sig_atomic_t stop_signal;
static volatile int stop_requested;   /* polled by evaluation (eval_set_interrupt) */

static void on_signal(int sig) {
    stop_signal = sig;
    stop_requested = 1;
}

/* SIGINT and SIGTERM set stop_signal (the loop checkpoints and stops) and interrupt an
 * evaluation in progress; old[0..2) keeps the handlers to put back. */
static void catch_signals(struct sigaction old[2]) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    stop_requested = 0;
    eval_set_interrupt(&stop_requested);
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void restore_signals(const struct sigaction old[2]) {
    eval_set_interrupt(NULL);
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

typedef struct Trainer {
    Experiment e;
    Optim opt;
    DataStream data;
    Batch batch;
    Ag g;
    Stepper stepper;
    Rng model_rng;
    long step;                 /* optimizer steps completed */
    float best;                /* best eval score so far, -1 = none */
    RunDir run;                /* the run folder: paths, train.csv, eval.csv */
    int lock_fd;               /* its lock (rundir_lock), held for the whole run; -1 none */
    EvalResult *results;
    int n_results;
    double *task_nll;          /* [n_tasks] per-task sums over a logging interval */
    long *task_count;
    int tty;
    /* data parallel (dist.h): every rank draws the same global batch from the run's one data
     * stream and trains on its rows rank, rank + size, ...; gradients are summed over ranks
     * once per step, so every rank takes the same optimizer step. Rank 0 alone writes. */
    int rank, size;
    Batch slice;               /* size > 1: this rank's rows of the global batch */
    int stop_all;              /* size > 1: a rank was signalled (agreed every step) */
    double reduce_s;           /* size > 1: seconds in the gradient allreduce (incl. waiting) */
} Trainer;

/* The train.csv row of the logging interval ending at t->step; clears the interval's per-task
 * loss sums. Every rank calls it (the per-task sums are added over ranks); rank 0 writes.
 * Returns 0, or -1 with err when the row could not be written. */
static int log_row(Trainer *t, double loss, float lr, float norm, double tok_s, double elapsed, LgErr *err) {
    if (t->size > 1) {
        double counts[CFG_MAX_TASKS];
        for (int i = 0; i < t->e.n_tasks; i++) counts[i] = (double)t->task_count[i];
        dist_reduce_f64(t->task_nll, t->e.n_tasks, DIST_SUM);
        dist_reduce_f64(counts, t->e.n_tasks, DIST_SUM);
        for (int i = 0; i < t->e.n_tasks; i++) t->task_count[i] = (long)counts[i];
    }
    int rc = 0;
    if (t->rank == 0)
        rc = rundir_train_row(&t->run, t->step, loss, t->task_nll, t->task_count, t->e.n_tasks, lr, norm, tok_s,
                              elapsed, err);
    memset(t->task_nll, 0, (size_t)t->e.n_tasks * sizeof *t->task_nll);
    memset(t->task_count, 0, (size_t)t->e.n_tasks * sizeof *t->task_count);
    return rc;
}

/* ---- checkpoints ---- */

/* The training state beside the model, as checkpoint arrays pointing into t (and into the two
 * scalars given, which the caller copies to and from t). One list for saving and loading. */
enum { N_STATE = 6 };
static void state_arrays(Trainer *t, int64_t *ostep, float *best, CkptArray a[N_STATE]) {
    const CkptArray list[N_STATE] = {
        {"/optim/m", CKPT_F32, t->opt.m, 1, {(int64_t)t->opt.n}},
        {"/optim/v", CKPT_F32, t->opt.v, 1, {(int64_t)t->opt.n}},
        {"/optim/step", CKPT_I64, ostep, 0, {0}},
        {"/rng/data", CKPT_U64, t->data.pool_rng.s, 1, {4}},   /* data_seek continues from it */
        {"/rng/model", CKPT_U64, t->model_rng.s, 1, {4}},
        {"/train/best", CKPT_F32, best, 0, {0}},
    };
    memcpy(a, list, sizeof list);
}

static int save_ckpt(Trainer *t, const char *path, LgErr *err) {
    int64_t ostep = t->opt.step;
    float best = t->best;
    CkptArray extras[N_STATE];
    state_arrays(t, &ostep, &best, extras);
    char *text = cfg_to_string(&t->e.cfg);
    const char **vocab = exp_vocab_strings(&t->e);
    int rc = ckpt_save(path, &t->e.model.params, t->step, text, vocab, t->e.vocab.n, extras, N_STATE, err);
    lg_free(vocab);
    lg_free(text);
    return rc;
}

/* What the score that picks best.h5 means: its metric, the main task and the lengths it averages
 * ("exact_match of sort at 20,40"), into buf. */
static void best_rule(const Config *c, char *buf, size_t cap) {
    const EvalConfig *ev = &c->eval;
    int n = ev->n_best_lengths ? ev->n_best_lengths : ev->n_lengths;
    const int *lens = ev->n_best_lengths ? ev->best_lengths : ev->lengths;
    size_t len = (size_t)snprintf(buf, cap, "%s of %s at ", ev->best_metric, c->task.tasks[0].name);
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? "," : "", lens[i]);
}

/* A resumed run whose overrides change what best.h5 is chosen on (eval.best_lengths, lengths,
 * best_metric) forgets the checkpoint's best score, which means another thing: its next
 * evaluation writes best.h5 anew, and it says so. */
static void check_best_rule(Trainer *t, const CkptFile *f) {
    if (t->best < 0) return;   /* no best score to forget */
    Config old;
    cfg_defaults(&old);
    LgErr ignored = {{0}};
    if (cfg_load_string(&old, f->config, "checkpoint", &ignored) != 0) return;
    char was[1200], now[1200];
    best_rule(&old, was, sizeof was);
    best_rule(&t->e.cfg, now, sizeof now);
    if (strcmp(was, now) == 0) return;
    if (t->rank == 0)
        fprintf(stderr, "lengen train: best.h5 was chosen on %s and is now chosen on %s: the best score so far "
                "(%.4f) no longer applies, so the next evaluation writes best.h5 anew\n", was, now, t->best);
    t->best = -1;
}

static int load_state(Trainer *t, CkptFile *f, LgErr *err) {
    int64_t ostep = 0;
    float best = -1;
    CkptArray extras[N_STATE];
    state_arrays(t, &ostep, &best, extras);
    for (int i = 0; i < N_STATE; i++)
        if (ckpt_read(f, &extras[i], err) != 0) return -1;
    t->opt.step = ostep;
    t->best = best;
    t->step = f->step;
    check_best_rule(t, f);
    return 0;
}

/* ---- the step ---- */

/* One optimizer step (grad_accum micro-batches) through the Stepper. Returns 0, or -1 on a
 * data error. Sets *loss_out (mean over micro-batches), *norm_out, *tokens_out (of the global
 * batches); a non-finite loss or norm leaves the weights untouched (the caller stops).
 * With several ranks each takes its rows of every global batch (batch_take_rows scales their
 * loss weights so the ranks' losses add up to the global batch's), then one allreduce sums
 * the gradient block and a small one the losses and stop requests: every rank ends the step
 * with the same gradients, loss and norm, so they update alike and stop together. */
static int train_step(Trainer *t, float lr, float *loss_out, float *norm_out, long *tokens_out, LgErr *err) {
    const TrainConfig *tr = &t->e.cfg.train;
    double loss_sum = 0;
    long tokens = 0;
    for (int micro = 0; micro < tr->grad_accum; micro++) {
        if (data_next(&t->data, (int)t->step, &t->batch, err) != 0) return -1;
        if (t->size > 1) {
            batch_take_rows(&t->batch, t->rank, t->size, &t->slice);
            loss_sum += step_grad(&t->stepper, &t->slice);
        } else {
            loss_sum += step_grad(&t->stepper, &t->batch);
        }
        tokens += t->batch.n_tokens;
    }
    if (t->size > 1) {
        Params *p = &t->e.model.params;
        double t0 = lg_seconds();
        dist_sum_f32(p->grad, p->n);
        t->reduce_s += lg_seconds() - t0;
        double v[2] = {loss_sum, stop_signal != 0};
        dist_reduce_f64(v, 2, DIST_SUM);
        loss_sum = v[0];
        t->stop_all = v[1] > 0;
    }
    *loss_out = (float)(loss_sum / tr->grad_accum);
    *tokens_out = tokens;
    step_update(&t->stepper, lr, tr->grad_accum, *loss_out, norm_out);
    return 0;
}

/* Dies when the ranks' weights are not the same: they take identical steps only if the
 * allreduce hands every rank the same sums, which MPI does not promise for floats (OpenMPI's
 * algorithms do). Checked at each checkpoint, the one copy that is kept. */
static void check_replicas(Trainer *t) {
    const Params *p = &t->e.model.params;
    double sum = 0;
    for (size_t i = 0; i < p->n; i++) sum += (double)p->data[i] * (double)((i % 13) + 1);
    double v[2] = {sum, -sum};
    dist_reduce_f64(v, 2, DIST_MAX);
    if (v[0] != sum || -v[1] != sum)
        lg_die("rank %d: the ranks' weights differ at step %ld (weighted sums from %.17g to %.17g): the gradient "
               "allreduce did not give every rank the same result", t->rank, t->step, -v[1], v[0]);
}

/* ---- progress ---- */

static void fmt_duration(double s, char *buf, size_t n) {
    long x = (long)(s + 0.5);
    if (x >= 3600) snprintf(buf, n, "%ldh%02ldm", x / 3600, x / 60 % 60);
    else if (x >= 60) snprintf(buf, n, "%ldm%02lds", x / 60, x % 60);
    else snprintf(buf, n, "%lds", x);
}

static void progress(const Trainer *t, float loss, double tok_s, double elapsed, long start_step) {
    long total = t->e.cfg.train.steps;
    double rate = (t->step - start_step) / (elapsed > 1e-9 ? elapsed : 1e-9);
    char eta[32], el[32];
    fmt_duration(rate > 0 ? (total - t->step) / rate : 0, eta, sizeof eta);
    fmt_duration(elapsed, el, sizeof el);
    if (t->tty) {
        int width = 24, fill = (int)(width * (double)t->step / total);
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r[%s] step %ld/%ld loss %.4f %.0f tok/s %s ETA %s   ", bar, t->step, total,
                loss, tok_s, el, eta);
        fflush(stderr);
    } else {
        printf("step %ld/%ld loss %.4f %.0f tok/s elapsed %s ETA %s\n", t->step, total, loss, tok_s, el, eta);
        fflush(stdout);
    }
}

static void end_progress_line(const Trainer *t) {
    if (t->tty) fputc('\n', stderr);
}

/* ---- evaluation ---- */

/* Evaluates at t->step. record: append the rows to eval.csv and keep best.h5 (else only the
 * table, for a finished run resumed). Returns 0, 1 when interrupted by a signal (nothing
 * recorded; the loop writes the checkpoint and stops), -1 on failure. */
static int evaluate(Trainer *t, int print_table, int quiet, int record, LgErr *err) {
    int rc = eval_sweep(&t->e, -1, t->results, err);
    if (rc != 0) return rc < 0 ? -1 : 1;   /* 1: interrupted; the loop writes the checkpoint and stops */
    if (record) {
        char csv_path[700];
        rundir_file(csv_path, sizeof csv_path, t->run.dir, RUNDIR_EVAL_CSV);
        if (eval_write_csv(t->run.eval_csv, csv_path, &t->e, t->step, t->results, t->n_results, NULL, err) != 0)
            return -1;
    }
    double score = eval_score(&t->e, t->results, t->n_results, t->e.cfg.eval.best_metric);
    if (print_table) {
        end_progress_line(t);
        eval_print_table(stdout, &t->e, t->step, t->results, t->n_results);
    } else if (!quiet && !t->tty) {
        printf("eval at step %ld: %s %.4f (mean over %s lengths, %s)\n", t->step, t->e.cfg.eval.best_metric,
               score, t->e.cfg.eval.n_best_lengths ? "[eval] best_lengths'" : "all", task_name(t->e.tasks[0]));
    }
    /* compared as stored (float): a tie is a tie whichever way the double rounds */
    float f = (float)score;
    int latest = !strcmp(t->e.cfg.eval.best_ties, "latest");
    if (record && (f > t->best || (latest && f == t->best))) {
        t->best = f;
        if (save_ckpt(t, t->run.best, err) != 0) return -1;
    }
    return 0;
}

static int eval_due(const TrainConfig *tr, long step) {
    return (tr->eval_every > 0 && step % tr->eval_every == 0) || step == tr->steps;
}

static void count_rows_at(void *ctx, const RundirEvalRow *r) {
    long *c = ctx;
    if (r->step == c[0]) c[1]++;
}

/* Whether eval.csv has rows of the evaluation at t->step (a resumed run redoes one that was
 * interrupted, which left none). */
static int evaluated_at(const Trainer *t) {
    char path[700];
    rundir_file(path, sizeof path, t->run.dir, RUNDIR_EVAL_CSV);
    long c[2] = {t->step, 0};
    rundir_read_eval(path, count_rows_at, c);
    return c[1] > 0;
}

/* ---- setup ---- */

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* What --resume ARG names: a folder is that run folder and its ckpt.h5; a file is that
 * checkpoint, in the folder that holds it. */
static void resume_paths(const char *arg, char *dir, size_t dcap, char *ckpt, size_t ccap) {
    if (is_dir(arg)) {
        snprintf(dir, dcap, "%s", arg);
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
        rundir_file(ckpt, ccap, dir, RUNDIR_CKPT);
        return;
    }
    snprintf(ckpt, ccap, "%s", arg);
    const char *slash = strrchr(arg, '/');
    if (!slash) snprintf(dir, dcap, ".");
    else if (slash == arg) snprintf(dir, dcap, "/");
    else snprintf(dir, dcap, "%.*s", (int)(slash - arg), arg);
}

/* Resuming `ckpt` into its own folder must not throw away a newer history there: refuses when
 * ckpt is not the folder's ckpt.h5 and the folder's ckpt.h5 (or train.csv) is past its step. */
static int check_not_older(const Trainer *t, const char *ckpt, long step, const char *arg, LgErr *err) {
    if (same_file(ckpt, t->run.ckpt)) return 0;
    struct stat st;
    long newer = stat(t->run.ckpt, &st) == 0 ? ckpt_step_of(t->run.ckpt) : rundir_last_train_step(t->run.dir);
    const char *what = stat(t->run.ckpt, &st) == 0 ? t->run.ckpt : "its train.csv";
    if (stat(t->run.ckpt, &st) == 0 && newer < 0) newer = LONG_MAX;   /* unreadable: keep it */
    if (newer <= step) return 0;
    char at[64] = "an unreadable state";
    if (newer != LONG_MAX) snprintf(at, sizeof at, "step %ld", newer);
    return lg_err(err, "%s is at step %ld but run folder %s is further (%s is at %s); resuming from it "
                  "there would throw the newer steps away. Continue the run with `lengen train --resume %s`, "
                  "or start a new run folder from this checkpoint with `lengen train --resume %s --fork NEWDIR`",
                  ckpt, step, t->run.dir, what, at, t->run.dir, arg);
}

/* How a run starts: fresh from a config, continuing a checkpoint in its own folder, or forked
 * from a checkpoint into a new folder. */
typedef enum { START_NEW, START_CONTINUE, START_FORK } StartMode;

/* Takes the run folder's lock (creating the folder) before anything in it is written or
 * checked. Rank 0 alone writes the folder, so it alone locks it (dist.h). */
static int lock_run(Trainer *t, LgErr *err) {
    if (t->rank > 0) return 0;
    if (lg_mkdir_p(t->run.dir, err) != 0) return -1;
    return rundir_lock(t->run.dir, "train", 1, &t->lock_fd, err);
}

/* A run folder without a checkpoint (stopped before its first one) resumed: its config.ini,
 * with the overrides, from step 0. */
static int restart_from_config(Trainer *t, const TrainOptions *o, LgErr *err) {
    char path[700];
    rundir_file(path, sizeof path, t->run.dir, RUNDIR_CONFIG);
    Config cfg;
    cfg_defaults(&cfg);
    if (cfg_load_file(&cfg, path, err) != 0) return -1;
    for (int i = 0; i < o->n_overrides; i++)
        if (cfg_set(&cfg, o->overrides[i], err) != 0) return -1;
    if (exp_build(&t->e, &cfg, err) != 0) return -1;
    if (t->rank == 0)
        fprintf(stderr, "lengen train: %s has no checkpoint yet (the run stopped before its first one); "
            "starting it over from step 0 with its config.ini\n", t->run.dir);
    return 0;
}

/* Resolves --resume/--fork: loads the experiment and its checkpoint (left open in *f, *have_f
 * set) and sets the run folder, locked. Returns 0, -2 on bad input, -1 on other failures. */
static int setup_resume(Trainer *t, const TrainOptions *o, StartMode *mode, CkptFile *f, int *have_f, LgErr *err) {
    char dir[512], ckpt[600];
    resume_paths(o->resume, dir, sizeof dir, ckpt, sizeof ckpt);
    if (o->fork) {
        *mode = START_FORK;
        if (exp_load(&t->e, ckpt, o->overrides, o->n_overrides, f, err) != 0) return -2;
        *have_f = 1;
        /* a fork is a new run: its lengths are checked as a new run's */
        if (exp_check_lengths(&t->e, err) != 0) return -2;
        rundir_init_at(&t->run, o->fork);
        if (lock_run(t, err) != 0) return -1;
        if (t->rank == 0 && rundir_state(t->run.dir) != RUNDIR_EMPTY)
            return lg_err(err, "--fork %s: that folder already holds a run; fork into a new folder", o->fork), -2;
        return 0;
    }
    *mode = START_CONTINUE;
    if (!is_dir(dir)) return lg_err(err, "%s: no such run folder or checkpoint", o->resume), -2;
    rundir_init_at(&t->run, dir);
    if (lock_run(t, err) != 0) return -1;
    struct stat st;
    if (is_dir(o->resume) && stat(ckpt, &st) != 0 && rundir_state(dir) == RUNDIR_NO_CKPT) {
        *mode = START_NEW;
        return restart_from_config(t, o, err) != 0 ? -2 : 0;
    }
    if (exp_load(&t->e, ckpt, o->overrides, o->n_overrides, f, err) != 0) return -2;
    *have_f = 1;
    return check_not_older(t, ckpt, (long)f->step, o->resume, err) != 0 ? -2 : 0;
}

/* The forked folder's files: config.ini, the source's CSV rows up to the step, and best.h5
 * when the source's is not past the step (else the fork forgets its best score, so its next
 * evaluation writes a best.h5 of its own). */
static int start_fork(Trainer *t, const TrainOptions *o, LgErr *err) {
    char src_dir[512], src_ckpt[600], src_best[700];
    resume_paths(o->resume, src_dir, sizeof src_dir, src_ckpt, sizeof src_ckpt);
    char path[700];
    rundir_file(path, sizeof path, t->run.dir, RUNDIR_CONFIG);
    char *text = cfg_to_string(&t->e.cfg);
    int rc = lg_write_atomic(path, text, strlen(text), NULL, 0, err);
    lg_free(text);
    if (rc != 0) return -1;
    if (rundir_fork_history(&t->run, src_dir, t->step, err) != 0) return -1;
    rundir_file(src_best, sizeof src_best, src_dir, RUNDIR_BEST);
    struct stat st;
    if (stat(src_best, &st) == 0 && ckpt_step_of(src_best) >= 0 && ckpt_step_of(src_best) <= t->step)
        return rundir_copy_file(src_best, t->run.best, err);
    t->best = -1;
    return 0;
}

/* Returns 0, -2 when the experiment cannot be built (bad config, task or checkpoint) or the
 * resume is refused, -1 on other failures. */
static int setup(Trainer *t, const Config *cfg, const TrainOptions *o, LgErr *err) {
    memset(t, 0, sizeof *t);
    t->best = -1;
    t->lock_fd = -1;
    t->rank = dist_rank();
    t->size = dist_size();
    CkptFile f;
    int have_f = 0, bad = 0;
    StartMode mode = START_NEW;
    /* a config, task or checkpoint the experiment cannot be built from is bad input: -2 */
    if (o->resume) {
        bad = setup_resume(t, o, &mode, &f, &have_f, err);
    } else if (exp_build(&t->e, cfg, err) != 0) {
        bad = -2;
    } else {
        rundir_init(&t->run, &t->e.cfg);
        if (lock_run(t, err) != 0) bad = -1;
    }
    if (bad) goto fail;
    const Config *c = &t->e.cfg;
    lg_set_threads(dist_threads(c->run.threads));
    const char *names[CFG_MAX_TASKS];
    for (int i = 0; i < t->e.n_tasks; i++) names[i] = task_name(t->e.tasks[i]);
    optim_init(&t->opt, &c->train, &t->e.model.params);
    bad = -1;
    if (data_init(&t->data, c, t->e.tasks, t->e.n_tasks, err) != 0) goto fail;
    batch_init(&t->batch, c->train.batch_size, data_max_T(&t->data));
    if (t->size > 1) {
        if (c->train.batch_size < t->size) {
            lg_err(err, "[train] batch_size = %d is fewer rows than the job's %d ranks (each rank trains on its "
                   "rows of the global batch); raise batch_size or start fewer ranks", c->train.batch_size, t->size);
            bad = -2;
            goto fail;
        }
        batch_init(&t->slice, (c->train.batch_size + t->size - 1) / t->size, data_max_T(&t->data));
    }
    Rng base;
    rng_seed(&base, c->run.seed);
    t->model_rng = rng_fork(&base, RNG_LABEL_MODEL);
    ag_init(&t->g, (size_t)16 << 20);
    t->n_results = t->e.n_tasks * c->eval.n_lengths;
    t->results = lg_calloc((size_t)t->n_results, sizeof *t->results, "eval results");
    t->task_nll = lg_calloc((size_t)t->e.n_tasks, sizeof *t->task_nll, "task losses");
    t->task_count = lg_calloc((size_t)t->e.n_tasks, sizeof *t->task_count, "task counts");
    step_init(&t->stepper, &t->e.model, &t->opt, &t->g, &t->model_rng, &c->train, c->train.batch_size,
              data_max_T(&t->data), t->task_nll, t->task_count, t->e.n_tasks);
    t->tty = !o->quiet && t->rank == 0 && isatty(STDERR_FILENO);

    if (have_f) {
        if (load_state(t, &f, err) != 0) goto fail;
        ckpt_close(&f);
        have_f = 0;
        if (data_seek(&t->data, t->step * c->train.grad_accum, err) != 0) goto fail;
        if (t->step > c->train.steps) {
            lg_err(err, "%s is at step %ld, past [train] steps = %d; raise it with --set train.steps=N",
                   o->resume, t->step, c->train.steps);
            goto fail;
        }
        if (t->rank == 0 && mode == START_FORK && start_fork(t, o, err) != 0) goto fail;
        if (t->rank == 0 && rundir_continue(&t->run, names, t->e.n_tasks, t->step, err) != 0) goto fail;
    } else if (t->rank == 0) {
        if (!o->resume && rundir_state(t->run.dir) == RUNDIR_NO_CKPT && !o->force)
            fprintf(stderr, "lengen train: %s holds a run stopped before its first checkpoint; starting it over\n",
                    t->run.dir);
        char *text = cfg_to_string(c);
        int rc = rundir_create(&t->run, text, names, t->e.n_tasks, o->force, err);
        lg_free(text);
        if (rc != 0) goto fail;
    }
    /* rank 0 continues the run's own dropout / random-position stream; the others fork theirs
     * from it (the checkpoint keeps rank 0's, so a resume with any number of ranks is defined) */
    if (t->rank > 0) t->model_rng = rng_fork(&t->model_rng, (uint64_t)t->rank);
    return 0;
fail:
    if (have_f) ckpt_close(&f);
    return bad;
}

static void teardown(Trainer *t) {
    rundir_close(&t->run, NULL);
    rundir_unlock(t->lock_fd);
    lg_free(t->results);
    lg_free(t->task_nll);
    lg_free(t->task_count);
    step_free(&t->stepper);
    ag_free(&t->g);
    batch_free(&t->batch);
    if (t->size > 1) batch_free(&t->slice);
    data_free(&t->data);
    optim_free(&t->opt);
    exp_free(&t->e);
}

/* ---- the loop ---- */

int train_run(const Config *cfg, const TrainOptions *o) {
    Trainer t;
    LgErr err = {{0}};
    int bad = setup(&t, cfg, o, &err);
    if (dist_size() > 1) {
        /* the job goes on only if every rank is set up; rank 0's message is the one printed
         * unless rank 0 was fine (then each failing rank says why) */
        double v[2] = {bad, dist_rank() == 0 ? bad : 0};
        dist_reduce_f64(v, 2, DIST_MIN);
        if (bad && (dist_rank() == 0 || v[1] == 0)) fprintf(stderr, "lengen train: rank %d: %s\n", dist_rank(), err.msg);
        if (!bad && v[0] < 0) bad = (int)v[0];
        if (bad) {
            teardown(&t);
            return bad == -2 ? 2 : 1;
        }
    }
    if (bad) {
        fprintf(stderr, "lengen train: %s\n", err.msg);
        teardown(&t);
        return bad == -2 ? 2 : 1;
    }
    const Config *c = &t.e.cfg;
    const TrainConfig *tr = &c->train;
    struct sigaction old_sa[2];
    catch_signals(old_sa);
    /* ranks > 0 are silent; an evaluation (rank 0's alone) is not cut short by a signal when
     * others wait for it: the ranks agree on stopping after each step instead */
    int quiet = o->quiet || t.rank > 0;
    if (t.size > 1) eval_set_interrupt(NULL);

    if (!quiet && t.size > 1)
        printf("lengen train: run %s, %s, %zu parameters, %d ranks x %d threads, global batch %d, steps %ld..%d\n",
               t.run.dir, task_name(t.e.tasks[0]), model_num_params(&t.e.model), t.size, lg_threads(),
               tr->batch_size, t.step, tr->steps);
    else if (!quiet)
        printf("lengen train: run %s, %s, %zu parameters, %d threads, steps %ld..%d\n", t.run.dir,
               task_name(t.e.tasks[0]), model_num_params(&t.e.model), lg_threads(), t.step, tr->steps);
    int rc = 0;
    long start_step = t.step, log_tokens = 0;
    double t0 = lg_seconds(), t_log = t0;
    double loss_log = 0;
    int n_log = 0;
    int evaluated_at_end = 0, cut = 0;
    if (t.rank == 0 && t.step > 0 && eval_due(tr, t.step) && !evaluated_at(&t)) {
        /* the evaluation at the checkpoint's step was interrupted: redo it first */
        int ev = evaluate(&t, t.step == tr->steps && !quiet, quiet, 1, &err);
        if (ev < 0) {
            fprintf(stderr, "lengen train: evaluation at step %ld: %s\n", t.step, err.msg);
            rc = 1;
        }
        evaluated_at_end = ev == 0 && t.step == tr->steps;
        cut = ev == 1;
    }
    while (rc == 0 && !cut && t.step < tr->steps) {
        float lr = optim_lr_at(tr, (int)t.step), loss, norm;
        long tokens;
        if (train_step(&t, lr, &loss, &norm, &tokens, &err) != 0) {
            /* every rank draws the same stream, so every rank fails here alike */
            end_progress_line(&t);
            if (t.rank == 0) fprintf(stderr, "lengen train: step %ld: %s\n", t.step + 1, err.msg);
            rc = 1;
            break;
        }
        if (!isfinite(loss) || !isfinite(norm)) {
            end_progress_line(&t);
            if (t.rank == 0) fprintf(stderr, "lengen train: step %ld: %s is %s; stopping. The last good checkpoint is %s "
                    "(if any). Try a lower [train] lr, a [train] grad_clip, or more warmup.\n",
                    t.step + 1, isfinite(loss) ? "the gradient norm" : "the loss",
                    isfinite(loss) ? (isnan(norm) ? "nan" : "inf") : (isnan(loss) ? "nan" : "inf"),
                    t.run.ckpt);
            rc = 1;
            break;
        }
        t.step++;
        loss_log += loss;
        n_log++;
        log_tokens += tokens;
        int last = t.step == tr->steps;
        if (t.step % tr->log_every == 0 || last) {
            double now = lg_seconds();
            double tok_s = log_tokens / (now - t_log > 1e-9 ? now - t_log : 1e-9);
            if (log_row(&t, loss_log / n_log, lr, norm, tok_s, now - t0, &err) != 0) {
                end_progress_line(&t);
                fprintf(stderr, "lengen train: %s\n", err.msg);
                if (t.size > 1) dist_abort(1);   /* the other ranks wait in the next step */
                rc = 1;
                break;
            }
            if (!quiet) progress(&t, (float)(loss_log / n_log), tok_s, now - t0, start_step);
            loss_log = 0;
            n_log = 0;
            log_tokens = 0;
            t_log = now;
        }
        int stopping = t.size > 1 ? t.stop_all : stop_signal != 0;
        if (eval_due(tr, t.step)) {
            int ev = t.rank == 0 ? evaluate(&t, last && !quiet, quiet, 1, &err) : 0;
            if (ev < 0) {
                fprintf(stderr, "lengen train: evaluation at step %ld: %s\n", t.step, err.msg);
                if (t.size > 1) dist_abort(1);   /* the other ranks wait in the next step */
                rc = 1;
                break;
            }
            evaluated_at_end = last && ev == 0;
        }
        if ((tr->ckpt_every > 0 && t.step % tr->ckpt_every == 0) || last ||
            stopping || (o->stop_at > 0 && t.step == o->stop_at)) {
            if (t.size > 1) check_replicas(&t);
            /* the CSV rows up to this step reach the disk before the checkpoint that ends them */
            if (t.rank == 0 && (rundir_sync(&t.run, &err) != 0 || save_ckpt(&t, t.run.ckpt, &err) != 0)) {
                end_progress_line(&t);
                fprintf(stderr, "lengen train: %s\n", err.msg);
                if (t.size > 1) dist_abort(1);
                rc = 1;
                break;
            }
        }
        if (stopping || (o->stop_at > 0 && t.step == o->stop_at)) {
            end_progress_line(&t);
            int sig = stop_signal ? stop_signal : SIGINT;
            if (t.rank == 0)
                fprintf(stderr, "lengen train: %s at step %ld; checkpoint written to %s; continue with "
                        "`lengen train --resume %s`\n", stopping ? "interrupted" : "stopped (--stop-at)",
                        t.step, t.run.ckpt, t.run.dir);
            rc = 128 + sig;
            break;
        }
    }
    if (rc == 0 && !stop_signal && !evaluated_at_end && !quiet) {
        /* resumed at the last step, already evaluated: show the table (eval.csv has its rows) */
        if (evaluate(&t, 1, quiet, 0, &err) < 0) {
            fprintf(stderr, "lengen train: evaluation: %s\n", err.msg);
            rc = 1;
        }
    }
    if (rc == 0 && stop_signal) {
        /* interrupted outside the loop's own stop (the redone or the final table's evaluation):
         * the checkpoint on disk is at this step already */
        end_progress_line(&t);
        if (t.rank == 0)
            fprintf(stderr, "lengen train: interrupted at step %ld during evaluation; continue with "
                    "`lengen train --resume %s`\n", t.step, t.run.dir);
        rc = 128 + stop_signal;
    }
    if (rundir_close(&t.run, &err) != 0 && rc == 0) {
        fprintf(stderr, "lengen train: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0 && !quiet && t.size > 1 && t.step > start_step) {
        double wall = lg_seconds() - t0;
        printf("gradient allreduce (rank 0, waiting for the slowest rank included): %.2f ms/step, %.1f%% of the %.1f "
               "ms a step took (wall time, evaluations included); %zu floats (%.2f MB) a step\n",
               1e3 * t.reduce_s / (t.step - start_step), 100 * t.reduce_s / wall, 1e3 * wall / (t.step - start_step),
               t.e.model.params.n, 4e-6 * (double)t.e.model.params.n);
    }
    if (rc == 0 && !quiet)
        printf("run folder: %s (train.csv, eval.csv, ckpt.h5, best.h5)\n", t.run.dir);
    restore_signals(old_sa);
    teardown(&t);
    return rc;
}
