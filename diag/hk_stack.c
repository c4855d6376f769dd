/* Allocation stacks for leak tracking: capture (the walk of hk_unwind.c, libunwind's
 * unw_backtrace where it cannot step a frame), deduplication (distinct frames interned, a stack is its frame ids, found through
 * an index of stack ids, a small per-thread cache of recent hash → id pairs in front of
 * it), the module map (kept after a library is unloaded) and the internal arena all of it
 * lives in. Called on every allocation when HAKMEM_LEAK_CHECK=1:
 * nothing here allocates through hakmem, and a thread-local guard turns the allocations that
 * the unwinder (or the report) makes into untracked ones instead of recursing. */
#include "hk_internal.h"
#include "hk_hooks.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_lock.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_stats.h"
#include "hk_unwind.h"

#include <link.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#if HK_HAVE_UNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#else
#include <execinfo.h>
#endif

/* ---- arena ---------------------------------------------------------------------------- */

#define HK_ARENA_CHUNK ((size_t)1 << 20)

/* Every mapping of the arena starts with one of these, so that the leak check can skip
 * them all when it scans the process's mappings (hk_leak_arena_foreach). */
struct hk_arena_map {
    struct hk_arena_map *next;
    size_t len;
};
_Static_assert(sizeof(struct hk_arena_map) == 16, "arena memory stays 16-byte aligned");

static HK_LOCK_DEFINE(hk_arena_lock, HK_RANK_STACK_ARENA);
static char *hk_arena_cur, *hk_arena_end;
static size_t hk_arena_bytes;
static struct hk_arena_map *hk_arena_maps;

/* A new mapping of len bytes, recorded; arena lock held. */
static void *hk_arena_map_locked(size_t len)
{
    struct hk_arena_map *m = hk_os_map_meta(len);
    if (!m)
        return NULL;
    HK_PSTAT_ADD(diag_bytes, len);
    m->next = hk_arena_maps;
    m->len = len;
    hk_arena_maps = m;
    return m + 1;
}

void *hk_leak_arena_alloc(size_t size)
{
    size = hk_align_up(size ? size : 1, 16);
    hk_lock(&hk_arena_lock);
    void *p;
    if (size > HK_ARENA_CHUNK / 4) {
        size_t len = hk_align_up(size + sizeof(struct hk_arena_map), hk_os_page_size());
        p = hk_arena_map_locked(len);
        if (p)
            hk_arena_bytes += len;
        hk_unlock(&hk_arena_lock);
        return p;
    }
    if ((size_t)(hk_arena_end - hk_arena_cur) < size) {
        char *c = hk_arena_map_locked(HK_ARENA_CHUNK);
        if (!c) {
            hk_unlock(&hk_arena_lock);
            return NULL;
        }
        hk_arena_cur = c;
        hk_arena_end = c - sizeof(struct hk_arena_map) + HK_ARENA_CHUNK;
        hk_arena_bytes += sizeof(struct hk_arena_map);
    }
    p = hk_arena_cur;
    hk_arena_cur += size;
    hk_arena_bytes += size;
    hk_unlock(&hk_arena_lock);
    return p;
}

void hk_leak_arena_foreach(void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
    hk_lock(&hk_arena_lock);
    for (const struct hk_arena_map *m = hk_arena_maps; m; m = m->next)
        fn(ctx, (uintptr_t)m, (uintptr_t)m + m->len);
    hk_unlock(&hk_arena_lock);
}

void hk_leak_arena_free(void *p, size_t size)
{
    size = hk_align_up(size ? size : 1, 16);
    if (size <= HK_ARENA_CHUNK / 4)
        return;   /* inside a chunk: not reused (only outgrown hash indexes come back) */
    struct hk_arena_map *m = (struct hk_arena_map *)p - 1;
    hk_lock(&hk_arena_lock);
    for (struct hk_arena_map **at = &hk_arena_maps; *at; at = &(*at)->next) {
        if (*at == m) {
            *at = m->next;
            hk_arena_bytes -= m->len;
            break;
        }
    }
    hk_unlock(&hk_arena_lock);
    size_t len = m->len;
    if (hk_os_unmap_meta(m, len) == 0)
        HK_PSTAT_SUB(diag_bytes, len);
}

size_t hk_leak_arena_used(void)
{
    hk_lock(&hk_arena_lock);
    size_t n = hk_arena_bytes;
    hk_unlock(&hk_arena_lock);
    return n;
}


/* ---- recursion guard ------------------------------------------------------------------ */

static HK_TLS int hk_stack_busy;

bool hk_stack_guard_enter(void)
{
    if (hk_stack_busy)
        return false;
    hk_stack_busy = 1;
    return true;
}

void hk_stack_guard_leave(void) { hk_stack_busy = 0; }

/* ---- module map ----------------------------------------------------------------------- */

static HK_LOCK_DEFINE(hk_module_lock, HK_RANK_STACK_MODULES);
static struct hk_leak_module hk_modules[HK_MODULES_MAX];
static bool hk_module_seen[HK_MODULES_MAX];
static _Atomic uint32_t hk_nmodules;
static uint32_t hk_self_module = HK_MODULE_NONE;
static unsigned long long hk_dl_adds, hk_dl_subs;   /* dl_iterate_phdr's counters at refresh */

uint32_t hk_stack_module_count(void) { return atomic_load_explicit(&hk_nmodules, HK_ACQUIRE); }
const struct hk_leak_module *hk_stack_module(uint32_t idx) { return &hk_modules[idx]; }
uint32_t hk_stack_self_module(void) { return hk_self_module; }

static const char *hk_arena_strdup(const char *s)
{
    size_t n = strlen(s);
    char *d = hk_leak_arena_alloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

struct hk_refresh {
    bool first;
};

static int hk_module_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct hk_refresh *r = arg;
    bool is_main = r->first;
    r->first = false;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        hk_dl_adds = info->dlpi_adds;
        hk_dl_subs = info->dlpi_subs;
    }
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    if (lo >= hi)
        return 0;
    char exe[4096];
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (is_main && !*name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        name = exe;
    }
    uint32_t n = atomic_load_explicit(&hk_nmodules, HK_RELAXED);
    for (uint32_t i = n; i-- > 0;) {
        struct hk_leak_module *m = &hk_modules[i];
        if (m->base == info->dlpi_addr && m->lo == lo && m->hi == hi && m->path &&
            strcmp(m->path, name) == 0) {
            hk_module_seen[i] = true;
            return 0;
        }
    }
    if (n == HK_MODULES_MAX)
        return 0;
    struct hk_leak_module *m = &hk_modules[n];
    m->base = info->dlpi_addr;
    m->lo = lo;
    m->hi = hi;
    m->path = hk_arena_strdup(name);
    m->is_main = is_main;
    if (!m->path)
        return 0;
    hk_module_seen[n] = true;
    atomic_store_explicit(&hk_nmodules, n + 1, HK_RELEASE);
    return 0;
}

static void hk_modules_refresh_locked(void)
{
    uint32_t n = atomic_load_explicit(&hk_nmodules, HK_RELAXED);
    for (uint32_t i = 0; i < n; i++)
        hk_module_seen[i] = false;
    struct hk_refresh r = {.first = true};
    dl_iterate_phdr(hk_module_visit, &r);
    n = atomic_load_explicit(&hk_nmodules, HK_RELAXED);
    for (uint32_t i = 0; i < n; i++)
        hk_modules[i].loaded = hk_module_seen[i];
}

void hk_stack_modules_refresh(void)
{
    hk_lock(&hk_module_lock);
    hk_modules_refresh_locked();
    hk_unlock(&hk_module_lock);
}

static int hk_module_counts(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *c = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        c[0] = info->dlpi_adds;
        c[1] = info->dlpi_subs;
    }
    return 1;   /* the counters are the same in every entry: stop at the first */
}

static uint16_t hk_module_find_locked(uintptr_t a)
{
    uint32_t n = atomic_load_explicit(&hk_nmodules, HK_RELAXED);
    for (uint32_t i = n; i-- > 0;) {
        const struct hk_leak_module *m = &hk_modules[i];
        if (m->loaded && a >= m->lo && a < m->hi)
            return (uint16_t)i;
    }
    return HK_MODULE_NONE;
}

/* Module of each frame, re-reading the list of loaded objects when one was loaded or
 * unloaded since the last look, or when a frame is outside every known module. */
static void hk_modules_resolve(const uintptr_t *frames, int n, uint16_t *mods)
{
    unsigned long long c[2] = {0, 0};
    dl_iterate_phdr(hk_module_counts, c);
    hk_lock(&hk_module_lock);
    bool fresh = false;
    if (c[0] != hk_dl_adds || c[1] != hk_dl_subs) {
        hk_modules_refresh_locked();
        fresh = true;
    }
    for (int i = 0; i < n; i++) {
        mods[i] = hk_module_find_locked(frames[i] - 1);
        if (mods[i] == HK_MODULE_NONE && !fresh) {
            hk_modules_refresh_locked();
            fresh = true;
            mods[i] = hk_module_find_locked(frames[i] - 1);
        }
    }
    hk_unlock(&hk_module_lock);
}

/* ---- the frame table and the stack table ----------------------------------------------
 *
 * Every distinct frame (a return address and the module it lay in when first seen) is kept
 * once, under a frame id; a stack is the ids of its frames. Both tables grow by chunks that
 * never move, reached through directories, so readers take no lock; their hash indexes
 * (open addressing, ids only) are read and written under the table lock. What a stack costs
 * is in docs/leaks.md ("Memory"). */

#define HK_DIR_SHIFT 12
#define HK_DIR_CHUNK (1u << HK_DIR_SHIFT)
#define HK_DIR_CHUNKS 1024u     /* up to 4 Mi distinct stacks, and as many frames */

struct hk_frame_rec {
    uintptr_t pc;
    uint16_t module;          /* HK_MODULE_NONE when unknown */
};

/* 4 + 4 x frames bytes, packed at 4-byte alignment (hk_rec_alloc). */
struct hk_stack_rec {
    uint32_t n;
    uint32_t frames[];        /* frame ids, innermost first */
};

/* An open-addressing index of ids (0: empty), at most three quarters full. */
struct hk_index {
    _Atomic uint32_t *slot;
    uint32_t mask, used;
};

static HK_LOCK_DEFINE(hk_table_lock, HK_RANK_STACK_TABLE);
static struct hk_stack_rec *_Atomic *_Atomic hk_dir[HK_DIR_CHUNKS];
static struct hk_frame_rec *_Atomic hk_frame_dir[HK_DIR_CHUNKS];
static _Atomic uint32_t hk_nstacks, hk_nframes;
static struct hk_index hk_stack_index, hk_frame_index;

static atomic_bool hk_stack_on;
static int hk_depth = 16;

/* Frames kept, at least, for a stack whose first frame lies in glibc (libc or the dynamic
 * loader): the built-in suppressions (hk_leak_supp_match.c) recognise glibc's one-time allocations by a
 * function a few frames up, e.g. _dl_allocate_tls above the static allocate_dtv (no symbol)
 * that makes every thread's DTV. With HAKMEM_STACK_DEPTH below this, those stacks would
 * otherwise be one unnamed ld.so frame, reported as a leak in any program that starts a
 * thread. Only stacks that start in glibc pay for the deeper capture. */
#define HK_GLIBC_FRAMES 6
#define HK_GLIBC_MODULES 2
static uintptr_t hk_glibc_lo[HK_GLIBC_MODULES], hk_glibc_hi[HK_GLIBC_MODULES];
static pid_t hk_pid;
static uintptr_t hk_self_lo, hk_self_hi;   /* hakmem's own code: frames dropped on top */

uint32_t hk_stack_count(void) { return atomic_load_explicit(&hk_nstacks, HK_ACQUIRE); }
uint32_t hk_stack_frame_count(void) { return atomic_load_explicit(&hk_nframes, HK_ACQUIRE); }
bool hk_stack_ready(void) { return atomic_load_explicit(&hk_stack_on, HK_RELAXED); }
pid_t hk_stack_init_pid(void) { return hk_pid; }

static struct hk_stack_rec *hk_stack_rec_get(uint32_t id)
{
    if (!id || id > hk_stack_count())
        return NULL;
    struct hk_stack_rec *_Atomic *chunk =
        atomic_load_explicit(&hk_dir[(id - 1) >> HK_DIR_SHIFT], HK_ACQUIRE);
    if (!chunk)
        return NULL;
    return atomic_load_explicit(&chunk[(id - 1) & (HK_DIR_CHUNK - 1)], HK_ACQUIRE);
}

/* Frame fid (1 .. hk_stack_frame_count()); its chunk was published before the id. */
static inline const struct hk_frame_rec *hk_frame_rec_get(uint32_t fid)
{
    const struct hk_frame_rec *chunk =
        atomic_load_explicit(&hk_frame_dir[(fid - 1) >> HK_DIR_SHIFT], HK_ACQUIRE);
    return &chunk[(fid - 1) & (HK_DIR_CHUNK - 1)];
}

uintptr_t hk_stack_frame_pc(uint32_t fid)
{
    return fid && fid <= hk_stack_frame_count() ? hk_frame_rec_get(fid)->pc : 0;
}

uint16_t hk_stack_frame_module(uint32_t fid)
{
    return fid && fid <= hk_stack_frame_count() ? hk_frame_rec_get(fid)->module
                                                 : HK_MODULE_NONE;
}

int hk_stack_frame_ids(uint32_t id, const uint32_t **fids)
{
    struct hk_stack_rec *r = hk_stack_rec_get(id);
    *fids = r ? r->frames : NULL;
    return r ? r->n : 0;
}

int hk_stack_frames(uint32_t id, uintptr_t frames[HK_STACK_MAX_DEPTH])
{
    const uint32_t *fids;
    int n = hk_stack_frame_ids(id, &fids);
    for (int i = 0; i < n; i++)
        frames[i] = hk_frame_rec_get(fids[i])->pc;
    return n;
}

static inline uint64_t hk_frames_hash(const uintptr_t *f, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= f[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h;
}

static inline uint32_t hk_fold(uint64_t h) { return (uint32_t)(h ^ (h >> 32)); }

static uint32_t hk_frame_hash(uintptr_t pc, uint16_t module)
{
    return hk_fold(((uint64_t)pc ^ ((uint64_t)module << 48)) * 0x9e3779b97f4a7c15ull);
}

static uint32_t hk_stack_hash_of(uint32_t id)
{
    uintptr_t f[HK_STACK_MAX_DEPTH];
    return hk_fold(hk_frames_hash(f, hk_stack_frames(id, f)));
}

static uint32_t hk_frame_hash_of(uint32_t fid)
{
    const struct hk_frame_rec *f = hk_frame_rec_get(fid);
    return hk_frame_hash(f->pc, f->module);
}

/* ---- the hash indexes (table lock held) ---- */

/* The slot of the id with hash h for which eq(key, id) holds, else the empty slot where it
 * would go; NULL when the index has no slots yet. */
static _Atomic uint32_t *hk_index_find(const struct hk_index *x, uint32_t h,
                                       bool (*eq)(const void *key, uint32_t id), const void *key)
{
    if (!x->slot)
        return NULL;
    for (uint32_t i = h & x->mask;; i = (i + 1) & x->mask) {
        uint32_t id = atomic_load_explicit(&x->slot[i], HK_RELAXED);
        if (!id || eq(key, id))
            return &x->slot[i];
    }
}

/* Room for one more id (twice the slots when three quarters full); false without memory. */
static bool hk_index_reserve(struct hk_index *x, uint32_t (*hash_of)(uint32_t id))
{
    if (x->slot && (uint64_t)(x->used + 1) * 4 <= (uint64_t)(x->mask + 1) * 3)
        return true;
    uint32_t n = x->slot ? (x->mask + 1) * 2 : 4096;
    _Atomic uint32_t *s = hk_leak_arena_alloc((size_t)n * sizeof *s);
    if (!s)
        return false;
    for (uint32_t i = 0; x->slot && i <= x->mask; i++) {
        uint32_t id = atomic_load_explicit(&x->slot[i], HK_RELAXED);
        if (!id)
            continue;
        uint32_t j = hash_of(id) & (n - 1);
        while (atomic_load_explicit(&s[j], HK_RELAXED))
            j = (j + 1) & (n - 1);
        atomic_store_explicit(&s[j], id, HK_RELAXED);
    }
    if (x->slot)
        hk_leak_arena_free((void *)x->slot, (size_t)(x->mask + 1) * sizeof *x->slot);
    x->slot = s;
    x->mask = n - 1;
    return true;
}

/* A new record's place in a directory (chunk allocated on first use); NULL without memory. */
static void *hk_dir_place(void *_Atomic *dir, uint32_t id, size_t entry)
{
    uint32_t ci = (id - 1) >> HK_DIR_SHIFT;
    if (ci >= HK_DIR_CHUNKS)
        return NULL;
    char *chunk = atomic_load_explicit(&dir[ci], HK_RELAXED);
    if (!chunk) {
        chunk = hk_leak_arena_alloc(HK_DIR_CHUNK * entry);
        if (!chunk)
            return NULL;
        atomic_store_explicit(&dir[ci], chunk, HK_RELEASE);
    }
    return chunk + ((id - 1) & (HK_DIR_CHUNK - 1)) * entry;
}

struct hk_frame_key {
    uintptr_t pc;
    uint16_t module;
};

static bool hk_frame_eq(const void *key, uint32_t fid)
{
    const struct hk_frame_key *k = key;
    const struct hk_frame_rec *f = hk_frame_rec_get(fid);
    return f->pc == k->pc && f->module == k->module;
}

/* The id of a frame, added if new; 0 without memory. Table lock held. */
static uint32_t hk_frame_intern(uintptr_t pc, uint16_t module)
{
    const struct hk_frame_key key = {pc, module};
    uint32_t h = hk_frame_hash(pc, module);
    _Atomic uint32_t *s = hk_index_find(&hk_frame_index, h, hk_frame_eq, &key);
    if (s && atomic_load_explicit(s, HK_RELAXED))
        return atomic_load_explicit(s, HK_RELAXED);
    if (!hk_index_reserve(&hk_frame_index, hk_frame_hash_of))
        return 0;
    uint32_t fid = atomic_load_explicit(&hk_nframes, HK_RELAXED) + 1;
    struct hk_frame_rec *f = hk_dir_place((void *_Atomic *)hk_frame_dir, fid, sizeof *f);
    if (!f)
        return 0;
    f->pc = pc;
    f->module = module;
    atomic_store_explicit(&hk_nframes, fid, HK_RELEASE);
    s = hk_index_find(&hk_frame_index, h, hk_frame_eq, &key);
    atomic_store_explicit(s, fid, HK_RELAXED);
    hk_frame_index.used++;
    return fid;
}

struct hk_stack_key {
    const uintptr_t *f;
    int n;
    uint32_t hash;
};

static bool hk_rec_matches(const struct hk_stack_rec *r, const uintptr_t *f, int n)
{
    if (!r || r->n != (uint32_t)n)
        return false;
    for (int i = 0; i < n; i++)
        if (hk_frame_rec_get(r->frames[i])->pc != f[i])
            return false;
    return true;
}

static bool hk_stack_eq(const void *key, uint32_t id)
{
    const struct hk_stack_key *k = key;
    const struct hk_stack_rec *r = hk_stack_rec_get(id);
    return hk_rec_matches(r, k->f, k->n);
}

/* Recently seen stacks of this thread: most allocations come from a few call sites. A
 * stack of up to HK_TCACHE_FRAMES frames keeps a copy of them here, so a hit is compared
 * without reading its record (n 0: compared with the record). */
#define HK_TCACHE 16
#define HK_TCACHE_FRAMES 16
struct hk_tcache_ent {
    uint64_t hash;
    uint32_t id, n;
    uintptr_t f[HK_TCACHE_FRAMES];
};
static HK_TLS struct hk_tcache_ent hk_tcache[HK_TCACHE];

/* A handful of words compared one by one, as they were just stored: a wider load across two
 * of those stores (memcmp, or a vectorised loop) waits for them to reach the cache. */
static inline bool hk_frames_equal(const struct hk_tcache_ent *c, const uintptr_t *f, int n)
{
    if (c->n != (uint32_t)n)
        return false;
    for (int i = 0; i < n; i++)
        if (c->f[i] != f[i])
            return false;
    return true;
}

/* Stack records are packed at 4-byte alignment in pieces of the arena (the arena's own
 * 16-byte alignment would add 8 bytes a record on average). Table lock held. */
#define HK_REC_PIECE ((size_t)64 << 10)
static char *hk_rec_cur, *hk_rec_end;

static void *hk_rec_alloc(size_t size)
{
    if ((size_t)(hk_rec_end - hk_rec_cur) < size) {
        char *p = hk_leak_arena_alloc(HK_REC_PIECE);
        if (!p)
            return NULL;
        hk_rec_cur = p;
        hk_rec_end = p + HK_REC_PIECE;
    }
    void *r = hk_rec_cur;
    hk_rec_cur += size;
    return r;
}

/* A new stack's record, its frames interned; table lock held. NULL without memory. */
static struct hk_stack_rec *hk_stack_new(const struct hk_stack_key *k, const uint16_t *mods)
{
    struct hk_stack_rec *r = hk_rec_alloc(sizeof *r + (size_t)k->n * sizeof r->frames[0]);
    if (!r)
        return NULL;
    r->n = (uint32_t)k->n;
    for (int i = 0; i < k->n; i++)
        if (!(r->frames[i] = hk_frame_intern(k->f[i], mods[i])))
            return NULL;   /* the record stays unused in the arena */
    return r;
}

/* The id of a stack that is not in this thread's cache: index lookup, else insert. */
static HK_NOINLINE uint32_t hk_stack_intern(const uintptr_t *f, int n, uint64_t h)
{
    const struct hk_stack_key key = {f, n, hk_fold(h)};
    hk_lock(&hk_table_lock);
    _Atomic uint32_t *s = hk_index_find(&hk_stack_index, key.hash, hk_stack_eq, &key);
    uint32_t id = s ? atomic_load_explicit(s, HK_RELAXED) : 0;
    hk_unlock(&hk_table_lock);
    if (id)
        return id;

    uint16_t mods[HK_STACK_MAX_DEPTH];
    hk_modules_resolve(f, n, mods);

    hk_lock(&hk_table_lock);
    s = hk_index_find(&hk_stack_index, key.hash, hk_stack_eq, &key);
    id = s ? atomic_load_explicit(s, HK_RELAXED) : 0;
    if (id || !hk_index_reserve(&hk_stack_index, hk_stack_hash_of))
        goto out;
    uint32_t nid = atomic_load_explicit(&hk_nstacks, HK_RELAXED) + 1;
    struct hk_stack_rec *_Atomic *slot = hk_dir_place((void *_Atomic *)hk_dir, nid, sizeof *slot);
    struct hk_stack_rec *r = slot ? hk_stack_new(&key, mods) : NULL;
    if (!r)
        goto out;
    atomic_store_explicit(slot, r, HK_RELEASE);
    atomic_store_explicit(&hk_nstacks, nid, HK_RELEASE);
    s = hk_index_find(&hk_stack_index, key.hash, hk_stack_eq, &key);
    atomic_store_explicit(s, nid, HK_RELAXED);
    hk_stack_index.used++;
    id = nid;
out:
    hk_unlock(&hk_table_lock);
    return id;
}

#define HK_RAW_MAX (HK_STACK_MAX_DEPTH + 40)

/* Inlined, so that buf[0] is a return address inside hk_stack_capture, as in the walk. */
static inline __attribute__((always_inline)) int hk_unwind(void **buf, int n)
{
#if HK_HAVE_UNWIND
    return unw_backtrace(buf, n);
#else
    return backtrace(buf, n);
#endif
}

/* ---- the walk -------------------------------------------------------------------------
 *
 * libunwind pays a fixed set-up (its context and cursor) before it has even one frame, then a
 * cost per frame (measured in docs/leaks.md with bench/diag_floor). The walk steps frames
 * with hk_unwind_step (diag/hk_unwind.c): the rule .eh_frame gives for each return address,
 * read once and cached, so a frame costs a table lookup and a few loads, in code with or
 * without frame pointers. A frame it cannot step (a signal frame, a CFA expression, code
 * without unwind info) hands the whole stack to libunwind, so a stack is always the one
 * libunwind gives. It starts from hk_stack_capture's own frame, which keeps a frame pointer
 * (__builtin_frame_address). */

static bool hk_walk_on = true;              /* HAKMEM_STACK_WALK */

/* The calling thread's stack (top 0: not looked up yet, 1: unknown), and its counters. */
static HK_TLS uintptr_t hk_thread_stack_lo, hk_thread_stack_top;
static HK_TLS uint64_t hk_walks, hk_unwinds;

/* A library was unloaded: code at a known address may be gone, and other code may be
 * loaded there later. Every cached rule is read again. */
void hk_stack_code_unloaded(void)
{
    hk_unwind_forget();
}

/* The top of the calling thread's stack when `here` (an address in the caller's frame) lies
 * in it, else 1: no walk then (a signal or coroutine stack, or the stack is unknown). Looked
 * up once per thread; pthread_getattr_np may allocate: the caller holds the recursion
 * guard. Everything between `here` and the top is mapped, so a word checked to lie there
 * can be read. */
static uintptr_t hk_stack_top(uintptr_t here)
{
    if (HK_UNLIKELY(!hk_thread_stack_top)) {
        uintptr_t lo = 0, top = 1;
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            void *base;
            size_t size;
            if (pthread_attr_getstack(&attr, &base, &size) == 0) {
                lo = (uintptr_t)base;
                top = lo + size;
            }
            pthread_attr_destroy(&attr);
        }
        hk_thread_stack_lo = lo;
        hk_thread_stack_top = top;
    }
    return here >= hk_thread_stack_lo && here < hk_thread_stack_top ? hk_thread_stack_top : 1;
}

static inline bool hk_in_self(uintptr_t ra)
{
    return ra - 1 >= hk_self_lo && ra - 1 < hk_self_hi;
}

/* raw[1..] from the frame `fp` of hk_stack_capture, as unw_backtrace would give them
 * (raw[0], a return address inside hk_stack_capture, is never used), stopping once `depth`
 * frames of the program are in (libunwind needs the spare too). Returns the number of
 * entries, or -1 when libunwind must do this stack. */
static inline int hk_stack_walk(const uintptr_t *fp, uintptr_t *raw, int want, int skip,
                                int depth, uintptr_t top, struct hk_unwind_trace *t)
{
    struct hk_unwind_frame f = {.pc = fp[1], .sp = (uintptr_t)(fp + 2), .bp = fp[0]};
    hk_unwind_trace_start(t, fp);
    raw[0] = 0;
    int n = 1;
    /* Index of the program's first frame (as hk_first_frame finds it). */
    int first = hk_self_hi ? 0 : 1 + skip;
    for (;;) {
        raw[n++] = f.pc;
        if (!first && !hk_in_self(f.pc))
            first = n - 1;
        if (n == want || (first && n - first >= depth))
            return n;
        enum hk_unwind_step st = hk_unwind_step(&f, top, t);
        if (st == HK_UNWIND_END)
            return n;
        if (st == HK_UNWIND_CANNOT)
            return -1;
    }
}

/* The raw frames of the calling hk_stack_capture (inlined into it, so that libunwind's
 * raw[1] is its return address, as the walk's), and in *t the words a walk read (n over
 * HK_UNWIND_TRACE when libunwind gave them). */
static inline __attribute__((always_inline)) int hk_stack_raw(const uintptr_t *fp,
                                                              uintptr_t *raw, int want,
                                                              int skip, int depth,
                                                              uintptr_t top,
                                                              struct hk_unwind_trace *t)
{
    if (top > 1) {
        int n = hk_stack_walk(fp, raw, want, skip, depth, top, t);
        if (n >= 0) {
            hk_walks++;
            return n;
        }
    }
    t->n = HK_UNWIND_TRACE + 1;
    hk_unwinds++;
    return hk_unwind((void **)raw, want);
}

/* ---- the memo ---------------------------------------------------------------------------
 *
 * A walk is a function of the frame it starts from (hk_stack_capture's frame pointer), of
 * the stack words it reads and of the rules of the return addresses it meets, which stay
 * the same until code is unloaded (hk_unwind_gen). A thread's captures start from a few
 * frame addresses, most of them with the same words above: a loop that calls malloc, often
 * from more than one line of the same function (the same start). The memo keeps the words
 * that decided a thread's last walks (their traces) and the ids their stacks got; when
 * every word of a trace from the same start still holds its value, that walk would give
 * the same frames again, so the id is returned after a few independent loads from the
 * stack, where the walk is a chain of dependent ones (return address, its rule, the next).
 *
 * Invariant: hk_memo_fp[i] non-NULL means hk_memo[i] was filled by a walk from that frame
 * with this skip under generation gen, its trace kept whole, and gave id (not 0). The
 * words lie in the calling thread's stack above the frame, mapped while the frame is live. */
#define HK_MEMO 8
struct hk_memo {
    uint32_t gen, id;
    int skip;
    struct hk_unwind_trace t;
};
static HK_TLS const uintptr_t *hk_memo_fp[HK_MEMO];   /* the starts: one line, read first */
static HK_TLS struct hk_memo hk_memo[HK_MEMO];
static HK_TLS unsigned hk_memo_next;                  /* the next entry to refill */
static HK_TLS uint64_t hk_memo_hits;

/* Every word of the trace holds its value; the first that differs ends the look. */
static inline bool hk_memo_holds(const struct hk_memo *m, int skip, uint32_t gen)
{
    if (m->skip != skip || m->gen != gen)
        return false;
    for (unsigned i = 0; i < m->t.n; i++)
        if (*m->t.at[i] != m->t.val[i])
            return false;
    return true;
}

/* The id a remembered walk from fp gave, if it would give the same frames now; else 0. */
static inline uint32_t hk_memo_find(const uintptr_t *fp, int skip, uint32_t gen)
{
    for (unsigned i = 0; i < HK_MEMO; i++)
        if (hk_memo_fp[i] == fp && hk_memo_holds(&hk_memo[i], skip, gen))
            return hk_memo[i].id;
    return 0;
}

static bool hk_in_glibc(uintptr_t ra)
{
    for (int k = 0; k < HK_GLIBC_MODULES; k++)
        if (ra - 1 >= hk_glibc_lo[k] && ra - 1 < hk_glibc_hi[k])
            return true;
    return false;
}

/* Index in raw[0..n) of the program's first frame: past hakmem's own (see below). */
static int hk_first_frame(const uintptr_t *raw, int n, int skip)
{
    int i = 1;
    if (hk_self_hi) {
        while (i < n && hk_in_self(raw[i]))
            i++;
    } else {
        i += skip;
    }
    return i;
}

void hk_stack_capture_counts(uint64_t *walks, uint64_t *unwinds, uint64_t *memo_hits)
{
    *walks = hk_walks;
    *unwinds = hk_unwinds;
    *memo_hits = hk_memo_hits;
}

void hk_stack_walk_enable(bool on) { hk_walk_on = on; }

HK_NOINLINE uint32_t hk_stack_capture(int skip)
{
    if (HK_UNLIKELY(!atomic_load_explicit(&hk_stack_on, HK_RELAXED) || hk_stack_busy))
        return 0;
    hk_stack_busy = 1;
    uintptr_t raw[HK_RAW_MAX];
    if (skip < 0)
        skip = 0;
    int want = 1 + skip + hk_depth + 6;   /* ours, the allocator's (with spare), the program's */
    if (want > HK_RAW_MAX)
        want = HK_RAW_MAX;
    /* This function's own frame pointer (the builtin makes it keep one). */
    const uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t top = HK_UNWIND_FAST && hk_walk_on ? hk_stack_top((uintptr_t)raw) : 1;
    uint32_t gen = atomic_load_explicit(&hk_unwind_gen, HK_ACQUIRE);
    uint32_t id = top > 1 ? hk_memo_find(fp, skip, gen) : 0;
    if (id) {
        hk_walks++;
        hk_memo_hits++;
        goto out;
    }
    /* This walk's trace goes straight into the entry it will refill. */
    unsigned slot = hk_memo_next++ % HK_MEMO;
    hk_memo_fp[slot] = NULL;
    struct hk_memo *memo = &hk_memo[slot];
    struct hk_unwind_trace *t = &memo->t;
    int n = hk_stack_raw(fp, raw, want, skip, hk_depth, top, t);
    /* When hakmem is a module of its own, its frames are recognised by address (robust
     * to inlining and tail calls); linked into the program, `skip` says how many. */
    int i = hk_first_frame(raw, n, skip);
    int keep = hk_depth;
    if (hk_depth < HK_GLIBC_FRAMES && i < n && hk_in_glibc(raw[i])) {
        keep = HK_GLIBC_FRAMES;
        if (n - i < keep) {   /* the walk stopped at the depth: walk further */
            n = hk_stack_raw(fp, raw, HK_RAW_MAX, skip, keep, top, t);
            i = hk_first_frame(raw, n, skip);
        }
    }
    int m = n - i;
    if (m > keep)
        m = keep;
    if (m > 0) {
        const uintptr_t *f = raw + i;
        uint64_t h = hk_frames_hash(f, m);
        struct hk_tcache_ent *c = &hk_tcache[(h ^ (h >> 17)) & (HK_TCACHE - 1)];
        if (c->hash == h && c->id &&
            (c->n ? hk_frames_equal(c, f, m) : hk_rec_matches(hk_stack_rec_get(c->id), f, m))) {
            id = c->id;
        } else {
            id = hk_stack_intern(f, m, h);
            if (id) {
                c->hash = h;
                c->id = id;
                c->n = m <= HK_TCACHE_FRAMES ? (uint32_t)m : 0;
                if (c->n)
                    memcpy(c->f, f, (size_t)m * sizeof *f);
            }
        }
    }
    if (id && t->n <= HK_UNWIND_TRACE) {
        memo->gen = gen;
        memo->skip = skip;
        memo->id = id;
        hk_memo_fp[slot] = fp;
    }
out:
    hk_stack_busy = 0;
    return id;
}

/* ---- initialisation (fork: the locks are hk_lock.h's, handled by the one fork handler) -- */

/* libc's and the dynamic loader's code, by file name (hk_in_glibc). Module lock held. */
static void hk_stack_find_glibc(void)
{
    uint32_t n = atomic_load_explicit(&hk_nmodules, HK_RELAXED);
    int k = 0;
    for (uint32_t i = 0; i < n && k < HK_GLIBC_MODULES; i++) {
        const char *base = strrchr(hk_modules[i].path, '/');
        base = base ? base + 1 : hk_modules[i].path;
        if (!strncmp(base, "libc.so", 7) || !strncmp(base, "ld-linux", 8)) {
            hk_glibc_lo[k] = hk_modules[i].lo;
            hk_glibc_hi[k] = hk_modules[i].hi;
            k++;
        }
    }
}

void hk_stack_init(void)
{
    if (atomic_load(&hk_stack_on))
        return;
    bool guarded = hk_stack_guard_enter();
    hk_pid = hk_os_pid();
    hk_walk_on = hk_opt.stack_walk;
    int d = hk_opt.stack_depth;
    hk_depth = d <= 0 ? 16 : d > HK_STACK_MAX_DEPTH ? HK_STACK_MAX_DEPTH : d;
    hk_stack_modules_refresh();
    /* Our own module, when hakmem is a library of its own (LD_PRELOAD or linked .so): its
     * frames are never part of a stack, and its data is not a root of the leak scan. */
    uintptr_t self = (uintptr_t)(void *)&hk_stack_init;
    hk_lock(&hk_module_lock);
    uint16_t sm = hk_module_find_locked(self);
    if (sm != HK_MODULE_NONE && !hk_modules[sm].is_main) {
        hk_self_module = sm;
        hk_self_lo = hk_modules[sm].lo;
        hk_self_hi = hk_modules[sm].hi;
    }
    hk_stack_find_glibc();
    hk_unlock(&hk_module_lock);
#if HK_HAVE_UNWIND
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
#endif
    /* Warm-up: the unwinder's one-time allocations (caches, dl_iterate_phdr state, libgcc
     * for glibc's backtrace) happen now, untracked, not inside the first tracked malloc. */
    void *warm[HK_RAW_MAX];
    hk_unwind(warm, HK_RAW_MAX);
    atomic_store(&hk_stack_on, true);
    if (guarded)
        hk_stack_guard_leave();
}
