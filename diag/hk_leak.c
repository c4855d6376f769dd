/* The leak check (HAKMEM_LEAK_CHECK=1), its entry points: one run at a time, under the
 * leak lock and the recursion guard; the run's memory; which kinds count; the check on
 * demand and at exit, and the exit code. What a run does is in the files hk_leak_run.h
 * lists. Everything it needs it maps itself (hk_os_map_meta) and releases at the end (a
 * release the kernel refuses keeps only the address space: its pages are dropped and it is
 * counted in unmap_failures; nothing here could use it again); it
 * never calls malloc, and the few libc calls that may allocate (pthread_getattr_np, dladdr)
 * run under the recursion guard, so what they allocate is simply not tracked. */
#include "hakmem.h"
#include "hk_emit.h"
#include "hk_log.h"
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_dump_format.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_lock.h"
#include "hk_options.h"
#include "hk_os.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

HK_LOCK_DEFINE(hk_leak_lock, HK_RANK_LEAK);

/* ---- memory of a run (mapped, unmapped at the end) ----
 *
 * Every mapping of the check is recorded here, so that its scan of the process's own
 * mappings (hk_leak_maps.c) skips them: the snapshot holds a pointer to every live block.
 * A mapping that cannot be recorded is refused. Leak lock held. */

#define HK_LEAK_MAPS_MAX 512
static struct {
    uintptr_t lo, hi;
} hk_leak_maps[HK_LEAK_MAPS_MAX];
static size_t hk_leak_nmaps;
static size_t hk_leak_maps_bytes, hk_leak_maps_peak;   /* mapped now, and at most in a run */

void *hk_leak_run_map(size_t bytes, size_t *len)
{
    *len = hk_align_up(bytes ? bytes : 1, hk_os_page_size());
    if (hk_leak_nmaps == HK_LEAK_MAPS_MAX)
        return NULL;
    char *p = hk_os_map_meta(*len);
    if (p) {
        hk_leak_maps[hk_leak_nmaps].lo = (uintptr_t)p;
        hk_leak_maps[hk_leak_nmaps++].hi = (uintptr_t)p + *len;
        hk_leak_maps_bytes += *len;
        if (hk_leak_maps_bytes > hk_leak_maps_peak)
            hk_leak_maps_peak = hk_leak_maps_bytes;
    }
    return p;
}

size_t hk_leak_run_map_max(void) { return HK_LEAK_MAPS_MAX; }
size_t hk_leak_run_peak(void) { return hk_leak_maps_peak; }

void hk_leak_run_unmap(void *p, size_t len)
{
    for (size_t i = 0; i < hk_leak_nmaps; i++) {
        if (hk_leak_maps[i].lo == (uintptr_t)p) {
            hk_leak_maps_bytes -= hk_leak_maps[i].hi - hk_leak_maps[i].lo;
            hk_leak_maps[i] = hk_leak_maps[--hk_leak_nmaps];
            break;
        }
    }
    (void)hk_os_unmap_meta(p, len);
}

void hk_leak_run_maps(void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
    for (size_t i = 0; i < hk_leak_nmaps; i++)
        fn(ctx, hk_leak_maps[i].lo, hk_leak_maps[i].hi);
}

static void hk_run_free(struct hk_run *r)
{
    if (r->b)
        hk_leak_run_unmap(r->b, r->b_len);
    if (r->g)
        hk_leak_run_unmap(r->g, r->g_len);
    if (r->order)
        hk_leak_run_unmap(r->order, r->order_len);
    if (r->work)
        hk_leak_run_unmap(r->work, r->work_len);
    if (r->supp_text)
        hk_leak_run_unmap(r->supp_text, r->supp_len);
    if (r->supp)
        hk_leak_run_unmap(r->supp, r->supp_map_len);
    if (r->skip)
        hk_leak_run_unmap(r->skip, r->skip_len);
    if (r->verdict)
        hk_leak_run_unmap(r->verdict, r->verdict_len);
    hk_leak_sym_release();
}

bool hk_leak_run_grow(void **p, size_t *len, size_t need)
{
    if (need <= *len)
        return true;
    size_t want = *len ? *len * 2 : 4096, got;
    while (want < need)
        want *= 2;
    void *q = hk_leak_run_map(want, &got);
    if (!q)
        return false;
    if (*p) {
        memcpy(q, *p, *len);
        hk_leak_run_unmap(*p, *len);
    }
    *p = q;
    *len = got;
    return true;
}

/* The whole analysis; false when memory for it could not be mapped. */
static bool hk_analyze(struct hk_run *r)
{
    memset(r, 0, sizeof *r);
    r->start_ns = hk_os_monotonic_ns();
    hk_leak_sym_release();   /* what a misuse report looked up since: sized for fewer frames */
    hk_leak_maps_peak = hk_leak_maps_bytes;
    hk_stack_modules_refresh();
    if (!hk_leak_scan(r))
        return false;
    hk_leak_sym_demangle();   /* before the suppressions: they match people's names */
    hk_leak_supp_load(r);
    return hk_leak_group(r);
}

bool hk_leak_kind_selected(int kind)
{
    int mode = hk_opt.leak_report;
    return mode == 2 || (mode == 1 ? kind == HK_KIND_REACHABLE : kind == HK_KIND_LOST);
}

static uint64_t hk_selected_blocks(const struct hk_run *r)
{
    uint64_t n = 0;
    for (int k = 0; k < 2; k++)
        if (hk_leak_kind_selected(k))
            n += r->blocks[k];
    return n;
}

void hk_leak_with_analysis(void (*fn)(struct hk_run *r, void *arg), void *arg)
{
    bool guarded = hk_stack_guard_enter();
    hk_lock(&hk_leak_lock);
    size_t rlen;
    struct hk_run *r = hk_leak_run_map(sizeof *r, &rlen);
    fn(r && hk_analyze(r) ? r : NULL, arg);
    if (r) {
        hk_run_free(r);
        hk_leak_run_unmap(r, rlen);
    }
    hk_unlock(&hk_leak_lock);
    if (guarded)
        hk_stack_guard_leave();
}

struct hk_check_args {
    int fd;
    bool final;
    uint64_t leaked;
};

static void hk_check_report(struct hk_run *r, void *arg)
{
    struct hk_check_args *a = arg;
    if (!r) {
        hk_os_write_all(a->fd, "hakmem: " HK_LOG_PREFIX_LEAK_NO_MEMORY "\n",
                        sizeof("hakmem: " HK_LOG_PREFIX_LEAK_NO_MEMORY "\n") - 1);
        return;
    }
    hk_leak_print_report(r, a->fd, a->final);
    a->leaked = hk_selected_blocks(r);
}

uint64_t hk_leak_check_run(int fd, bool final)
{
    if (!hk_stack_ready())
        return 0;
    struct hk_check_args a = {fd, final, 0};
    hk_leak_with_analysis(hk_check_report, &a);
    return a.leaked;
}

/* The status given to exit() (returning from main is exit(ret)); -1 until known. A library
 * destructor cannot see it; glibc's on_exit hands it to its callback. Exit handlers run in
 * reverse order of registration, and ours is registered at the first allocation, usually
 * before __libc_start_main registers the destructors' run (_dl_fini): then the callback runs
 * after the destructors, and the destructor leaves the verdict (exit code or not) and the
 * end of a suite report to it. Only the low 8 bits reach the parent. */
static atomic_int hk_leak_exit_status = -1;
static atomic_uint_fast64_t hk_leak_pending;   /* leaks found by the check at exit */
static atomic_bool hk_leak_waiting;            /* the verdict is left to on_exit */
static bool hk_leak_watching;

static bool hk_leak_suite(void) { return hk_opt.leak_suite_dir != NULL; }

/* Whether n leaks change the exit status: HAKMEM_LEAK_EXITCODE=0 reports only, and suite
 * mode keeps the program's status unless HAKMEM_LEAK_SUITE_FAIL=1. */
static bool hk_leak_fails(uint64_t n)
{
    return n && hk_opt.leak_exitcode && (!hk_leak_suite() || hk_opt.leak_suite_fail);
}

/* n unsuppressed leaks and the program's status (< 0: unknown, taken as 0): the leak status
 * replaces a clean exit. Suite mode says it in the report, not on stderr. */
static void hk_leak_verdict(uint64_t n, int status)
{
    bool fails = hk_leak_fails(n), suite = hk_leak_suite();
    if (suite)
        hk_leak_suite_end(status, fails && status <= 0 ? hk_opt.leak_exitcode : -1);
    if (!fails)
        return;
    if (status > 0) {
        if (!suite)
            hk_leak_print_keeping(n, status);
        return;
    }
    if (!suite)
        hk_leak_print_exiting(n);
    fflush(NULL);
    _exit(hk_opt.leak_exitcode);
}

static void hk_leak_note_status(int status, void *arg)
{
    (void)arg;
    atomic_store(&hk_leak_exit_status, status & 0xff);
    if (atomic_exchange(&hk_leak_waiting, false))
        hk_leak_verdict(atomic_load(&hk_leak_pending), status & 0xff);
}

void hk_leak_watch_exit(void) { hk_leak_watching = on_exit(hk_leak_note_status, NULL) == 0; }

static void hk_suite_report(struct hk_run *r, void *arg)
{
    hk_leak_suite_begin(r);
    *(uint64_t *)arg = r ? hk_selected_blocks(r) : 0;
}

/* Suite mode: the report into HAKMEM_LEAK_SUITE_DIR, left open for the exit status. */
static uint64_t hk_leak_suite_check(void)
{
    uint64_t n = 0;
    hk_leak_with_analysis(hk_suite_report, &n);
    return n;
}

void hk_leak_at_exit(void)
{
    static atomic_int done;
    if (!hk_opt.leak_check || !hk_stack_ready())
        return;
    if (hk_os_pid() != hk_stack_init_pid() && !hk_opt.leak_child)
        return;   /* a forked child: its parent reports these blocks */
    if (atomic_exchange(&done, 1))
        return;
    fflush(NULL);   /* the program's own output first, and never lost */
    bool suite = hk_leak_suite();
    uint64_t n = suite ? hk_leak_suite_check() : hk_leak_check_run(hk_log_fd(), true);
    if (!suite && !hk_leak_fails(n))
        return;
    int status = atomic_load(&hk_leak_exit_status);
    if (status < 0 && hk_leak_watching) {
        atomic_store(&hk_leak_pending, n);   /* exit() is running: on_exit comes after us */
        atomic_store(&hk_leak_waiting, true);
    } else {
        hk_leak_verdict(n, status);
    }
}

HK_API uint64_t hakmem_leak_check(void)
{
    if (!hk_opt.leak_check || !hk_stack_ready())
        return 0;
    return hk_leak_check_run(hk_log_fd(), false);
}
