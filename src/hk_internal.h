/* Internal definitions shared by every file of the allocator. Names: public hakmem_,
 * internal hk_, OS layer hk_os_. */
#ifndef HK_INTERNAL_H
#define HK_INTERNAL_H

#include "hk_config.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HK_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HK_NOINLINE    __attribute__((noinline))
#define HK_COLD        __attribute__((cold, noinline))
#define HK_API         __attribute__((visibility("default")))
/* Initial-exec TLS: a preloaded library must never let glibc allocate its TLS lazily with
 * malloc (that recurses into us). */
#define HK_TLS         __thread __attribute__((tls_model("initial-exec")))
/* A deliberate racy read (live threads' plain counters summed by a snapshot): exempt from
 * ThreadSanitizer, which would otherwise report the design rather than a bug. */
#define HK_RACY_READ   __attribute__((no_sanitize_thread))

#define HK_KiB ((size_t)1 << 10)
#define HK_MiB ((size_t)1 << 20)

/* Feature switches as constants, so disabled code is still compiled and type-checked. */
static const bool hk_config_stats = HK_DIAG_LEVEL >= 1;
static const bool hk_config_full = HK_DIAG_LEVEL >= 2;

/* Invariants checked in a debug build (meson's debug option: the debugoptimized build of the
 * test suite runs them); nothing in a release build. The message is written without malloc. */
#if HK_DEBUG
#define HK_ASSERT(cond) \
    ((void)(HK_LIKELY(cond) || (hk_assert_failed(#cond, __FILE__, __LINE__), 0)))
#else
#define HK_ASSERT(cond) ((void)(0 && (cond)))
#endif
__attribute__((noreturn, cold)) void hk_assert_failed(const char *what, const char *file,
                                                      int line);

static inline size_t hk_align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }
static inline bool hk_is_pow2(size_t n) { return n && !(n & (n - 1)); }

#define HK_RELAXED memory_order_relaxed
#define HK_ACQUIRE memory_order_acquire
#define HK_RELEASE memory_order_release

/* ---- hk_slow.c: the slow paths the hot paths (hk_alloc.h) call ---- */
void *hk_alloc_slow(size_t size, unsigned cls);
void *hk_alloc_large_slow(size_t size);
void hk_free_slow(void *p);

#endif
