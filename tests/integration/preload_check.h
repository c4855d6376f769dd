/* For programs that run under LD_PRELOAD=libhakmem.so without linking it: make sure the
 * allocator they exercise is really hakmem, so that no test measures glibc by accident.
 * HK_TEST_ALLOW_LIBC=1 in the environment turns the check off (to validate a test on glibc). */
#ifndef HK_PRELOAD_CHECK_H
#define HK_PRELOAD_CHECK_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int hk_allow_libc(void)
{
    const char *e = getenv("HK_TEST_ALLOW_LIBC");
    return e && *e == '1';
}

static inline void hk_require_preloaded(const char *prog)
{
    if (hk_allow_libc())
        return;
    static const char *const names[] = {"malloc", "free", "calloc", "realloc",
                                        "posix_memalign", "malloc_usable_size"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(RTLD_DEFAULT, names[i]);
        Dl_info di;
        memset(&di, 0, sizeof di);
        if (!sym || !dladdr(sym, &di) || !di.dli_fname || !strstr(di.dli_fname, "libhakmem")) {
            fprintf(stderr, "%s: %s resolves to %s, not libhakmem (is LD_PRELOAD set?)\n", prog,
                    names[i], di.dli_fname ? di.dli_fname : "(nothing)");
            exit(1);
        }
    }
    void *(*volatile m)(size_t) = malloc;
    Dl_info di;
    memset(&di, 0, sizeof di);
    if (!dladdr((void *)m, &di) || !di.dli_fname || !strstr(di.dli_fname, "libhakmem")) {
        fprintf(stderr, "%s: the program's malloc is in %s, not libhakmem\n", prog,
                di.dli_fname ? di.dli_fname : "(nothing)");
        exit(1);
    }
}

/* At the end of a program that frees only what it allocated: hakmem called none of its
 * frees invalid. Returns 1 if it did (and says so). Needs hakmem.h for the struct. */
#ifdef HAKMEM_H
static inline int hk_invalid_frees_seen(const char *prog)
{
    if (hk_allow_libc())
        return 0;
    typedef int (*snap_fn)(struct hakmem_stats *, size_t);
    snap_fn snap = (snap_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hakmem_stats_snapshot");
    static struct hakmem_stats s;
    if (!snap || snap(&s, sizeof s) != 0) {
        fprintf(stderr, "%s: hakmem_stats_snapshot unavailable\n", prog);
        return 1;
    }
    if (s.invalid_frees) {
        fprintf(stderr, "%s: hakmem reported %llu of this program's frees as invalid\n", prog,
                (unsigned long long)s.invalid_frees);
        return 1;
    }
    return 0;
}
#endif

#endif
