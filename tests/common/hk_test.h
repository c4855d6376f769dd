/* The test harness of every C test program (unit, integration, stress, leak, diag).
 *
 *   expect_true(cond, fmt, ...)    records a failure and keeps going
 *   assert_true(cond, fmt, ...)    records a failure and stops the program (exit 1)
 *   expect_false, expect_ptr_null, expect_ptr_not_null, expect_ptr_eq,
 *   expect_u64_{eq,ne,lt,le,gt,ge}, expect_d_eq, expect_str_eq: the same with both values
 *       printed; each has its assert_ twin
 *   test_fail(fmt, ...)            a failure found by the test's own logic (keeps going)
 *   test_fatal(fmt, ...)           the same, and stops the program
 *   test_skip(fmt, ...)            the test cannot run here: says why, exits 77 (meson: SKIP)
 *   hk_test_context = "..."        a label printed with every later failure (optional)
 *   return hk_test_done("name")    the summary line; 0 when every check held, else 1
 *   hk_test_rand(&state)           the next of a test's own pseudo-random numbers
 *                                  (xorshift64; state: any nonzero seed)
 *
 * Failures go to stderr as "FAIL file:line: [context] condition: message". The harness
 * itself never allocates: a message is formatted into a buffer on the stack and written
 * with write(2), so checks work in programs that link hakmem's internals, under LD_PRELOAD,
 * in forked children of threaded parents and while the allocator is being misused. The
 * counters are atomic: threads may check at the same time. A forked child that reports
 * through its exit status calls hk_test_reset() first, to count only its own failures. */
#ifndef HK_TEST_H
#define HK_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_uint hk_test_checks_;
static atomic_uint hk_test_failures_;
static const char *hk_test_context;

static inline void hk_test_write_(const char *s, size_t n)
{
    int saved = errno;
    while (n) {
        ssize_t w = write(2, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
    errno = saved;
}

/* Appends to buf (NUL-terminated, cap bytes) without ever overrunning it. */
__attribute__((format(printf, 4, 0))) static inline size_t
hk_test_vappend_(char *buf, size_t cap, size_t len, const char *fmt, va_list ap)
{
    if (len + 1 >= cap)
        return len;
    int n = vsnprintf(buf + len, cap - len, fmt, ap);
    if (n < 0)
        return len;
    return len + (size_t)n < cap - 1 ? len + (size_t)n : cap - 1;
}

__attribute__((format(printf, 4, 5))) static inline size_t
hk_test_append_(char *buf, size_t cap, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    len = hk_test_vappend_(buf, cap, len, fmt, ap);
    va_end(ap);
    return len;
}

/* Appends the message and ends the line (a full buffer's last byte becomes the '\n'). */
__attribute__((format(printf, 4, 0))) static inline size_t
hk_test_vline_(char *buf, size_t cap, size_t len, const char *fmt, va_list ap)
{
    len = hk_test_vappend_(buf, cap, len, fmt, ap);
    if (len < cap - 1)
        buf[len++] = '\n';
    else
        buf[cap - 2] = '\n';
    return len;
}

static inline unsigned hk_test_failed(void) { return atomic_load(&hk_test_failures_); }

static inline void hk_test_reset(void)
{
    atomic_store(&hk_test_checks_, 0);
    atomic_store(&hk_test_failures_, 0);
}

static inline int hk_test_done(const char *name)
{
    char buf[256];
    unsigned f = hk_test_failed();
    size_t n = hk_test_append_(buf, sizeof buf, 0, "%s: %u checks, %u failed: %s\n", name,
                               atomic_load(&hk_test_checks_), f, f ? "FAIL" : "ok");
    hk_test_write_(buf, n);
    return f ? 1 : 0;
}

/* One failure: the location, the condition (or NULL), the values (or NULL), the message. */
__attribute__((format(printf, 6, 7))) static inline void
hk_test_report_(const char *file, int line, int fatal, const char *cond, const char *values,
                const char *fmt, ...)
{
    char buf[2048];
    size_t n = hk_test_append_(buf, sizeof buf, 0, "FAIL %s:%d: ", file, line);
    if (hk_test_context && *hk_test_context)
        n = hk_test_append_(buf, sizeof buf, n, "[%s] ", hk_test_context);
    if (cond)
        n = hk_test_append_(buf, sizeof buf, n, "%s: ", cond);
    if (values)
        n = hk_test_append_(buf, sizeof buf, n, "(%s) ", values);
    va_list ap;
    va_start(ap, fmt);
    n = hk_test_vline_(buf, sizeof buf, n, fmt, ap);
    va_end(ap);
    hk_test_write_(buf, n);
    atomic_fetch_add(&hk_test_failures_, 1);
    if (fatal) {
        hk_test_done("stopped by assert");
        exit(1);
    }
}

#define HK_TEST_CHECK_(fatal, cond, ...)                                                     \
    do {                                                                                     \
        atomic_fetch_add_explicit(&hk_test_checks_, 1, memory_order_relaxed);                \
        if (!(cond))                                                                         \
            hk_test_report_(__FILE__, __LINE__, fatal, #cond, NULL, __VA_ARGS__);            \
    } while (0)

/* Both operands evaluated once, converted to T, compared with op, printed with pfmt. */
#define HK_TEST_CMP_(fatal, T, pfmt, a, op, b, ...)                                          \
    do {                                                                                     \
        T hk_a_ = (T)(a);                                                                    \
        T hk_b_ = (T)(b);                                                                    \
        atomic_fetch_add_explicit(&hk_test_checks_, 1, memory_order_relaxed);                \
        if (!(hk_a_ op hk_b_)) {                                                             \
            char hk_v_[128];                                                                 \
            snprintf(hk_v_, sizeof hk_v_, "%" pfmt " " #op " %" pfmt, hk_a_, hk_b_);         \
            hk_test_report_(__FILE__, __LINE__, fatal, #a " " #op " " #b, hk_v_,             \
                            __VA_ARGS__);                                                    \
        }                                                                                    \
    } while (0)

#define expect_true(c, ...) HK_TEST_CHECK_(0, c, __VA_ARGS__)
#define assert_true(c, ...) HK_TEST_CHECK_(1, c, __VA_ARGS__)
#define expect_false(c, ...) HK_TEST_CHECK_(0, !(c), __VA_ARGS__)
#define assert_false(c, ...) HK_TEST_CHECK_(1, !(c), __VA_ARGS__)

#define expect_ptr_eq(a, b, ...) HK_TEST_CMP_(0, const void *, "p", a, ==, b, __VA_ARGS__)
#define assert_ptr_eq(a, b, ...) HK_TEST_CMP_(1, const void *, "p", a, ==, b, __VA_ARGS__)
#define expect_ptr_null(a, ...) HK_TEST_CMP_(0, const void *, "p", a, ==, NULL, __VA_ARGS__)
#define assert_ptr_null(a, ...) HK_TEST_CMP_(1, const void *, "p", a, ==, NULL, __VA_ARGS__)
#define expect_ptr_not_null(a, ...) HK_TEST_CMP_(0, const void *, "p", a, !=, NULL, __VA_ARGS__)
#define assert_ptr_not_null(a, ...) HK_TEST_CMP_(1, const void *, "p", a, !=, NULL, __VA_ARGS__)

#define expect_u64_eq(a, b, ...) HK_TEST_CMP_(0, uint64_t, PRIu64, a, ==, b, __VA_ARGS__)
#define expect_u64_ne(a, b, ...) HK_TEST_CMP_(0, uint64_t, PRIu64, a, !=, b, __VA_ARGS__)
#define expect_u64_lt(a, b, ...) HK_TEST_CMP_(0, uint64_t, PRIu64, a, <, b, __VA_ARGS__)
#define expect_u64_le(a, b, ...) HK_TEST_CMP_(0, uint64_t, PRIu64, a, <=, b, __VA_ARGS__)
#define expect_u64_gt(a, b, ...) HK_TEST_CMP_(0, uint64_t, PRIu64, a, >, b, __VA_ARGS__)
#define expect_u64_ge(a, b, ...) HK_TEST_CMP_(0, uint64_t, PRIu64, a, >=, b, __VA_ARGS__)
#define assert_u64_eq(a, b, ...) HK_TEST_CMP_(1, uint64_t, PRIu64, a, ==, b, __VA_ARGS__)
#define assert_u64_ne(a, b, ...) HK_TEST_CMP_(1, uint64_t, PRIu64, a, !=, b, __VA_ARGS__)
#define assert_u64_lt(a, b, ...) HK_TEST_CMP_(1, uint64_t, PRIu64, a, <, b, __VA_ARGS__)
#define assert_u64_le(a, b, ...) HK_TEST_CMP_(1, uint64_t, PRIu64, a, <=, b, __VA_ARGS__)
#define assert_u64_gt(a, b, ...) HK_TEST_CMP_(1, uint64_t, PRIu64, a, >, b, __VA_ARGS__)
#define assert_u64_ge(a, b, ...) HK_TEST_CMP_(1, uint64_t, PRIu64, a, >=, b, __VA_ARGS__)

#define expect_d_eq(a, b, ...) HK_TEST_CMP_(0, long long, "lld", a, ==, b, __VA_ARGS__)
#define assert_d_eq(a, b, ...) HK_TEST_CMP_(1, long long, "lld", a, ==, b, __VA_ARGS__)

#define HK_TEST_STR_(fatal, a, b, ...)                                                       \
    do {                                                                                     \
        const char *hk_a_ = (a), *hk_b_ = (b);                                               \
        atomic_fetch_add_explicit(&hk_test_checks_, 1, memory_order_relaxed);                \
        if (!hk_a_ || !hk_b_ || strcmp(hk_a_, hk_b_) != 0) {                                 \
            char hk_v_[256];                                                                 \
            snprintf(hk_v_, sizeof hk_v_, "\"%.100s\" vs \"%.100s\"",                        \
                     hk_a_ ? hk_a_ : "(null)", hk_b_ ? hk_b_ : "(null)");                    \
            hk_test_report_(__FILE__, __LINE__, fatal, #a " == " #b, hk_v_, __VA_ARGS__);    \
        }                                                                                    \
    } while (0)
#define expect_str_eq(a, b, ...) HK_TEST_STR_(0, a, b, __VA_ARGS__)
#define assert_str_eq(a, b, ...) HK_TEST_STR_(1, a, b, __VA_ARGS__)

#define test_fail(...)                                                                       \
    (atomic_fetch_add_explicit(&hk_test_checks_, 1, memory_order_relaxed),                   \
     hk_test_report_(__FILE__, __LINE__, 0, NULL, NULL, __VA_ARGS__))
#define test_fatal(...)                                                                      \
    (atomic_fetch_add_explicit(&hk_test_checks_, 1, memory_order_relaxed),                   \
     hk_test_report_(__FILE__, __LINE__, 1, NULL, NULL, __VA_ARGS__))

/* Marsaglia's xorshift64: reproducible inputs without libc's rand (which a test under
 * LD_PRELOAD may not want to share with the program under test). */
static inline uint64_t hk_test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

__attribute__((format(printf, 1, 2), noreturn)) static inline void test_skip(const char *fmt, ...)
{
    char buf[512];
    size_t n = hk_test_append_(buf, sizeof buf, 0, "SKIP: ");
    va_list ap;
    va_start(ap, fmt);
    n = hk_test_vline_(buf, sizeof buf, n, fmt, ap);
    va_end(ap);
    hk_test_write_(buf, n);
    exit(77);
}

#endif
