/* util: allocator with counting, fatal and recoverable errors, checked and atomic file writes,
 * threads, clock. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t alloc_count;

static void *check_alloc(void *p, size_t bytes, const char *what) {
    if (!p && bytes)
        lg_die("out of memory allocating %zu bytes for %s", bytes, what ? what : "?");
#ifdef _OPENMP
#pragma omp atomic
#endif
    alloc_count++;
    return p;
}

void *lg_malloc(size_t bytes, const char *what) {
    return check_alloc(malloc(bytes ? bytes : 1), bytes, what);
}

void *lg_calloc(size_t n, size_t size, const char *what) {
    if (size && n > SIZE_MAX / size) lg_die("allocation size overflow for %s", what ? what : "?");
    return check_alloc(calloc(n ? n : 1, size ? size : 1), n * size, what);
}

void *lg_realloc(void *p, size_t bytes, const char *what) {
    return check_alloc(realloc(p, bytes ? bytes : 1), bytes, what);
}

void *lg_aligned_alloc(size_t bytes, const char *what) {
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0) p = NULL;
    return check_alloc(p, rounded ? rounded : 64, what);
}

void lg_free(void *p) { free(p); }

char *lg_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = lg_malloc(n, "string");
    memcpy(d, s, n);
    return d;
}

uint64_t lg_alloc_count(void) {
    uint64_t n;
#ifdef _OPENMP
#pragma omp atomic read
#endif
    n = alloc_count;
    return n;
}

void lg_die_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "lengen: fatal: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void lg_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "lengen: fatal: %s:%d: assertion '%s' failed:", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

int lg_err(LgErr *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int lg_mkdir_p(const char *path, LgErr *err) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return lg_err(err, "folder path '%s' is too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return lg_err(err, "cannot create folder %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return lg_err(err, "cannot create folder %s: %s", buf, strerror(errno));
    return 0;
}

void lg_path_beside(char *out, size_t cap, const char *file, const char *name) {
    const char *slash = strrchr(file, '/');
    snprintf(out, cap, "%.*s%s", slash ? (int)(slash - file) + 1 : 0, file, name);
}

int lg_check_input_file(const char *path, long long max_bytes, const char *what, LgErr *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return lg_err(err, "%s: cannot open the %s: %s", path, what,
                      errno == ENOENT ? "no such file" : strerror(errno));
    if (!S_ISREG(st.st_mode))
        return lg_err(err, "%s: not a regular file (a %s); a %s must be a file", path,
                      S_ISDIR(st.st_mode) ? "folder" : S_ISFIFO(st.st_mode) ? "FIFO" :
                      S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "device" : "socket or other special file", what);
    if ((long long)st.st_size > max_bytes)
        return lg_err(err, "%s: %lld bytes, more than a %s may have (%lld)", path, (long long)st.st_size, what,
                      max_bytes);
    return 0;
}

int lg_tmp_path(char *tmp, size_t cap, const char *path, LgErr *err) {
    if (snprintf(tmp, cap, "%s.tmp", path) >= (int)cap)
        return lg_err(err, "output path '%s' is too long (at most %zu characters)", path, cap - 5);
    return 0;
}

int lg_err_io(LgErr *err, const char *verb, const char *path) {
    int e = errno;
    const char *hint = e == ENOSPC ? " (disk full)" : e == EDQUOT ? " (disk quota exceeded)"
                     : e == EFBIG ? " (file size limit reached)" : "";
    return lg_err(err, "cannot %s %s: %s%s", verb, path, strerror(e), hint);
}

int lg_flush_check(FILE *f, const char *path, LgErr *err) {
    if (fflush(f) != 0) return lg_err_io(err, "write", path);
    if (ferror(f)) return lg_err(err, "cannot write %s: an earlier write to it failed", path);
    return 0;
}

int lg_fsync(int fd, const char *path, LgErr *err) {
    if (fsync(fd) == 0 || errno == EINVAL || errno == ENOTSUP) return 0;
    return lg_err_io(err, "sync", path);
}

/* Syncs the folder holding path, so a rename in it is on disk. */
static int sync_folder_of(const char *path, LgErr *err) {
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return lg_err_io(err, "open folder", dir);
    int rc = lg_fsync(fd, dir, err);
    close(fd);
    return rc;
}

/* Renames the synced tmp over path and syncs the folder, so the rename survives a power loss. */
static int rename_synced(const char *tmp, const char *path, LgErr *err) {
    if (rename(tmp, path) != 0) {
        int e = errno;
        return lg_err(err, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return sync_folder_of(path, err);
}

int lg_tmp_commit(const char *tmp, const char *path, int rc, LgErr *err) {
    if (rc == 0) {
        int fd = open(tmp, O_RDONLY);
        if (fd < 0) {
            rc = lg_err_io(err, "open", tmp);
        } else {
            rc = lg_fsync(fd, tmp, err);
            close(fd);
        }
    }
    if (rc == 0) rc = rename_synced(tmp, path, err);
    if (rc != 0) remove(tmp);
    return rc;
}

static int write_all(int fd, const void *data, size_t n, const char *path, LgErr *err) {
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return lg_err_io(err, "write", path);
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int lg_write_atomic(const char *path, const void *a, size_t na, const void *b, size_t nb, LgErr *err) {
    char tmp[1100];
    if (lg_tmp_path(tmp, sizeof tmp, path, err) != 0) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) return lg_err_io(err, "create", tmp);
    int rc = write_all(fd, a, na, tmp, err);
    if (rc == 0) rc = write_all(fd, b, nb, tmp, err);
    if (rc == 0) rc = lg_fsync(fd, tmp, err);
    if (close(fd) != 0 && rc == 0) rc = lg_err_io(err, "close", tmp);
    if (rc == 0) rc = rename_synced(tmp, path, err);
    if (rc != 0) remove(tmp);
    return rc;
}

int lg_edit_distance(const char *a, const char *b, int fold_case) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int row[64];  /* row[j] = distance of a[0..i) and b[0..j) */
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int ca = (unsigned char)a[i - 1], cb = (unsigned char)b[j - 1];
            if (fold_case) ca = tolower(ca), cb = tolower(cb);
            int sub = diag + (ca != cb), del = row[j] + 1, ins = row[j - 1] + 1;
            diag = row[j];
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    }
    return row[lb];
}

extern void openblas_set_num_threads(int);

int lg_set_threads(int n) {
    if (n <= 0) {
        const char *env = getenv("LENGEN_THREADS");
        if (env && *env) {
            char *end;
            long v = strtol(env, &end, 10);
            if (*end || v <= 0 || v > 1024)
                lg_die("LENGEN_THREADS='%s' is not a positive thread count; unset it or set e.g. 2", env);
            n = (int)v;
        }
    }
#ifdef _OPENMP
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
#else
    n = 1;
#endif
    openblas_set_num_threads(n);
    return n;
}

int lg_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

double lg_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
