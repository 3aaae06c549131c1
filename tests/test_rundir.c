/* Tests of the run folder's readers: eval.csv rows written by rundir_eval_row read back equal
 * (at the precision the row keeps), and train.csv's last step and training wall time. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../src/rundir.h"
#include "files.h"
#include "test.h"

typedef struct {
    int n;
    RundirEvalRow rows[4];
} Rows;

static void keep_row(void *ctx, const RundirEvalRow *r) {
    Rows *rs = ctx;
    if (rs->n < 4) rs->rows[rs->n] = *r;
    rs->n++;
}

TEST(rundir_eval_rows_read_back) {
    char dir[64], path[300];
    LgErr err;
    if (!test_tmpdir(dir, sizeof dir)) return;
    rundir_file(path, sizeof path, dir, RUNDIR_EVAL_CSV);
    FILE *f = rundir_eval_csv_open(path, 0, &err);
    CHECK(f, "%s", err.msg);
    rundir_eval_row(f, 500, "sort_unique", 20, 64, 0.953125, 0.99, 3.5, NULL);
    rundir_eval_row(f, 1000, "copy", 100, 32, 1.0, 1.0, -1.0, NULL);
    fclose(f);
    Rows rs = {0};
    CHECK(rundir_read_eval(path, keep_row, &rs) == 0);
    remove(path);   /* for the missing-file case below */
    CHECK(rs.n == 2, "n %d", rs.n);
    const RundirEvalRow *a = &rs.rows[0], *b = &rs.rows[1];
    CHECK(a->step == 500 && !strcmp(a->task, "sort_unique") && a->length == 20 && a->n == 64);
    CHECK_NEAR(a->exact_match, 0.953125, 1e-6, 0);
    CHECK_NEAR(a->token_accuracy, 0.99, 1e-6, 0);
    CHECK_NEAR(a->first_error, 3.5, 1e-3, 0);
    CHECK(b->step == 1000 && !strcmp(b->task, "copy") && b->length == 100 && b->n == 32);
    CHECK_NEAR(b->exact_match, 1.0, 1e-6, 0);
    CHECK_NEAR(b->token_accuracy, 1.0, 1e-6, 0);
    CHECK_NEAR(b->first_error, -1.0, 1e-3, 0);
    CHECK(rundir_read_eval(path, keep_row, &rs) == -1, "a missing file");
}

TEST(rundir_last_train_step_missing_is_minus_one) {
    CHECK(rundir_last_train_step("/nonexistent/lengen_run") == -1);
}

/* elapsed_s (the last field) starts again at 0 when a stopped run resumes: the wall time is the
 * sum of each stretch's last value, whatever the task columns (an empty loss_<task> included). */
TEST(rundir_train_seconds_sums_the_stretches_of_a_resumed_run) {
    char dir[64], path[128];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(path, sizeof path, "%s/train.csv", dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs("step,loss,loss_copy,loss_hint,lr,grad_norm,tokens_per_s,elapsed_s\n"
          "10,2.0,2.0,,0.001,1.0,100.0,1.50\n20,1.5,1.5,1.4,0.001,1.0,100.0,3.00\n"   /* stopped at 20 */
          "30,1.2,1.2,,0.001,1.0,100.0,2.25\n40,1.0,1.0,,0.001,1.0,100.0,4.00\n"     /* resumed: 4 s more */
          "50,0.9,0.9,,0.001,1.0,100.0,0.75\n", f);                                 /* and again */
    fclose(f);
    CHECK_NEAR(rundir_train_seconds(dir), 3.0 + 4.0 + 0.75, 1e-9, 0);
    f = fopen(path, "w");
    CHECK(f);
    fputs("step,loss,loss_copy,lr,grad_norm,tokens_per_s,elapsed_s\n", f);
    fclose(f);
    CHECK(rundir_train_seconds(dir) == -1, "a header without rows");
    CHECK(rundir_train_seconds("/nonexistent/lengen_run") == -1);
}

/* rundir_holder: 0 without a lock file or with a free one, the holder's PID while a process
 * holds the lock (this one, through another open file: flock locks belong to the open file),
 * -1 when the held lock file does not say who; and testing does not take the lock away. */
TEST(rundir_holder_names_the_process_training_in_a_folder) {
    char dir[64];
    LgErr err;
    if (!test_tmpdir(dir, sizeof dir)) return;
    CHECK(rundir_holder(dir) == 0, "a folder without a lock file has no holder");
    int fd;
    CHECK(rundir_lock(dir, "train", 1, &fd, &err) == 0 && fd >= 0, "%s", err.msg);
    CHECK(rundir_holder(dir) == (long)getpid(), "held: %ld, this process is %ld", rundir_holder(dir), (long)getpid());
    int fd2;
    CHECK(rundir_lock(dir, "train", 1, &fd2, &err) != 0, "the lock was free again after rundir_holder");
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(rundir_holder(dir) == -1, "a held lock file without a PID: %ld", rundir_holder(dir));
    rundir_unlock(fd);
    CHECK(rundir_holder(dir) == 0, "released: %ld", rundir_holder(dir));
}
