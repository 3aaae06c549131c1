/* The train, eval and sample commands on bad input: exit status and messages. */
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "test.h"

typedef struct {
    const char *args, *want;
    int status;
} CliCase;

static void check_cases(const CliCase *cases, int n) {
    static char out[1 << 16];
    for (int k = 0; k < n; k++) {
        int st = cli_run(cases[k].args, out, sizeof out);
        CHECK(st == cases[k].status, "`lengen %s` exited %d, want %d: %s", cases[k].args, st, cases[k].status, out);
        CHECK(strstr(out, cases[k].want) != NULL, "`lengen %s` printed:\n%s\nwanted: %s", cases[k].args, out, cases[k].want);
    }
}

TEST(cli_train_bad_input_exits_2) {
    FILE *f = fopen("/tmp/lengen_cli_bad.ini", "w");
    CHECK(f);
    fputs("[model]\nlayers = 2\n[train]\nlr_warmup = 100\n", f);
    fclose(f);
    f = fopen("/tmp/lengen_cli_badval.ini", "w");
    CHECK(f);
    fputs("[task]\nmain = sort\n[train]\nlr = fast\n", f);
    fclose(f);
    f = fopen("/tmp/lengen_cli_badopt.ini", "w");
    CHECK(f);
    fputs("[task]\nmain = sort\nvaluez = 0..9\n[run]\nout_dir = /tmp/lengen_cli_runs\n", f);
    fclose(f);
    const CliCase cases[] = {
        {"train /tmp/lengen_cli_bad.ini", "lengen_cli_bad.ini:4: unknown key 'lr_warmup' in [train] (did you mean 'warmup'?)", 2},
        {"train /tmp/lengen_cli_badval.ini", "lengen_cli_badval.ini:4: [train] lr = 'fast' is not a number", 2},
        {"train /tmp/lengen_cli_badopt.ini", "valuez", 2},
        {"train /tmp/does_not_exist.ini", "does_not_exist.ini", 2},
        {"train --set model.posenc=ropee", "ropee", 2},
        {"train --set task.main=srot --set run.out_dir=/tmp/lengen_cli_runs", "unknown task 'srot' (did you mean 'sort'?)", 2},
        {"train --threads zero", "--threads needs a count", 2},
        {"train --bogus", "unknown option '--bogus'", 2},
        {"train --resume /tmp/lengen_no_such_run", "lengen_no_such_run", 2},
        {"train --set task.main=sort --set train.max_length=500 --set run.out_dir=/tmp/lengen_cli_runs", "max_pos", 2},
    };
    check_cases(cases, (int)(sizeof cases / sizeof cases[0]));
}

TEST(cli_eval_and_sample_bad_input_exit_2) {
    FILE *f = fopen("/tmp/lengen_cli_garbage.h5", "w");
    CHECK(f);
    fputs("not a checkpoint\n", f);
    fclose(f);
    const CliCase cases[] = {
        {"eval /tmp/lengen_no_such_run", "lengen_no_such_run", 2},
        {"eval /tmp/lengen_cli_garbage.h5", "lengen_cli_garbage.h5", 2},
        {"eval", "usage: lengen eval", 2},
        {"eval x --n -3", "--n needs a positive integer", 2},
        {"eval x --lengths", "--lengths needs a list", 2},
        {"sample /tmp/lengen_no_such_run", "lengen_no_such_run", 2},
        {"sample x --length abc", "--length needs a positive integer", 2},
        {"sample", "usage: lengen sample", 2},
        {"sample /tmp/lengen_no_such_run --threads 0", "--threads needs a positive integer", 2},
    };
    check_cases(cases, (int)(sizeof cases / sizeof cases[0]));
}
