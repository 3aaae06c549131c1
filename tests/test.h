/* test: a minimal test harness. Each test file defines tests with TEST(name) { ... }; they
 * register themselves at load time and tests/run.c runs them (all, or those whose name
 * contains the argument) and ends with the line "N passed, N failed".
 *
 * CHECK(cond, fmt, ...) records a failure with file:line and the message, and returns from
 * the test. CHECK_NEAR compares floats with an absolute + relative tolerance.
 */
#ifndef LENGEN_TEST_H
#define LENGEN_TEST_H

#include <math.h>
#include <stdio.h>

typedef void (*TestFn)(void);
void test_register(const char *name, const char *file, TestFn fn);
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* CHECK's failure: the condition's text is printed as text (it may hold a '%'), then the message. */
void test_fail_check(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int test_failed(void);  /* has the current test failed? */

#define TEST(name)                                                                  \
    static void test_##name(void);                                                  \
    __attribute__((constructor)) static void test_register_##name(void) {           \
        test_register(#name, __FILE__, test_##name);                                \
    }                                                                               \
    static void test_##name(void)

#define CHECK(cond, ...)                                                            \
    do {                                                                            \
        if (!(cond)) {                                                              \
            test_fail_check(__FILE__, __LINE__, #cond, " " __VA_ARGS__);           \
            return;                                                                 \
        }                                                                           \
    } while (0)

/* |a - b| <= atol + rtol * |b|. The optional message (format and args) follows the values. */
#define CHECK_NEAR(a, b, atol, rtol, ...)                                           \
    do {                                                                            \
        double a_ = (double)(a), b_ = (double)(b);                                  \
        if (!(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_))) {                       \
            test_fail_near(__FILE__, __LINE__, #a, a_, #b, b_, " " __VA_ARGS__);    \
            return;                                                                 \
        }                                                                           \
    } while (0)
void test_fail_near(const char *file, int line, const char *an, double a, const char *bn, double b,
                    const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* For helpers that check and want the caller to stop: returns 0 after recording a failure. */
#define EXPECT(cond, ...)                                                           \
    ((cond) ? 1 : (test_fail(__FILE__, __LINE__, "EXPECT(" #cond ") " __VA_ARGS__), 0))

#endif
