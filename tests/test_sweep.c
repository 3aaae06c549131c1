/* Tests of `lengen sweep`: the grid's runs train, a second sweep skips finished runs, an
 * interrupted run is resumed (not restarted), the table equals the runs' eval.csv, a named axis
 * sets several keys per value, bad sweep files exit 2 with a message, runs listed in a
 * --finished file are neither trained nor submitted, --status says where each run stands, and a
 * run another process is training is left to it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../src/rundir.h"
#include "../src/util.h"
#include "cli_run.h"
#include "files.h"
#include "test.h"

static char out[1 << 16];

/* a tiny copy run: 40 steps, checkpoints every 10, eval at 20 and 40 */
static const char *base_ini =
    "[model]\nlayers = 1\nheads = 2\nd_model = 16\nmax_pos = 64\nposenc = learned\n"
    "[task]\nmain = copy\nalphabet = 6\n"
    "[train]\nsteps = 40\nbatch_size = 16\nwarmup = 5\nlr = 3e-3\nmin_length = 1\nmax_length = 4\n"
    "log_every = 10\neval_every = 20\nckpt_every = 10\n"
    "[eval]\nlengths = 2,4,6\nn = 20\n";

static int setup(char *dir, size_t cap, char *sweep, size_t scap) {
    if (!test_tmpdir(dir, cap)) return 0;
    char base[300], text[1200];
    snprintf(base, sizeof base, "%s/base.ini", dir);
    snprintf(sweep, scap, "%s/sweep.ini", dir);
    snprintf(text, sizeof text,
             "[sweep]\nbase = %s\nname = s\nout_dir = %s/runs\nthreads = 1\nworkers = 2\nset = eval.n=30\n"
             "[grid]\nmodel.posenc = learned, nope\nrun.seed = 1, 2\n", base, dir);
    return EXPECT(write_text(base, base_ini) && write_text(sweep, text), "cannot write the sweep files");
}

static long mtime_ns(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (long)st.st_mtim.tv_sec * 1000000000L + st.st_mtim.tv_nsec;
}

/* Checks every results.csv row against its run's eval.csv rows of the last step. */
static void check_table_equals_eval(const char *dir) {
    char path[400], line[1024];
    snprintf(path, sizeof path, "%s/runs/s/results.csv", dir);
    FILE *f = fopen(path, "r");
    CHECK(f, "no %s", path);
    CHECK(fgets(line, sizeof line, f) && !strncmp(line, "run,model.posenc,run.seed,step,2,4,6\n", 37), "header: %s", line);
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char run[128], pe[32];
        int seed;
        long step;
        double em[3];
        int got = sscanf(line, "%127[^,],%31[^,],%d,%ld,%lf,%lf,%lf", run, pe, &seed, &step, &em[0], &em[1], &em[2]);
        CHECK(got == 7, "row: %s", line);
        CHECK(step == 40, "%s at step %ld", run, step);
        char ev[600], eline[512];
        snprintf(ev, sizeof ev, "%s/runs/s/%s/eval.csv", dir, run);
        FILE *e = fopen(ev, "r");
        CHECK(e, "no %s", ev);
        int found = 0;
        while (fgets(eline, sizeof eline, e)) {
            long es;
            char task[32];
            int len, n;
            double x;
            if (sscanf(eline, "%ld,%31[^,],%d,%d,%lf", &es, task, &len, &n, &x) != 5 || es != 40) continue;
            int k = len == 2 ? 0 : len == 4 ? 1 : 2;
            CHECK(n == 30, "eval.n from the sweep's set line");
            CHECK_NEAR(em[k], x, 1e-6, 0, "%s length %d", run, len);
            found++;
        }
        fclose(e);
        CHECK(found == 3, "%s: %d eval rows at step 40", run, found);
        rows++;
    }
    fclose(f);
    CHECK(rows == 4, "%d rows in results.csv", rows);
}

TEST(sweep_trains_the_grid_skips_finished_runs_and_tables_eval_csv) {
    char dir[64], sweep[300], args[400], log[400];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    /* --table before any run started: an empty table, not a missing folder */
    snprintf(args, sizeof args, "sweep %s --table", sweep);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "--table before any run: exit %d: %s", rc, out);
    snprintf(log, sizeof log, "%s/runs/s/results.csv", dir);
    CHECK(access(log, F_OK) == 0, "--table before any run wrote no %s", log);
    snprintf(args, sizeof args, "sweep %s", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "4 trained, 0 skipped, 0 failed"), "%s", out);
    check_table_equals_eval(dir);
    if (test_failed()) return;
    /* again: nothing is trained, the table is the same */
    snprintf(log, sizeof log, "%s/runs/s/posenc-nope_seed-2/train.csv", dir);
    long before = mtime_ns(log);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "0 trained, 4 skipped, 0 failed"), "%s", out);
    CHECK(mtime_ns(log) == before, "a finished run's train.csv was rewritten");
    check_table_equals_eval(dir);
}

TEST(sweep_resumes_an_interrupted_run) {
    char dir[64], sweep[300], args[800];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    /* one run of the grid stopped at step 20, as an interrupted sweep leaves it */
    snprintf(args, sizeof args,
             "train %s/base.ini --set eval.n=30 --set model.posenc=nope --set run.seed=2 --set run.out_dir=%s/runs/s "
             "--set run.name=posenc-nope_seed-2 --set run.threads=1 --stop-at 20 --quiet", dir, dir);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 130, "--stop-at exits as interrupted, got %d: %s", rc, out);
    /* train.csv's step-10 row (its timing columns differ from run to run) must survive */
    char csv[400], row10[256] = "", line10[256] = "";
    snprintf(csv, sizeof csv, "%s/runs/s/posenc-nope_seed-2/train.csv", dir);
    FILE *g = fopen(csv, "r");
    CHECK(g && fgets(row10, sizeof row10, g) && fgets(row10, sizeof row10, g), "no train.csv rows");
    fclose(g);
    snprintf(args, sizeof args, "sweep %s", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "posenc-nope_seed-2") && strstr(out, "resumed"), "%s", out);
    /* resumed, not restarted: its train.csv has the rows before the interruption once */
    char path[400], line[256];
    snprintf(path, sizeof path, "%s/runs/s/posenc-nope_seed-2/train.csv", dir);
    FILE *f = fopen(path, "r");
    CHECK(f);
    int rows = 0;
    while (fgets(line, sizeof line, f)) rows += line[0] >= '0' && line[0] <= '9';
    fclose(f);
    CHECK(rows == 4, "train.csv has %d rows, want 4 (steps 10..40)", rows);
    g = fopen(csv, "r");
    CHECK(g && fgets(line10, sizeof line10, g) && fgets(line10, sizeof line10, g));
    fclose(g);
    CHECK(!strcmp(row10, line10), "the step-10 row changed (restarted, not resumed): %s vs %s", row10, line10);
    snprintf(path, sizeof path, "%s/runs/s/posenc-nope_seed-2.log", dir);
    f = fopen(path, "r");
    CHECK(f, "no log %s", path);
    fclose(f);
    check_table_equals_eval(dir);
}

TEST(sweep_bad_files_exit_2) {
    char dir[64], sweep[300], args[400];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    const char *bad[][2] = {
        {"[sweep]\nbase = /nonexistent.ini\nname = s\n[grid]\nrun.seed = 1\n", "nonexistent.ini"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\nmodel.posenc = learned, ropee\n", "ropee"},
        {"[sweep]\nbase = %s\nname = s\n", "[grid] is empty"},
        {"[sweep]\nbase = %s\nname = s\nworkerz = 2\n[grid]\nrun.seed = 1\n", "unknown key 'workerz'"},
        {"[sweep]\nbase = %s\nname = a/b\n[grid]\nrun.seed = 1\n", "name 'a/b'"},
        /* one run folder for two grid points: a value twice, or two spelled alike in a run name */
        {"[sweep]\nbase = %s\nname = s\n[grid]\nrun.seed = 1, 2, 1\n", "lists '1' and '1', which name the same run"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\ntask.main = copy\nmodel.posenc = t5, alibi, t5\n", "'t5' and 't5'"},
        /* named axes: a value without its section, a section of no value or no axis, a key set
         * twice or by two axes, a value that cannot name a section */
        {"[sweep]\nbase = %s\nname = s\n[grid]\nscheme = a, b\n[scheme.a]\nmodel.posenc = t5\n",
         "value 'b' has no section [scheme.b]"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\nscheme = a\n[scheme.a]\nmodel.posenc = t5\n[scheme.c]\nrun.seed = 2\n",
         "[scheme.c]: 'c' is not a value of the [grid] axis scheme"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\nscheme = a\n[schema.a]\nmodel.posenc = t5\n",
         "[schema.a] names no axis of [grid]"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\nmodel.posenc = nope\nscheme = a\n[scheme.a]\nmodel.posenc = t5\n",
         "[scheme.a] sets model.posenc, which [grid] also varies"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\nscheme = a\n[scheme.a]\nmodel.posenc = t5\nmodel.posenc = nope\n",
         "[scheme.a] sets model.posenc twice"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\nscheme = a\nx = b\n[scheme.a]\nmodel.posenc = t5\n[x.b]\n"
         "model.posenc = nope\n", "model.posenc is set by two named axes ([scheme.a] and [x.b])"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\nscheme = a.b\n", "value 'a.b' of a named axis"},
        {"[sweep]\nbase = %s\nname = s\n[grid]\nscheme = a\n[scheme.a]\nmodel.posenc = ropee\n", "ropee"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[600], base[300];
        snprintf(base, sizeof base, "%s/base.ini", dir);
        snprintf(text, sizeof text, bad[i][0], base);
        CHECK(write_text(sweep, text));
        snprintf(args, sizeof args, "sweep %s", sweep);
        int rc = cli_run(args, out, sizeof out);
        CHECK(rc == 2, "case %zu exited %d: %s", i, rc, out);
        CHECK(strstr(out, bad[i][1]), "case %zu printed: %s", i, out);
    }
}

/* A named axis: each value sets the keys of its [NAME.value] section, and names the runs and
 * the table's column. */
TEST(sweep_named_axis_sets_several_keys_per_value) {
    char dir[64], sweep[300], args[400], text[1200], path[400];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    snprintf(text, sizeof text,
             "[sweep]\nbase = %s/base.ini\nname = s\nout_dir = %s/runs\nworkers = 2\nset = train.steps=20\n"
             "[grid]\nrun.seed = 1, 2\nscheme = t5_rand, nope\n"
             "[scheme.t5_rand]\nmodel.posenc = t5\nmodel.random_positions = true\nmodel.random_max_pos = 64\n"
             "[scheme.nope]\nmodel.posenc = nope\n", dir, dir);
    CHECK(write_text(sweep, text));
    snprintf(args, sizeof args, "sweep %s", sweep);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "4 trained, 0 skipped, 0 failed"), "%s", out);
    const char *want[][2] = {{"seed-1_scheme-t5_rand", "t5"}, {"seed-2_scheme-nope", "nope"}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/runs/s/%s/config.ini", dir, want[i][0]);
        char *cfg = test_read_file(path, NULL);
        CHECK(cfg, "no %s", path);
        char line[64];
        snprintf(line, sizeof line, "posenc = %s\n", want[i][1]);
        CHECK(strstr(cfg, line), "%s lacks '%s'", path, line);
        int rand = !strcmp(want[i][1], "t5");
        CHECK(strstr(cfg, rand ? "random_positions = true" : "random_positions = false"), "%s: random_positions", path);
        lg_free(cfg);
    }
    snprintf(path, sizeof path, "%s/runs/s/results.csv", dir);
    char *csv = test_read_file(path, NULL);
    CHECK(csv, "no %s", path);
    CHECK(!strncmp(csv, "run,run.seed,scheme,step,2,4,6\nseed-1_scheme-t5_rand,1,t5_rand,20,", 66), "%s", csv);
    lg_free(csv);
}

TEST(sweep_slurm_dry_run_lists_only_unfinished_runs) {
    char dir[64], sweep[300], args[800], path[400], text[2048];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    /* nothing trained: all four in one array */
    snprintf(args, sizeof args, "sweep %s --slurm --dry-run --sbatch --time=10", sweep);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "4 of 4 runs unfinished") && strstr(out, "--array=0-3 ") && strstr(out, "--cpus-per-task=1 ") &&
          strstr(out, "--job-name=lengen-sweep-s ") && strstr(out, "--time=10 "), "%s", out);
    snprintf(path, sizeof path, "%s/runs/s/slurm/job.sh", dir);
    FILE *f = fopen(path, "r");
    CHECK(f, "no %s", path);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    CHECK(strstr(text, "sweep.ini' --task \"$SLURM_ARRAY_TASK_ID\""), "job.sh: %s", text);
    /* train grid points 1 and 3 as their array tasks would: only 0 and 2 are left */
    for (int task = 1; task <= 3; task += 2) {
        snprintf(args, sizeof args, "sweep %s --task %d", sweep, task);
        rc = cli_run(args, out, sizeof out);
        CHECK(rc == 0, "--task %d: exit %d: %s", task, rc, out);
        CHECK(strstr(out, "1 of the 4 runs"), "--task %d: %s", task, out);
    }
    snprintf(args, sizeof args, "sweep %s --slurm --dry-run", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "2 of 4 runs unfinished") && strstr(out, "--array=0,2 "), "%s", out);
    snprintf(args, sizeof args, "sweep %s --task 4", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "has runs 0..3"), "exit %d: %s", rc, out);
}

/* Does some line of text hold both a and b? (A run's name is on several lines: its progress
 * line, the table's row.) */
static int line_has(const char *text, const char *a, const char *b) {
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        if (strstr(line, a) && strstr(line, b)) return 1;
        p += len + (end != NULL);
    }
    return 0;
}

/* Runs that finished elsewhere (their folders lost with a machine, their results kept
 * elsewhere) are listed in a --finished file: the sweep neither trains nor submits them and
 * trains the rest; a line of another sweep naming a run of this grid changes nothing. */
TEST(sweep_finished_list_skips_listed_runs_and_trains_the_rest) {
    char dir[64], sweep[300], list[300], args[800], path[400];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    /* the grid: 0 posenc-learned_seed-1, 1 posenc-learned_seed-2, 2 posenc-nope_seed-1,
     * 3 posenc-nope_seed-2. Run 1 is listed; the other sweep's line names run 0. */
    snprintf(list, sizeof list, "%s/finished.txt", dir);
    CHECK(write_text(list, "# trained on the lost machine; results in git\n\n"
                           "s/posenc-learned_seed-2\r\n"
                           "other/posenc-learned_seed-1\n"
                           "  cmc/seed-1_posenc-nope  \n"
                           "   # indented comment\n"
                           "s/posenc-rope_seed-1\n"));
    /* Slurm: the listed run is left out of the array, and said so */
    snprintf(args, sizeof args, "sweep %s --slurm --dry-run --finished %s", sweep, list);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "3 of 4 runs unfinished (1 finished elsewhere)") && strstr(out, "--array=0,2-3 "), "%s", out);
    CHECK(line_has(out, "posenc-learned_seed-2", "finished elsewhere (listed in"), "%s", out);
    CHECK(strstr(out, "finished.txt:7: sweep s has no run posenc-rope_seed-1"), "%s", out);
    /* its grid point by --task (what an array task runs) is not trained */
    snprintf(args, sizeof args, "sweep %s --task 1 --finished %s", sweep, list);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "0 trained, 1 skipped (1 finished elsewhere), 0 failed"), "%s", out);
    snprintf(path, sizeof path, "%s/runs/s/posenc-learned_seed-2", dir);
    CHECK(access(path, F_OK) != 0, "--task 1 made %s", path);
    /* a local sweep trains the other three, run 0 included */
    snprintf(args, sizeof args, "sweep %s --finished %s", sweep, list);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "3 trained, 1 skipped (1 finished elsewhere), 0 failed"), "%s", out);
    CHECK(line_has(out, "posenc-learned_seed-2", "finished elsewhere: skipped"), "%s", out);
    CHECK(access(path, F_OK) != 0, "the listed run was trained into %s", path);
    const char *trained[] = {"posenc-learned_seed-1", "posenc-nope_seed-1", "posenc-nope_seed-2"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/runs/s/%s/eval.csv", dir, trained[i]);
        CHECK(access(path, F_OK) == 0, "%s was not trained: no %s", trained[i], path);
    }
    /* again: the three are finished before, the listed one finished elsewhere */
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "0 trained, 4 skipped (1 finished elsewhere), 0 failed"), "%s", out);
    CHECK(line_has(out, "posenc-learned_seed-1", "finished before: skipped"), "%s", out);
    CHECK(line_has(out, "posenc-learned_seed-2", "finished elsewhere: skipped"), "%s", out);
    snprintf(args, sizeof args, "sweep %s --slurm --dry-run --finished %s", sweep, list);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "all 4 runs of") && strstr(out, "have finished (1 finished elsewhere); nothing to submit"), "%s",
          out);
    /* without the list the lost run is unfinished again: the list, not the sweep, kept it out */
    snprintf(args, sizeof args, "sweep %s --slurm --dry-run", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "1 of 4 runs unfinished; would run:") && strstr(out, "--array=1 "), "%s", out);
}

/* A --finished file that cannot be read, or a line not of the form x/y (of any sweep), exits 2
 * naming the file and line, before anything is trained. */
TEST(sweep_finished_list_bad_input_exits_2) {
    char dir[64], sweep[300], list[300], args[800], want[400], path[400];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    snprintf(list, sizeof list, "%s/missing.txt", dir);
    snprintf(args, sizeof args, "sweep %s --finished %s", sweep, list);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 2, "exit %d: %s", rc, out);
    snprintf(want, sizeof want, "%s: cannot open the --finished list: no such file; give --finished the path", list);
    CHECK(strstr(out, want), "%s", out);
    snprintf(args, sizeof args, "sweep %s --finished %s", sweep, dir);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "not a regular file (a folder)"), "exit %d: %s", rc, out);
    snprintf(args, sizeof args, "sweep %s --finished", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--finished needs a file"), "exit %d: %s", rc, out);
    const char *bad[][2] = {
        {"s/posenc-learned_seed-1\nposenc-nope_seed-2\n", ":2: 'posenc-nope_seed-2' is not <sweep name>/<run name>"},
        {"# lost\n\ns/posenc-nope/seed-2\n", ":3: 's/posenc-nope/seed-2' is not"},
        {"s/\n", ":1: 's/' is not"},
        {"/posenc-nope_seed-2\n", ":1: '/posenc-nope_seed-2' is not"},
        {"s/posenc-nope_seed-1\nother/seed 1\n", ":2: 'other/seed 1' is not"},   /* another sweep's, still checked */
    };
    snprintf(list, sizeof list, "%s/finished.txt", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(write_text(list, bad[i][0]));
        snprintf(args, sizeof args, "sweep %s --finished %s", sweep, list);
        rc = cli_run(args, out, sizeof out);
        CHECK(rc == 2, "case %zu exited %d: %s", i, rc, out);
        snprintf(want, sizeof want, "%s%s", list, bad[i][1]);
        CHECK(strstr(out, want), "case %zu printed: %s", i, out);
    }
    char text[3000];
    memset(text, 'a', 2000);
    snprintf(text + 2000, sizeof text - 2000, "\n");
    CHECK(write_text(list, text));
    rc = cli_run(args, out, sizeof out);
    snprintf(want, sizeof want, "%s:1: longer than", list);
    CHECK(rc == 2 && strstr(out, want), "exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/runs/s", dir);
    CHECK(access(path, F_OK) != 0, "a sweep with a bad --finished list made %s", path);
}

/* --status names each run's state and times what is left by the runs finished here: one
 * finished run that took 1200 s (its files written by hand: train.csv's elapsed_s over two
 * stretches), one listed as finished elsewhere, one stopped at step 20 of 40 (a real ckpt.h5),
 * one not started: 1 + 0.5 runs left at 1200 s a run is 30 minutes. It trains nothing. */
TEST(sweep_status_names_each_runs_state_and_times_what_is_left) {
    char dir[64], sweep[300], list[300], args[800], path[400];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    snprintf(path, sizeof path, "%s/runs/s/posenc-learned_seed-1", dir);
    LgErr err;
    CHECK(lg_mkdir_p(path, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/runs/s/posenc-learned_seed-1/train.csv", dir);
    CHECK(write_text(path, "step,loss,loss_copy,lr,grad_norm,tokens_per_s,elapsed_s\n"
                           "20,1.0,1.0,0.001,1.0,10.0,500.00\n30,0.8,0.8,0.001,1.0,10.0,200.00\n"
                           "40,0.5,0.5,0.001,1.0,10.0,700.00\n"));
    snprintf(path, sizeof path, "%s/runs/s/posenc-learned_seed-1/eval.csv", dir);
    CHECK(write_text(path, "step,task,length,n,exact_match,token_accuracy,first_error\n40,copy,2,30,1,1,-1\n"));
    snprintf(list, sizeof list, "%s/finished.txt", dir);
    CHECK(write_text(list, "s/posenc-learned_seed-2\n"));
    snprintf(args, sizeof args,
             "train %s/base.ini --set eval.n=30 --set model.posenc=nope --set run.seed=2 --set run.out_dir=%s/runs/s "
             "--set run.name=posenc-nope_seed-2 --set run.threads=1 --stop-at 20 --quiet", dir, dir);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 130, "--stop-at exits as interrupted, got %d: %s", rc, out);
    snprintf(args, sizeof args, "sweep %s --status --finished %s", sweep, list);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(line_has(out, "posenc-learned_seed-1", "finished, 1200 s of training"), "%s", out);
    CHECK(line_has(out, "posenc-learned_seed-2", "finished elsewhere"), "%s", out);
    CHECK(line_has(out, "posenc-nope_seed-2", "resumes from step 20 of 40"), "%s", out);
    CHECK(line_has(out, "posenc-nope_seed-1", "not started"), "%s", out);
    CHECK(strstr(out, "s: 4 runs: 2 finished (1 elsewhere), 1 to resume, 1 not started; training left: about "
                      "30 min, one run after another (1200 s a run, the mean of the 1 finished here)"), "%s", out);
    snprintf(path, sizeof path, "%s/runs/s/posenc-nope_seed-1", dir);
    CHECK(access(path, F_OK) != 0, "--status trained %s", path);
    /* --quiet: the summary line alone; without the list the listed run is not started */
    snprintf(args, sizeof args, "sweep %s --status --quiet", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0 && !strstr(out, "posenc-") &&
          strstr(out, "s: 4 runs: 1 finished, 1 to resume, 2 not started; training left: about 50 min"), "exit %d: %s",
          rc, out);
    snprintf(args, sizeof args, "sweep %s --status --table", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--status only reports"), "exit %d: %s", rc, out);
}

/* A run whose folder another process holds (here this test, as a second queue on the same sweep
 * file would) is skipped, not failed, and --status says it is training; once the lock is free a
 * sweep trains it. */
TEST(sweep_leaves_a_run_another_process_is_training_to_it) {
    char dir[64], sweep[300], args[800], path[400], busy[300];
    if (!setup(dir, sizeof dir, sweep, sizeof sweep)) return;
    snprintf(busy, sizeof busy, "%s/runs/s/posenc-nope_seed-1", dir);
    LgErr err;
    int fd;
    CHECK(lg_mkdir_p(busy, &err) == 0, "%s", err.msg);
    CHECK(rundir_lock(busy, "train", 1, &fd, &err) == 0, "%s", err.msg);
    if (test_failed()) return;
    char who[64];
    snprintf(who, sizeof who, "training now, in process %ld (no checkpoint yet)", (long)getpid());
    snprintf(args, sizeof args, "sweep %s --status", sweep);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0 && line_has(out, "posenc-nope_seed-1", who), "exit %d: %s", rc, out);
    snprintf(args, sizeof args, "sweep %s", sweep);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "3 trained, 1 skipped (1 training in another process), 0 failed"), "%s", out);
    snprintf(who, sizeof who, "training in process %ld: skipped", (long)getpid());
    CHECK(line_has(out, "posenc-nope_seed-1", who), "%s", out);
    snprintf(path, sizeof path, "%s/config.ini", busy);
    CHECK(access(path, F_OK) != 0, "the held run was started: %s exists", path);
    rundir_unlock(fd);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "1 trained, 3 skipped, 0 failed"), "exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/eval.csv", busy);
    CHECK(access(path, F_OK) == 0, "released, the run was not trained: no %s", path);
}
