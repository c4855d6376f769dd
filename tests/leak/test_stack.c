/* Stack capture and deduplication, through the static library (no allocator involved):
 * one call site gives one id, another site another, frames start in the calling function,
 * depth is honoured, the recursion guard returns 0, threads agree on ids, the frame-pointer
 * walk gives libunwind's ids; prints the cost of a capture (cached and new stacks). */
#include "hk_hooks.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_options.h"
#include "../common/hk_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>


uint32_t site_a(void);
uint32_t site_b(void);
uint32_t deep(int n);
uint32_t path(unsigned i, int k);
uint32_t path_l(unsigned i, int k);
uint32_t path_r(unsigned i, int k);

__attribute__((noinline)) uint32_t site_a(void)
{
    uint32_t id = hk_stack_capture(0);
    __asm__ volatile("" ::: "memory");
    return id;
}

__attribute__((noinline)) uint32_t site_b(void)
{
    uint32_t id = hk_stack_capture(0);
    __asm__ volatile("" ::: "memory");
    return id;
}

__attribute__((noinline)) uint32_t deep(int n)
{
    uint32_t id = n ? deep(n - 1) : site_a();
    __asm__ volatile("" ::: "memory");
    return id;
}

/* A different stack for every i: its low k bits pick one of 2^k call paths. */
__attribute__((noinline)) uint32_t path(unsigned i, int k)
{
    uint32_t id = !k ? site_b() : (i & 1) ? path_l(i >> 1, k - 1) : path_r(i >> 1, k - 1);
    __asm__ volatile("" ::: "memory");
    return id;
}

__attribute__((noinline)) uint32_t path_l(unsigned i, int k)
{
    uint32_t id = path(i, k);
    __asm__ volatile("" ::: "memory");
    return id;
}

__attribute__((noinline)) uint32_t path_r(unsigned i, int k)
{
    uint32_t id = path(i, k);
    __asm__ volatile("" ::: "memory");
    return id;
}

/* n more frames of this program (built with frame pointers) above path(i, k). */
uint32_t padded(unsigned i, int k, int n);
__attribute__((noinline)) uint32_t padded(unsigned i, int k, int n)
{
    uint32_t id = n ? padded(i, k, n - 1) : path(i, k);
    __asm__ volatile("" ::: "memory");
    return id;
}

static volatile int three = 3;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define NTHREADS 4
#define PER_THREAD 200000
static uint32_t thread_ids[NTHREADS];

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    uint32_t first = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        uint32_t id = site_a();
        if (!first)
            first = id;
        if (id != first) {
            thread_ids[t] = 0;
            return NULL;
        }
    }
    thread_ids[t] = first;
    return NULL;
}

int main(void)
{
    setenv("HAKMEM_LEAK_CHECK", "1", 1);
    setenv("HAKMEM_STACK_DEPTH", "16", 1);
    hk_options_init();
    expect_true(hk_stack_capture(0) == 0, "capture before hk_stack_init must return 0");
    hk_stack_init();
    expect_true(hk_stack_ready(), "not ready after init");

    uint32_t a[3], b;
    for (int i = 0; i < three; i++)
        a[i] = site_a();   /* one call site, three times */
    b = site_b();
    expect_true(a[0] != 0, "site_a got no id");
    expect_true(a[0] == a[1] && a[1] == a[2], "same site, ids %u %u %u", a[0], a[1], a[2]);
    expect_true(b != 0 && b != a[0], "site_b id %u vs site_a %u", b, a[0]);

    uintptr_t f[HK_STACK_MAX_DEPTH];
    int n = hk_stack_frames(a[0], f);
    expect_true(n >= 3, "only %d frames", n);
    if (n >= 1)
        expect_true(f[0] > (uintptr_t)site_a && f[0] < (uintptr_t)site_a + 512,
                    "frame #0 %#lx is not in site_a (%p)", (unsigned long)f[0], (void *)site_a);
    expect_true(hk_stack_frames(0, f) == 0, "id 0 has frames");
    expect_true(hk_stack_frames(1u << 30, f) == 0, "an id never handed out has frames");

    uint32_t d = deep(40);
    n = hk_stack_frames(d, f);
    expect_true(n == 16, "deep stack: %d frames, HAKMEM_STACK_DEPTH=16", n);

    const uint32_t *fids;
    n = hk_stack_frame_ids(a[0], &fids);
    uint16_t mod0 = n >= 1 ? hk_stack_frame_module(fids[0]) : HK_MODULE_NONE;
    expect_true(mod0 != HK_MODULE_NONE, "frame #0 has no module");
    if (mod0 != HK_MODULE_NONE)
        expect_true(hk_stack_module(mod0)->is_main, "frame #0 is not in the executable");
    expect_true(n >= 1 && hk_stack_frame_pc(fids[0]) == f[0], "frame #0's id names another pc");
    /* Stacks share frames: site_a's and site_b's callers are the same frames. */
    const uint32_t *fb;
    int nb = hk_stack_frame_ids(b, &fb);
    expect_true(n >= 2 && nb >= 2 && fids[n - 1] == fb[nb - 1],
                "the outermost frame of two stacks from main has two ids");

    expect_true(hk_stack_guard_enter(), "guard already set");
    expect_true(site_a() == 0, "capture under the recursion guard must return 0");
    expect_true(!hk_stack_guard_enter(), "nested guard_enter must say it was set");
    hk_stack_guard_leave();
    expect_true(site_a() != 0, "no capture after the guard");

    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 1; t < NTHREADS; t++)
        expect_true(thread_ids[t] && thread_ids[t] == thread_ids[0],
                    "thread %d id %u vs thread 0 id %u", t, thread_ids[t], thread_ids[0]);

    /* The frame-pointer walk. This program and hakmem's internals keep frame pointers, so
     * once libunwind has run beside the walk, a stack whose first HAKMEM_STACK_DEPTH frames
     * (and the spare) are this program's is walked, not unwound; Debian's libc keeps none,
     * so a stack that reaches it (site_a from main) still goes to libunwind. Walked stacks
     * must get the ids libunwind gives them. */
    uint64_t fp0, unw0, fp1, unw1;
    for (int i = 0; i < 3; i++)
        deep(40);
    hk_stack_capture_counts(&fp0, &unw0);
    uint32_t d2 = deep(40);
    hk_stack_capture_counts(&fp1, &unw1);
    expect_true(d2 == d, "deep(40) walked: id %u, unwound: %u", d2, d);
    expect_true(fp1 == fp0 + 1 && unw1 == unw0,
                "deep(40) was not walked: walks %llu -> %llu, unwinds %llu -> %llu",
                (unsigned long long)fp0, (unsigned long long)fp1, (unsigned long long)unw0,
                (unsigned long long)unw1);
    /* 17 frames of this program, then libc: the walk stops after HAKMEM_STACK_DEPTH=16 of
     * them, before libc (libunwind would have needed the spare frames beyond). */
    deep(15);
    deep(15);
    hk_stack_capture_counts(&fp0, &unw0);
    deep(15);
    hk_stack_capture_counts(&fp1, &unw1);
    expect_true(fp1 == fp0 + 1, "a stack with 16 frames of this program before libc was not walked");
    site_a();
    hk_stack_capture_counts(&fp0, &unw0);
    expect_true(unw0 == unw1 + 1, "a stack through libc's start code was walked");
    unsigned same = 0, paths = 64;
    for (unsigned i = 0; i < paths; i++) {
        hk_stack_fp_enable(false);
        uint32_t by_unwind = padded(i, 6, 20);
        hk_stack_fp_enable(true);
        padded(i, 6, 20);                   /* libunwind again, learning this path */
        uint32_t by_walk = padded(i, 6, 20);
        same += by_unwind && by_walk == by_unwind;
    }
    hk_stack_capture_counts(&fp1, &unw1);
    expect_true(same == paths, "%u of %u call paths got the same id walked and unwound", same, paths);
    expect_true(fp1 - fp0 >= paths, "only %llu of %u path captures were walked",
                (unsigned long long)(fp1 - fp0), paths);

    /* Cost: cached stacks (the per-thread cache hits) through libc's start code (unwound),
     * deep ones of this program (walked, and unwound for comparison), new stacks (insert). */
    const int reps = 200000;
    uint64_t t0 = now_ns();
    for (int i = 0; i < reps; i++)
        deep(8);
    uint64_t t1 = now_ns();
    for (int i = 0; i < reps; i++)
        deep(24);              /* the first 23 frames are this program's: walked */
    uint64_t t2 = now_ns();
    hk_stack_fp_enable(false);
    for (int i = 0; i < reps; i++)
        deep(24);
    hk_stack_fp_enable(true);
    uint64_t t3 = now_ns();
    uint32_t before = hk_stack_count();
    const unsigned news = 128;   /* 7 levels of 2 frames + site_b + path = 16 frames */
    for (unsigned i = 0; i < news; i++)
        path(i, 7);
    uint64_t t4 = now_ns();
    uint32_t added = hk_stack_count() - before;
    expect_true(added == news, "%u distinct call paths gave %u new stacks", news, added);
    uint32_t again = 0;
    for (unsigned i = 0; i < news; i++)
        again += path(i, 7) > before ? 1 : 0;
    expect_true(again == news && hk_stack_count() - before == news, "paths re-captured differently");
    printf("capture at depth 16: %.0f ns (cached stack, unwound), %.0f ns (walked), "
           "%.0f ns (same stack unwound), %.0f ns (new stack); %u stacks, "
           "%zu bytes of tracker memory\n",
           (double)(t1 - t0) / reps, (double)(t2 - t1) / reps, (double)(t3 - t2) / reps,
           (double)(t4 - t3) / news, hk_stack_count(), hk_leak_arena_used());
    return hk_test_done("leak_stack");
}
