/* The process's own writable mappings as roots of the leak check: memory a program maps
 * itself (GCC's garbage-collected heap, Python's object arenas, any allocator of its own)
 * may hold the only pointer to a block. /proc/self/maps is read without malloc; each private
 * writable mapping is scanned, less what is no root:
 *   - what hakmem's allocator maps (SuperSlabs, large blocks, side tables: their free blocks
 *     and cached mappings hold stale pointers; hk_walk_mappings), the check's own mappings
 *     (the snapshot points at every block) and the tracker's arena;
 *   - the loaded objects (their data segments are roots already; hakmem's is no root);
 *   - the main thread's stack and every thread stack glibc made (a guard page below, the
 *     thread's control block at the top): only the calling thread's stack is a root, from
 *     its frame up, since the cached stack of an exited thread holds stale copies of the
 *     pointers it had;
 *   - shared mappings and the kernel's ([vvar], [vdso]).
 * Pages never touched read as zeros and are skipped (/proc/self/pagemap), so a large
 * reservation costs no page tables; the rest is copied out with process_vm_readv, so a
 * mapping that another thread unmaps meanwhile is an error code, not a fault. Reading the
 * page map still costs 8 bytes a page of address space, so a mapping larger than
 * HK_LEAK_MAPS_SCAN_MAX (a sanitizer's shadow, a reservation of terabytes) is left out and
 * reported as not checked. */
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_maps.h"
#include "hk_os.h"
#include "hk_sort.h"
#include "hk_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- what is skipped: sorted, merged ranges ---- */

static void hk_skip_add(void *ctx, uintptr_t lo, uintptr_t hi)
{
    struct hk_run *r = ctx;
    if (lo >= hi)
        return;
    if (!hk_leak_run_grow((void **)&r->skip, &r->skip_len, (r->nskip + 1) * sizeof *r->skip)) {
        r->skip_failed = true;
        return;
    }
    r->skip[r->nskip++] = (struct hk_range){lo, hi};
}

static bool hk_skip_less(const void *a, const void *b)
{
    return ((const struct hk_range *)a)->lo < ((const struct hk_range *)b)->lo;
}

/* Everything that is no root; false when it could not all be recorded (then nothing is
 * scanned: the snapshot must never be a root). */
static bool hk_skip_build(struct hk_run *r)
{
    hk_walk_mappings(hk_skip_add, r, true);
    hk_leak_arena_foreach(hk_skip_add, r);
    size_t pg = hk_os_page_size();
    for (uint32_t i = 0; i < hk_stack_module_count(); i++) {
        const struct hk_leak_module *m = hk_stack_module(i);
        if (m->loaded)
            hk_skip_add(r, m->lo & ~(uintptr_t)(pg - 1), hk_align_up(m->hi, pg));
    }
    /* The check's own mappings last, with room made first: growing the array now would
     * change the list being read. */
    size_t room = (r->nskip + hk_leak_run_map_max() + 1) * sizeof *r->skip;
    if (r->skip_failed || !hk_leak_run_grow((void **)&r->skip, &r->skip_len, room))
        return false;
    hk_leak_run_maps(hk_skip_add, r);
    hk_sort_array(r->skip, r->nskip, sizeof *r->skip, hk_skip_less);
    size_t n = 0;
    for (size_t i = 0; i < r->nskip; i++) {
        if (n && r->skip[i].lo <= r->skip[n - 1].hi) {
            if (r->skip[i].hi > r->skip[n - 1].hi)
                r->skip[n - 1].hi = r->skip[i].hi;
        } else {
            r->skip[n++] = r->skip[i];
        }
    }
    r->nskip = n;
    return !r->skip_failed;
}

/* Private and writable, and neither a stack nor the kernel's. */
static bool hk_maps_wanted(const struct hk_maps_line *l)
{
    if (l->perm[0] != 'r' || l->perm[1] != 'w' || l->perm[3] != 'p')
        return false;
    if (!strncmp(l->path, "/dev/", 5))
        return !strncmp(l->path, "/dev/zero", 9);   /* no device's memory */
    if (l->path[0] != '[')
        return true;                    /* anonymous, or a file mapped privately */
    return !strncmp(l->path, "[heap]", 6) || !strncmp(l->path, "[anon:", 6);
}

/* ---- scanning what was touched ---- */

struct hk_maps_scan {
    struct hk_run *r;
    int pagemap;            /* /proc/self/pagemap, -1 when it cannot be read */
    bool direct;            /* process_vm_readv refused: the memory is read in place */
    char *buf;              /* the copy */
    size_t buf_len;
    uint64_t *ent;          /* page map entries */
    size_t ent_len;         /* bytes */
};

/* Up to buf_len bytes of [lo, hi): a copy, or the memory itself when the kernel refuses
 * copies; NULL when the range is gone. *n: the bytes there. */
static const void *hk_maps_read(struct hk_maps_scan *s, uintptr_t lo, uintptr_t hi, size_t *n)
{
    *n = hi - lo < s->buf_len ? hi - lo : s->buf_len;
    if (s->direct)
        return (const void *)lo;
    struct iovec local = {s->buf, *n}, remote = {(void *)lo, *n};
    ssize_t k = process_vm_readv(hk_os_pid(), &local, 1, &remote, 1, 0);
    if (k < 0 && (errno == ENOSYS || errno == EPERM)) {
        s->direct = true;
        return (const void *)lo;
    }
    if (k <= 0)
        return NULL;
    *n = (size_t)k;
    return s->buf;
}

/* A stack glibc made for a thread: a guard page right below, and the thread's control
 * block at the top, whose first and third words (x86-64 tcbhead_t: tcb, dtv, self) hold
 * its own address. Elsewhere the layout differs and thread stacks are scanned whole. */
HK_RACY_READ static bool hk_is_thread_stack(struct hk_maps_scan *s, const struct hk_maps_line *l,
                                            uintptr_t guard_hi)
{
#if defined(__x86_64__)
    if (guard_hi != l->lo || l->path[0])
        return false;
    uintptr_t lo = l->hi - l->lo > 16384 ? l->hi - 16384 : l->lo;
    size_t n;
    const volatile uintptr_t *w = hk_maps_read(s, lo, l->hi, &n);
    for (size_t i = 0; w && i + 3 <= n / sizeof *w; i += 2)
        if (w[i] == lo + i * sizeof *w && w[i + 2] == w[i])
            return true;
#else
    (void)s;
    (void)l;
    (void)guard_hi;
#endif
    return false;
}

/* [lo, hi), copied out in pieces. */
static void hk_scan_copy(struct hk_maps_scan *s, uintptr_t lo, uintptr_t hi)
{
    s->r->roots_bytes += hi - lo;
    s->r->maps_bytes += hi - lo;
    while (lo < hi) {
        size_t n;
        const void *p = hk_maps_read(s, lo, hi, &n);
        if (!p)
            return;   /* unmapped meanwhile */
        hk_leak_scan_range(s->r, (uintptr_t)p, (uintptr_t)p + n);
        lo += n;
    }
}

/* The pages of [lo, hi) (page-aligned) that are present or swapped out. */
static void hk_scan_touched(struct hk_maps_scan *s, uintptr_t lo, uintptr_t hi)
{
    size_t pg = hk_os_page_size();
    uint64_t *ent = s->ent;
    while (lo < hi) {
        size_t n = (hi - lo) / pg;
        if (n > s->ent_len / sizeof ent[0])
            n = s->ent_len / sizeof ent[0];
        ssize_t k = s->pagemap < 0 ? -1
                                   : pread(s->pagemap, ent, n * sizeof ent[0],
                                           (off_t)(lo / pg * sizeof ent[0]));
        if (k != (ssize_t)(n * sizeof ent[0])) {
            hk_scan_copy(s, lo, hi);
            return;
        }
        uintptr_t run = 0;
        for (size_t i = 0; i < n; i++, lo += pg) {
            bool used = (ent[i] >> 62) != 0;   /* bit 63: present, 62: swapped */
            if (used && !run)
                run = lo;
            else if (!used && run) {
                hk_scan_copy(s, run, lo);
                run = 0;
            }
        }
        if (run)
            hk_scan_copy(s, run, lo);
    }
}

/* [lo, hi) less the skipped ranges (sorted); *k: the first that may overlap, kept across
 * calls since the mappings come in ascending order. */
static void hk_scan_mapping(struct hk_maps_scan *s, uintptr_t lo, uintptr_t hi, size_t *k)
{
    const struct hk_run *r = s->r;
    while (*k < r->nskip && r->skip[*k].hi <= lo)
        (*k)++;
    for (size_t i = *k; lo < hi; i++) {
        uintptr_t end = i < r->nskip && r->skip[i].lo < hi ? r->skip[i].lo : hi;
        if (end > lo)
            hk_scan_touched(s, lo, end);
        if (i >= r->nskip || r->skip[i].lo >= hi)
            break;
        lo = r->skip[i].hi;
    }
}

/* A wanted mapping, unless it is too large to scan. */
static void hk_scan_root_mapping(struct hk_maps_scan *s, const struct hk_maps_line *l, size_t *k)
{
    if (l->hi - l->lo > HK_LEAK_MAPS_SCAN_MAX) {
        s->r->huge_maps++;
        s->r->huge_maps_bytes += l->hi - l->lo;
        return;
    }
    hk_scan_mapping(s, l->lo, l->hi, k);
}

/* Every mapping /proc/self/maps lists that is wanted, less what is skipped. */
static void hk_maps_scan_all(struct hk_maps_scan *s, struct hk_maps_reader *m)
{
    if (!hk_maps_open(m))
        return;
    s->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    size_t k = 0;
    uintptr_t guard_hi = 0;   /* end of the last inaccessible mapping */
    for (char *line; (line = hk_maps_next(m));) {
        struct hk_maps_line l;
        if (!hk_maps_parse(line, &l))
            continue;
        if (hk_maps_wanted(&l) && !hk_is_thread_stack(s, &l, guard_hi))
            hk_scan_root_mapping(s, &l, &k);
        if (!memcmp(l.perm, "---", 3))
            guard_hi = l.hi;
    }
    hk_maps_close(m);
    if (s->pagemap >= 0)
        close(s->pagemap);
}

void hk_leak_scan_mappings(struct hk_run *r)
{
    /* Mapped first, so that they are skipped too (the copy holds what it copied). */
    size_t m_len;
    struct hk_maps_reader *m = hk_leak_run_map(sizeof *m, &m_len);
    struct hk_maps_scan s = {r, -1, false, NULL, 0, NULL, 0};
    s.buf = hk_leak_run_map((size_t)64 << 10, &s.buf_len);
    s.ent = hk_leak_run_map((size_t)64 << 10, &s.ent_len);
    if (m && s.buf && s.ent && hk_skip_build(r))
        hk_maps_scan_all(&s, m);
    if (s.ent)
        hk_leak_run_unmap(s.ent, s.ent_len);
    if (s.buf)
        hk_leak_run_unmap(s.buf, s.buf_len);
    if (m)
        hk_leak_run_unmap(m, m_len);
}
