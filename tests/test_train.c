/* Tests of training and evaluation end to end: a tiny model learns copy, a resumed run equals
 * an uninterrupted one bit for bit, bad checkpoints are refused, a signal writes a checkpoint,
 * and a diverging run stops without overwriting the last good checkpoint. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/config.h"
#include "../src/eval.h"
#include "../src/experiment.h"
#include "../src/train.h"
#include "../src/util.h"
#include "files.h"
#include "test.h"

/* A tiny copy experiment: 2 layers, d 32, copy of 1..6 symbols from 6, rope. */
static const char *copy_ini =
    "[model]\nlayers = 2\nheads = 2\nd_model = 32\nmax_pos = 64\nposenc = learned\n"
    "[task]\nmain = copy\nalphabet = 6\n"
    "[train]\nsteps = 800\nbatch_size = 32\nlr = 3e-3\nmin_lr = 3e-4\nwarmup = 20\n"
    "min_length = 1\nmax_length = 6\nlog_every = 10\neval_every = 0\nckpt_every = 0\n"
    "weight_decay = 0.0\n"
    "[eval]\nlengths = 2,4,6\nn = 100\n"
    "[run]\nname = t\nseed = 3\n";

static int make_config(Config *c, const char *ini, const char *dir, const char *extra) {
    LgErr err;
    cfg_defaults(c);
    if (cfg_load_string(c, ini, "test", &err) != 0) return EXPECT(0, "%s", err.msg);
    char set[600];
    snprintf(set, sizeof set, "run.out_dir=%s", dir);
    if (cfg_set(c, set, &err) != 0) return EXPECT(0, "%s", err.msg);
    if (extra) {
        char buf[600];
        snprintf(buf, sizeof buf, "%s", extra);
        for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " "))
            if (cfg_set(c, tok, &err) != 0) return EXPECT(0, "%s", err.msg);
    }
    if (cfg_validate(c, &err) != 0) return EXPECT(0, "%s", err.msg);
    return 1;
}

/* train.csv with the timing columns (tokens_per_s, elapsed_s: the last two) cut off. */
static char *losses_of(const char *dir, const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s/train.csv", dir, name);
    char *s = test_read_file(path, NULL);
    if (!s) return NULL;
    char *out = malloc(strlen(s) + 1), *o = out;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strrchr(line, ',');
        if (c1) *c1 = 0;
        char *c2 = strrchr(line, ',');
        if (c2) *c2 = 0;
        o += sprintf(o, "%s\n", line);
    }
    lg_free(s);
    return out;
}

TEST(train_tiny_model_learns_copy) {
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    Config c;
    if (!make_config(&c, copy_ini, dir, NULL)) return;
    TrainOptions o = {.quiet = 1};
    CHECK(train_run(&c, &o) == 0);
    char ck[600];
    snprintf(ck, sizeof ck, "%s/t", dir);
    Experiment e;
    LgErr err;
    CHECK(exp_load(&e, ck, NULL, 0, NULL, &err) == 0, "%s", err.msg);
    for (int len = 2; len <= 6; len += 2) {
        EvalResult r;
        CHECK(eval_task_length(&e, 0, len, 200, 64, &r, NULL, NULL, &err) == 0, "%s", err.msg);
        CHECK(r.n == 200 && r.exact_match >= 0.95, "copy length %d: exact match %.3f < 0.95", len, r.exact_match);
    }
    exp_free(&e);
}

/* Trains 60 steps straight and as 25 + 35 (interrupted, resumed); train.csv and eval.csv must
 * match. `bucket` and `examples` are the [train] settings. */
static void check_resume_bit_identical(const char *bucket, int threads, int examples) {
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    Config a, b;
    /* dropout and random positions on, so every Rng stream matters */
    char extra[400];
    snprintf(extra, sizeof extra, "train.steps=60 train.log_every=5 train.eval_every=20 model.dropout=0.1 "
             "model.random_positions=true model.random_max_pos=128 model.max_pos=64 train.bucket=%s run.threads=%d "
             "train.examples=%d", bucket, threads, examples);
    if (!make_config(&a, copy_ini, dir, extra)) return;
    if (!make_config(&b, copy_ini, dir, extra)) return;
    snprintf(b.run.name, sizeof b.run.name, "resumed");
    TrainOptions o = {.quiet = 1};
    CHECK(train_run(&a, &o) == 0);
    TrainOptions stop = {.quiet = 1, .stop_at = 25};
    CHECK(train_run(&b, &stop) == 128 + SIGINT, "--stop-at behaves as an interruption");
    char run[600];
    snprintf(run, sizeof run, "%s/resumed", dir);
    TrainOptions res = {.quiet = 1, .resume = run};
    CHECK(train_run(NULL, &res) == 0);
    char *la = losses_of(dir, "t"), *lb = losses_of(dir, "resumed");
    CHECK(la && lb);
    int same = strcmp(la, lb) == 0;
    if (!same) fprintf(stderr, "uninterrupted:\n%s\nresumed:\n%s\n", la, lb);
    free(la);
    free(lb);
    CHECK(same, "bucket = %s, %d threads, examples = %d: losses after resume differ from the uninterrupted run", bucket,
          threads, examples);
    char ea[600], eb[600];
    snprintf(ea, sizeof ea, "%s/t/eval.csv", dir);
    snprintf(eb, sizeof eb, "%s/resumed/eval.csv", dir);
    char *xa = test_read_file(ea, NULL), *xb = test_read_file(eb, NULL);
    CHECK(xa && xb && strcmp(xa, xb) == 0, "eval.csv differs after resume");
    lg_free(xa);
    lg_free(xb);
}

/* Column `col` (0-based) of the train.csv rows of run `name`, into v; returns the rows read. */
static int csv_column(const char *dir, const char *name, int col, double *v, int max) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s/train.csv", dir, name);
    char *s = test_read_file(path, NULL);
    if (!s) return 0;
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(s, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] < '0' || line[0] > '9') continue;   /* header */
        const char *f = line;
        for (int c = 0; c < col && f; c++) {
            f = strchr(f, ',');
            if (f) f++;
        }
        v[n++] = f ? atof(f) : NAN;
    }
    lg_free(s);
    return n;
}

TEST(train_length_split_gives_the_unsplit_gradient) {
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    Config a, b;
    /* copy with hints of another loss weight, grad_accum 2; grad_clip off so the norm is raw */
    const char *extra = "train.steps=8 train.log_every=1 train.grad_clip=0 train.grad_accum=2 train.warmup=2 "
                        "task.hints=reverse:0.5 task.loss_weights=reverse:0.3 run.threads=1";
    if (!make_config(&a, copy_ini, dir, extra) || !make_config(&b, copy_ini, dir, extra)) return;
    a.train.length_split = 1;
    b.train.length_split = 4;
    snprintf(b.run.name, sizeof b.run.name, "split");
    TrainOptions o = {.quiet = 1};
    CHECK(train_run(&a, &o) == 0 && train_run(&b, &o) == 0);
    /* columns: step, loss, loss_copy, loss_reverse, lr, grad_norm */
    double la[8], lb[8], na[8], nb[8];
    CHECK(csv_column(dir, "t", 1, la, 8) == 8 && csv_column(dir, "split", 1, lb, 8) == 8);
    CHECK(csv_column(dir, "t", 5, na, 8) == 8 && csv_column(dir, "split", 5, nb, 8) == 8);
    for (int i = 0; i < 8; i++) {
        CHECK_NEAR(lb[i], la[i], 1e-5, 1e-4, "step %d loss", i + 1);
        CHECK_NEAR(nb[i], na[i], 1e-5, 1e-3, "step %d gradient norm", i + 1);
    }
}

TEST(train_resume_is_bit_identical) {
    check_resume_bit_identical("0", 1, 0);
    check_resume_bit_identical("0", 2, 0);
}

TEST(train_resume_is_bit_identical_mid_bucket_pool) {
    check_resume_bit_identical("8", 2, 0);   /* stopped after 25 batches: 1 of the 4th pool used */
}

/* a fixed set of 300: stopped after 25 batches of 32 = 800 examples, 200 into the third epoch
 * (bucketed: the pool of batches 24..31 starts 168 into it) */
TEST(train_resume_is_bit_identical_with_a_fixed_training_set) {
    check_resume_bit_identical("0", 1, 300);
    check_resume_bit_identical("8", 1, 300);
}

/* The step does not depend on the thread count (src/step.h): a small sort run with dropout
 * trains to the same losses and evaluation at 1 and 2 threads, run to run. */
TEST(train_two_threads_train_as_one) {
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    const char *sort_ini =
        "[model]\nlayers = 2\nheads = 2\nd_model = 32\nmax_pos = 64\nposenc = nope\ndropout = 0.1\n"
        "[task]\nmain = sort\nvalues = 0..19\n"
        "[train]\nsteps = 30\nbatch_size = 32\nlr = 3e-3\nwarmup = 5\nmin_length = 1\nmax_length = 8\n"
        "log_every = 1\neval_every = 15\nckpt_every = 0\n"
        "[eval]\nlengths = 4,8\nn = 20\n[run]\nname = t\nseed = 4\n";
    Config c[3];
    const char *names[3] = {"one", "two", "two_again"};
    for (int i = 0; i < 3; i++) {
        if (!make_config(&c[i], sort_ini, dir, NULL)) return;
        c[i].run.threads = i == 0 ? 1 : 2;
        snprintf(c[i].run.name, sizeof c[i].run.name, "%s", names[i]);
        TrainOptions o = {.quiet = 1};
        CHECK(train_run(&c[i], &o) == 0);
    }
    char *l[3], *e[3];
    for (int i = 0; i < 3; i++) {
        l[i] = losses_of(dir, names[i]);
        char path[600];
        snprintf(path, sizeof path, "%s/%s/eval.csv", dir, names[i]);
        e[i] = test_read_file(path, NULL);
        CHECK(l[i] && e[i]);
    }
    for (int i = 1; i < 3 && l[i] && e[i] && l[0] && e[0]; i++) {
        CHECK(strcmp(l[i], l[0]) == 0, "train.csv at 1 thread:\n%s\nat 2 threads:\n%s", l[0], l[i]);
        CHECK(strcmp(e[i], e[0]) == 0, "eval.csv differs between 1 and 2 threads");
    }
    for (int i = 0; i < 3; i++) {
        free(l[i]);
        lg_free(e[i]);
    }
}

TEST(train_refuses_bad_checkpoints) {
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    Config c;
    if (!make_config(&c, copy_ini, dir, "train.steps=10 train.warmup=2")) return;
    TrainOptions o = {.quiet = 1};
    CHECK(train_run(&c, &o) == 0);
    char ck[600], bad[600];
    snprintf(ck, sizeof ck, "%s/t/ckpt.h5", dir);
    LgErr err;
    Experiment e;
    /* truncated */
    snprintf(bad, sizeof bad, "%s/truncated.h5", dir);
    char *data = test_read_file(ck, NULL);
    struct stat st;
    CHECK(data && stat(ck, &st) == 0);
    FILE *f = fopen(bad, "wb");
    fwrite(data, 1, (size_t)st.st_size / 2, f);
    fclose(f);
    lg_free(data);
    CHECK(exp_load(&e, bad, NULL, 0, NULL, &err) != 0, "a truncated checkpoint must be refused");
    CHECK(strstr(err.msg, "truncated.h5") != NULL, "message names the file: %s", err.msg);
    /* mismatched: the stored weights do not fit a model with another width */
    const char *wider[] = {"model.d_model=64"};
    CHECK(exp_load(&e, ck, wider, 1, NULL, &err) != 0, "a checkpoint of another shape must be refused");
    CHECK(strstr(err.msg, "weight") != NULL || strstr(err.msg, "shape") != NULL, "names the dataset: %s", err.msg);
    /* not a checkpoint at all */
    snprintf(bad, sizeof bad, "%s/garbage.h5", dir);
    f = fopen(bad, "wb");
    fputs("this is not an HDF5 file\n", f);
    fclose(f);
    CHECK(exp_load(&e, bad, NULL, 0, NULL, &err) != 0);
    /* resume from a truncated file fails with a non-zero status and leaves no run behind */
    snprintf(bad, sizeof bad, "%s/truncated.h5", dir);
    TrainOptions r = {.quiet = 1, .resume = bad};
    CHECK(train_run(NULL, &r) == 2);
}

TEST(train_existing_run_needs_resume_or_force) {
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    Config c;
    if (!make_config(&c, copy_ini, dir, "train.steps=5 train.warmup=1")) return;
    TrainOptions o = {.quiet = 1};
    CHECK(train_run(&c, &o) == 0);
    CHECK(train_run(&c, &o) == 1, "a second run into the same folder must be refused");
    TrainOptions force = {.quiet = 1, .force = 1};
    CHECK(train_run(&c, &force) == 0);
}

TEST(train_stops_on_divergence_keeping_the_last_checkpoint) {
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    Config c;
    /* an absurd learning rate without clipping overflows within a few steps */
    if (!make_config(&c, copy_ini, dir,
                     "train.steps=200 train.warmup=0 train.schedule=constant train.lr=1e30 "
                     "train.min_lr=1e30 train.grad_clip=0 train.ckpt_every=1 train.optimizer=sgd")) return;
    TrainOptions o = {.quiet = 1};
    CHECK(train_run(&c, &o) == 1, "a diverging run must exit 1");
    char ck[600];
    snprintf(ck, sizeof ck, "%s/t/ckpt.h5", dir);
    Experiment e;
    LgErr err;
    CHECK(exp_load(&e, ck, NULL, 0, NULL, &err) == 0, "the last good checkpoint must load: %s", err.msg);
    for (size_t i = 0; i < e.model.params.n; i++)
        CHECK(isfinite(e.model.params.data[i]), "checkpoint holds a non-finite weight at %zu", i);
    exp_free(&e);
}

/* Runs `lengen train` on the copy experiment with `set1`..`set3` (config assignments) in a child,
 * waits until train.csv has `rows` lines (header included; at most 20 s), sends `sig`, and
 * checks the exit status is 128 + sig and ckpt.h5 loads at step >= min_step. */
static void interrupt_run(int sig, const char *set1, const char *set2, const char *set3, int rows,
                          long min_step, double max_wait) {
    const char *bin = getenv("LENGEN_BIN");
    CHECK(bin, "LENGEN_BIN is set by make test");
    char dir[64], ini[600];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(ini, sizeof ini, "%s/copy.ini", dir);
    FILE *f = fopen(ini, "w");
    CHECK(f);
    fputs(copy_ini, f);
    fclose(f);
    char outdir[600];
    snprintf(outdir, sizeof outdir, "run.out_dir=%s", dir);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
        execl(bin, bin, "train", ini, "--set", outdir, "--set", "train.steps=100000", "--set", set1,
              "--set", set2, "--set", set3, "--threads", "1", (char *)NULL);
        _exit(127);
    }
    char csv[600];
    snprintf(csv, sizeof csv, "%s/t/train.csv", dir);
    for (int i = 0; i < 400; i++) {
        char *text = test_read_file(csv, NULL);
        int n = 0;
        for (char *p = text; p && *p; p++) n += *p == '\n';
        lg_free(text);
        if (n >= rows) break;
        usleep(50000);
    }
    double t0 = lg_seconds();
    kill(pid, sig);
    int status;
    waitpid(pid, &status, 0);
    double waited = lg_seconds() - t0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig, "exit status %d", WEXITSTATUS(status));
    CHECK(waited < max_wait, "took %.1f s to stop after the signal", waited);
    char ck[600];
    snprintf(ck, sizeof ck, "%s/t", dir);
    Experiment e;
    CkptFile cf;
    LgErr err;
    CHECK(exp_load(&e, ck, NULL, 0, &cf, &err) == 0, "%s", err.msg);
    CHECK(cf.step >= min_step, "the checkpoint is at the interrupted step (%lld)", (long long)cf.step);
    ckpt_close(&cf);
    exp_free(&e);
}

TEST(train_sigint_writes_checkpoint_and_exits_nonzero) {
    interrupt_run(SIGINT, "train.log_every=10", "train.eval_every=0", "eval.n=10", 2, 10, 10.0);
}

/* A long evaluation (6 lengths x 60000 examples: 4 to 5 s on one core, far longer under the
 * sanitizers) is cut short by SIGTERM between two decoded batches: the signal arrives right
 * after step 10's log line, while step 10's evaluation runs. */
TEST(train_sigterm_during_evaluation_stops_promptly) {
    interrupt_run(SIGTERM, "train.eval_every=10", "eval.n=60000", "eval.lengths=1:6", 2, 10, 1.5);
}
