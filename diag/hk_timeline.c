/* The timeline (hk_timeline.h): a timer thread, a store of samples in a mapping of our own,
 * and a file in HAKMEM_DUMP_DIR written with write(2) only.
 *
 * Who writes: the holder of hk_tl.busy, which is the timer thread at each tick, or a thread
 * reporting an event (a dump was written). An event that cannot get busy in time (a signal
 * on the timer thread itself, an OOM raised under a heap lock the tick waits for) still
 * writes its own lines: the file is opened O_APPEND and every record is one write(2), so
 * lines never interleave. */
#include "hk_timeline.h"
#include "hakmem.h"
#include "hk_census.h"
#include "hk_dump.h"
#include "hk_dump_format.h"
#include "hk_emit.h"
#include "hk_hooks.h"
#include "hk_log.h"
#include "hk_oom.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_size_class.h"
#include "hk_snapshot.h"
#include "hk_stats.h"
#include "hk_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum hk_tl_key {
#define HK_TL_KEY(k) HK_TL_##k,
    HK_TIMELINE_SAMPLE_KEYS(HK_TL_KEY)
#undef HK_TL_KEY
    HK_TL_NKEYS
};
#define HK_TL_NAME(k) #k,
static const char *const hk_tl_key_names[HK_TL_NKEYS] = {HK_TIMELINE_SAMPLE_KEYS(HK_TL_NAME)};
static const char *const hk_tl_census_names[HK_CENSUS_NSTATES] = {
    HK_DUMP_CENSUS_STATES(HK_TL_NAME)};
#undef HK_TL_NAME

/* The census runs at a tick only when its last run cost at most this share of the time
 * since: a census walks every block under the heaps' locks. */
#define HK_TL_CENSUS_SHARE 50   /* 1/50: 2 % */
/* How long an event waits for a tick in progress, in ms (a tick takes well under one). */
#define HK_TL_WAIT_LOCKED_MS 2000
#define HK_TL_WAIT_HANDLER_MS 200

/* One sample: the keys in HK_TIMELINE_SAMPLE_KEYS order, the live blocks of each class, and
 * the census totals (has_census) in HK_DUMP_CENSUS_STATES order. */
struct hk_tl_sample {
    uint64_t v[HK_TL_NKEYS];
    uint64_t live[HK_NUM_CLASSES];
    uint64_t census[HK_CENSUS_NSTATES];
    bool has_census;
};

struct hk_tl_event {
    uint64_t t_ms;
    char kind[16];
    char dump[HK_PATH_MAX + 1];   /* "" when no dump could be written */
    bool written;                 /* in the file since its last rewrite */
};

/* The process's one timeline. Invariants: on is set once the file and the thread exist and
 * cleared by the event that ends it; the file, the samples and every_ms are changed only by
 * the holder of busy; events[] and nevents only under ev_lock (held for a copy). */
static struct {
    atomic_bool on;
    atomic_flag busy;
    atomic_flag ev_lock;
    pid_t pid;                          /* a forked child finds another pid: it writes nothing */
    int fd;
    struct hk_os_fd_id fd_id;
    uint64_t start_ns;
    _Atomic uint64_t every_ms;          /* the step of the samples held: interval << decimations */
    uint64_t decimations;
    uint64_t rlimit_as_cur, mem_total_kb;
    uint64_t census_ready_ns;           /* the next tick at or after this runs the census */
    struct hk_tl_sample *samples;       /* HK_TIMELINE_MAX_SAMPLES, then one scratch sample */
    unsigned nsamples;
    struct hk_tl_event *events;         /* HK_TIMELINE_MAX_EVENTS */
    unsigned nevents;
    void *map;
    size_t map_len;
} hk_tl = {.busy = ATOMIC_FLAG_INIT, .ev_lock = ATOMIC_FLAG_INIT, .fd = -1};

static uint64_t hk_tl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t hk_tl_t_ms(uint64_t now_ns)
{
    return now_ns > hk_tl.start_ns ? (now_ns - hk_tl.start_ns) / 1000000u : 0;
}

static void hk_tl_say(const char *what)
{
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: timeline: ");
    hk_out_str(&o, what);
    hk_out_char(&o, '\n');
    hk_out_flush(&o);
}

/* ---- reading the process ---- */

/* The first decimal number after `key` in buf, 0 when absent. */
static uint64_t hk_tl_number_after(const char *buf, const char *key)
{
    const char *p = key ? strstr(buf, key) : buf;
    if (!p)
        return 0;
    p += key ? strlen(key) : 0;
    while (*p == ' ' || *p == '\t')
        p++;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9' && v < UINT64_MAX / 10)
        v = v * 10 + (uint64_t)(*p++ - '0');
    return v;
}

/* VmSize and VmRSS in kB from /proc/self/statm (two page counts: cheaper than status). */
static void hk_tl_statm(uint64_t *size_kb, uint64_t *rss_kb)
{
    char buf[128];
    *size_kb = *rss_kb = 0;
    if (hk_os_read_file("/proc/self/statm", buf, sizeof buf) <= 0)
        return;
    uint64_t kb_per_page = hk_os_page_size() / 1024;
    *size_kb = hk_tl_number_after(buf, NULL) * kb_per_page;
    const char *sp = strchr(buf, ' ');
    if (sp)
        *rss_kb = hk_tl_number_after(sp, NULL) * kb_per_page;
}

static void hk_tl_add_range(void *ctx, uintptr_t lo, uintptr_t hi)
{
    *(uint64_t *)ctx += hi - lo;
}

/* A sample at now. census: a tick may run the census (never an event: it may be in a
 * handler, and the event's dump holds the full census anyway). */
static void hk_tl_take(struct hk_tl_sample *s, uint64_t now, bool lock, bool census)
{
    static struct hakmem_stats st;   /* static: big; only the holder of busy uses it */
    hk_snapshot_take(&st, lock);
    uint64_t *v = s->v;
    memset(s, 0, sizeof *s);
    v[HK_TL_t_ms] = hk_tl_t_ms(now);
    hk_tl_statm(&v[HK_TL_vm_size_kb], &v[HK_TL_vm_rss_kb]);
    v[HK_TL_bytes_mapped] = st.bytes_mapped;
    v[HK_TL_superslab_bytes] = st.superslab_bytes;
    v[HK_TL_large_bytes] = st.large_bytes;
    v[HK_TL_superslabs_mapped] = st.superslabs_mapped;
    v[HK_TL_superslabs_unmapped] = st.superslabs_unmapped;
    v[HK_TL_superslabs_cached] = st.superslabs_cached;
    v[HK_TL_slabs_live] = st.slabs_live;
    for (unsigned c = 0; c < st.nclasses && c < HK_NUM_CLASSES; c++) {
        const struct hakmem_class_stats *k = &st.classes[c];
        uint64_t bytes = k->live * k->size;
        v[c < st.ntiny ? HK_TL_tiny_live_bytes : HK_TL_mid_live_bytes] += bytes;
        s->live[c] = k->live;
        if (k->remote_sent > k->remote_drained)
            v[HK_TL_remote_queue] += k->remote_sent - k->remote_drained;
    }
    v[HK_TL_large_live] = st.large.live;
    v[HK_TL_large_live_bytes] = hk_walk_large_live_bytes();
    v[HK_TL_live_bytes] =
        v[HK_TL_tiny_live_bytes] + v[HK_TL_mid_live_bytes] + v[HK_TL_large_live_bytes];
    v[HK_TL_threads_live] =
        st.threads_seen > st.threads_exited ? st.threads_seen - st.threads_exited : 0;
    v[HK_TL_oom_events] = st.oom_events;
    v[HK_TL_diag_bytes] = st.diag_bytes;
    if (hk_shadow_on)
        hk_walk_side_tables(hk_tl_add_range, &v[HK_TL_shadow_bytes], lock);
    v[HK_TL_timeline_bytes] = hk_tl.map_len;
    if (census && hk_shadow_on && now >= hk_tl.census_ready_ns) {
        hk_census_totals(s->census, lock);
        s->has_census = true;
        uint64_t end = hk_tl_now_ns();
        hk_tl.census_ready_ns = end + (end - now) * (HK_TL_CENSUS_SHARE - 1);
    }
}

/* ---- writing records ---- */

static void hk_tl_rec_sample(struct hk_out *o, const struct hk_tl_sample *s)
{
    hk_out_str(o, "sample");
    for (unsigned i = 0; i < HK_TL_NKEYS; i++)
        hk_dump_rec_u64(o, hk_tl_key_names[i], s->v[i]);
    const char *sep = " live=";
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        if (!s->live[c])
            continue;
        hk_out_str(o, sep);
        sep = ",";
        hk_out_u64(o, c);
        hk_out_char(o, ':');
        hk_out_u64(o, s->live[c]);
    }
    hk_out_char(o, '\n');
    if (!s->has_census)
        return;
    hk_out_str(o, "sample_census");
    hk_dump_rec_u64(o, "t_ms", s->v[HK_TL_t_ms]);
    for (unsigned i = 0; i < HK_CENSUS_NSTATES; i++)
        hk_dump_rec_u64(o, hk_tl_census_names[i], s->census[i]);
    hk_out_char(o, '\n');
}

static void hk_tl_rec_event(struct hk_out *o, const struct hk_tl_event *ev)
{
    hk_out_str(o, "event");
    hk_dump_rec_u64(o, "t_ms", ev->t_ms);
    hk_dump_rec_str(o, "kind", ev->kind);
    hk_dump_rec_str(o, "dump", ev->dump[0] ? ev->dump : "none");
    hk_out_char(o, '\n');
}

static void hk_tl_prelude(struct hk_out *o)
{
    char exe[1024];
    hk_out_str(o, HK_TIMELINE_MAGIC " ");
    hk_out_u64(o, HK_TIMELINE_VERSION);
    hk_out_str(o, "\nheader");
    hk_dump_rec_u64(o, "pid", (uint64_t)hk_tl.pid);
    hk_dump_rec_u64(o, "time_ns", hk_os_time_ns());
    hk_dump_rec_str(o, "version", HK_VERSION);
    hk_dump_rec_str(o, "build", HK_BUILD);
    hk_dump_rec_str(o, "exe", hk_os_exe_path(exe, sizeof exe) ? exe : "unknown");
    hk_dump_rec_u64(o, "interval_ms", hk_opt.stats_interval_ms);
    hk_dump_rec_u64(o, "every_ms", atomic_load(&hk_tl.every_ms));
    hk_dump_rec_u64(o, "decimations", hk_tl.decimations);
    hk_dump_rec_u64(o, "max_samples", HK_TIMELINE_MAX_SAMPLES);
    hk_dump_rec_limit(o, "rlimit_as_cur", hk_tl.rlimit_as_cur);
    hk_dump_rec_u64(o, "mem_total_kb", hk_tl.mem_total_kb);
    hk_dump_rec_u64(o, "page_size", hk_os_page_size());
    hk_out_char(o, '\n');
    hk_dump_options(o);
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        hk_out_str(o, "class");
        hk_dump_rec_u64(o, "id", c);
        hk_dump_rec_u64(o, "size", hk_class_size[c]);
        hk_out_char(o, '\n');
    }
}

/* Still ours: the same process, and the descriptor still the file we opened (a program that
 * closes every descriptor may have reused its number). */
static bool hk_tl_ours(void)
{
    struct hk_os_fd_id now;
    return hk_tl.pid == hk_os_pid() && hk_os_fd_id(hk_tl.fd, &now) &&
           now.dev == hk_tl.fd_id.dev && now.ino == hk_tl.fd_id.ino;
}

/* ---- events ---- */

static void hk_tl_ev_lock(void)
{
    while (atomic_flag_test_and_set_explicit(&hk_tl.ev_lock, memory_order_acquire))
        ;   /* held for the copy of one event */
}

static void hk_tl_ev_unlock(void)
{
    atomic_flag_clear_explicit(&hk_tl.ev_lock, memory_order_release);
}

/* Keeps the event for the rewrites; false when the store is full (it is then written once,
 * and a rewrite does not have it). Requests (hakmem_dump) may fill half of it only: an OOM
 * or a crash after many requests is still kept. */
static bool hk_tl_ev_keep(const struct hk_tl_event *ev)
{
    unsigned cap = strcmp(ev->kind, "request") ? HK_TIMELINE_MAX_EVENTS
                                                : HK_TIMELINE_MAX_EVENTS / 2;
    hk_tl_ev_lock();
    bool kept = hk_tl.nevents < cap;
    if (kept)
        hk_tl.events[hk_tl.nevents++] = *ev;
    hk_tl_ev_unlock();
    return kept;
}

/* Writes the kept events not yet in the file, each exactly once (a kept event never changes
 * but for its written flag, so it is written from the store). */
static void hk_tl_ev_flush(void)
{
    for (unsigned i = 0;; i++) {
        hk_tl_ev_lock();
        bool more = i < hk_tl.nevents, take = more && !hk_tl.events[i].written;
        if (take)
            hk_tl.events[i].written = true;
        hk_tl_ev_unlock();
        if (!more)
            return;
        if (take) {
            struct hk_out o;
            hk_out_init_fd(&o, hk_tl.fd);
            hk_tl_rec_event(&o, &hk_tl.events[i]);
            hk_out_flush(&o);
        }
    }
}

/* ---- the file ---- */

static void hk_tl_append_sample(const struct hk_tl_sample *s)
{
    struct hk_out o;
    hk_out_init_fd(&o, hk_tl.fd);
    hk_tl_rec_sample(&o, s);
    hk_out_flush(&o);
}

/* The file anew: the prelude, then the samples and the kept events in time order. */
static void hk_tl_rewrite(void)
{
    if (ftruncate(hk_tl.fd, 0) < 0)
        return;
    struct hk_out o;
    hk_out_init_fd(&o, hk_tl.fd);
    hk_tl_prelude(&o);
    unsigned e = 0;
    for (unsigned i = 0; i <= hk_tl.nsamples; i++) {
        uint64_t t = i < hk_tl.nsamples ? hk_tl.samples[i].v[HK_TL_t_ms] : UINT64_MAX;
        for (;; e++) {
            hk_tl_ev_lock();
            bool before = e < hk_tl.nevents && hk_tl.events[e].t_ms <= t;
            if (before)
                hk_tl.events[e].written = true;
            hk_tl_ev_unlock();
            if (!before)
                break;
            hk_tl_rec_event(&o, &hk_tl.events[e]);   /* kept events never change */
        }
        if (i < hk_tl.nsamples)
            hk_tl_rec_sample(&o, &hk_tl.samples[i]);
    }
    hk_out_flush(&o);
}

/* Adds the sample (the scratch one) to the store and the file; a full store keeps every
 * other sample and doubles the step. */
static void hk_tl_store(void)
{
    struct hk_tl_sample *s = &hk_tl.samples[HK_TIMELINE_MAX_SAMPLES];
    if (hk_tl.nsamples < HK_TIMELINE_MAX_SAMPLES) {
        hk_tl.samples[hk_tl.nsamples++] = *s;
        hk_tl_append_sample(s);
        return;
    }
    for (unsigned i = 0; 2 * i < hk_tl.nsamples; i++)
        hk_tl.samples[i] = hk_tl.samples[2 * i];
    hk_tl.nsamples = (hk_tl.nsamples + 1) / 2;
    hk_tl.samples[hk_tl.nsamples++] = *s;
    hk_tl.decimations++;
    atomic_store(&hk_tl.every_ms, atomic_load(&hk_tl.every_ms) * 2);
    hk_tl_rewrite();
}

/* The end: "end" and no more writes. The caller holds busy, or could not get it. */
static void hk_tl_finish(void)
{
    atomic_store(&hk_tl.on, false);
    struct hk_out o;
    hk_out_init_fd(&o, hk_tl.fd);
    hk_out_str(&o, "end\n");
    hk_out_flush(&o);
}

/* busy, waiting at most ms for the tick in progress. */
static bool hk_tl_acquire(unsigned ms)
{
    for (unsigned waited = 0; atomic_flag_test_and_set_explicit(&hk_tl.busy, memory_order_acquire);
         waited++) {
        if (waited >= ms)
            return false;
        struct timespec one = {0, 1000000};
        nanosleep(&one, NULL);   /* async-signal-safe */
    }
    return true;
}

static void hk_tl_release(void)
{
    atomic_flag_clear_explicit(&hk_tl.busy, memory_order_release);
}

void hk_timeline_event(const char *reason, const char *path, bool lock)
{
    if (!atomic_load(&hk_tl.on) || !hk_tl_ours())
        return;
    uint64_t now = hk_tl_now_ns();
    struct hk_tl_event ev = {.t_ms = hk_tl_t_ms(now)};
    strncpy(ev.kind, reason, sizeof ev.kind - 1);
    if (path)
        strncpy(ev.dump, path, sizeof ev.dump - 1);
    bool kept = hk_tl_ev_keep(&ev);
    bool last = !strcmp(reason, "exit") || !strcmp(reason, "signal");
    bool got = hk_tl_acquire(lock ? HK_TL_WAIT_LOCKED_MS : HK_TL_WAIT_HANDLER_MS);
    if (got && atomic_load(&hk_tl.on)) {
        hk_tl_take(&hk_tl.samples[HK_TIMELINE_MAX_SAMPLES], now, lock, false);
        hk_tl_store();
    }
    if (!kept) {
        struct hk_out o;
        hk_out_init_fd(&o, hk_tl.fd);
        hk_tl_rec_event(&o, &ev);
        hk_out_flush(&o);
    }
    hk_tl_ev_flush();
    if (last && atomic_load(&hk_tl.on))
        hk_tl_finish();
    if (got)
        hk_tl_release();
}

/* ---- the timer thread ---- */

static void hk_tl_tick(uint64_t now)
{
    if (!hk_tl_acquire(0))
        return;   /* an event is writing, with a sample of its own */
    if (atomic_load(&hk_tl.on) && hk_tl_ours()) {
        hk_tl_take(&hk_tl.samples[HK_TIMELINE_MAX_SAMPLES], now, true, true);
        hk_tl_store();
        hk_tl_ev_flush();
    } else if (atomic_exchange(&hk_tl.on, false)) {
        hk_tl_say("the program closed the timeline's file; the timeline ends here");
    }
    hk_tl_release();
}

static void *hk_tl_thread(void *arg)
{
    (void)arg;
    uint64_t next = hk_tl.start_ns;
    while (atomic_load(&hk_tl.on)) {
        uint64_t now = hk_tl_now_ns();
        if (now >= next) {
            hk_tl_tick(now);
            uint64_t step = atomic_load(&hk_tl.every_ms) * 1000000u;
            while (next <= now)
                next += step;   /* a late tick is skipped, not made up */
        }
        struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    return NULL;
}

/* ---- start-up ---- */

/* DUMP_DIR/hakmem-PID.timeline, or hakmem-PID-N.timeline when taken (a pid reused since an
 * earlier run, a file left there). */
static int hk_tl_create(const char *dir, const char **why)
{
    char path[HK_PATH_MAX + 1];
    *why = "the directory path is too long";
    for (unsigned n = 0; n < 100; n++) {
        struct hk_out p;
        hk_out_init_mem(&p, path, sizeof path);
        hk_out_str(&p, dir);
        hk_out_str(&p, "/hakmem-");
        hk_out_u64(&p, (uint64_t)hk_tl.pid);
        if (n) {
            hk_out_char(&p, '-');
            hk_out_u64(&p, n);
        }
        hk_out_str(&p, ".timeline");
        hk_out_flush(&p);
        if (p.err) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = hk_os_open_file(path, HK_FILE_NEW, why);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* The store, the file and its prelude; false after saying why there is no timeline. */
static bool hk_tl_open(void)
{
    size_t pg = hk_os_page_size();
    size_t samples = (HK_TIMELINE_MAX_SAMPLES + 1) * sizeof(struct hk_tl_sample);
    size_t events = HK_TIMELINE_MAX_EVENTS * sizeof(struct hk_tl_event);
    size_t len = (samples + events + pg - 1) & ~(pg - 1);
    void *map = hk_os_map_meta(len);
    if (!map) {
        hk_tl_say("no memory for the samples; no timeline");
        return false;
    }
    const char *why = "";
    int fd = hk_tl_create(hk_opt.dump_dir, &why);
    int high = fd >= 0 ? hk_os_dup_high(fd, 100) : -1;
    if (high >= 0 && fcntl(high, F_SETFL, O_APPEND) == 0 && hk_os_fd_id(high, &hk_tl.fd_id)) {
        hk_os_close(fd);
        hk_tl.fd = high;
    } else {
        int err = errno;
        if (high >= 0)
            hk_os_close(high);
        if (fd >= 0)
            hk_os_close(fd);
        hk_os_unmap_meta(map, len);
        hk_out_file_problem("cannot create the timeline in ", hk_opt.dump_dir, why, err,
                            "; no timeline");
        return false;
    }
    HK_PSTAT_ADD(diag_bytes, len);
    hk_tl.map = map;
    hk_tl.map_len = len;
    hk_tl.samples = map;
    hk_tl.events = (struct hk_tl_event *)((char *)map + samples);
    struct hk_out o;
    hk_out_init_fd(&o, hk_tl.fd);
    hk_tl_prelude(&o);
    hk_out_flush(&o);
    return true;
}

void hk_timeline_start(void)
{
    if (!hk_opt.stats_interval_ms || atomic_load(&hk_tl.on))
        return;
    if (!hk_opt.dump_dir) {
        hk_tl_say("HAKMEM_STATS_INTERVAL_MS needs HAKMEM_DUMP_DIR, the directory the timeline "
                  "goes to; no timeline");
        return;
    }
    struct hk_limits lim;
    hk_limits_read(&lim);
    char meminfo[256];
    hk_tl.rlimit_as_cur = lim.rlimit_as_cur;
    hk_tl.mem_total_kb = hk_os_read_file("/proc/meminfo", meminfo, sizeof meminfo) > 0
                             ? hk_tl_number_after(meminfo, "MemTotal:") : 0;
    hk_tl.pid = hk_os_pid();
    hk_tl.start_ns = hk_tl_now_ns();
    atomic_store(&hk_tl.every_ms, hk_opt.stats_interval_ms);
    if (!hk_tl_open())
        return;
    atomic_store(&hk_tl.on, true);
    /* The thread inherits a full signal mask: signals go to the program's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&t, &attr, hk_tl_thread, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        atomic_store(&hk_tl.on, false);
        hk_out_file_problem("cannot start the timeline's thread for ", hk_opt.dump_dir,
                            "pthread_create failed", err, "; the timeline stops at its start");
        hk_tl_finish();
        return;
    }
    pthread_setname_np(t, "hakmem-timeline");
}

void hk_timeline_mapping(void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
    if (hk_tl.map)
        fn(ctx, (uintptr_t)hk_tl.map, (uintptr_t)hk_tl.map + hk_tl.map_len);
}

/* After the allocator's own constructor (101), before the program's main. */
__attribute__((constructor(102))) static void hk_tl_constructor(void)
{
    hk_timeline_start();
}
