#include "hk_dump.h"
#include "hk_log.h"
#include "hakmem.h"
#include "hk_dump_format.h"
#include "hk_emit.h"
#include "hk_census.h"
#include "hk_crash.h"
#include "hk_leak.h"
#include "hk_misuse.h"
#include "hk_oom.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_snapshot.h"
#include "hk_stats.h"
#include "hk_timeline.h"
#include "hk_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

static atomic_uint hk_dump_seq;

/* " key=" */
static void hk_dump_rec_key(struct hk_out *o, const char *key)
{
    hk_out_char(o, ' ');
    hk_out_str(o, key);
    hk_out_char(o, '=');
}

void hk_dump_rec_u64(struct hk_out *o, const char *key, uint64_t v)
{
    hk_dump_rec_key(o, key);
    hk_out_u64(o, v);
}

void hk_dump_rec_hex(struct hk_out *o, const char *key, uint64_t v)
{
    hk_dump_rec_key(o, key);
    hk_out_hex(o, v);
}

void hk_dump_rec_str(struct hk_out *o, const char *key, const char *v)
{
    hk_dump_rec_key(o, key);
    hk_out_value(o, v);
}

void hk_dump_rec_limit(struct hk_out *o, const char *key, uint64_t v)
{
    if (v == UINT64_MAX) {
        hk_dump_rec_key(o, key);
        hk_out_str(o, "inf");
    } else {
        hk_dump_rec_u64(o, key, v);
    }
}

void hk_dump_options(struct hk_out *o)
{
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "HAKMEM_", 7))
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char name[64];
        size_t len = (size_t)(eq - *e) < sizeof name - 1 ? (size_t)(eq - *e) : sizeof name - 1;
        memcpy(name, *e, len);
        name[len] = '\0';
        hk_out_str(o, "option");
        hk_dump_rec_str(o, "name", name);
        hk_dump_rec_str(o, "value", eq + 1);
        hk_out_char(o, '\n');
    }
}

static void hk_dump_header(struct hk_out *o, const char *reason)
{
    char exe[1024];
    bool have_exe = hk_os_exe_path(exe, sizeof exe);
    hk_out_str(o, HK_DUMP_MAGIC " ");
    hk_out_u64(o, HK_DUMP_VERSION);
    hk_out_str(o, "\nheader");
    hk_dump_rec_u64(o, "pid", (uint64_t)hk_os_pid());
    hk_dump_rec_u64(o, "time_ns", hk_os_time_ns());
    hk_dump_rec_str(o, "version", HK_VERSION);
    hk_dump_rec_str(o, "build", HK_BUILD);
    hk_dump_rec_str(o, "reason", reason);
    hk_dump_rec_str(o, "exe", have_exe ? exe : "unknown");
    hk_out_char(o, '\n');
    hk_dump_options(o);
}

/* Resident bytes of [lo, hi) (page-aligned), by mincore in windows of 512 pages. */
static void hk_dump_add_resident(void *ctx, uintptr_t lo, uintptr_t hi)
{
    uint64_t *total = ctx;
    size_t pg = hk_os_page_size();
    unsigned char vec[512];
    for (uintptr_t a = lo & ~(uintptr_t)(pg - 1); a < hi;) {
        size_t n = (hi - a + pg - 1) / pg;
        if (n > sizeof vec)
            n = sizeof vec;
        if (mincore((void *)a, n * pg, vec) == 0)
            for (size_t i = 0; i < n; i++)
                *total += (vec[i] & 1) ? pg : 0;
        a += n * pg;
    }
}

/* The part of RSS in the diagnostics' own mappings: side tables, the timeline and the leak
 * tracker's arena. */
static uint64_t hk_dump_diag_resident(bool lock)
{
    uint64_t total = 0;
    hk_walk_side_tables(hk_dump_add_resident, &total, lock);
    hk_timeline_mapping(hk_dump_add_resident, &total);
    if (hk_leak_on && lock)   /* the arena's list is read under its lock */
        hk_leak_arena_foreach(hk_dump_add_resident, &total);
    return total;
}

static void hk_dump_counters(struct hk_out *o, bool lock)
{
    struct hakmem_stats st;
    hk_snapshot_take(&st, lock);
    hk_out_str(o, "process");
    hk_dump_rec_u64(o, "superslabs_live", st.superslabs_live);
    hk_dump_rec_u64(o, "bytes_mapped", st.bytes_mapped);
#define HK_REC(name, width, doc) hk_dump_rec_u64(o, #name, st.name);
    HAKMEM_PROCESS_COUNTERS(HK_REC)
#undef HK_REC
    hk_out_char(o, '\n');

    struct hk_limits lim;
    hk_limits_read(&lim);
    hk_out_str(o, "limits");
    hk_dump_rec_limit(o, "rlimit_as_cur", lim.rlimit_as_cur);
    hk_dump_rec_limit(o, "rlimit_as_max", lim.rlimit_as_max);
    hk_dump_rec_u64(o, "vm_size_kb", lim.vm_size_kb);
    hk_dump_rec_u64(o, "vm_rss_kb", lim.vm_rss_kb);
    hk_dump_rec_u64(o, "vm_peak_kb", lim.vm_peak_kb);
    if (lim.overcommit_memory >= 0)
        hk_dump_rec_u64(o, "overcommit_memory", (uint64_t)lim.overcommit_memory);
    if (lim.maps >= 0)
        hk_dump_rec_u64(o, "maps", (uint64_t)lim.maps);
    if (lim.max_map_count > 0)
        hk_dump_rec_u64(o, "max_map_count", (uint64_t)lim.max_map_count);
    if (st.diag_bytes)
        hk_dump_rec_u64(o, "diag_resident_kb", hk_dump_diag_resident(lock) >> 10);
    hk_out_char(o, '\n');

    for (unsigned c = 0; c < st.nclasses; c++) {
        const struct hakmem_class_stats *k = &st.classes[c];
        if (!k->allocs && !k->frees)
            continue;
        hk_out_str(o, "class");
        hk_dump_rec_u64(o, "id", k->class_id);
        hk_dump_rec_u64(o, "size", k->size);
        hk_dump_rec_u64(o, "allocs", k->allocs);
        hk_dump_rec_u64(o, "live", k->live);
#define HK_REC(name, width, doc) hk_dump_rec_u64(o, #name, k->name);
        HAKMEM_CLASS_COUNTERS(HK_REC)
#undef HK_REC
        hk_out_char(o, '\n');
    }
    const struct { const char *name; const struct hakmem_tier_stats *t; } tiers[] = {
        {"tiny", &st.tiny}, {"mid", &st.mid}, {"large", &st.large}};
    for (unsigned i = 0; i < 3; i++) {
        hk_out_str(o, "tier");
        hk_dump_rec_str(o, "name", tiers[i].name);
        hk_dump_rec_u64(o, "allocs", tiers[i].t->allocs);
        hk_dump_rec_u64(o, "frees", tiers[i].t->frees);
        hk_dump_rec_u64(o, "live", tiers[i].t->live);
        hk_dump_rec_u64(o, "bytes_requested", tiers[i].t->bytes_requested);
        hk_dump_rec_u64(o, "mappings", tiers[i].t->mappings);
        hk_dump_rec_u64(o, "cache_hits", tiers[i].t->cache_hits);
        hk_out_char(o, '\n');
    }
}

/* The SuperSlab table in summary: per slab size, how many SuperSlabs and how many of their
 * slabs are assigned to a class, and how many blocks those slabs hold (used) of their
 * capacity. */
static void hk_dump_superslabs(struct hk_out *o, bool lock)
{
    struct hk_walk_ss_kind t[HK_WALK_SS_KINDS];
    hk_walk_superslabs(t, lock);
    for (unsigned k = 0; k < HK_WALK_SS_KINDS; k++) {
        if (!t[k].superslabs)
            continue;
        hk_out_str(o, "superslab_table");
        hk_dump_rec_str(o, "slab_size", hk_walk_ss_kind_names[k]);
        hk_dump_rec_u64(o, "superslabs", t[k].superslabs);
        hk_dump_rec_u64(o, "slabs", t[k].slabs);
        hk_dump_rec_u64(o, "slabs_used", t[k].slabs_used);
        hk_dump_rec_u64(o, "blocks_used", t[k].blocks_used);
        hk_dump_rec_u64(o, "blocks_capacity", t[k].capacity);
        hk_out_char(o, '\n');
    }
}

static void hk_dump_event(struct hk_out *o, const struct hk_dump_event *ev)
{
    if (!ev || !ev->kind)
        return;
    hk_out_str(o, "event");
    hk_dump_rec_str(o, "kind", ev->kind);
    if (!strcmp(ev->kind, "oom")) {
        hk_dump_rec_u64(o, "errno", (uint64_t)ev->err);
        hk_dump_rec_u64(o, "size", ev->size);
        if (ev->cls >= 0)
            hk_dump_rec_u64(o, "class", (uint64_t)ev->cls);
        hk_dump_rec_str(o, "tier", ev->tier ? ev->tier : "unknown");
        hk_dump_rec_u64(o, "ss_size", HK_WALK_SS_SIZE);
        hk_dump_rec_u64(o, "map_size", ev->map_size);
    } else {
        hk_dump_rec_u64(o, "signo", (uint64_t)ev->signo);
        hk_dump_rec_str(o, "name", ev->signame ? ev->signame : "signal");
        hk_out_str(o, " addr=");
        hk_out_hex(o, ev->addr);
        if (ev->crash)
            hk_crash_dump_keys(o, ev->crash);
    }
    hk_out_char(o, '\n');
}

/* A new dump file in HAKMEM_DUMP_DIR, hakmem-PID-SEQ-REASON.dump, by hk_os_open_file (no
 * symlink in the path, created 0600 with O_EXCL: never an existing file); the next sequence
 * number when the name is taken. -1 after saying on stderr why none could be created. */
static int hk_dump_create(const char *dir, const char *reason, char *path, size_t cap)
{
    const char *why = "the directory path is too long";
    for (int tries = 0; tries < 1000; tries++) {
        struct hk_out p;
        hk_out_init_mem(&p, path, cap);
        hk_out_str(&p, dir);
        hk_out_str(&p, "/hakmem-");
        hk_out_u64(&p, (uint64_t)hk_os_pid());
        hk_out_char(&p, '-');
        hk_out_u64(&p, atomic_fetch_add(&hk_dump_seq, 1));
        hk_out_char(&p, '-');
        hk_out_str(&p, reason);
        hk_out_str(&p, ".dump");
        hk_out_flush(&p);
        if (p.err) {
            errno = ENAMETOOLONG;
            break;
        }
        int fd = hk_os_open_file(path, HK_FILE_NEW, &why);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            break;
    }
    hk_out_file_problem("cannot create a dump file in ", dir, why, errno, "");
    return -1;
}

/* The dump itself, at path (of cap bytes). */
static int hk_dump_write_file(const char *dir, const char *reason,
                              const struct hk_dump_event *ev, bool lock, char *path, size_t cap)
{
    int fd = hk_dump_create(dir, reason, path, cap);
    if (fd < 0)
        return -1;
    struct hk_out o;
    hk_out_init_fd(&o, fd);
    hk_dump_header(&o, reason);
    hk_dump_counters(&o, lock);
    hk_dump_superslabs(&o, lock);
    if (hk_shadow_on) {
        struct hk_emit e;
        hk_emit_init(&e, &o, HK_EMIT_RECORDS);
        hk_census_emit(&e, lock);
    }
    hk_dump_event(&o, ev);
    struct hk_emit rec;
    hk_emit_init(&rec, &o, HK_EMIT_RECORDS);
    hk_misuse_emit(&rec);
    if (ev && ev->crash)
        hk_crash_dump_modules(&o, ev->crash);
    if (hk_leak_on && lock)
        hk_leak_dump(&o);
    hk_out_str(&o, "end\n");
    hk_out_flush(&o);
    int err = o.err;
    if (close(fd) < 0 && !err)
        err = errno;
    if (err) {
        hk_out_file_problem("incomplete dump ", path, "a write failed", err, "");
        return -1;
    }
    struct hk_out msg;
    hk_out_init_fd(&msg, hk_log_fd());
    hk_out_str(&msg, "hakmem: " HK_LOG_PREFIX_DUMP_WRITTEN);
    hk_out_str(&msg, path);
    hk_out_char(&msg, '\n');
    hk_out_flush(&msg);
    return 0;
}

int hk_dump_write(const char *reason, const struct hk_dump_event *ev, bool lock)
{
    const char *dir = hk_opt.dump_dir;
    if (!dir)
        return -1;
    char path[HK_PATH_MAX + 1];
    int rc = hk_dump_write_file(dir, reason, ev, lock, path, sizeof path);
    hk_timeline_event(reason, rc == 0 ? path : NULL, lock);
    return rc;
}

HK_API int hakmem_dump(void)
{
    return hk_dump_write("request", NULL, true);
}
