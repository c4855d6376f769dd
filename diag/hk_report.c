/* The stats report and the hooks that produce it: exit (library destructor, which runs
 * after the destructors of the libraries loaded after us, so late frees are counted),
 * fatal signals (write(2) only, then the previous handler and a re-raise, so the exit
 * status stays the signal's), a chosen signal for a live snapshot, and the API. */
#include "hk_report.h"
#include "hk_dump_format.h"
#include "hk_log.h"
#include "hakmem.h"
#include "hk_crash.h"
#include "hk_dump.h"
#include "hk_emit.h"
#include "hk_census.h"
#include "hk_options.h"
#include "hk_misuse.h"
#include "hk_os.h"
#include "hk_snapshot.h"
#include "hk_leak.h"
#include "hk_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The class table: class, size and allocs; the counters of HAKMEM_CLASS_COUNTERS with a
 * negative width; the derived live and fast%; then the counters with a positive width. The
 * others are JSON only. */
#define HK_CLASS_FIXED_COLS 5
#define HK_CLASS_COL(name, width, doc) + ((width) != 0)
enum { HK_CLASS_COLS = HK_CLASS_FIXED_COLS HAKMEM_CLASS_COUNTERS(HK_CLASS_COL) };
#undef HK_CLASS_COL
static const char *hk_class_cols[HK_CLASS_COLS];
static int hk_class_widths[HK_CLASS_COLS];

static void hk_class_col(int *n, const char *name, int width)
{
    hk_class_cols[*n] = name;
    hk_class_widths[(*n)++] = width;
}

static void hk_class_cols_init(void)
{
    int n = 0;
    hk_class_col(&n, "class", 5);
    hk_class_col(&n, "size", 6);
    hk_class_col(&n, "allocs", 12);
#define HK_CLASS_COL(name, width, doc) if ((width) < 0) hk_class_col(&n, #name, -(width));
    HAKMEM_CLASS_COUNTERS(HK_CLASS_COL)
#undef HK_CLASS_COL
    hk_class_col(&n, "live", 10);
    hk_class_col(&n, "fast%", 6);
#define HK_CLASS_COL(name, width, doc) if ((width) > 0) hk_class_col(&n, #name, width);
    HAKMEM_CLASS_COUNTERS(HK_CLASS_COL)
#undef HK_CLASS_COL
}

static void hk_emit_class_row(struct hk_emit *e, const struct hakmem_class_stats *c)
{
    hk_emit_row_begin(e);
    hk_emit_cell_u64(e, "class", 5, c->class_id);
    hk_emit_cell_u64(e, "size", 6, c->size);
    hk_emit_cell_u64(e, "allocs", 12, c->allocs);
#define HK_CELL(name, width, doc) \
    if ((width) < 0)              \
        hk_emit_cell_u64(e, #name, -(width), c->name);
    HAKMEM_CLASS_COUNTERS(HK_CELL)
#undef HK_CELL
    hk_emit_cell_u64(e, "live", 10, c->live);
    hk_emit_cell_pct(e, 6, c->fast_hits, c->allocs);
#define HK_CELL(name, width, doc)                          \
    if ((width) > 0)                                       \
        hk_emit_cell_u64(e, #name, width, c->name);        \
    else if ((width) == 0)                                 \
        hk_emit_json_u64(e, #name, c->name);
    HAKMEM_CLASS_COUNTERS(HK_CELL)
#undef HK_CELL
    hk_emit_row_end(e);
}

static void hk_emit_tier(struct hk_emit *e, const char *name, const char *label,
                         const struct hakmem_tier_stats *t, bool large)
{
    hk_emit_obj_begin(e, name, label);
    hk_emit_u64(e, "allocs", t->allocs);
    hk_emit_u64(e, "frees", t->frees);
    hk_emit_u64(e, "live", t->live);
    hk_emit_u64(e, "bytes_requested", t->bytes_requested);
    if (large) {
        hk_emit_u64(e, "mappings", t->mappings);
        hk_emit_u64(e, "cache_hits", t->cache_hits);
    } else {
        hk_emit_u64(e, "slabs", t->mappings);
    }
    hk_emit_obj_end(e);
}

void hk_report_emit(struct hk_emit *e, const struct hakmem_stats *st, int scope)
{
    bool json = e->format == HK_EMIT_JSON;
    bool all = scope == HK_REPORT_ALL || json;
    unsigned nclasses = all ? st->nclasses : st->ntiny;

    hk_emit_begin(e);
    hk_emit_obj_begin(e, NULL, "stats");
    hk_emit_u64(e, "version", HAKMEM_JSON_VERSION);
    hk_emit_u64(e, "pid", st->pid);
    if (!hk_config_stats) {
        /* Zeros would read as "nothing happened": say why there are no numbers. */
        hk_emit_str(e, "error", "counters compiled out (built with -Ddiag=none)");
        hk_emit_obj_end(e);
        hk_emit_end(e);
        return;
    }
    hk_emit_u64(e, "threads_seen", st->threads_seen);
    hk_emit_u64(e, "threads_exited", st->threads_exited);
    hk_emit_str(e, "hakmem", hakmem_version());
    hk_emit_obj_end(e);

    if (!hk_class_cols[HK_CLASS_COLS - 1])
        hk_class_cols_init();   /* racers write the same values */
    hk_emit_table_begin(e, "classes", hk_class_cols, hk_class_widths, HK_CLASS_COLS);
    for (unsigned c = 0; c < nclasses; c++) {
        const struct hakmem_class_stats *k = &st->classes[c];
        if (!json && !k->allocs && !k->frees)
            continue;   /* text: unused classes would only hide the used ones */
        hk_emit_class_row(e, k);
    }
    hk_emit_table_end(e);

    hk_emit_group_begin(e, "tiers");
    hk_emit_tier(e, "tiny", "tier tiny", &st->tiny, false);
    if (all) {
        hk_emit_tier(e, "mid", "tier mid", &st->mid, false);
        hk_emit_tier(e, "large", "tier large", &st->large, true);
    }
    hk_emit_group_end(e);
    if (!all) {
        hk_emit_end(e);
        return;
    }
    hk_emit_obj_begin(e, "superslabs", "superslabs");
    hk_emit_u64(e, "mapped", st->superslabs_mapped);
    hk_emit_u64(e, "unmapped", st->superslabs_unmapped);
    hk_emit_u64(e, "live", st->superslabs_live);
    hk_emit_u64(e, "cached", st->superslabs_cached);
    hk_emit_u64(e, "bytes", st->superslab_bytes);
    hk_emit_obj_end(e);
    hk_emit_obj_begin(e, "process", "process");
    hk_emit_u64(e, "bytes_mapped", st->bytes_mapped);
    hk_emit_u64(e, "large_bytes", st->large_bytes);
    hk_emit_u64(e, "oom_events", st->oom_events);
    hk_emit_u64(e, "invalid_frees", st->invalid_frees);
    if (st->diag_bytes)   /* the diagnostics' own memory, apart from the program's */
        hk_emit_u64(e, "diag_bytes", st->diag_bytes);
    hk_emit_obj_end(e);
    hk_emit_obj_begin(e, "totals", "totals");
    hk_emit_u64(e, "allocs", st->totals.allocs);
    hk_emit_u64(e, "frees", st->totals.frees);
    hk_emit_u64(e, "live", st->totals.live);
    hk_emit_obj_end(e);
    if (hk_shadow_on)
        hk_census_emit(e, e->lock);
    if (json)
        hk_misuse_emit(e);
    if (hk_leak_on && e->lock)
        hk_leak_emit(e);
    hk_emit_end(e);
}

int hk_report_write(int fd, int format, int scope, bool lock)
{
    struct hakmem_stats st;
    hk_snapshot_take(&st, lock);
    struct hk_out out;
    struct hk_emit e;
    hk_out_init_fd(&out, fd);
    hk_emit_init(&e, &out, format);
    e.lock = lock;
    hk_report_emit(&e, &st, scope);
    hk_out_flush(&out);
    return out.err;
}

HK_API void hakmem_stats_print(int fd) { hk_report_write(fd, HK_EMIT_TEXT, HK_REPORT_ALL, true); }

HK_API void hakmem_stats_json(int fd) { hk_report_write(fd, HK_EMIT_JSON, HK_REPORT_ALL, true); }

/* ---- where the exit report goes ---- */

static bool hk_report_wanted(void) { return hk_opt.stats || hk_opt.tiny_fast_stats; }

/* The report, into HAKMEM_STATS_FILE (opened by hk_os_open_file: no symlink, no FIFO, only
 * a regular file of ours) or stderr; a file that cannot be used or written whole is said
 * on stderr, and a refused one sends the report to stderr instead. */
static void hk_report_to_destination(bool lock)
{
    int format = hk_opt.stats == HK_STATS_JSON ? HK_EMIT_JSON : HK_EMIT_TEXT;
    int scope = hk_opt.stats ? HK_REPORT_ALL : HK_REPORT_TINY;
    if (!hk_opt.stats_file) {
        hk_report_write(hk_log_fd(), format, scope, lock);
        return;
    }
    char path[HK_PATH_MAX + 1];
    const char *why = "the path with %p replaced is longer than 4095 bytes";
    int fd = -1, err = ENAMETOOLONG;
    if (hk_log_expand(hk_opt.stats_file, false, path, sizeof path)) {
        fd = hk_os_open_file(path, HK_FILE_REPLACE, &why);
        err = errno;
    }
    if (fd < 0) {
        hk_out_file_problem("cannot write the stats report to ", path, why, err,
                            "; writing it to stderr");
        hk_report_write(hk_log_fd(), format, scope, lock);
        return;
    }
    err = hk_report_write(fd, format, scope, lock);
    if (close(fd) < 0 && !err)
        err = errno;
    if (err)
        hk_out_file_problem("incomplete stats report in ", path, "a write failed", err, "");
}

static atomic_int hk_exit_reported;

/* Library destructor: the last code of ours that runs at a normal exit. */
__attribute__((destructor)) static void hk_report_at_exit(void)
{
    if (!atomic_exchange(&hk_exit_reported, 1)) {
        if (hk_report_wanted()) {
            fflush(NULL);
            hk_report_to_destination(true);
        }
        hk_dump_write("exit", NULL, true);
    }
    if (hk_leak_on)
        hk_leak_at_exit();
}

/* ---- signals ---- */

static const int hk_fatal_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
#define HK_NFATAL (sizeof hk_fatal_signals / sizeof hk_fatal_signals[0])
static struct sigaction hk_old_actions[HK_NFATAL];

static const char *hk_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "signal";
    }
}

static void hk_fatal_handler(int sig, siginfo_t *info, void *ctx)
{
    if (!atomic_exchange(&hk_exit_reported, 1)) {
        struct hk_crash crash;
        hk_crash_capture(&crash, sig, info, ctx);
        struct hk_out o;
        hk_out_init_fd(&o, hk_log_fd());
        hk_out_str(&o, "hakmem: " HK_LOG_PREFIX_FATAL);
        hk_out_u64(&o, (uint64_t)sig);
        hk_out_str(&o, " (");
        hk_out_str(&o, hk_signal_name(sig));
        if (crash.has_addr) {
            hk_out_str(&o, ") at address ");
            hk_out_hex(&o, (uint64_t)crash.addr);
        } else if (info && info->si_code <= 0) {   /* sent: kill, raise, abort */
            hk_out_str(&o, ") sent by pid ");
            hk_out_u64(&o, (uint64_t)info->si_pid);
        } else {
            hk_out_str(&o, ")");
        }
        hk_out_str(&o, " in pid ");
        hk_out_u64(&o, (uint64_t)hk_os_pid());
        hk_out_str(&o, "; counters follow\n");
        hk_out_flush(&o);
        /* The stack after the line: unwinding through a smashed stack can fault. */
        hk_crash_unwind(&crash, ctx);
        hk_crash_print(&o, &crash);
        hk_out_flush(&o);
        /* Other threads may hold our locks: read the counters without them. */
        if (hk_report_wanted())
            hk_report_to_destination(false);
        struct hk_dump_event ev = {.kind = "signal", .signo = sig,
                                   .signame = hk_signal_name(sig),
                                   .addr = crash.addr, .crash = &crash};
        hk_dump_write("signal", &ev, false);
    }
    for (unsigned i = 0; i < HK_NFATAL; i++)
        if (hk_fatal_signals[i] == sig)
            sigaction(sig, &hk_old_actions[i], NULL);
    raise(sig);
}

/* One live report at a time, each written whole: a signal that arrives while a report is
 * being written (on another thread, or on this one, re-entered) skips its report and counts
 * it, and the next report starts with how many were skipped. A flag rather than a lock: a
 * handler that waited could wait for itself. */
static atomic_flag hk_live_busy = ATOMIC_FLAG_INIT;
static atomic_uint_fast64_t hk_live_skipped;

/* Text: one "hakmem: ..." line; JSON: an object of its own line, so every line parses. */
static void hk_live_skipped_note(uint64_t n, bool json)
{
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, json ? "{\"live_reports_skipped\":" : "hakmem: live reports skipped: ");
    hk_out_u64(&o, n);
    hk_out_str(&o, json ? "}\n" : " (the signal came while another report was written)\n");
    hk_out_flush(&o);
}

static void hk_stats_signal_handler(int sig)
{
    (void)sig;
    int saved = errno;
    if (atomic_flag_test_and_set(&hk_live_busy)) {
        atomic_fetch_add(&hk_live_skipped, 1);
        errno = saved;
        return;
    }
    bool json = hk_opt.stats == HK_STATS_JSON;
    uint64_t skipped = atomic_exchange(&hk_live_skipped, 0);
    if (skipped)
        hk_live_skipped_note(skipped, json);
    hk_report_write(hk_log_fd(), json ? HK_EMIT_JSON : HK_EMIT_TEXT, HK_REPORT_ALL, false);
    atomic_flag_clear(&hk_live_busy);
    errno = saved;
}

static void hk_report_hooks(void)
{
    if (hk_report_wanted() || hk_opt.dump_dir) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = hk_fatal_handler;
        sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        for (unsigned i = 0; i < HK_NFATAL; i++)
            sigaction(hk_fatal_signals[i], &sa, &hk_old_actions[i]);
    }
    if (hk_opt.stats_signal) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = hk_stats_signal_handler;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(hk_opt.stats_signal, &sa, NULL);
    }
}

void hk_diag_start(void)
{
    hk_log_start();
    hk_report_hooks();
    if (hk_leak_on)
        hk_stack_init();
    if (hk_leak_on)
        hk_leak_watch_exit();
}
