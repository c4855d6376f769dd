/* Minimal test harness: EXPECT_* records a failure and goes on, ASSERT_* stops the test.
 * A test program returns hk_test_done(): 0 when everything held, 1 otherwise. */
#ifndef HK_TEST_H
#define HK_TEST_H

#include <stdio.h>
#include <stdlib.h>

static int hk_test_failures;
static int hk_test_checks;

#define HK_CHECK_(cond, fatal, ...)                                              \
    do {                                                                         \
        hk_test_checks++;                                                        \
        if (!(cond)) {                                                           \
            hk_test_failures++;                                                  \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fprintf(stderr, "\n");                                               \
            if (fatal)                                                           \
                exit(1);                                                         \
        }                                                                        \
    } while (0)

#define EXPECT(cond, ...) HK_CHECK_(cond, 0, __VA_ARGS__)
#define ASSERT(cond, ...) HK_CHECK_(cond, 1, __VA_ARGS__)

static inline int hk_test_done(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, hk_test_checks, hk_test_failures);
    return hk_test_failures ? 1 : 0;
}

#endif
