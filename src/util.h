/* util: the engine's one allocator, fatal errors, error values, threads and timing.
 *
 * Every heap allocation made by lengen goes through lg_malloc/lg_calloc/lg_realloc so a test
 * can count them (lg_alloc_count) and prove that the steady-state training step makes none.
 * Out of memory is fatal and says how much was asked and for what.
 *
 * Two kinds of failure:
 *   - programmer errors and impossible states: LG_ASSERT / lg_die print file:line and exit(1);
 *   - bad input (files, configs, arguments): functions return -1 and fill an LgErr with a
 *     message that names the file, line or value and what to do; the CLI prints it and exits
 *     non-zero. Library code never exits on bad input, so tests can check the message.
 */
#ifndef LENGEN_UTIL_H
#define LENGEN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- allocation ---- */
void *lg_malloc(size_t bytes, const char *what);         /* never NULL; dies on OOM */
void *lg_calloc(size_t n, size_t size, const char *what);
void *lg_realloc(void *p, size_t bytes, const char *what);
void *lg_aligned_alloc(size_t bytes, const char *what);   /* 64-byte aligned, free with lg_free */
void lg_free(void *p);
char *lg_strdup(const char *s);
uint64_t lg_alloc_count(void);  /* number of successful allocations since process start */

/* ---- fatal errors ---- */
#if defined(__GNUC__)
#define LG_NORETURN __attribute__((noreturn))
#define LG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LG_NORETURN
#define LG_PRINTF(a, b)
#endif
LG_NORETURN void lg_die_at(const char *file, int line, const char *fmt, ...) LG_PRINTF(3, 4);
#define lg_die(...) lg_die_at(__FILE__, __LINE__, __VA_ARGS__)
LG_NORETURN void lg_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...) LG_PRINTF(4, 5);
/* Always on (not NDEBUG dependent). The message should tell the reader what went wrong.
 * The condition's text is passed as data, so a '%' in it (x % 2 == 0) is safe. */
#define LG_ASSERT(cond, ...) \
    do { if (!(cond)) lg_assert_fail(__FILE__, __LINE__, #cond, " " __VA_ARGS__); } while (0)

/* ---- recoverable errors ---- */
typedef struct LgErr {
    char msg[1024];
} LgErr;
/* Writes the message into err (if not NULL) and returns -1, so callers can `return lg_err(...)`. */
int lg_err(LgErr *err, const char *fmt, ...) LG_PRINTF(2, 3);

/* ---- files ---- */
/* Creates the folder and its missing parents (mkdir -p). Returns 0 or -1 with err. */
int lg_mkdir_p(const char *path, LgErr *err);
/* The path of the file named `name` in the folder of `file` ("runs/x/ckpt.h5", "eval.csv" ->
 * "runs/x/eval.csv"; a bare "ckpt.h5" -> "eval.csv"). */
void lg_path_beside(char *out, size_t cap, const char *file, const char *name);

/* Checks that path names a regular file of at most max_bytes before anything reads it, so a
 * FIFO (which would block), a device like /dev/zero (which never ends) or a runaway file is
 * refused with a message. `what` names the input ("config file"). Returns 0 or -1 with err. */
int lg_check_input_file(const char *path, long long max_bytes, const char *what, LgErr *err);

/* Atomic replacement: write a file under a temporary name, then move it over the real one,
 * so a crash or a failed write never leaves a half file under the real name, and a power loss
 * never leaves an empty one: the file is fsynced before the rename and its folder after.
 *   lg_tmp_path    tmp = "path.tmp"; -1 with err when it does not fit in cap
 *   lg_tmp_commit  rc == 0: fsyncs tmp, renames it to path and fsyncs the folder (-1 with err
 *                  if any of that fails); rc != 0: keeps rc and err. Either way nothing is
 *                  left under tmp. Returns the outcome.
 *   lg_write_atomic  writes a then b (na, nb bytes; either may be 0) to path.tmp with checked
 *                  write(2)s, then lg_tmp_commit. Returns 0, or -1 with err (errno's text;
 *                  "disk full" for ENOSPC) and no path.tmp left. */
int lg_tmp_path(char *tmp, size_t cap, const char *path, LgErr *err);
int lg_tmp_commit(const char *tmp, const char *path, int rc, LgErr *err);
int lg_write_atomic(const char *path, const void *a, size_t na, const void *b, size_t nb, LgErr *err);

/* fsync(fd) of the file or folder named path; a file system that cannot sync (EINVAL,
 * ENOTSUP) is not an error. Returns 0 or -1 with err. */
int lg_fsync(int fd, const char *path, LgErr *err);

/* lg_err with "cannot <verb> <path>: <strerror(errno)>", plus what it means for the errors a
 * user can act on: ENOSPC "(disk full)", EDQUOT "(disk quota exceeded)", EFBIG "(file size
 * limit reached)". Reads errno, so call it right after the failing call. Returns -1. */
int lg_err_io(LgErr *err, const char *verb, const char *path);

/* Flushes f and reads its error flag, so a write that failed on the way (a full disk) is
 * seen. Returns 0, or -1 with err: "cannot write <path>: <errno text>" (lg_err_io) when the
 * flush fails, "cannot write <path>: an earlier write to it failed" when only the flag says so. */
int lg_flush_check(FILE *f, const char *path, LgErr *err);

/* ---- strings ---- */
/* Levenshtein distance of a and b (letter case ignored when fold_case), for "did you mean"
 * suggestions; 99 when either is longer than 63 characters. */
int lg_edit_distance(const char *a, const char *b, int fold_case);

/* ---- threads ---- */
/* Sets the OpenMP pool size, which OpenBLAS (OpenMP build) shares. n <= 0: LENGEN_THREADS from
 * the environment, else the number of cores. Returns the count in effect. */
int lg_set_threads(int n);
int lg_threads(void);

/* ---- time ---- */
double lg_seconds(void);  /* monotonic clock in seconds */

#endif
