/* Large blocks and the kernel's mappings (issue "Memory freed by other threads always comes
 * back", items 3 and 5). Runs under LD_PRELOAD=libhakmem.so; HK_TEST_ALLOW_LIBC=1 runs it on
 * glibc's malloc instead, to compare (the checks of hakmem's counters and lines are skipped).
 *
 * The program defines mmap and munmap: the executable comes first in symbol lookup, so the
 * calls libhakmem.so makes reach these (glibc's internal calls do not). They pass through to
 * the kernel, and can play a kernel that refuses: munmap fails with ENOMEM without unmapping
 * (as past vm.max_map_count, when a split needs a new mapping), MAP_FIXED_NOREPLACE finds
 * the range taken, or mmap fails with ENOMEM.
 *
 *   large_maps churn     large malloc/free, 6 blocks live at a time; with munmaps refused
 *                        (HAKMEM_FAULT_MUNMAP_FAIL_AFTER=n, or LM_MUNMAP_REFUSE_AFTER=n: this
 *                        program refuses after n successful ones), VmSize stays within
 *                        CHURN_FACTOR of the peak bytes held and bytes_mapped agrees with it
 *   large_maps count     2,000 live large blocks cost about one mapping each; then trims
 *                        refused: the slack is counted, and unmapped once munmap works again
 *   large_maps limit     the same churn with the process at vm.max_map_count (its own
 *                        mappings): VmSize stays bounded, and the malloc that needs a mapping
 *                        more than there are fails with an OOM line that says reason=map_count
 *   large_maps lent      a small block served by a big cached mapping: freed at once, the
 *                        mapping comes back whole with its pages (no faults when it is
 *                        reused at full size); kept live, its tail goes back to the OS once
 *                        50 ms have passed (VmRSS falls), and what it could use is intact
 *                        and as large as before (a usable size never changes while live);
 *                        the same when only small blocks are used after the loan
 *   large_maps lent-threads  4 threads allocate and free large blocks of 520 KiB-4 MiB, some
 *                        kept past a loan's age: every page of every usable size keeps what
 *                        was written there, and no usable size changes while its block lives
 *   large_maps oom-size  every mmap of 1 MiB or more refused: the OOM line's alloc_size is the
 *                        length of the refused call (over-mapped first, exact once a mapping
 *                        exists), for a large block and a SuperSlab
 *
 * Before the fix (the commit that added this file says which failed and how): refused trims
 * and munmaps were ignored, the slack and the blocks stayed mapped and uncounted.
 *
 * glibc 2.36, same program (HK_TEST_ALLOW_LIBC=1, no LD_PRELOAD; this machine, 2 cores):
 *   churn:    peak held 165 MiB, VmSize +81 MiB at the end, +190 MiB at most (its large
 *             chunks are mapped and unmapped by glibc's internal calls, which nothing here
 *             refuses, so LM_MUNMAP_REFUSE_AFTER changes nothing)
 *   count:    2000 live blocks: +0 mappings (its chunks lie side by side and merge); back to
 *             +0 after free; 100 blocks of 1 MiB: VmSize +100 MiB
 *   limit:    65505 mappings held by the program: 0 of 300 mallocs failed, VmSize +151 MiB
 *             at most for 121 MiB held, then 256 more blocks of 1 MiB (from its brk heap)
 *   lent:     600 KiB usable; 16 MiB reused after free: 3945 faults (glibc unmapped it);
 *             VmRSS 17 -> 17 MiB while the small block lives
 *   (hakmem before lent tails: 16387 KiB usable, the tail given back at once and faulted
 *   in again by the memset over it; VmRSS 18316 -> 18380 KiB: the usable-size and the
 *   VmRSS checks failed)
 *   lent-threads: 0 changed under glibc and hakmem; it fails (1 check) with the first
 *   version of lent tails, whose usable size grew when a loan aged, and with a give-back
 *   that starts one page early (32-46 words changed)
 *   oom-size: every malloc succeeds (glibc's own mapping is internal: nothing refuses it)
 * (The numbers under hakmem are printed by each run; see the commit messages.) */

#include "../common/hk_test.h"
#include "../integration/preload_check.h"
#include "hakmem.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
/* churn: VmSize may grow to this many times the peak bytes held, plus CHURN_SLACK (hakmem's
 * large cache alone may keep 64 MiB). */
#define CHURN_FACTOR 3
#define CHURN_SLACK (96 * MiB)
/* How far bytes_mapped and VmSize may disagree: metadata, thread stacks, stdio. */
#define AGREE_SLACK (24 * MiB)

/* ---- the kernel, as the allocator sees it ---- */

static atomic_long lm_munmap_ok;        /* munmaps that reached the kernel and succeeded */
static atomic_long lm_munmap_refused;
static atomic_long lm_refuse_after = -1; /* refuse munmaps once lm_munmap_ok reaches it */
static atomic_int lm_noreplace_taken;    /* MAP_FIXED_NOREPLACE: "range taken" */
static atomic_size_t lm_mmap_fail_min;   /* mmaps of at least this length fail (0: none) */
static atomic_size_t lm_mmap_failed_len; /* the length of the last one that did */

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (atomic_load(&lm_noreplace_taken) && (flags & MAP_FIXED_NOREPLACE) && len > 4096) {
        errno = EEXIST;
        return MAP_FAILED;
    }
    size_t min = atomic_load(&lm_mmap_fail_min);
    if (min && len >= min) {
        atomic_store(&lm_mmap_failed_len, len);
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
    long after = atomic_load(&lm_refuse_after);
    if (after >= 0 && atomic_load(&lm_munmap_ok) >= after) {
        atomic_fetch_add(&lm_munmap_refused, 1);
        errno = ENOMEM;
        return -1;
    }
    int rc = (int)syscall(SYS_munmap, addr, len);
    if (rc == 0)
        atomic_fetch_add(&lm_munmap_ok, 1);
    return rc;
}

/* ---- what the process holds, read without malloc (the process may be at its limits) ---- */

static size_t lm_read(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd < 0)
        return 0;
    for (ssize_t n; got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0;)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    return got;
}

/* A field of /proc/self/status given in kB ("VmSize:", "VmRSS:"), in bytes. */
static size_t lm_status(const char *key)
{
    char buf[4096];
    lm_read("/proc/self/status", buf, sizeof buf);
    const char *p = strstr(buf, key);
    return p ? (size_t)strtoull(p + strlen(key), NULL, 10) * KiB : 0;
}

static size_t lm_vmsize(void) { return lm_status("VmSize:"); }

static long lm_maps(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    char buf[4096];
    long lines = 0;
    for (ssize_t n; fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0;)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    if (fd >= 0)
        close(fd);
    return lines;
}

/* ---- hakmem, when it is there ---- */

static int (*lm_snapshot_fn)(struct hakmem_stats *, size_t);
static void (*lm_collect_fn)(int);

static bool lm_hakmem(void) { return lm_snapshot_fn != NULL; }

/* Whether hakmem's counters count (not in a -Ddiag=none build). */
static bool lm_counters(void)
{
#ifdef HK_TEST_NO_STATS
    return false;
#else
    return lm_hakmem();
#endif
}

static struct hakmem_stats lm_stats(void)
{
    struct hakmem_stats s;
    memset(&s, 0, sizeof s);
    if (lm_snapshot_fn)
        lm_snapshot_fn(&s, sizeof s);
    return s;
}

static void lm_collect(void)
{
    if (lm_collect_fn)
        lm_collect_fn(1);
}

/* now - then, signed: gauges go down too. */
static long long lm_delta(uint64_t now, uint64_t then) { return (long long)now - (long long)then; }

/* |a - b| <= slack */
static bool lm_near(long long a, long long b, size_t slack)
{
    return (a > b ? (unsigned long long)(a - b) : (unsigned long long)(b - a)) <= slack;
}

static uint64_t lm_rng = 88172645463325252ull;
static uint64_t lm_next(void) { return hk_test_rand(&lm_rng); }

/* A large request: 520 KiB to 40 MiB, smaller ones more often. */
static size_t lm_size(size_t max)
{
    size_t s = (520 * KiB) << (lm_next() % 7);
    s += (size_t)(lm_next() % (s / 2));
    return s < max ? s : max;
}

static void lm_touch(char *p, size_t n)
{
    p[0] = 1;
    p[n - 1] = 1;
}

/* ---- stderr into a file, to read hakmem's OOM lines ---- */

static int lm_saved_stderr = -1;
static char lm_err_path[] = "/tmp/hakmem-large-maps-XXXXXX";

static void lm_capture_stderr(void)
{
    int fd = mkstemp(lm_err_path);
    assert_true(fd >= 0, "mkstemp: %s", strerror(errno));
    lm_saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

/* Restores stderr; the captured text into buf. */
static void lm_release_stderr(char *buf, size_t cap)
{
    dup2(lm_saved_stderr, 2);
    close(lm_saved_stderr);
    lm_read(lm_err_path, buf, cap);
    unlink(lm_err_path);
}

/* The value of key= on line (up to its end), or -1. */
static long long lm_key(const char *line, const char *key)
{
    const char *end = strchr(line, '\n');
    size_t klen = strlen(key);
    for (const char *p = line; (p = strstr(p, key)) && (!end || p < end); p += klen)
        if ((p == line || p[-1] == ' ') && p[klen] == '=')
            return strtoll(p + klen + 1, NULL, 10);
    return -1;
}

/* The first "[SS OOM]" line of text with tier=tier, or NULL. */
static const char *lm_oom_line(const char *text, const char *tier)
{
    char want[32];
    snprintf(want, sizeof want, " tier=%s ", tier);
    for (const char *p = text; (p = strstr(p, "[SS OOM]")); p++) {
        const char *end = strchr(p, '\n');
        const char *t = strstr(p, want);
        if (t && (!end || t < end))
            return p;
    }
    return NULL;
}

/* ---- churn ---- */

#define CHURN_LIVE 6
#define CHURN_ROUNDS 1500

static int lm_churn(void)
{
    char *live[CHURN_LIVE] = {0};
    size_t sizes[CHURN_LIVE] = {0}, held = 0, peak = 0, vm_peak = 0;
    const char *refuse = getenv("LM_MUNMAP_REFUSE_AFTER");
    if (refuse)
        atomic_store(&lm_refuse_after, atol(refuse));
    size_t vm0 = lm_vmsize();
    struct hakmem_stats s0 = lm_stats();
    for (int r = 0; r < CHURN_ROUNDS; r++) {
        int i = r % CHURN_LIVE;
        free(live[i]);
        held -= sizes[i];
        sizes[i] = lm_size(40 * MiB);
        live[i] = malloc(sizes[i]);
        assert_ptr_not_null(live[i], "round %d: malloc(%zu)", r, sizes[i]);
        lm_touch(live[i], sizes[i]);
        held += sizes[i];
        peak = held > peak ? held : peak;
        size_t vm = lm_vmsize();
        vm_peak = vm > vm_peak ? vm : vm_peak;
    }
    size_t vm1 = lm_vmsize(), grown = vm1 > vm0 ? vm1 - vm0 : 0;
    size_t peak_grown = vm_peak > vm0 ? vm_peak - vm0 : 0;
    struct hakmem_stats s1 = lm_stats();
    printf("churn: peak held %zu MiB, VmSize +%zu MiB at the end (+%zu MiB at most), "
           "bytes_mapped +%lld MiB; munmaps done %ld, refused by this program %ld; "
           "hakmem: unmap_failures %llu, large_kept %llu\n",
           peak / MiB, grown / MiB, peak_grown / MiB,
           lm_delta(s1.bytes_mapped, s0.bytes_mapped) / (long long)MiB,
           atomic_load(&lm_munmap_ok), atomic_load(&lm_munmap_refused),
           (unsigned long long)s1.unmap_failures, (unsigned long long)s1.large_kept);
    expect_u64_le(peak_grown, CHURN_FACTOR * peak + CHURN_SLACK,
                  "VmSize grew past %d x the peak held (%zu MiB) + %zu MiB", CHURN_FACTOR,
                  peak / MiB, CHURN_SLACK / MiB);
    if (lm_counters()) {
        long long mapped = lm_delta(s1.bytes_mapped, s0.bytes_mapped);
        expect_true(lm_near(mapped, lm_delta(vm1, vm0), AGREE_SLACK),
                    "bytes_mapped grew by %lld MiB, VmSize by %lld MiB",
                    mapped / (long long)MiB, lm_delta(vm1, vm0) / (long long)MiB);
        expect_u64_gt(s1.unmap_failures, 0, "no refused munmap counted");
    }
    /* hakmem's own injection: no munmap past the n-th reaches the kernel. */
    const char *fault = getenv("HAKMEM_FAULT_MUNMAP_FAIL_AFTER");
    if (fault && lm_hakmem())
        expect_u64_le(atomic_load(&lm_munmap_ok), strtoull(fault, NULL, 10),
                      "munmaps reached the kernel after HAKMEM_FAULT_MUNMAP_FAIL_AFTER");
    for (int i = 0; i < CHURN_LIVE; i++)
        free(live[i]);
    return hk_test_done("large_maps churn");
}

/* ---- count ---- */

#define COUNT_BLOCKS 2000
#define COUNT_SLACK_BLOCKS 100

static void lm_free_all(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    lm_collect();
}

/* Many live blocks: about one mapping each; all of it back after free. */
static void lm_count_live(char **v)
{
    long m0 = lm_maps();
    size_t vm0 = lm_vmsize();
    for (size_t i = 0; i < COUNT_BLOCKS; i++) {
        size_t n = 520 * KiB + (i % 7) * 300 * KiB;
        v[i] = malloc(n);
        assert_ptr_not_null(v[i], "malloc(%zu) #%zu", n, i);
        lm_touch(v[i], n);
    }
    long m1 = lm_maps();
    lm_free_all(v, COUNT_BLOCKS);
    long m2 = lm_maps();
    size_t vm2 = lm_vmsize();
    printf("count: %d live blocks: %+ld mappings; after free %+ld mappings, VmSize %+lld MiB\n",
           COUNT_BLOCKS, m1 - m0, m2 - m0, lm_delta(vm2, vm0) / (long long)MiB);
    expect_true(m1 - m0 <= COUNT_BLOCKS + COUNT_SLACK_BLOCKS, "%ld mappings for %d blocks",
                m1 - m0, COUNT_BLOCKS);
    expect_true(m2 - m0 <= 16, "%ld mappings left after free", m2 - m0);
    expect_true(vm2 <= vm0 + 16 * MiB, "VmSize +%zu MiB after free", (vm2 - vm0) / MiB);
}

#define SLACK_BLOCKS 100

/* Every trim refused: what is mapped stays counted, and goes back once munmap works. */
static void lm_count_refused_trims(char **v)
{
    long m0 = lm_maps();
    size_t vm0 = lm_vmsize();
    struct hakmem_stats s0 = lm_stats();
    atomic_store(&lm_noreplace_taken, 1);   /* no exact try: over-map and trim */
    atomic_store(&lm_refuse_after, 0);
    for (size_t i = 0; i < SLACK_BLOCKS; i++) {
        v[i] = malloc(MiB);
        assert_ptr_not_null(v[i], "malloc(1 MiB) #%zu with trims refused", i);
        lm_touch(v[i], MiB);
    }
    long m1 = lm_maps();
    size_t vm1 = lm_vmsize();
    struct hakmem_stats s1 = lm_stats();
    long long mapped = lm_delta(s1.bytes_mapped, s0.bytes_mapped);
    atomic_store(&lm_refuse_after, -1);
    atomic_store(&lm_noreplace_taken, 0);
    lm_free_all(v, SLACK_BLOCKS);
    long m2 = lm_maps();
    size_t vm2 = lm_vmsize();
    printf("count: %d blocks of 1 MiB with trims refused: %+ld mappings, VmSize +%zu MiB, "
           "bytes_mapped %+lld MiB, %ld munmaps refused; after free %+ld mappings, VmSize "
           "%+lld MiB\n", SLACK_BLOCKS, m1 - m0, (vm1 - vm0) / MiB, mapped / (long long)MiB,
           atomic_load(&lm_munmap_refused), m2 - m0, lm_delta(vm2, vm0) / (long long)MiB);
    expect_true(m1 - m0 <= SLACK_BLOCKS + 16, "%ld mappings for %d blocks", m1 - m0,
                SLACK_BLOCKS);
    if (lm_counters())
        expect_true(lm_near(mapped, lm_delta(vm1, vm0), AGREE_SLACK),
                    "bytes_mapped grew by %lld MiB, VmSize by %lld MiB", mapped / (long long)MiB,
                    lm_delta(vm1, vm0) / (long long)MiB);
    expect_true(m2 - m0 <= 16, "%ld mappings left after free", m2 - m0);
    expect_true(vm2 <= vm0 + 16 * MiB, "slack left mapped after free: VmSize +%zu MiB",
                (vm2 - vm0) / MiB);
}

static int lm_count(void)
{
    char **v = calloc(COUNT_BLOCKS, sizeof *v);
    assert_ptr_not_null(v, "calloc");
    lm_count_live(v);
    lm_count_refused_trims(v);
    free(v);
    return hk_test_done("large_maps count");
}

/* ---- limit ---- */

#define LIMIT_ROUNDS 300
#define LIMIT_LIVE 4
#define LIMIT_MORE 256

/* Maps pages (alternately read-only and writable, so that no two merge) until the kernel
 * refuses; then gives back `room` of them. Returns how many are held. */
static size_t lm_fill_maps(void **pages, size_t cap, size_t room)
{
    size_t n = 0;
    while (n < cap) {
        int prot = n & 1 ? PROT_READ : PROT_READ | PROT_WRITE;
        void *p = (void *)syscall(SYS_mmap, NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        pages[n++] = p;
    }
    for (; room && n; room--)
        syscall(SYS_munmap, pages[--n], 4096);
    return n;
}

static int lm_limit(void)
{
    char buf[256];
    long max = lm_read("/proc/sys/vm/max_map_count", buf, sizeof buf) ? atol(buf) : -1;
    if (max <= 0 || max > 300000)
        test_skip("vm.max_map_count is %ld: filling it would take too long", max);
    void **pages = calloc((size_t)max + 16, sizeof *pages);
    char *live[LIMIT_LIVE] = {0};
    size_t sizes[LIMIT_LIVE] = {0}, held = 0, peak = 0, vm_peak = 0;
    static char err[1 << 16];
    assert_ptr_not_null(pages, "calloc");
    lm_capture_stderr();
    size_t held_pages = lm_fill_maps(pages, (size_t)max + 16, 4);
    long maps = lm_maps();
    size_t vm0 = lm_vmsize();
    int nulls = 0;
    for (int r = 0; r < LIMIT_ROUNDS; r++) {
        int i = r % LIMIT_LIVE;
        free(live[i]);
        held -= sizes[i];
        sizes[i] = lm_size(40 * MiB);
        live[i] = malloc(sizes[i]);
        if (!live[i]) {
            sizes[i] = 0;
            nulls++;
            continue;
        }
        lm_touch(live[i], sizes[i]);
        held += sizes[i];
        peak = held > peak ? held : peak;
        size_t vm = lm_vmsize();
        vm_peak = vm > vm_peak ? vm : vm_peak;
    }
    /* Then more at once than the few mappings left: some malloc must fail. */
    char *more[LIMIT_MORE];
    int nmore = 0;
    while (nmore < LIMIT_MORE && (more[nmore] = malloc(MiB)))
        nmore++;
    for (int i = 0; i < nmore; i++)
        free(more[i]);
    for (int i = 0; i < LIMIT_LIVE; i++)
        free(live[i]);
    for (size_t i = 0; i < held_pages; i++)
        syscall(SYS_munmap, pages[i], 4096);
    lm_release_stderr(err, sizeof err);
    free(pages);
    size_t grown = vm_peak > vm0 ? vm_peak - vm0 : 0;
    printf("limit: %zu mappings held by this program (%ld in all, max_map_count %ld); %d of "
           "%d mallocs failed; peak held %zu MiB, VmSize +%zu MiB at most; then %d blocks of "
           "1 MiB more before NULL\n", held_pages, maps, max, nulls, LIMIT_ROUNDS, peak / MiB,
           grown / MiB, nmore);
    expect_u64_le(grown, CHURN_FACTOR * peak + CHURN_SLACK,
                  "VmSize grew past %d x the peak held (%zu MiB) + %zu MiB at the map limit",
                  CHURN_FACTOR, peak / MiB, CHURN_SLACK / MiB);
    const char *first = strstr(err, "[SS OOM]");
    if (first)
        printf("limit: first OOM line: %.*s\n",
               (int)(strchr(first, '\n') ? strchr(first, '\n') - first : 300), first);
    int lines = 0;
    for (const char *p = err; (p = strstr(p, "[SS OOM]")); p++, lines++) {
        const char *end = strchr(p, '\n');
        const char *why = strstr(p, " reason=map_count");
        if (lm_key(p, "err") == ENOMEM)
            expect_true(why && (!end || why < end), "an OOM at the map limit without "
                        "reason=map_count: %.*s", (int)(end ? end - p : 200), p);
    }
    if (lm_hakmem()) {
        expect_true(nmore < LIMIT_MORE, "%d blocks of 1 MiB with 4 mappings left", nmore);
        expect_true(lines > 0, "mallocs failed and no OOM line was printed");
    }
    return hk_test_done("large_maps limit");
}

/* ---- oom-size ---- */

/* The OOM line of tier: its alloc_size is the failing mmap's length. */
static void lm_check_oom_size(const char *err, const char *tier, size_t failed)
{
    const char *line = lm_oom_line(err, tier);
    if (!lm_hakmem())
        return;
    if (!line) {
        test_fail("no [SS OOM] line of tier %s in: %.300s", tier, err);
        return;
    }
    printf("oom-size: %s: mmap of %zu bytes refused; OOM line: %.*s\n", tier, failed,
           (int)(strchr(line, '\n') ? strchr(line, '\n') - line : 200), line);
    expect_d_eq(lm_key(line, "alloc_size"), (long long)failed, "%s: alloc_size vs the mmap", tier);
    const char *end = strchr(line, '\n'), *why = strstr(line, "reason=map_count");
    expect_true(lm_key(line, "maps") > 0 && lm_key(line, "max_map_count") > 0,
                "%s: no maps= and max_map_count= on the line", tier);
    expect_true(!why || (end && why > end), "%s: reason=map_count far from the limit", tier);
}

static int lm_oom_size(void)
{
    static char err[1 << 14];
    lm_capture_stderr();
    atomic_store(&lm_mmap_fail_min, MiB);   /* hakmem's data mappings; metadata is smaller */
    errno = 0;
    void *big = malloc(4 * MiB);
    int big_errno = errno;
    size_t failed_large = atomic_exchange(&lm_mmap_failed_len, 0);
    void *mid[64] = {0};
    int nmid = 0;
    while (nmid < 64 && (mid[nmid] = malloc(300 * KiB)))
        nmid++;
    size_t failed_mid = atomic_exchange(&lm_mmap_failed_len, 0);
    /* Once something is mapped, the next mapping is first tried at its exact size. */
    atomic_store(&lm_mmap_fail_min, 0);
    void *small = malloc(64);
    atomic_store(&lm_mmap_fail_min, MiB);
    void *again = malloc(3 * MiB);
    size_t failed_again = atomic_exchange(&lm_mmap_failed_len, 0);
    atomic_store(&lm_mmap_fail_min, 0);
    lm_release_stderr(err, sizeof err);
    printf("oom-size: malloc(4 MiB) %s; %d blocks of 300 KiB before NULL\n",
           big ? "succeeded" : "returned NULL", nmid);
    if (lm_hakmem()) {
        expect_ptr_null(big, "malloc(4 MiB) with every large mmap refused");
        expect_d_eq(big_errno, ENOMEM, "errno of the refused malloc");
        expect_true(nmid < 64, "300 KiB blocks kept coming with every mmap refused");
        expect_ptr_null(again, "malloc(3 MiB) with every large mmap refused");
        lm_check_oom_size(err, "large", failed_large);
        lm_check_oom_size(err, "mid", failed_mid);
        const char *second = lm_oom_line(err, "large");
        lm_check_oom_size(second ? second + 1 : err, "large", failed_again);
    }
    free(big);
    free(small);
    free(again);
    for (int i = 0; i < nmid; i++)
        free(mid[i]);
    return hk_test_done("large_maps oom-size");
}

/* ---- a cached mapping lent to a small block ---- */

static size_t lm_vmrss(void) { return lm_status("VmRSS:"); }

static long lm_minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

#define LENT_BIG (16 * MiB)
#define LENT_SMALL (600 * KiB)

static int lm_lent(void)
{
    char *big = malloc(LENT_BIG);
    memset(big, 1, LENT_BIG);
    free(big);
    /* Freed at once: the whole mapping comes back with its pages. */
    char *small = malloc(LENT_SMALL);
    size_t usable = malloc_usable_size(small);
    memset(small, 2, usable);
    free(small);
    big = malloc(LENT_BIG);
    long before = lm_minflt();
    memset(big, 3, LENT_BIG);
    long faults = lm_minflt() - before;
    printf("lent: %zu KiB usable while lent; 16 MiB reused after: %ld faults\n", usable / KiB,
           faults);
    if (lm_hakmem()) {
        expect_true(usable >= LENT_SMALL && usable <= LENT_SMALL + 8 * KiB,
                    "usable %zu KiB while the tail is lent", usable / KiB);
        expect_true(faults < 64, "the mapping came back whole: %ld faults", faults);
    }
    free(big);
    /* Kept live: the tail goes back once its loan has aged (checked at the next large
     * free). What the block may use keeps its bytes. */
    small = malloc(LENT_SMALL);
    usable = malloc_usable_size(small);
    memset(small, 4, usable);
    size_t rss0 = lm_vmrss();
    usleep(80 * 1000);
    char *other = malloc(700 * KiB);
    other[0] = 1;
    free(other);
    size_t rss1 = lm_vmrss();
    size_t bad = 0, usable_after = malloc_usable_size(small);
    for (size_t i = 0; i < usable; i++)
        bad += small[i] != 4;
    printf("lent: VmRSS %zu MiB -> %zu MiB once the loan aged; %zu bytes changed\n",
           rss0 / MiB, rss1 / MiB, bad);
    expect_true(bad == 0, "%zu bytes of the live block changed", bad);
    expect_true(usable_after == usable, "usable size %zu KiB, %zu KiB before the loan aged",
                usable_after / KiB, usable / KiB);
    if (lm_hakmem())
        expect_true(rss0 > rss1 + 12 * MiB, "the lent tail went back: VmRSS %zu -> %zu KiB",
                    rss0 / KiB, rss1 / KiB);
    free(small);
    /* The same with small blocks only after the loan: the heaps' periodic reclaim ends it.
     * The caches emptied first, so that the small block is served by the big mapping. */
    lm_collect();
    big = malloc(LENT_BIG);
    memset(big, 5, LENT_BIG);
    free(big);
    small = malloc(LENT_SMALL);
    memset(small, 6, LENT_SMALL);
    rss0 = lm_vmrss();
    usleep(80 * 1000);
    static void *tiny[1000];
    for (int round = 0; round < 200; round++) {
        for (unsigned i = 0; i < 1000; i++)
            tiny[i] = malloc(64);
        for (unsigned i = 0; i < 1000; i++)
            free(tiny[i]);
    }
    rss1 = lm_vmrss();
    printf("lent: VmRSS %zu MiB -> %zu MiB after small blocks only\n", rss0 / MiB, rss1 / MiB);
    if (lm_hakmem())
        expect_true(rss0 > rss1 + 12 * MiB, "small blocks only: VmRSS %zu -> %zu KiB",
                    rss0 / KiB, rss1 / KiB);
    free(small);
    return hk_test_done("large_maps lent");
}

/* ---- lent tails under threads ---- */

#define LT_THREADS 4
#define LT_OPS 400
#define LT_SLOTS 3

struct lt_block {
    uint64_t *p;
    size_t usable;
    uint64_t tag;
};

static atomic_long lt_bad;

/* The first word of every page of the usable size, and its last word. */
static void lt_stamp(struct lt_block *b, bool check)
{
    size_t words = b->usable / sizeof(uint64_t);
    long bad = 0;
    for (size_t w = 0; w < words - 1; w += 4096 / sizeof(uint64_t)) {   /* the last is apart */
        if (!check)
            b->p[w] = b->tag ^ w;
        else
            bad += b->p[w] != (b->tag ^ w);
    }
    if (!check)
        b->p[words - 1] = ~b->tag;
    else
        bad += b->p[words - 1] != ~b->tag;
    if (check && malloc_usable_size(b->p) != b->usable)
        bad++;
    if (bad)
        atomic_fetch_add(&lt_bad, bad);
}

static void *lt_worker(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    struct lt_block slot[LT_SLOTS] = {{0}};
    for (unsigned op = 0; op < LT_OPS; op++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        struct lt_block *b = &slot[rng % LT_SLOTS];
        if (b->p) {
            lt_stamp(b, true);
            free(b->p);
        }
        size_t size = (520 * KiB) << (rng >> 32) % 3;
        size += (size_t)((rng >> 40) % size);
        b->p = malloc(size);
        b->usable = malloc_usable_size(b->p);
        b->tag = rng;
        lt_stamp(b, false);
        if (op % 50 == 49)
            usleep(60 * 1000);   /* past a loan's age: the next large call ends one */
    }
    for (unsigned i = 0; i < LT_SLOTS; i++)
        if (slot[i].p) {
            lt_stamp(&slot[i], true);
            free(slot[i].p);
        }
    return NULL;
}

static int lm_lent_threads(void)
{
    pthread_t t[LT_THREADS];
    for (uintptr_t i = 0; i < LT_THREADS; i++)
        assert_d_eq(pthread_create(&t[i], NULL, lt_worker, (void *)(i + 1)), 0,
                    "pthread_create");
    for (unsigned i = 0; i < LT_THREADS; i++)
        pthread_join(t[i], NULL);
    long bad = atomic_load(&lt_bad);
    printf("lent-threads: %d threads x %d large blocks, %ld words or usable sizes changed\n",
           LT_THREADS, LT_OPS, bad);
    expect_true(bad == 0, "%ld words or usable sizes of live blocks changed", bad);
    return hk_test_done("large_maps lent-threads");
}

int main(int argc, char **argv)
{
    hk_require_preloaded(argv[0]);
    setvbuf(stdout, NULL, _IONBF, 0);
    lm_snapshot_fn = (int (*)(struct hakmem_stats *, size_t))dlsym(RTLD_DEFAULT,
                                                                   "hakmem_stats_snapshot");
    lm_collect_fn = (void (*)(int))dlsym(RTLD_DEFAULT, "hakmem_collect");
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "churn"))
        return lm_churn();
    if (!strcmp(mode, "count"))
        return lm_count();
    if (!strcmp(mode, "limit"))
        return lm_limit();
    if (!strcmp(mode, "oom-size"))
        return lm_oom_size();
    if (!strcmp(mode, "lent"))
        return lm_lent();
    if (!strcmp(mode, "lent-threads"))
        return lm_lent_threads();
    fprintf(stderr, "usage: %s churn|count|limit|oom-size|lent|lent-threads\n", argv[0]);
    return 2;
}
