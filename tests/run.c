/* The test runner: runs every registered test (or those whose name contains argv[1]) and
 * prints "N passed, N failed". Exit status 1 when any test failed. After each test it removes
 * the temporary folders the test made (files.h), also when the test failed midway; with
 * LENGEN_TEST_KEEP=1 a failed test's folders stay and are named. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/util.h"
#include "files.h"
#include "test.h"

typedef struct {
    const char *name, *file;
    TestFn fn;
} TestCase;

static TestCase *cases;
static int n_cases, cap_cases;
static int current_failed;

void test_register(const char *name, const char *file, TestFn fn) {
    if (n_cases == cap_cases) {
        cap_cases = cap_cases ? 2 * cap_cases : 64;
        cases = realloc(cases, (size_t)cap_cases * sizeof *cases);
        if (!cases) abort();
    }
    cases[n_cases++] = (TestCase){name, file, fn};
}

void test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    current_failed = 1;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void test_fail_check(const char *file, int line, const char *cond, const char *fmt, ...) {
    va_list ap;
    current_failed = 1;
    fprintf(stderr, "    %s:%d: CHECK(%s)", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void test_fail_near(const char *file, int line, const char *an, double a, const char *bn, double b,
                    const char *fmt, ...) {
    va_list ap;
    current_failed = 1;
    fprintf(stderr, "    %s:%d: %s = %.8g vs %s = %.8g: ", file, line, an, a, bn, b);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int test_failed(void) { return current_failed; }

static int by_file_then_name(const void *a, const void *b) {
    const TestCase *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    const char *keep_env = getenv("LENGEN_TEST_KEEP");
    int keep = keep_env && strcmp(keep_env, "0") != 0;
    lg_set_threads(0);
    qsort(cases, (size_t)n_cases, sizeof *cases, by_file_then_name);
    for (int i = 0; i < n_cases; i++) {
        if (filter && !strstr(cases[i].name, filter)) continue;
        current_failed = 0;
        double t0 = lg_seconds();
        cases[i].fn();
        double dt = lg_seconds() - t0;
        test_tmpdir_cleanup(keep && current_failed);
        printf("%s %-48s %7.2fs\n", current_failed ? "FAIL" : "ok  ", cases[i].name, dt);
        fflush(stdout);
        if (current_failed) failed++; else passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
