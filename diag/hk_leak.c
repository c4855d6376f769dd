/* The leak check (HAKMEM_LEAK_CHECK=1): a snapshot of the live blocks, a conservative
 * reachability scan (as LeakSanitizer does), grouping by allocation stack, suppressions,
 * symbolisation, the text report, the JSON "leaks" array, the dump records and the exit
 * code. Everything it needs it maps itself (hk_os_map_meta) and releases at the end (a
 * release the kernel refuses keeps only the address space: its pages are dropped and it is
 * counted in unmap_failures; nothing here could use it again); it never calls malloc, and
 * the few libc calls that may allocate (pthread_getattr_np, dladdr) run under the recursion
 * guard, so what they allocate is simply not tracked. */
#include "hakmem.h"
#include "hk_log.h"
#include "hk_emit.h"
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_line.h"
#include "hk_leak_supp.h"
#include "hk_lock.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_sort.h"
#include "hk_walk.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_stack_end;   /* ld.so: top of the main thread's stack at start */

enum { HK_KIND_LOST = 0, HK_KIND_REACHABLE = 1 };

/* One live block of the snapshot, sorted by address. */
struct hk_lb {
    uintptr_t ptr;
    size_t size;
    uint32_t stack;
    uint32_t reach;
};

/* The blocks of one stack and one kind. */
struct hk_group {
    uint32_t stack;
    uint8_t kind;
    uint8_t supp;          /* 0 no, 1 by the file, 2 by the built-in list */
    uint64_t blocks, bytes;
    size_t smin, smax;
};

/* A pattern of the built-in list, or of the file: those are kept in the run's text buffer,
 * which moves when it grows, so they are found by offset until the file is read whole. */
struct hk_supp {
    const char *pat;
    size_t off;
    bool builtin;
    uint64_t hits_stacks, hits_blocks;
};

struct hk_run {
    struct hk_lb *b;
    size_t nb, b_len;
    struct hk_group *g;
    size_t ng, g_len;
    uint32_t *order;       /* group indices, most bytes first */
    size_t order_len;
    uintptr_t minp, maxp;
    uint32_t *work;        /* flood-fill work stack (block indices) */
    size_t nwork, work_len;
    /* totals per kind (index HK_KIND_*) of unsuppressed tracked blocks */
    uint64_t stacks[2], blocks[2], bytes[2];
    uint64_t supp_stacks, supp_blocks, supp_bytes;
    uint64_t untracked_blocks, untracked_bytes;
    uint64_t roots_bytes;
    struct hk_supp *supp;  /* the built-in patterns, then the file's */
    size_t nsupp, supp_map_len;
    char *supp_text;       /* the file's patterns, NUL-terminated */
    size_t supp_used, supp_len;
    const char *supp_why;  /* why the file was refused (nothing suppressed from it) */
    uint64_t supp_line;    /* the line that refused it, 0 when not a line */
};

/* Known one-time allocations of glibc and ld.so that are not the program's leaks. */
static const char *const hk_builtin_supp[] = {
    "*tls_get_addr*",        /* dynamic TLS blocks (glibc bug 12650; LeakSanitizer's too) */
    "_dl_allocate_tls*",     /* static TLS and DTV of threads */
    "*pthread_exit*",        /* unwinding state of pthread_exit */
    "_dlerror_run",          /* the per-thread dlerror() result */
    "_IO_file_doallocate",   /* stdio buffers */
};

static HK_LOCK_DEFINE(hk_leak_lock, HK_RANK_LEAK);   /* one check at a time */

/* ---- memory of a run (mapped, unmapped at the end) ---- */

static void *hk_run_map(size_t bytes, size_t *len)
{
    *len = hk_align_up(bytes ? bytes : 1, hk_os_page_size());
    return hk_os_map_meta(*len);
}

static void hk_run_free(struct hk_run *r)
{
    if (r->b)
        (void)hk_os_unmap_meta(r->b, r->b_len);
    if (r->g)
        (void)hk_os_unmap_meta(r->g, r->g_len);
    if (r->order)
        (void)hk_os_unmap_meta(r->order, r->order_len);
    if (r->work)
        (void)hk_os_unmap_meta(r->work, r->work_len);
    if (r->supp_text)
        (void)hk_os_unmap_meta(r->supp_text, r->supp_len);
    if (r->supp)
        (void)hk_os_unmap_meta(r->supp, r->supp_map_len);
    hk_leak_sym_release();
}

/* Grows a mapping of the run to at least need bytes (doubling, contents kept). */
static bool hk_run_grow(void **p, size_t *len, size_t need)
{
    if (need <= *len)
        return true;
    size_t want = *len ? *len * 2 : 4096, got;
    while (want < need)
        want *= 2;
    void *q = hk_run_map(want, &got);
    if (!q)
        return false;
    if (*p) {
        memcpy(q, *p, *len);
        (void)hk_os_unmap_meta(*p, *len);
    }
    *p = q;
    *len = got;
    return true;
}

/* ---- snapshot ---- */

static void hk_count_cb(void *ctx, const struct hk_walk_block *b)
{
    if (b->state == HK_BLOCK_IN_USE)
        (*(size_t *)ctx)++;
}

struct hk_fill {
    struct hk_lb *v;
    size_t n, cap;
};

static void hk_fill_cb(void *ctx, const struct hk_walk_block *b)
{
    struct hk_fill *f = ctx;
    if (f->n == f->cap || b->state != HK_BLOCK_IN_USE)
        return;
    struct hk_lb *x = &f->v[f->n++];
    x->ptr = (uintptr_t)b->ptr;
    x->size = b->size;
    x->stack = b->alloc_stack;
    x->reach = 0;
}

/* The live blocks by address (hk_sort.h). */
static bool hk_block_less(void *ctx, size_t i, size_t j)
{
    const struct hk_lb *v = ctx;
    return v[i].ptr < v[j].ptr;
}

static void hk_block_swap(void *ctx, size_t i, size_t j)
{
    struct hk_lb *v = ctx, t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void hk_sort_blocks(struct hk_lb *v, size_t n)
{
    const struct hk_sort s = {hk_block_less, hk_block_swap, v};
    hk_heapsort(&s, n);
}

/* Not inlined: the pointers it copies (the allocator's walk, the sort's temporaries) must stay
 * in frames below hk_analyze's, where hk_scrub_dead_stack() erases them (see hk_mark). */
static HK_NOINLINE bool hk_snapshot(struct hk_run *r)
{
    size_t count = 0;
    hk_walk_blocks(hk_count_cb, &count, true, true);
    size_t cap = count + count / 8 + 1024;   /* blocks allocated by other threads meanwhile */
    r->b = hk_run_map(cap * sizeof *r->b, &r->b_len);
    if (!r->b)
        return false;
    struct hk_fill f = {r->b, 0, cap};
    hk_walk_blocks(hk_fill_cb, &f, true, true);
    r->nb = f.n;
    hk_sort_blocks(r->b, r->nb);
    r->work = hk_run_map((r->nb + 1) * sizeof *r->work, &r->work_len);
    if (!r->work)
        return false;
    if (r->nb) {
        r->minp = r->b[0].ptr;
        const struct hk_lb *last = &r->b[r->nb - 1];
        r->maxp = last->ptr + (last->size ? last->size : 1);
    }
    return true;
}

/* ---- reachability ---- */

static inline ssize_t hk_block_at(const struct hk_run *r, uintptr_t a)
{
    size_t lo = 0, hi = r->nb;   /* last block with ptr <= a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->b[mid].ptr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return -1;
    const struct hk_lb *x = &r->b[lo - 1];
    return a - x->ptr < (x->size ? x->size : 1) ? (ssize_t)(lo - 1) : -1;
}

/* Reads the program's memory while its other threads run: the leak check is a conservative
 * snapshot by design, so ThreadSanitizer is told these reads are meant to race. */
HK_RACY_READ static void hk_scan_range(struct hk_run *r, uintptr_t lo, uintptr_t hi)
{
    lo = hk_align_up(lo, sizeof(uintptr_t));
    if (hi < lo + sizeof(uintptr_t))
        return;
    for (const uintptr_t *p = (const uintptr_t *)lo; (uintptr_t)(p + 1) <= hi; p++) {
        uintptr_t v = *(const volatile uintptr_t *)p;
        if (v < r->minp || v >= r->maxp)
            continue;
        ssize_t i = hk_block_at(r, v);
        if (i >= 0 && !r->b[i].reach) {
            r->b[i].reach = 1;
            r->work[r->nwork++] = (uint32_t)i;
        }
    }
}

static void hk_flood(struct hk_run *r)
{
    while (r->nwork) {
        const struct hk_lb *x = &r->b[r->work[--r->nwork]];
        hk_scan_range(r, x->ptr, x->ptr + x->size);
    }
}

/* Roots: writable PT_LOAD segments (data, bss) and the calling thread's TLS blocks of every
 * loaded object except hakmem itself (its metadata points at every block). */
static int hk_root_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct hk_run *r = arg;
    uint32_t self = hk_stack_self_module();
    if (self != HK_MODULE_NONE) {
        const struct hk_leak_module *m = hk_stack_module(self);
        if (info->dlpi_addr == m->base) {
            for (int i = 0; i < info->dlpi_phnum; i++)
                if (info->dlpi_phdr[i].p_type == PT_LOAD &&
                    info->dlpi_addr + info->dlpi_phdr[i].p_vaddr == m->lo)
                    return 0;
        }
    }
    bool has_tls = size >= offsetof(struct dl_phdr_info, dlpi_tls_data) + sizeof(void *);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
            uintptr_t a = info->dlpi_addr + ph->p_vaddr;
            hk_scan_range(r, a, a + ph->p_memsz);
            r->roots_bytes += ph->p_memsz;
        } else if (ph->p_type == PT_TLS && has_tls && info->dlpi_tls_data) {
            uintptr_t a = (uintptr_t)info->dlpi_tls_data;
            hk_scan_range(r, a, a + ph->p_memsz);
            r->roots_bytes += ph->p_memsz;
        }
    }
    return 0;
}

/* The calling thread's stack, from this frame (below the caller's spilled registers) up. */
static HK_NOINLINE void hk_scan_own_stack(struct hk_run *r)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t top = 0;
    if (hk_os_tid() == hk_os_pid()) {
        top = (uintptr_t)__libc_stack_end;
    } else {
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            void *addr;
            size_t len;
            if (pthread_attr_getstack(&attr, &addr, &len) == 0)
                top = (uintptr_t)addr + len;
            pthread_attr_destroy(&attr);
        }
    }
    if (top > sp && top - sp < ((size_t)1 << 30)) {
        hk_scan_range(r, sp, top);
        r->roots_bytes += top - sp;
    }
}

/* Zeroes the dead stack below the caller's frame. The calling thread's stack is a root from
 * hk_mark's frame up, so the frames of the check itself are scanned: nothing in them may hold
 * a copy of a block pointer that the program does not hold. The code that handles block
 * pointers therefore runs in frames below hk_analyze's (hk_snapshot: the allocator's
 * struct hk_live_block, the sort's temporaries; hk_mark's callees: the scan), and this erases
 * what they leave there: before hk_mark (whose frame reuses that memory and has slots that are
 * never written) and after it (for the frames of later checks and reports). Seen without it:
 * the last large block the snapshot visited reported "still reachable". 8 KiB covers hk_mark's
 * and hk_scan_own_stack's frames many times over. */
static HK_NOINLINE void hk_scrub_dead_stack(void)
{
    volatile uintptr_t buf[1024];
    for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++)
        buf[i] = 0;
}

static HK_NOINLINE void hk_mark(struct hk_run *r)
{
    /* Registers: callee-saved ones spilled into this frame, the rest saved by callers. The
     * jmp_buf is zeroed first: setjmp fills only part of it, and the rest is scanned too. */
    jmp_buf regs;
    memset(&regs, 0, sizeof regs);
    __builtin_unwind_init();
    setjmp(regs);
    hk_scan_own_stack(r);
    hk_flood(r);
    dl_iterate_phdr(hk_root_visit, r);
    hk_flood(r);
    __asm__ volatile("" : : "r"(&regs) : "memory");
}

/* ---- suppressions ---- */

/* LeakSanitizer's rule: `*` matches any run of characters, `^` anchors at the start and `$`
 * at the end; otherwise the pattern may match anywhere (a substring). */
static bool hk_glob(const char *pat, const char *s)
{
    bool anchor_start = pat[0] == '^';
    if (anchor_start)
        pat++;
    size_t plen = strlen(pat);
    bool anchor_end = plen && pat[plen - 1] == '$';
    if (anchor_end)
        plen--;
    const char *p = pat, *pend = pat + plen;
    const char *star = NULL, *retry = NULL;
    if (!anchor_start) {
        star = p;      /* an implicit leading '*' */
        retry = s;
    }
    for (;;) {
        if (p < pend && *p == '*') {
            star = ++p;
            retry = s;
            continue;
        }
        if (p == pend) {
            if (!anchor_end || !*s)
                return true;
        } else if (*s && *p == *s) {
            p++;
            s++;
            continue;
        }
        if (!star || !*retry)
            return false;
        p = star;
        s = ++retry;
    }
}

static const char *hk_basename(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static bool hk_supp_add(struct hk_run *r, const char *pat, size_t off, bool builtin)
{
    if (!hk_run_grow((void **)&r->supp, &r->supp_map_len, (r->nsupp + 1) * sizeof *r->supp))
        return false;
    r->supp[r->nsupp++] = (struct hk_supp){pat, off, builtin, 0, 0};
    return true;
}

/* The parser's callback: the pattern's text into the run's buffer, and its entry. */
static bool hk_supp_file_pattern(void *ctx, const char *pat, size_t len)
{
    struct hk_run *r = ctx;
    if (!hk_run_grow((void **)&r->supp_text, &r->supp_len, r->supp_used + len + 1))
        return false;
    memcpy(r->supp_text + r->supp_used, pat, len);
    r->supp_text[r->supp_used + len] = '\0';
    r->supp_used += len + 1;
    return hk_supp_add(r, NULL, r->supp_used - len - 1, false);
}

/* Streams the file through the parser; false (r->supp_why set) when it is refused. */
static bool hk_supp_read(struct hk_run *r, const char *path)
{
    const char *why = NULL;
    int fd = hk_os_open_file(path, HK_FILE_READ, &why);
    if (fd < 0) {
        r->supp_why = why;
        return false;
    }
    struct hk_supp_parser p;
    hk_supp_parser_init(&p, hk_supp_file_pattern, r);
    char chunk[4096];
    for (;;) {
        ssize_t k = read(fd, chunk, sizeof chunk);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            r->supp_why = "a read failed";
        if (k <= 0 || !hk_supp_feed(&p, chunk, (size_t)k))
            break;
    }
    close(fd);
    if (r->supp_why)
        return false;
    if (!p.error)
        hk_supp_finish(&p);
    if (p.error) {
        r->supp_why = p.error;
        r->supp_line = p.line;
    }
    return !p.error;
}

/* The built-in list, then HAKMEM_LEAK_SUPPRESSIONS, all of it or (refused) none of it. */
static void hk_supp_load(struct hk_run *r)
{
    for (unsigned i = 0; i < sizeof hk_builtin_supp / sizeof hk_builtin_supp[0]; i++)
        hk_supp_add(r, hk_builtin_supp[i], 0, true);
    size_t nbuiltin = r->nsupp;
    const char *path = hk_opt.leak_suppressions;
    if (!path)
        return;
    if (!hk_supp_read(r, path)) {
        r->nsupp = nbuiltin;
        return;
    }
    for (size_t i = nbuiltin; i < r->nsupp; i++)
        r->supp[i].pat = r->supp_text + r->supp[i].off;
}

/* ---- symbols of a frame ---- */

struct hk_frame_info {
    uintptr_t pc;
    const char *func;       /* NULL when unknown */
    const char *module;     /* NULL when unknown */
    uintptr_t offset;
    struct hk_line src;     /* file:line (file NULL without debug information) */
};

/* "dir/file:line"; json: escaped as the body of a JSON string. */
static void hk_out_source(struct hk_out *o, const struct hk_line *src, bool json)
{
    void (*put)(struct hk_out *, const char *) = json ? hk_out_json_str_body : hk_out_str;
    if (src->dir && src->dir[0]) {
        put(o, src->dir);
        hk_out_char(o, '/');
    }
    put(o, src->file);
    hk_out_char(o, ':');
    hk_out_u64(o, src->line);
}

static void hk_frame_info(uint32_t stack, int i, struct hk_frame_info *fi)
{
    const uintptr_t *frames;
    const uint16_t *mods;
    hk_stack_frames(stack, &frames);
    hk_stack_frame_modules(stack, &mods);
    fi->pc = frames[i];
    fi->func = NULL;
    fi->module = NULL;
    fi->offset = 0;
    fi->src = (struct hk_line){NULL, NULL, 0};
    uint32_t mi = mods[i];
    if (mi == HK_MODULE_NONE)
        return;
    if (!hk_leak_sym_line(mi, fi->pc - 1, &fi->src))
        fi->src.file = NULL;
    const struct hk_leak_module *m = hk_stack_module(mi);
    fi->module = m->path;
    fi->offset = fi->pc - m->base;
    fi->func = hk_leak_sym_lookup(mi, fi->pc - 1);
    if (!fi->func && m->loaded) {
        Dl_info dli;
        if (dladdr((void *)(fi->pc - 1), &dli) && dli.dli_sname && dli.dli_fbase &&
            (uintptr_t)dli.dli_fbase >= m->lo && (uintptr_t)dli.dli_fbase < m->hi)
            fi->func = dli.dli_sname;
    }
}

static bool hk_supp_match_frame(const char *pat, const struct hk_frame_info *fi)
{
    if (fi->func && hk_glob(pat, fi->func))
        return true;
    return fi->module && (hk_glob(pat, fi->module) || hk_glob(pat, hk_basename(fi->module)));
}

/* 0 not suppressed, 1 by the file, 2 by the built-in list; counts the hit. */
static uint8_t hk_suppressed(struct hk_run *r, const struct hk_group *g)
{
    const uintptr_t *frames;
    int n = hk_stack_frames(g->stack, &frames);
    for (size_t s = r->nsupp; s-- > 0;) {   /* the file's patterns first */
        for (int i = 0; i < n; i++) {
            struct hk_frame_info fi;
            hk_frame_info(g->stack, i, &fi);
            bool hit = r->supp[s].builtin ? fi.func && hk_glob(r->supp[s].pat, fi.func)
                                          : hk_supp_match_frame(r->supp[s].pat, &fi);
            if (hit) {
                r->supp[s].hits_stacks++;
                r->supp[s].hits_blocks += g->blocks;
                return r->supp[s].builtin ? 2 : 1;
            }
        }
    }
    return 0;
}

/* ---- grouping ---- */

static bool hk_group_before(const struct hk_group *a, const struct hk_group *b)
{
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks;
    return a->stack < b->stack;
}

/* The groups' order: most bytes first (hk_sort.h over r->order). */
static bool hk_order_less(void *ctx, size_t i, size_t j)
{
    const struct hk_run *r = ctx;
    return hk_group_before(&r->g[r->order[i]], &r->g[r->order[j]]);
}

static void hk_order_swap(void *ctx, size_t i, size_t j)
{
    struct hk_run *r = ctx;
    uint32_t t = r->order[i];
    r->order[i] = r->order[j];
    r->order[j] = t;
}

static bool hk_group_blocks(struct hk_run *r)
{
    uint32_t ns = hk_stack_count();
    size_t slots = ((size_t)ns + 1) * 2, map_len;
    uint32_t *map = hk_run_map(slots * sizeof *map, &map_len);
    size_t maxg = r->nb < slots ? r->nb : slots;
    r->g = hk_run_map((maxg + 1) * sizeof *r->g, &r->g_len);
    r->order = hk_run_map((maxg + 1) * sizeof *r->order, &r->order_len);
    if (!map || !r->g || !r->order) {
        if (map)
            (void)hk_os_unmap_meta(map, map_len);
        return false;
    }
    for (size_t i = 0; i < r->nb; i++) {
        const struct hk_lb *x = &r->b[i];
        if (!x->stack || x->stack > ns) {
            r->untracked_blocks++;
            r->untracked_bytes += x->size;
            continue;
        }
        size_t slot = (size_t)x->stack * 2 + (x->reach ? 1 : 0);
        if (!map[slot]) {
            struct hk_group *g = &r->g[r->ng++];
            g->stack = x->stack;
            g->kind = x->reach ? HK_KIND_REACHABLE : HK_KIND_LOST;
            g->smin = g->smax = x->size;
            map[slot] = (uint32_t)r->ng;
        }
        struct hk_group *g = &r->g[map[slot] - 1];
        g->blocks++;
        g->bytes += x->size;
        if (x->size < g->smin)
            g->smin = x->size;
        if (x->size > g->smax)
            g->smax = x->size;
    }
    (void)hk_os_unmap_meta(map, map_len);

    for (size_t i = 0; i < r->ng; i++) {
        struct hk_group *g = &r->g[i];
        g->supp = hk_suppressed(r, g);
        if (g->supp) {
            r->supp_stacks++;
            r->supp_blocks += g->blocks;
            r->supp_bytes += g->bytes;
        } else {
            r->stacks[g->kind]++;
            r->blocks[g->kind] += g->blocks;
            r->bytes[g->kind] += g->bytes;
        }
        r->order[i] = (uint32_t)i;
    }
    const struct hk_sort sort = {hk_order_less, hk_order_swap, r};
    hk_heapsort(&sort, r->ng);
    return true;
}

/* The whole analysis; false when memory for it could not be mapped. */
static bool hk_analyze(struct hk_run *r)
{
    memset(r, 0, sizeof *r);
    hk_stack_modules_refresh();
    if (!hk_snapshot(r))
        return false;
    hk_scrub_dead_stack();   /* before and after hk_mark, from the same frame */
    hk_mark(r);
    hk_scrub_dead_stack();
    hk_supp_load(r);
    return hk_group_blocks(r);
}

/* Kinds printed and counted: HAKMEM_LEAK_REPORT=lost (0), reachable (1), all (2). */
static bool hk_kind_selected(int kind)
{
    int mode = hk_opt.leak_report;
    return mode == 2 || (mode == 1 ? kind == HK_KIND_REACHABLE : kind == HK_KIND_LOST);
}

static uint64_t hk_selected_blocks(const struct hk_run *r)
{
    uint64_t n = 0;
    for (int k = 0; k < 2; k++)
        if (hk_kind_selected(k))
            n += r->blocks[k];
    return n;
}

/* ---- text ---- */

static void hk_out_thousands(struct hk_out *o, uint64_t v)
{
    char tmp[32];
    int n = 0;
    do {
        if (n % 4 == 3)
            tmp[n++] = ',';
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        hk_out_char(o, tmp[--n]);
}

static void hk_out_bytes(struct hk_out *o, uint64_t v)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (v < 1024) {
        hk_out_u64(o, v);
        hk_out_str(o, " B");
        return;
    }
    int u = 0;
    uint64_t scale = 1024;
    while (u < 3 && v >= scale * 1024) {
        scale *= 1024;
        u++;
    }
    hk_out_fixed(o, v, scale, 1);
    hk_out_char(o, ' ');
    hk_out_str(o, units[u]);
}

static void hk_out_plural(struct hk_out *o, uint64_t n, const char *one, const char *many)
{
    hk_out_thousands(o, n);
    hk_out_char(o, ' ');
    hk_out_str(o, n == 1 ? one : many);
}

#define HK_REPORT_MAX_RECORDS 1000

static void hk_print_frames(struct hk_out *o, uint32_t stack)
{
    const uintptr_t *frames;
    int n = hk_stack_frames(stack, &frames);
    for (int i = 0; i < n; i++) {
        struct hk_frame_info fi;
        hk_frame_info(stack, i, &fi);
        hk_out_str(o, "hakmem:     #");
        hk_out_u64(o, (uint64_t)i);
        hk_out_char(o, ' ');
        hk_out_hex(o, fi.pc);
        hk_out_char(o, ' ');
        hk_out_str(o, fi.func ? fi.func : "?");
        if (fi.module) {
            hk_out_str(o, " (");
            hk_out_str(o, fi.module);
            hk_out_char(o, '+');
            hk_out_hex(o, fi.offset);
            hk_out_char(o, ')');
        }
        if (fi.src.file) {
            hk_out_char(o, ' ');
            hk_out_source(o, &fi.src, false);
        }
        hk_out_char(o, '\n');
    }
}

void hk_leak_print_stack(struct hk_out *o, uint32_t stack)
{
    if (!stack)
        return;
    /* The symbol tables are the leak check's; a report racing with a check prints the
     * addresses only rather than wait (it may run with allocator locks held). */
    if (hk_trylock(&hk_leak_lock)) {
        hk_print_frames(o, stack);
        hk_unlock(&hk_leak_lock);
        return;
    }
    const uintptr_t *frames;
    int n = hk_stack_frames(stack, &frames);
    for (int i = 0; i < n; i++) {
        hk_out_str(o, "hakmem:     #");
        hk_out_u64(o, (uint64_t)i);
        hk_out_char(o, ' ');
        hk_out_hex(o, frames[i]);
        hk_out_char(o, '\n');
    }
}

static void hk_print_report(struct hk_run *r, int fd, bool final)
{
    struct hk_out o;
    hk_out_init_fd(&o, fd);
    hk_out_str(&o, final ? "hakmem: leak report: " : "hakmem: leak report (on demand): ");
    hk_out_plural(&o, r->stacks[0], "stack", "stacks");
    hk_out_str(&o, ", ");
    hk_out_plural(&o, r->blocks[0], "block", "blocks");
    hk_out_str(&o, ", ");
    hk_out_bytes(&o, r->bytes[0]);
    hk_out_str(&o, " lost; ");
    hk_out_plural(&o, r->stacks[1], "stack", "stacks");
    hk_out_str(&o, ", ");
    hk_out_plural(&o, r->blocks[1], "block", "blocks");
    hk_out_str(&o, ", ");
    hk_out_bytes(&o, r->bytes[1]);
    hk_out_str(&o, " still reachable; ");
    hk_out_plural(&o, r->supp_stacks, "stack", "stacks");
    hk_out_str(&o, " suppressed (");
    hk_out_plural(&o, r->supp_blocks, "block", "blocks");
    hk_out_str(&o, ")\n");

    unsigned shown = 0, hidden = 0;
    for (size_t k = 0; k < r->ng; k++) {
        const struct hk_group *g = &r->g[r->order[k]];
        if (g->supp || !hk_kind_selected(g->kind))
            continue;
        if (shown == HK_REPORT_MAX_RECORDS) {
            hidden++;
            continue;
        }
        shown++;
        hk_out_str(&o, "hakmem: leak ");
        hk_out_u64(&o, shown);
        hk_out_str(&o, ": ");
        hk_out_u64(&o, g->blocks);
        hk_out_str(&o, g->blocks == 1 ? " block, " : " blocks, ");
        hk_out_u64(&o, g->bytes);
        hk_out_str(&o, g->kind == HK_KIND_LOST ? " bytes lost (sizes " :
                                                 " bytes still reachable (sizes ");
        hk_out_u64(&o, g->smin);
        if (g->smax != g->smin) {
            hk_out_str(&o, "..");
            hk_out_u64(&o, g->smax);
        }
        hk_out_str(&o, "), allocated at:\n");
        hk_print_frames(&o, g->stack);
    }
    if (hidden) {
        hk_out_str(&o, "hakmem: ... and ");
        hk_out_u64(&o, hidden);
        hk_out_str(&o, " smaller records not shown\n");
    }
    if (!hk_kind_selected(HK_KIND_REACHABLE) && r->blocks[1]) {
        hk_out_str(&o, "hakmem: still reachable blocks are not listed "
                       "(HAKMEM_LEAK_REPORT=reachable or all lists them)\n");
    }
    for (size_t s = 0; s < r->nsupp; s++) {
        const struct hk_supp *sp = &r->supp[s];
        if (!sp->hits_stacks)
            continue;
        hk_out_str(&o, "hakmem: suppressed ");
        hk_out_plural(&o, sp->hits_blocks, "block", "blocks");
        hk_out_str(&o, " in ");
        hk_out_plural(&o, sp->hits_stacks, "stack", "stacks");
        hk_out_str(&o, " by leak:");
        hk_out_str(&o, sp->pat);
        hk_out_str(&o, sp->builtin ? " (built-in)\n" : "\n");
    }
    if (r->supp_why) {
        hk_out_str(&o, "hakmem: cannot read HAKMEM_LEAK_SUPPRESSIONS=");
        hk_out_str(&o, hk_opt.leak_suppressions);
        hk_out_str(&o, ": ");
        if (r->supp_line) {
            hk_out_str(&o, "line ");
            hk_out_u64(&o, r->supp_line);
            hk_out_str(&o, ": ");
        }
        hk_out_str(&o, r->supp_why);
        hk_out_str(&o, "; nothing suppressed from it\n");
    }
    if (r->untracked_blocks) {
        hk_out_str(&o, "hakmem: not checked: ");
        hk_out_plural(&o, r->untracked_blocks, "block", "blocks");
        hk_out_str(&o, ", ");
        hk_out_bytes(&o, r->untracked_bytes);
        hk_out_str(&o, " without a stack (allocated before tracking started or by the "
                       "unwinder)\n");
    }
    hk_out_flush(&o);
}

/* ---- entry points ---- */

/* Runs fn on a fresh analysis of the live blocks: the recursion guard held (nothing the
 * check does is tracked), the leak lock held, the run's memory mapped and unmapped here.
 * fn gets NULL when the analysis could not get its memory. */
static void hk_with_analysis(void (*fn)(struct hk_run *r, void *arg), void *arg)
{
    bool guarded = hk_stack_guard_enter();
    hk_lock(&hk_leak_lock);
    size_t rlen;
    struct hk_run *r = hk_run_map(sizeof *r, &rlen);
    fn(r && hk_analyze(r) ? r : NULL, arg);
    if (r) {
        hk_run_free(r);
        (void)hk_os_unmap_meta(r, rlen);
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
        hk_os_write_all(a->fd, "hakmem: leak report: not enough memory for the check\n", 53);
        return;
    }
    hk_print_report(r, a->fd, a->final);
    a->leaked = hk_selected_blocks(r);
}

uint64_t hk_leak_check_run(int fd, bool final)
{
    if (!hk_stack_ready())
        return 0;
    struct hk_check_args a = {fd, final, 0};
    hk_with_analysis(hk_check_report, &a);
    return a.leaked;
}

/* JSON: "frames":["f", ...] as a member of the current row (the emitter has no string
 * arrays). */
static void hk_emit_key(struct hk_emit *e, const char *key)
{
    if (!e->first[e->depth])
        hk_out_char(e->out, ',');
    e->first[e->depth] = false;
    hk_out_json_str(e->out, key);
    hk_out_char(e->out, ':');
}

static void hk_emit_frames(struct hk_emit *e, uint32_t stack)
{
    const uintptr_t *frames;
    int n = hk_stack_frames(stack, &frames);
    for (int part = 0; part < 5; part++) {
        static const char *const keys[] = {"frames", "modules", "offsets", "pcs", "sources"};
        hk_emit_key(e, keys[part]);
        hk_out_char(e->out, '[');
        for (int i = 0; i < n; i++) {
            struct hk_frame_info fi;
            hk_frame_info(stack, i, &fi);
            if (i)
                hk_out_char(e->out, ',');
            if (part == 0)
                hk_out_json_str(e->out, fi.func ? fi.func : "?");
            else if (part == 1)
                hk_out_json_str(e->out, fi.module ? fi.module : "?");
            else if (part == 4) {              /* "" without debug information */
                hk_out_char(e->out, '"');
                if (fi.src.file)
                    hk_out_source(e->out, &fi.src, true);
                hk_out_char(e->out, '"');
            }
            else
                hk_out_u64(e->out, part == 2 ? fi.offset : fi.pc);
        }
        hk_out_char(e->out, ']');
    }
}

void hk_leak_emit_frames(struct hk_emit *e, const char *key, uint32_t stack)
{
    const uintptr_t *frames;
    int n = hk_stack_frames(stack, &frames);
    if (!n || e->format != HK_EMIT_JSON)
        return;
    /* As in hk_leak_print_stack; never in a signal handler (dladdr may take the loader's
     * lock): e->lock is off there. */
    bool named = e->lock && hk_trylock(&hk_leak_lock);
    hk_emit_key(e, key);
    hk_out_char(e->out, '[');
    for (int i = 0; i < n; i++) {
        struct hk_frame_info fi = {frames[i], NULL, NULL, 0, {NULL, NULL, 0}};
        if (named)
            hk_frame_info(stack, i, &fi);
        if (i)
            hk_out_char(e->out, ',');
        if (fi.func) {
            hk_out_json_str(e->out, fi.func);
        } else {                           /* "0x..." */
            hk_out_char(e->out, '"');
            hk_out_hex(e->out, fi.pc);
            hk_out_char(e->out, '"');
        }
    }
    hk_out_char(e->out, ']');
    if (named)
        hk_unlock(&hk_leak_lock);
}

static const char *const hk_leak_cols[] = {"blocks", "bytes", "stack"};
static const int hk_leak_widths[] = {10, 12, 8};

static void hk_emit_analysis(struct hk_run *r, void *arg)
{
    struct hk_emit *e = arg;
    if (r) {
        hk_emit_obj_begin(e, "leak_summary", "leaks");
        hk_emit_u64(e, "lost_stacks", r->stacks[0]);
        hk_emit_u64(e, "lost_blocks", r->blocks[0]);
        hk_emit_u64(e, "lost_bytes", r->bytes[0]);
        hk_emit_u64(e, "reachable_stacks", r->stacks[1]);
        hk_emit_u64(e, "reachable_blocks", r->blocks[1]);
        hk_emit_u64(e, "reachable_bytes", r->bytes[1]);
        hk_emit_u64(e, "suppressed_stacks", r->supp_stacks);
        hk_emit_u64(e, "suppressed_blocks", r->supp_blocks);
        hk_emit_u64(e, "untracked_blocks", r->untracked_blocks);
        hk_emit_json_u64(e, "stacks_recorded", hk_stack_count());
        hk_emit_json_u64(e, "tracker_bytes", hk_leak_arena_used());
        hk_emit_obj_end(e);
        if (e->format == HK_EMIT_JSON) {
            /* Every unsuppressed record of both kinds, most bytes first ("kind" tells them
             * apart); the text report lists them (hk_leak_check_run). */
            hk_emit_table_begin(e, "leaks", hk_leak_cols, hk_leak_widths, 3);
            for (size_t k = 0; k < r->ng; k++) {
                const struct hk_group *g = &r->g[r->order[k]];
                if (g->supp)
                    continue;
                hk_emit_row_begin(e);
                hk_emit_cell_u64(e, "blocks", 10, g->blocks);
                hk_emit_cell_u64(e, "bytes", 12, g->bytes);
                hk_emit_cell_u64(e, "stack", 8, g->stack);
                hk_emit_str(e, "kind", g->kind == HK_KIND_LOST ? "lost" : "reachable");
                hk_emit_json_u64(e, "size_min", g->smin);
                hk_emit_json_u64(e, "size_max", g->smax);
                hk_emit_frames(e, g->stack);
                hk_emit_row_end(e);
            }
            hk_emit_table_end(e);
        }
    }
}

void hk_leak_emit(struct hk_emit *e)
{
    if (hk_opt.leak_check && hk_stack_ready())
        hk_with_analysis(hk_emit_analysis, e);
}

static void hk_dump_analysis(struct hk_run *r, void *arg)
{
    struct hk_out *o = arg;
    if (r) {
        uint32_t nm = hk_stack_module_count();
        for (uint32_t i = 0; i < nm; i++) {
            const struct hk_leak_module *m = hk_stack_module(i);
            hk_out_str(o, "module id=");
            hk_out_u64(o, i);
            hk_out_str(o, " base=");
            hk_out_hex(o, m->base);
            hk_out_str(o, " end=");
            hk_out_hex(o, m->hi);
            hk_out_str(o, " loaded=");
            hk_out_u64(o, m->loaded);
            hk_out_str(o, " path=");
            hk_out_quote(o, m->path);
            hk_out_char(o, '\n');
        }
        for (size_t k = 0; k < r->ng; k++) {
            const struct hk_group *g = &r->g[r->order[k]];
            if (g->supp)
                continue;
            const uintptr_t *frames;
            int n = hk_stack_frames(g->stack, &frames);
            hk_out_str(o, "stack id=");
            hk_out_u64(o, g->stack);
            hk_out_str(o, " blocks=");
            hk_out_u64(o, g->blocks);
            hk_out_str(o, " bytes=");
            hk_out_u64(o, g->bytes);
            hk_out_str(o, g->kind == HK_KIND_LOST ? " kind=lost" : " kind=reachable");
            hk_out_str(o, " frames=");
            for (int i = 0; i < n; i++) {
                if (i)
                    hk_out_char(o, ',');
                hk_out_hex(o, frames[i]);
            }
            hk_out_char(o, '\n');
        }
    }
}

void hk_leak_dump(struct hk_out *o)
{
    if (hk_opt.leak_check && hk_stack_ready())
        hk_with_analysis(hk_dump_analysis, o);
}

/* The status given to exit() (returning from main is exit(ret)); -1 until known. A library
 * destructor cannot see it; glibc's on_exit hands it to its callback. Exit handlers run in
 * reverse order of registration, and ours is registered at the first allocation, usually
 * before __libc_start_main registers the destructors' run (_dl_fini): then the callback runs
 * after the destructors, and the destructor leaves the verdict (exit code or not) to it.
 * Only the low 8 bits reach the parent. */
static atomic_int hk_leak_exit_status = -1;
static atomic_uint_fast64_t hk_leak_pending;   /* leaks found, the verdict left to on_exit */
static bool hk_leak_watching;

/* The program failed on its own: its status says more than ours, and a runner must see it. */
static void hk_leak_keep_status(uint64_t n, int status)
{
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: ");
    hk_out_plural(&o, n, "leaked block", "leaked blocks");
    hk_out_str(&o, "; keeping the program's own exit status ");
    hk_out_u64(&o, (uint64_t)status);
    hk_out_str(&o, " (HAKMEM_LEAK_EXITCODE applies to a clean exit only)\n");
    hk_out_flush(&o);
}

/* n unsuppressed leaks and the program's status: the leak status replaces a clean exit. */
static void hk_leak_verdict(uint64_t n, int status)
{
    if (status) {
        hk_leak_keep_status(n, status);
        return;
    }
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: exiting with status ");
    hk_out_u64(&o, (uint64_t)hk_opt.leak_exitcode);
    hk_out_str(&o, " (HAKMEM_LEAK_EXITCODE): ");
    hk_out_plural(&o, n, "leaked block", "leaked blocks");
    hk_out_char(&o, '\n');
    hk_out_flush(&o);
    fflush(NULL);
    _exit(hk_opt.leak_exitcode);
}

static void hk_leak_note_status(int status, void *arg)
{
    (void)arg;
    atomic_store(&hk_leak_exit_status, status & 0xff);
    uint64_t n = atomic_exchange(&hk_leak_pending, 0);
    if (n)
        hk_leak_verdict(n, status & 0xff);
}

void hk_leak_watch_exit(void) { hk_leak_watching = on_exit(hk_leak_note_status, NULL) == 0; }

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
    uint64_t n = hk_leak_check_run(hk_log_fd(), true);
    /* HAKMEM_LEAK_EXITCODE=0: report only; the program keeps its own exit status. */
    if (!n || !hk_opt.leak_exitcode)
        return;
    int status = atomic_load(&hk_leak_exit_status);
    if (status < 0 && hk_leak_watching)
        atomic_store(&hk_leak_pending, n);   /* exit() is running: on_exit comes after us */
    else
        hk_leak_verdict(n, status < 0 ? 0 : status);
}

HK_API uint64_t hakmem_leak_check(void)
{
    if (!hk_opt.leak_check || !hk_stack_ready())
        return 0;
    return hk_leak_check_run(hk_log_fd(), false);
}
