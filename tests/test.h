/* SPDX-License-Identifier: MIT */
/* tests/test.h: the unit-test vocabulary (in the spirit of libuv's test/task.h).
 *
 * A test file defines cases with TEST(name) { ... }; each case registers itself from a
 * constructor, and tests/harness.c supplies main(), which runs every case in a forked child
 * under a timeout (see harness.c for the command line and the output format).
 *
 *     TEST(timer_fires_once) { ASSERT_EQ(fired, 1); }
 *     TEST_TIMEOUT(big_sweep, 120) { ... }              30 s default; both scale with
 *                                                       CORIO_TEST_TIMEOUT_MULT
 *     TEST_EXPECT_SIGNAL(double_close_aborts, SIGABRT) { ... }
 *     TEST_EXPECT_DEATH(overflow_detected, SIGSEGV, "stack overflow") { ... }
 *
 * Integer assertions convert both sides to long long and print both expressions and values.
 * A failed assertion prints file:line to stderr and aborts; SKIP(fmt, ...) ends the case with
 * exit status 77 and a reason. A failed assertion inside an expected-death case is still a
 * failure: the harness tells it apart from the death the case expects.
 */
#ifndef CORIO_TESTS_TEST_H
#define CORIO_TESTS_TEST_H

#include <signal.h> /* SIGABRT etc. for TEST_EXPECT_SIGNAL */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
    const char *name;
    void (*fn)(void);
    double timeout_s;          /* 0 selects the default (30 s); scaled by the multiplier */
    int expect_signal;         /* 0: the case must return normally */
    const char *expect_stderr; /* substring the child's stderr must contain, or NULL */
    const char *file;
    int line;
};

void test__register(struct test_case *tc);
_Noreturn void test__fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void test__skip(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void test__fail_mem(const char *file, int line, const char *ea, const char *eb,
                              const void *a, const void *b, size_t n);
const char *test__quote(const char *s, char *buf, size_t cap);

#define TEST__DEFINE(name_, timeout_, signal_, substr_)                                            \
    static void test_##name_(void);                                                                \
    static struct test_case test__case_##name_ = {#name_,    test_##name_, (timeout_), (signal_),  \
                                                  (substr_), __FILE__,     __LINE__};              \
    __attribute__((constructor)) static void test__register_##name_(void)                          \
    {                                                                                              \
        test__register(&test__case_##name_);                                                       \
    }                                                                                              \
    static void test_##name_(void)

#define TEST(name) TEST__DEFINE(name, 0, 0, NULL)
#define TEST_TIMEOUT(name, seconds) TEST__DEFINE(name, (seconds), 0, NULL)
#define TEST_EXPECT_SIGNAL(name, sig) TEST__DEFINE(name, 0, (sig), NULL)
#define TEST_EXPECT_DEATH(name, sig, substr) TEST__DEFINE(name, 0, (sig), (substr))

#define SKIP(...) test__skip(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            test__fail(__FILE__, __LINE__, "ASSERT(%s) failed", #cond);                            \
    } while (0)

#define TEST__CMP(macro, a, op, b)                                                                 \
    do {                                                                                           \
        long long test__a = (long long)(a);                                                        \
        long long test__b = (long long)(b);                                                        \
        if (!(test__a op test__b))                                                                 \
            test__fail(__FILE__, __LINE__, "%s(%s, %s) failed\n    %s = %lld\n    %s = %lld",      \
                       macro, #a, #b, #a, test__a, #b, test__b);                                   \
    } while (0)

#define ASSERT_EQ(a, b) TEST__CMP("ASSERT_EQ", a, ==, b)
#define ASSERT_NE(a, b) TEST__CMP("ASSERT_NE", a, !=, b)
#define ASSERT_LT(a, b) TEST__CMP("ASSERT_LT", a, <, b)
#define ASSERT_LE(a, b) TEST__CMP("ASSERT_LE", a, <=, b)
#define ASSERT_GT(a, b) TEST__CMP("ASSERT_GT", a, >, b)
#define ASSERT_GE(a, b) TEST__CMP("ASSERT_GE", a, >=, b)

#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *test__sa = (a);                                                                \
        const char *test__sb = (b);                                                                \
        if (test__sa != test__sb &&                                                                \
            (test__sa == NULL || test__sb == NULL || strcmp(test__sa, test__sb) != 0)) {           \
            char test__qa[160], test__qb[160];                                                     \
            test__fail(__FILE__, __LINE__,                                                         \
                       "ASSERT_STREQ(%s, %s) failed\n    %s = %s\n    %s = %s", #a, #b, #a,        \
                       test__quote(test__sa, test__qa, sizeof test__qa), #b,                       \
                       test__quote(test__sb, test__qb, sizeof test__qb));                          \
        }                                                                                          \
    } while (0)

#define ASSERT_PTR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const void *test__pa = (a);                                                                \
        const void *test__pb = (b);                                                                \
        if (test__pa != test__pb)                                                                  \
            test__fail(__FILE__, __LINE__,                                                         \
                       "ASSERT_PTR_EQ(%s, %s) failed\n    %s = %p\n    %s = %p", #a, #b, #a,       \
                       test__pa, #b, test__pb);                                                    \
    } while (0)

#define ASSERT_NULL(p)                                                                             \
    do {                                                                                           \
        const void *test__p = (p);                                                                 \
        if (test__p != NULL)                                                                       \
            test__fail(__FILE__, __LINE__, "ASSERT_NULL(%s) failed: %p", #p, test__p);             \
    } while (0)

#define ASSERT_NOT_NULL(p)                                                                         \
    do {                                                                                           \
        if ((const void *)(p) == NULL)                                                             \
            test__fail(__FILE__, __LINE__, "ASSERT_NOT_NULL(%s) failed", #p);                      \
    } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                      \
    do {                                                                                           \
        const void *test__ma = (a);                                                                \
        const void *test__mb = (b);                                                                \
        size_t test__n = (size_t)(n);                                                              \
        if (test__n != 0 && memcmp(test__ma, test__mb, test__n) != 0)                              \
            test__fail_mem(__FILE__, __LINE__, #a, #b, test__ma, test__mb, test__n);               \
    } while (0)

#endif /* CORIO_TESTS_TEST_H */
