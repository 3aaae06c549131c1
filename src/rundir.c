/* rundir: the run folder's files (see rundir.h). */
#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const FILE_NAMES[] = {
    [RUNDIR_CONFIG] = "config.ini", [RUNDIR_TRAIN_CSV] = "train.csv", [RUNDIR_EVAL_CSV] = "eval.csv",
    [RUNDIR_CKPT] = "ckpt.h5",      [RUNDIR_BEST] = "best.h5",         [RUNDIR_LOCK] = "lock",
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

void rundir_init_at(RunDir *r, const char *dir) {
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    path_in(r->ckpt, sizeof r->ckpt, r, RUNDIR_CKPT);
    path_in(r->best, sizeof r->best, r, RUNDIR_BEST);
}

void rundir_init(RunDir *r, const Config *cfg) {
    char dir[sizeof r->dir];
    snprintf(dir, sizeof dir, "%s/%s", cfg->run.out_dir, cfg->run.name);
    rundir_init_at(r, dir);
}

RundirState rundir_state(const char *dir) {
    char path[1200];
    rundir_file(path, sizeof path, dir, RUNDIR_CKPT);
    if (file_exists(path)) return RUNDIR_HAS_CKPT;
    rundir_file(path, sizeof path, dir, RUNDIR_TRAIN_CSV);
    if (file_exists(path)) return RUNDIR_NO_CKPT;
    rundir_file(path, sizeof path, dir, RUNDIR_CONFIG);
    return file_exists(path) ? RUNDIR_NO_CKPT : RUNDIR_EMPTY;
}

/* Closes a CSV opened by us; a failed flush, earlier write or close is an error. */
static int csv_close(FILE *f, const char *path, LgErr *err) {
    int rc = lg_flush_check(f, path, err);
    if (fclose(f) != 0 && rc == 0) rc = lg_err_io(err, "close", path);
    return rc;
}

/* Opens path for writing (append: after its rows) and writes the header head,loss_<task>...,tail
 * to an empty file. A file to append to that already starts with another header (another CSV, or
 * a run with other tasks) is refused, naming what it found: rows under a foreign header would be
 * misread by every reader. Only a non-empty regular file is read for its header. Returns the
 * file or NULL with err. */
static FILE *csv_open(const char *path, int append, const char *head, const char *const *task_names, int n_tasks,
                      const char *tail, LgErr *err) {
    char want[2048];
    int len = snprintf(want, sizeof want, "%s", head);
    for (int i = 0; i < n_tasks && len < (int)sizeof want; i++)
        len += snprintf(want + len, sizeof want - (size_t)len, ",loss_%s", task_names[i]);
    if (len < (int)sizeof want) snprintf(want + len, sizeof want - (size_t)len, "%s", tail);
    struct stat st;
    FILE *old = append && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? fopen(path, "r") : NULL;
    if (old) {   /* a regular file with rows: a device (/dev/full, a pipe) or an empty file has no header */
        char got[2048] = "";
        int read = fgets(got, sizeof got, old) != NULL;
        fclose(old);
        if (read && strcmp(got, want) != 0) {
            got[strcspn(got, "\r\n")] = 0;
            want[strcspn(want, "\n")] = 0;
            lg_err(err, "%s starts with the header '%.200s', not '%.200s': its rows are not this file's kind; "
                   "name a new file, or move this one aside", path, got, want);
            return NULL;
        }
    }
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        lg_err_io(err, "write", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) == 0) fputs(want, f);
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
    if (file_exists(r->ckpt) && !force)
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

/* Writes the header and the rows of src whose first field (the step) is <= step to path
 * (atomically; path may be src). A missing src is fine (nothing to keep). */
static int copy_csv_rows(const char *src, const char *path, long step, LgErr *err) {
    FILE *f = fopen(src, "r");
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
    int rc = ferror(f) ? lg_err_io(err, "read", src) : 0;
    fclose(f);
    if (csv_close(o, tmp, rc ? NULL : err) != 0 && rc == 0) rc = -1;
    return lg_tmp_commit(tmp, path, rc, err);
}

/* Keeps the header and the rows whose first field (the step) is <= step. */
static int truncate_csv(const char *path, long step, LgErr *err) { return copy_csv_rows(path, path, step, err); }

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

int rundir_fork_history(const RunDir *r, const char *src_dir, long step, LgErr *err) {
    const RundirFile csvs[2] = {RUNDIR_TRAIN_CSV, RUNDIR_EVAL_CSV};
    for (int i = 0; i < 2; i++) {
        char src[700], dst[700];
        rundir_file(src, sizeof src, src_dir, csvs[i]);
        path_in(dst, sizeof dst, r, csvs[i]);
        if (copy_csv_rows(src, dst, step, err) != 0) return -1;
    }
    return 0;
}

int rundir_copy_file(const char *src, const char *dst, LgErr *err) {
    FILE *f = fopen(src, "rb");
    if (!f) return lg_err_io(err, "read", src);
    char tmp[700], buf[1 << 16];
    FILE *o = NULL;
    if (lg_tmp_path(tmp, sizeof tmp, dst, err) != 0) {
        fclose(f);
        return -1;
    }
    if (!(o = fopen(tmp, "wb"))) {
        lg_err_io(err, "write", tmp);
        fclose(f);
        return -1;
    }
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
        if (fwrite(buf, 1, n, o) != n) rc = lg_err_io(err, "write", tmp);
    if (rc == 0 && ferror(f)) rc = lg_err_io(err, "read", src);
    fclose(f);
    if (csv_close(o, tmp, rc ? NULL : err) != 0 && rc == 0) rc = -1;
    return lg_tmp_commit(tmp, dst, rc, err);
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
                     double token_accuracy, double first_error, const char *overrides) {
    fprintf(f, "%ld,%s,%d,%d,%.6f,%.6f,%.3f", step, task, length, n, exact_match, token_accuracy, first_error);
    if (overrides && *overrides) {
        fputs(",\"", f);
        for (const char *p = overrides; *p; p++) {
            if (*p == '"') fputc('"', f);   /* CSV: a quote inside a quoted field is doubled */
            fputc(*p, f);
        }
        fputc('"', f);
    }
    fputc('\n', f);
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

double rundir_train_seconds(const char *dir) {
    char path[1200], line[8192];
    rundir_file(path, sizeof path, dir, RUNDIR_TRAIN_CSV);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    double done = 0, stretch = -1;   /* the finished stretches; the current one's last elapsed_s */
    while (fgets(line, sizeof line, f)) {
        if (line[0] < '0' || line[0] > '9') continue;   /* the header */
        const char *last = strrchr(line, ',');
        if (!last) continue;
        double e = strtod(last + 1, NULL);
        if (stretch >= 0 && e < stretch) done += stretch;   /* resumed: elapsed_s started again */
        stretch = e;
    }
    fclose(f);
    return stretch < 0 ? -1 : done + stretch;
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
        int commas = 0;   /* task names hold no comma: a 7th one starts the overrides field */
        for (const char *p = line; *p && commas < 7; p++) commas += *p == ',';
        if (commas == 7) continue;
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

/* ---- the lock ---- */

/* What a held lock file says of its holder ("PID who", written by rundir_lock): the PID, or -1
 * when the file does not say; the command word into cmd[32] ("" when absent). */
static long lock_holder(int fd, char cmd[32]) {
    char text[64] = {0};
    long pid = -1;
    cmd[0] = '\0';
    if (pread(fd, text, sizeof text - 1, 0) <= 0 || sscanf(text, "%ld %31s", &pid, cmd) < 1) return -1;
    return pid > 0 ? pid : -1;
}

int rundir_lock(const char *dir, const char *who, int create, int *fd_out, LgErr *err) {
    char path[1200];
    rundir_file(path, sizeof path, dir, RUNDIR_LOCK);
    *fd_out = -1;
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0666);
    if (fd < 0) {
        if (!create && errno == ENOENT) return 0;
        return lg_err(err, "cannot open the lock file %s: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char cmd[32] = "";
        long pid = e == EWOULDBLOCK ? lock_holder(fd, cmd) : -1;
        close(fd);
        if (e != EWOULDBLOCK) return lg_err(err, "cannot lock %s: %s", path, strerror(e));
        if (pid > 0)
            return lg_err(err, "run folder %s is in use by process %ld (lengen %s); wait for it to end or "
                          "stop it (kill %ld), then try again", dir, pid, cmd[0] ? cmd : "?", pid);
        return lg_err(err, "run folder %s is in use by another process (it holds %s); wait for it to end",
                      dir, path);
    }
    char text[64];
    int len = snprintf(text, sizeof text, "%ld %s\n", (long)getpid(), who);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        lg_err_io(err, "write", path);
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return 0;
}

void rundir_unlock(int fd) {
    if (fd >= 0) close(fd);
}

long rundir_holder(const char *dir) {
    char path[1200];
    rundir_file(path, sizeof path, dir, RUNDIR_LOCK);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    /* a shared lock: it fails only against a holder's exclusive one, and two callers testing at
     * once do not see each other */
    if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
        close(fd);   /* releases the test lock; another failure says nothing of a holder */
        return 0;
    }
    char cmd[32];
    long pid = lock_holder(fd, cmd);
    close(fd);
    return pid;
}
