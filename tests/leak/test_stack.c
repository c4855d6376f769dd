/* Stack capture and deduplication, through the static library (no allocator involved):
 * one call site gives one id, another site another, frames start in the calling function,
 * depth is honoured, the recursion guard returns 0, threads agree on ids, the walk gives
 * libunwind's ids in code with and without frame pointers, in libc, in threads and through
 * a signal frame, the memo answers only while the words that decided a walk hold (and not
 * after code is unloaded); prints the cost of a capture (cached and new stacks). */
#include "hk_hooks.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_options.h"
#include "hk_unwind.h"
#include "../common/hk_test.h"

#include <pthread.h>
#include <signal.h>
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
/* A trip count the compiler cannot see, so that a loop that must run one call site twice
 * (walk off, then on) is not unrolled into two (an -fsanitize=undefined build did). */
static volatile int two = 2;

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

typedef uint32_t (*shape_cap)(void);
uint32_t shape_any(shape_cap cap, unsigned pick, int n);   /* stack_shapes.c */
uint32_t shape_via_ms_abi(shape_cap cap, int n);

/* A capture from a comparison function that libc's qsort calls. */
static uint32_t sort_id;
static int by_capture(const void *x, const void *y)
{
    if (!sort_id)
        sort_id = site_b();
    return *(const int *)x - *(const int *)y;
}

uint32_t sorted_capture(unsigned i);
__attribute__((noinline)) uint32_t sorted_capture(unsigned i)
{
    int v[8];
    for (int k = 0; k < 8; k++)
        v[k] = (int)((i * 31u + (unsigned)k * 17u) % 13u);
    sort_id = 0;
    qsort(v, 8, sizeof v[0], by_capture);
    return sort_id;
}

static volatile uint32_t signal_id;
static void on_signal(int sig)
{
    (void)sig;
    signal_id = site_a();
}

/* The stacks compared walked and unwound: frame pointers all the way (padded), optimised
 * frames without them (stack_shapes.c), both short enough to end in libc's start code,
 * libc's qsort calling back; and (kind 4) a frame the walk must leave to libunwind. */
static uint32_t capture_by(unsigned kind, unsigned i)
{
    switch (kind) {
    case 0: return padded(i, 6, 20);
    case 1: return shape_any(site_b, i, 1 + (int)(i % 7));
    case 2: return padded(i, 3, (int)(i % 4));
    case 3: return sorted_capture(i);
    default: return shape_via_ms_abi(site_b, (int)(i % 3));
    }
}

/* Captures in a thread, walked and unwound (the switch is global: the threads take turns,
 * the main thread waits). */
static _Atomic int walk_worker_bad;
static pthread_mutex_t walk_lock = PTHREAD_MUTEX_INITIALIZER;
static void *walk_worker(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < 16; i++)
        for (unsigned kind = 0; kind <= 4; kind++) {
            uint32_t ids[2];
            pthread_mutex_lock(&walk_lock);
            for (int walk = 0; walk < two; walk++) {
                hk_stack_walk_enable(walk);
                ids[walk] = capture_by(kind, i);
            }
            pthread_mutex_unlock(&walk_lock);
            walk_worker_bad += !ids[0] || ids[1] != ids[0];
        }
    return NULL;
}

/* The memo's test (main): one call site captures every path, walked or not (a trip count
 * the compiler cannot see, and no branch in the loop, so that no copy of the call site
 * gives the stacks another return address). */
#define MEMO_PICKS 5
static const unsigned memo_picks[MEMO_PICKS] = {0, 1, 2, 64, 65};
static volatile unsigned memo_npicks = MEMO_PICKS;

static __attribute__((noinline)) void memo_round(bool walk, uint32_t *ids)
{
    hk_stack_walk_enable(walk);
    for (unsigned c = 0; c < memo_npicks; c++)
        ids[c] = path(memo_picks[c], 7);   /* 16 frames: the depth ends below here */
}

/* The trace a walk leaves for the memo keeps the word rbp came from once a rule computes a
 * CFA from rbp: two walks that differ only there must not look alike. One frame of path()
 * (built with frame pointers: CFA = rbp + 16, rbp saved at CFA - 16), laid out by hand,
 * whose caller's return address 0 ends the stack. */
static void trace_keeps_bp(uintptr_t pc_in_path)
{
#if HK_UNWIND_FAST
    uintptr_t st[16] = {0};
    st[0] = (uintptr_t)&st[6];    /* the record the walk starts from: rbp, return address */
    st[1] = pc_in_path;           /* path's own record, at st[6]: rbp 0, return address 0 */
    struct hk_unwind_trace t;
    hk_unwind_trace_start(&t, st);
    struct hk_unwind_frame f = {.pc = st[1], .sp = (uintptr_t)&st[2], .bp = st[0]};
    enum hk_unwind_step r = hk_unwind_step(&f, (uintptr_t)&st[16], &t);
    bool bp_kept = false, ra_kept = false;
    for (unsigned i = 0; i < t.n && i < HK_UNWIND_TRACE; i++) {
        bp_kept |= t.at[i] == &st[0] && t.val[i] == st[0];
        ra_kept |= t.at[i] == &st[7] && t.val[i] == 0;
    }
    expect_true(r == HK_UNWIND_END, "the hand-made frame of path gave step %d", (int)r);
    expect_true(bp_kept && ra_kept && t.n == 3, "a walk through an rbp-based frame kept %u "
                "words, rbp's %s, the return address %s", t.n, bp_kept ? "among them" : "not",
                ra_kept ? "too" : "not");
#else
    (void)pc_in_path;
#endif
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

    /* The walk (diag/hk_unwind.c): every stack is walked with the rules of .eh_frame, in
     * this program (frame pointers), in optimised code without them (stack_shapes.c), in
     * Debian's libc (its start code under main, qsort calling back), and must give the ids
     * libunwind gives; a stack through a signal frame goes to libunwind. */
    uint64_t w0, unw0, w1, unw1, m0, m1;
    hk_stack_capture_counts(&w0, &unw0, &m0);
    uint32_t d2 = deep(40);
    hk_stack_capture_counts(&w1, &unw1, &m1);
    expect_true(d2 == d, "deep(40) walked: id %u, first seen as %u", d2, d);
    expect_true(w1 == w0 + 1 && unw1 == unw0, "deep(40) was not walked: walks %llu -> %llu, "
                "unwinds %llu -> %llu", (unsigned long long)w0, (unsigned long long)w1,
                (unsigned long long)unw0, (unsigned long long)unw1);
    unsigned same = 0, paths = 64, kinds = 4;
    for (unsigned i = 0; i < paths; i++)
        for (unsigned kind = 0; kind <= kinds; kind++) {   /* kinds: walked; one more not */
            uint32_t ids[2];
            for (int walk = 0; walk < two; walk++) {
                hk_stack_walk_enable(walk);
                ids[walk] = capture_by(kind, i);   /* one call site: the ids may be equal */
            }
            same += ids[0] && ids[1] == ids[0];
        }
    hk_stack_capture_counts(&w0, &unw0, &m0);
    expect_true(same == (kinds + 1) * paths, "%u of %u stacks got the same id walked and "
                "unwound", same, (kinds + 1) * paths);
    expect_true(w0 - w1 == kinds * paths, "%llu captures were walked, %u expected",
                (unsigned long long)(w0 - w1), kinds * paths);
    /* The Microsoft-ABI frames: unwound each time, walk on or off. */
    expect_true(unw0 - unw1 == (kinds + 2) * paths, "%llu captures were unwound, %u expected",
                (unsigned long long)(unw0 - unw1), (kinds + 2) * paths);
    /* Threads: their stacks end in libc's thread start, which the walk must end as
     * libunwind does. */
    pthread_t tw[2];
    for (int t = 0; t < 2; t++)
        pthread_create(&tw[t], NULL, walk_worker, NULL);
    for (int t = 0; t < 2; t++)
        pthread_join(tw[t], NULL);
    expect_true(walk_worker_bad == 0, "%d thread captures differ walked and unwound",
                (int)walk_worker_bad);
    /* A signal handler: __restore_rt's frame has no plain rule, so libunwind does it. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    uint32_t sig_ids[2];
    uint64_t sig_unwinds = 0;
    for (int walk = 0; walk < two; walk++) {
        hk_stack_walk_enable(walk);
        hk_stack_capture_counts(&w0, &unw0, &m0);
        raise(SIGUSR1);
        hk_stack_capture_counts(&w1, &unw1, &m1);
        sig_ids[walk] = signal_id;
        sig_unwinds += unw1 - unw0;
    }
    expect_true(sig_ids[0] && sig_ids[1] == sig_ids[0], "in a signal handler: %u walked, %u "
                "unwound", sig_ids[1], sig_ids[0]);
    expect_true(sig_unwinds == 2, "a stack through a signal frame was walked");

    /* Cost: cached stacks (the per-thread cache hits) through libc's start code, deep ones
     * of this program (walked, and unwound for comparison), new stacks (insert). */
    const int reps = 200000;
    uint64_t t0 = now_ns();
    for (int i = 0; i < reps; i++)
        deep(8);
    uint64_t t1 = now_ns();
    for (int i = 0; i < reps; i++)
        deep(24);              /* walked */
    uint64_t t2 = now_ns();
    hk_stack_walk_enable(false);
    for (int i = 0; i < reps; i++)
        deep(24);
    hk_stack_walk_enable(true);
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

    /* The memo (hk_stack.c): a capture from the frame of an earlier walk is answered from
     * the words that decided that walk, and only while every one holds its value. Paths
     * that start from the same frame and differ first near main (path's low bits), or first
     * at the innermost frame (bit 6), keep their own ids, each libunwind's; the stacks of
     * stack_shapes.c (rbp-based frames among them) answered twice in a row are too. */
    {
        enum { rounds = 400 };
        uint32_t want[MEMO_PICKS], got[MEMO_PICKS];
        unsigned wrong = 0;
        memo_round(false, want);
        hk_stack_capture_counts(&w0, &unw0, &m0);
        for (int r = 0; r < rounds; r++) {
            memo_round(true, got);
            for (unsigned c = 0; c < MEMO_PICKS; c++)
                wrong += got[c] != want[c];
        }
        hk_stack_capture_counts(&w1, &unw1, &m1);
        expect_true(wrong == 0, "%u of %u memo answers or walks gave another stack's id", wrong,
                    rounds * MEMO_PICKS);
        expect_true(m1 - m0 >= (uint64_t)(rounds - 1) * MEMO_PICKS, "the memo answered %llu of "
                    "%u captures of %u paths", (unsigned long long)(m1 - m0), rounds * MEMO_PICKS,
                    MEMO_PICKS);
        expect_true(unw1 == unw0, "paths of frame-pointer code went to libunwind");
        /* Code unloaded: the rules may have changed, so no remembered walk answers. */
        hk_stack_code_unloaded();
        memo_round(true, got);
        hk_stack_capture_counts(&w0, &unw0, &m0);
        expect_true(m0 == m1 && w0 == w1 + MEMO_PICKS, "the memo answered %llu captures after "
                    "code was unloaded", (unsigned long long)(m0 - m1));
        expect_true(!memcmp(got, want, sizeof got), "after code was unloaded, walks gave other "
                    "ids");
        uintptr_t pf[HK_STACK_MAX_DEPTH];
        if (hk_stack_frames(want[0], pf) >= 2)   /* pf[1]: path's call of site_b */
            trace_keeps_bp(pf[1]);

        unsigned shapes_wrong = 0, shapes_walked = 0;
        hk_stack_capture_counts(&w0, &unw0, &m0);
        for (unsigned i = 0; i < paths; i++)
            for (unsigned kind = 1; kind <= 3; kind++) {
                uint32_t ids[3];
                for (int k = 0; k < three; k++) {
                    hk_stack_walk_enable(k > 0);
                    ids[k] = capture_by(kind, i);
                }
                shapes_wrong += !ids[0] || ids[1] != ids[0] || ids[2] != ids[0];
                shapes_walked += 2;
            }
        hk_stack_capture_counts(&w1, &unw1, &m1);
        expect_true(shapes_wrong == 0, "%u stack shapes got another id from the memo",
                    shapes_wrong);
        expect_true(m1 - m0 >= paths * 3, "the memo answered %llu of %u second walks of the "
                    "stack shapes", (unsigned long long)(m1 - m0), shapes_walked / 2);
    }
    printf("capture at depth 16: %.0f ns (cached stack, 12 deep), %.0f ns (28 deep, walked), "
           "%.0f ns (28 deep, unwound), %.0f ns (new stack); %u stacks, "
           "%zu bytes of tracker memory\n",
           (double)(t1 - t0) / reps, (double)(t2 - t1) / reps, (double)(t3 - t2) / reps,
           (double)(t4 - t3) / news, hk_stack_count(), hk_leak_arena_used());
    return hk_test_done("leak_stack");
}
