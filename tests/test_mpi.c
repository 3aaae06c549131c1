/* Tests of data-parallel training on MPI, with the real OpenMPI on loopback: `mpirun -np 2
 * lengen-mpi train` gives the loss curve of one process training the same global batch (to
 * float rounding), with fresh examples or a fixed training set; a 2-rank checkpoint resumes
 * on one process as the uninterrupted run goes on; and a batch smaller than the job is
 * refused. The MPI binary is $LENGEN_MPI_BIN (make test builds it with `make MPI=1`); the
 * one-process runs use $LENGEN_BIN. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli_run.h"
#include "files.h"
#include "test.h"

static char out[1 << 16];

/* Runs `mpirun -np N lengen-mpi ARGS` (stderr merged into out); returns the exit status.
 * Ranks are not bound to cores (the machine may be busy) and may oversubscribe them; as
 * root, OpenMPI wants both ALLOW_RUN_AS_ROOT variables. */
static int mpi_run(int np, const char *args) {
    const char *bin = getenv("LENGEN_MPI_BIN");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 "
             "OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo "
             "mpirun -np %d --oversubscribe --bind-to none %s %s 2>&1",
             np, bin && *bin ? bin : "./lengen-mpi", args);
    return shell_output(cmd, out, sizeof out);
}

/* copy with a loss mask on the answer, lengths 1..8 (rows of different lengths, so the ranks'
 * shares of loss positions differ), two micro-batches a step, length split, bucketing */
static const char *base_ini =
    "[model]\nlayers = 1\nheads = 2\nd_model = 16\nmax_pos = 64\nposenc = learned\n"
    "[task]\nmain = copy\nalphabet = 6\n"
    "[train]\nsteps = 20\nbatch_size = 15\nwarmup = 5\nlr = 3e-3\nmin_length = 1\nmax_length = 8\n"
    "grad_accum = 2\nlength_split = 2\nbucket = 4\nlog_every = 1\neval_every = 20\nckpt_every = 10\n"
    "[eval]\nlengths = 2,4,8\nn = 20\n";

static int setup(char *dir, size_t cap) {
    if (!test_tmpdir(dir, cap)) return 0;
    char path[300];
    snprintf(path, sizeof path, "%s/base.ini", dir);
    return EXPECT(write_text(path, base_ini), "cannot write %s", path);
}

typedef struct Curve {
    int n;
    long step[64];
    double loss[64], task_loss[64], norm[64];
} Curve;

/* train.csv: step,loss,loss_copy,lr,grad_norm,... */
static int read_curve(const char *dir, const char *run, Curve *c) {
    char path[400], line[512];
    snprintf(path, sizeof path, "%s/runs/%s/train.csv", dir, run);
    FILE *f = fopen(path, "r");
    if (!f) return EXPECT(0, "no %s", path);
    c->n = 0;
    while (fgets(line, sizeof line, f) && c->n < 64) {
        double lr;
        if (sscanf(line, "%ld,%lf,%lf,%lf,%lf", &c->step[c->n], &c->loss[c->n], &c->task_loss[c->n], &lr,
                   &c->norm[c->n]) == 5)
            c->n++;
    }
    fclose(f);
    return 1;
}

/* Every step of b equals a's step (loss, the task's mean nll, the gradient norm before
 * clipping), to float rounding. */
static void check_same_curve(const char *dir, const char *ra, const char *rb, int want_rows) {
    Curve a, b;
    if (!read_curve(dir, ra, &a) || !read_curve(dir, rb, &b)) return;
    CHECK(a.n == want_rows && b.n == want_rows, "%s has %d rows, %s %d; want %d", ra, a.n, rb, b.n, want_rows);
    for (int i = 0; i < a.n; i++) {
        CHECK(a.step[i] == b.step[i], "row %d: step %ld vs %ld", i, a.step[i], b.step[i]);
        CHECK_NEAR(b.loss[i], a.loss[i], 1e-5, 1e-4, "loss at step %ld", a.step[i]);
        CHECK_NEAR(b.task_loss[i], a.task_loss[i], 1e-5, 1e-4, "loss_copy at step %ld", a.step[i]);
        CHECK_NEAR(b.norm[i], a.norm[i], 1e-5, 1e-4, "grad norm at step %ld", a.step[i]);
    }
}

/* `lengen train` of base.ini into run `run` with the options `extra`, as one process (ranks
 * 0) or as a job of that many ranks; returns the exit status (output in out). */
static int train(int ranks, const char *dir, const char *run, const char *extra) {
    char args[800];
    snprintf(args, sizeof args, "train %s/base.ini --set run.out_dir=%s/runs --set run.name=%s --threads 1 %s", dir,
             dir, run, extra);
    return ranks ? mpi_run(ranks, args) : cli_run(args, out, sizeof out);
}

static int one_process(const char *dir, const char *run, const char *extra) {
    char opts[300];
    snprintf(opts, sizeof opts, "--quiet %s", extra);
    return train(0, dir, run, opts);
}

TEST(mpi_two_ranks_train_the_one_process_curve) {
    char dir[64];
    if (!setup(dir, sizeof dir)) return;
    int rc = one_process(dir, "one", "");
    CHECK(rc == 0, "exit %d: %s", rc, out);
    rc = train(2, dir, "two", "");
    CHECK(rc == 0, "exit %d: %s", rc, out);
    /* one job of two ranks, not two separate processes training the same run */
    CHECK(strstr(out, "2 ranks x 1 threads, global batch 15"), "%s", out);
    CHECK(strstr(out, "gradient allreduce (rank 0") && strstr(out, "4512 floats"), "rank 0's allreduce time: %s", out);
    const char *end = strstr(out, "run folder:");
    CHECK(end && !strstr(end + 1, "run folder:"), "not exactly one rank printed the end of the run: %s", out);
    check_same_curve(dir, "one", "two", 20);
}

/* A fixed training set (train.examples) is served from the one global stream too: 37 examples
 * in batches of 15 rows, so epochs end inside batches and inside the bucketing pools, and each
 * rank's rows come from both sides of an epoch's end. */
TEST(mpi_two_ranks_train_a_fixed_set_like_one_process) {
    char dir[64];
    if (!setup(dir, sizeof dir)) return;
    int rc = one_process(dir, "one", "--set train.examples=37");
    CHECK(rc == 0, "exit %d: %s", rc, out);
    rc = train(2, dir, "two", "--set train.examples=37 --quiet");
    CHECK(rc == 0, "exit %d: %s", rc, out);
    check_same_curve(dir, "one", "two", 20);
    /* and the set is not the fresh stream: its curve differs from a run without it */
    rc = one_process(dir, "fresh", "");
    CHECK(rc == 0, "exit %d: %s", rc, out);
    Curve a, b;
    if (!read_curve(dir, "one", &a) || !read_curve(dir, "fresh", &b)) return;
    CHECK(a.n == 20 && b.n == 20 && a.loss[19] != b.loss[19], "a fixed set trained the fresh stream's curve (%d, %d rows)",
          a.n, b.n);
}

TEST(mpi_two_rank_checkpoint_resumes_on_one_process) {
    char dir[64], args[800];
    if (!setup(dir, sizeof dir)) return;
    int rc = one_process(dir, "whole", "");
    CHECK(rc == 0, "exit %d: %s", rc, out);
    rc = train(2, dir, "split", "--quiet --stop-at 10");
    CHECK(rc == 130, "--stop-at under mpirun exits as interrupted, got %d: %s", rc, out);
    snprintf(args, sizeof args, "train --resume %s/runs/split --threads 1 --quiet", dir);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "resume on one process: exit %d: %s", rc, out);
    check_same_curve(dir, "whole", "split", 20);
}

TEST(mpi_one_process_checkpoint_resumes_on_two_ranks) {
    char dir[64], args[800];
    if (!setup(dir, sizeof dir)) return;
    int rc = one_process(dir, "whole", "");
    CHECK(rc == 0, "exit %d: %s", rc, out);
    rc = one_process(dir, "grown", "--stop-at 7");
    CHECK(rc == 130, "exit %d: %s", rc, out);
    snprintf(args, sizeof args, "train --resume %s/runs/grown --threads 1 --quiet", dir);
    rc = mpi_run(2, args);
    CHECK(rc == 0, "resume on two ranks: exit %d: %s", rc, out);
    check_same_curve(dir, "whole", "grown", 20);
}

TEST(mpi_refuses_a_batch_smaller_than_the_job) {
    char dir[64];
    if (!setup(dir, sizeof dir)) return;
    int rc = train(2, dir, "tiny", "--set train.batch_size=1 --quiet");
    CHECK(rc == 2, "exit %d: %s", rc, out);
    CHECK(strstr(out, "batch_size = 1 is fewer rows than the job's 2 ranks"), "%s", out);
}

TEST(mpi_sweep_shares_the_runs_among_ranks) {
    char dir[64], path[300], text[1200];
    if (!setup(dir, sizeof dir)) return;
    snprintf(path, sizeof path, "%s/sweep.ini", dir);
    snprintf(text, sizeof text,
             "[sweep]\nbase = %s/base.ini\nname = s\nout_dir = %s/runs\nthreads = 1\nworkers = 1\n"
             "set = train.steps=10\nset = train.eval_every=10\n[grid]\nmodel.posenc = learned, nope\nrun.seed = 1, 2\n",
             dir, dir);
    CHECK(write_text(path, text), "cannot write %s", path);
    char args[400];
    snprintf(args, sizeof args, "sweep %s", path);
    int rc = mpi_run(2, args);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    /* rank 0 trained runs 0 and 2, rank 1 runs 1 and 3; rank 0 alone wrote the table */
    CHECK(strstr(out, "2 of the 4 runs") && strstr(out, "(runs 0, 2, ...)") && strstr(out, "(runs 1, 3, ...)"), "%s", out);
    const char *t = strstr(out, "table:");
    CHECK(t && !strstr(t + 1, "table:"), "not exactly one table: %s", out);
    snprintf(path, sizeof path, "%s/runs/s/results.csv", dir);
    FILE *f = fopen(path, "r");
    CHECK(f, "no %s", path);
    int rows = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) rows += strstr(line, ",10,") != NULL;   /* step 10 in every row */
    fclose(f);
    CHECK(rows == 4, "%d of 4 runs in results.csv at step 10", rows);
}
