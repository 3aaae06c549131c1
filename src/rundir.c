/* rundir: the run folder's files (see rundir.h). */
#include "rundir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const FILE_NAMES[] = {
    [RUNDIR_CONFIG] = "config.ini", [RUNDIR_TRAIN_CSV] = "train.csv", [RUNDIR_EVAL_CSV] = "eval.csv",
    [RUNDIR_CKPT] = "ckpt.h5",      [RUNDIR_BEST] = "best.h5",
};

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

void rundir_file(char *out, size_t cap, const char *dir, RundirFile which) {
    snprintf(out, cap, "%s/%s", dir, FILE_NAMES[which]);
}

static void path_in(char *out, size_t cap, const RunDir *r, RundirFile which) {
    rundir_file(out, cap, r->dir, which);
}

void rundir_init(RunDir *r, const Config *cfg) {
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s/%s", cfg->run.out_dir, cfg->run.name);
    path_in(r->ckpt, sizeof r->ckpt, r, RUNDIR_CKPT);
    path_in(r->best, sizeof r->best, r, RUNDIR_BEST);
}

/* Closes a CSV opened by us; a failed flush, earlier write or close is an error. */
static int csv_close(FILE *f, const char *path, LgErr *err) {
    int rc = lg_flush_check(f, path, err);
    if (fclose(f) != 0 && rc == 0) rc = lg_err_io(err, "close", path);
    return rc;
}

/* Opens a CSV (appending or from scratch) and writes header (with one field per task name
 * after `head`, then `tail`) when the file is empty. Returns the file or NULL with err. */
static FILE *csv_open(const char *path, int append, const char *head, const char *const *task_names, int n_tasks,
                      const char *tail, LgErr *err) {
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        lg_err_io(err, "write", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) == 0) {
        fputs(head, f);
        for (int i = 0; i < n_tasks; i++) fprintf(f, ",loss_%s", task_names[i]);
        fputs(tail, f);
    }
    if (lg_flush_check(f, path, err) != 0) {
        fclose(f);
        return NULL;
    }
    return f;
}

static int open_csvs(RunDir *r, int append, const char *const *task_names, int n_tasks, LgErr *err) {
    char path[700];
    path_in(path, sizeof path, r, RUNDIR_TRAIN_CSV);
    r->train_csv = csv_open(path, append, "step,loss", task_names, n_tasks, ",lr,grad_norm,tokens_per_s,elapsed_s\n", err);
    if (!r->train_csv) return -1;
    path_in(path, sizeof path, r, RUNDIR_EVAL_CSV);
    return (r->eval_csv = rundir_eval_csv_open(path, append, err)) ? 0 : -1;
}

int rundir_create(RunDir *r, const char *config_text, const char *const *task_names, int n_tasks, int force,
                  LgErr *err) {
    char path[700];
    path_in(path, sizeof path, r, RUNDIR_TRAIN_CSV);
    if ((file_exists(r->ckpt) || file_exists(path)) && !force)
        return lg_err(err, "run folder %s already holds a run; continue it with `lengen train --resume %s`, "
                      "start over with --force, or pick another [run] name", r->dir, r->dir);
    if (force) {
        remove(r->ckpt);
        remove(r->best);
    }
    if (lg_mkdir_p(r->dir, err) != 0) return -1;
    path_in(path, sizeof path, r, RUNDIR_CONFIG);
    if (lg_write_atomic(path, config_text, strlen(config_text), NULL, 0, err) != 0) return -1;
    return open_csvs(r, 0, task_names, n_tasks, err);
}

/* Keeps the header and the rows whose first field (the step) is <= step. A missing file is
 * fine (nothing to keep). */
static int truncate_csv(const char *path, long step, LgErr *err) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char tmp[700];
    FILE *o = NULL;
    if (lg_tmp_path(tmp, sizeof tmp, path, err) != 0) {
        fclose(f);
        return -1;
    }
    if (!(o = fopen(tmp, "w"))) {
        lg_err_io(err, "write", tmp);
        fclose(f);
        return -1;
    }
    char line[8192];
    int first = 1;
    while (fgets(line, sizeof line, f)) {
        if (first || strtol(line, NULL, 10) <= step) fputs(line, o);
        first = 0;
    }
    int rc = ferror(f) ? lg_err_io(err, "read", path) : 0;
    fclose(f);
    if (csv_close(o, tmp, rc ? NULL : err) != 0 && rc == 0) rc = -1;
    return lg_tmp_commit(tmp, path, rc, err);
}

int rundir_continue(RunDir *r, const char *const *task_names, int n_tasks, long step, LgErr *err) {
    char path[700];
    path_in(path, sizeof path, r, RUNDIR_TRAIN_CSV);
    if (truncate_csv(path, step, err) != 0) return -1;
    path_in(path, sizeof path, r, RUNDIR_EVAL_CSV);
    if (truncate_csv(path, step, err) != 0) return -1;
    if (lg_mkdir_p(r->dir, err) != 0) return -1;
    return open_csvs(r, 1, task_names, n_tasks, err);
}

int rundir_sync(RunDir *r, LgErr *err) {
    FILE *files[2] = {r->train_csv, r->eval_csv};
    RundirFile which[2] = {RUNDIR_TRAIN_CSV, RUNDIR_EVAL_CSV};
    for (int i = 0; i < 2; i++) {
        if (!files[i]) continue;
        char path[700];
        path_in(path, sizeof path, r, which[i]);
        if (lg_flush_check(files[i], path, err) != 0) return -1;
        if (lg_fsync(fileno(files[i]), path, err) != 0) return -1;
    }
    return 0;
}

int rundir_close(RunDir *r, LgErr *err) {
    char path[700];
    int rc = 0;
    if (r->train_csv) {
        path_in(path, sizeof path, r, RUNDIR_TRAIN_CSV);
        rc = csv_close(r->train_csv, path, err);
    }
    if (r->eval_csv) {
        path_in(path, sizeof path, r, RUNDIR_EVAL_CSV);
        if (csv_close(r->eval_csv, path, rc ? NULL : err) != 0) rc = -1;
    }
    r->train_csv = r->eval_csv = NULL;
    return rc;
}

int rundir_train_row(RunDir *r, long step, double loss, const double *task_sum, const long *task_count,
                     int n_tasks, float lr, float norm, double tokens_per_s, double elapsed_s, LgErr *err) {
    FILE *f = r->train_csv;
    fprintf(f, "%ld,%.6f", step, loss);
    for (int i = 0; i < n_tasks; i++) {
        if (task_count[i]) fprintf(f, ",%.6f", task_sum[i] / task_count[i]);
        else fprintf(f, ",");
    }
    fprintf(f, ",%.6g,%.6f,%.1f,%.2f\n", lr, norm, tokens_per_s, elapsed_s);
    char path[700];
    path_in(path, sizeof path, r, RUNDIR_TRAIN_CSV);
    return lg_flush_check(f, path, err);
}

FILE *rundir_eval_csv_open(const char *path, int append, LgErr *err) {
    return csv_open(path, append, "step,task,length,n,exact_match,token_accuracy,first_error\n", NULL, 0, "", err);
}

void rundir_eval_csv_path(char *out, size_t cap, const char *ckpt_path) {
    lg_path_beside(out, cap, ckpt_path, FILE_NAMES[RUNDIR_EVAL_CSV]);
}

void rundir_eval_row(FILE *f, long step, const char *task, int length, int n, double exact_match,
                     double token_accuracy, double first_error) {
    fprintf(f, "%ld,%s,%d,%d,%.6f,%.6f,%.3f\n", step, task, length, n, exact_match, token_accuracy, first_error);
}

long rundir_last_train_step(const char *dir) {
    char path[1200], line[8192];
    rundir_file(path, sizeof path, dir, RUNDIR_TRAIN_CSV);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long step = -1;
    while (fgets(line, sizeof line, f))
        if (line[0] >= '0' && line[0] <= '9') step = strtol(line, NULL, 10);
    fclose(f);
    return step;
}

int rundir_read_eval(const char *path, void (*row)(void *ctx, const RundirEvalRow *r), void *ctx) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int first = 1;
    while (fgets(line, sizeof line, f)) {
        if (first) { first = 0; continue; }   /* header */
        RundirEvalRow r = {0};
        if (sscanf(line, "%ld,%127[^,],%d,%d,%lf,%lf,%lf", &r.step, r.task, &r.length, &r.n, &r.exact_match,
                   &r.token_accuracy, &r.first_error) < 5)
            continue;
        row(ctx, &r);
    }
    fclose(f);
    return 0;
}

void rundir_ckpt_of(const char *arg, char *out, size_t cap) {
    size_t n = strlen(arg);
    struct stat st;
    if ((n > 3 && strcmp(arg + n - 3, ".h5") == 0) || (stat(arg, &st) == 0 && !S_ISDIR(st.st_mode)))
        snprintf(out, cap, "%s", arg);
    else
        snprintf(out, cap, "%s%s%s", arg, n && arg[n - 1] == '/' ? "" : "/", FILE_NAMES[RUNDIR_CKPT]);
}
