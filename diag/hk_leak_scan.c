/* The leak check's scan: a snapshot of the live blocks (through the allocator's walk),
 * then a conservative reachability scan from the roots, as LeakSanitizer does: the calling
 * thread's registers and stack, the writable segments and TLS blocks of every loaded object
 * but hakmem, the program's own writable mappings (hk_leak_maps.c), and from there every
 * reachable block. A second pass over the lost blocks tells direct leaks from indirect ones
 * (the cliques of valgrind's memcheck; hk_leak_run.h). The other threads run meanwhile: the
 * reads race by design. */
#include "hk_internal.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_os.h"
#include "hk_sort.h"
#include "hk_walk.h"

#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <string.h>
#include <sys/types.h>

extern void *__libc_stack_end;   /* ld.so: top of the main thread's stack at start */

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
    x->reach = HK_REACH_LOST;
}

/* The live blocks by address (hk_sort.h). */
static bool hk_block_less(const void *a, const void *b)
{
    return ((const struct hk_lb *)a)->ptr < ((const struct hk_lb *)b)->ptr;
}

/* Not inlined: the pointers it copies (the allocator's walk, the sort's temporaries) must stay
 * in frames below hk_leak_scan's, where hk_scrub_dead_stack() erases them (see hk_mark). */
static HK_NOINLINE bool hk_snapshot(struct hk_run *r)
{
    size_t count = 0;
    hk_walk_blocks(hk_count_cb, &count, true, true);
    size_t cap = count + count / 8 + 1024;   /* blocks allocated by other threads meanwhile */
    r->b = hk_leak_run_map(cap * sizeof *r->b, &r->b_len);
    if (!r->b)
        return false;
    struct hk_fill f = {r->b, 0, cap};
    hk_walk_blocks(hk_fill_cb, &f, true, true);
    r->nb = f.n;
    size_t tmp_len;
    void *tmp = hk_leak_run_map(r->nb * sizeof *r->b, &tmp_len);
    if (tmp) {
        hk_sort_by_key(r->b, tmp, r->nb, sizeof *r->b, offsetof(struct hk_lb, ptr));
        hk_leak_run_unmap(tmp, tmp_len);
    } else {
        hk_sort_array(r->b, r->nb, sizeof *r->b, hk_block_less);
    }
    r->work = hk_leak_run_map((r->nb + 1) * sizeof *r->work, &r->work_len);
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

/* Block i, found by the scan: a block not reached before joins r->mark (to be flooded); the
 * leader of an earlier clique joins the clique being flooded, with its own (they hold no
 * pointer to this one, or the earlier flood would have taken it). */
static inline void hk_take(struct hk_run *r, size_t i)
{
    uint32_t v = r->b[i].reach;
    if (v == HK_REACH_LOST) {
        r->b[i].reach = r->mark;
        r->work[r->nwork++] = (uint32_t)i;
    } else if (v == HK_REACH_CLIQUE + i && v != r->mark) {
        r->b[i].reach = r->mark;
    }
}

/* Reads the program's memory while its other threads run: the leak check is a conservative
 * snapshot by design, so ThreadSanitizer is told these reads are meant to race. */
HK_RACY_READ void hk_leak_scan_range(struct hk_run *r, uintptr_t lo, uintptr_t hi)
{
    lo = hk_align_up(lo, sizeof(uintptr_t));
    if (hi < lo + sizeof(uintptr_t))
        return;
    for (const uintptr_t *p = (const uintptr_t *)lo; (uintptr_t)(p + 1) <= hi; p++) {
        uintptr_t v = *(const volatile uintptr_t *)p;
        if (v < r->minp || v >= r->maxp)
            continue;
        ssize_t i = hk_block_at(r, v);
        if (i >= 0)
            hk_take(r, (size_t)i);
    }
}

static void hk_flood(struct hk_run *r)
{
    while (r->nwork) {
        const struct hk_lb *x = &r->b[r->work[--r->nwork]];
        hk_leak_scan_range(r, x->ptr, x->ptr + x->size);
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
            hk_leak_scan_range(r, a, a + ph->p_memsz);
            r->roots_bytes += ph->p_memsz;
        } else if (ph->p_type == PT_TLS && has_tls && info->dlpi_tls_data) {
            uintptr_t a = (uintptr_t)info->dlpi_tls_data;
            hk_leak_scan_range(r, a, a + ph->p_memsz);
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
        hk_leak_scan_range(r, sp, top);
        r->roots_bytes += top - sp;
    }
}

/* Zeroes the dead stack below the caller's frame. The calling thread's stack is a root from
 * hk_mark's frame up, so the frames of the check itself are scanned: nothing in them may hold
 * a copy of a block pointer that the program does not hold. The code that handles block
 * pointers therefore runs in frames below hk_leak_scan's (hk_snapshot: the allocator's
 * struct hk_live_block, the sort's temporaries; hk_mark's callees: the scan), and this erases
 * what they leave there: before hk_mark (whose frame reuses that memory and has slots that are
 * never written) and after it (for the frames of later checks and reports). Seen without it:
 * the last large block the snapshot visited reported "still reachable". 16 KiB covers hk_mark's
 * frames and those of its callees (the own stack, the mappings: hk_leak_maps.c keeps its
 * buffers out of them) many times over. */
static HK_NOINLINE void hk_scrub_dead_stack(void)
{
    volatile uintptr_t buf[2048];
    for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++)
        buf[i] = 0;
}

size_t hk_leak_leader(struct hk_run *r, size_t i)
{
    size_t lead = i;
    while (r->b[lead].reach - HK_REACH_CLIQUE != lead)
        lead = r->b[lead].reach - HK_REACH_CLIQUE;
    while (i != lead) {   /* the chain points straight at its end from now on */
        size_t next = r->b[i].reach - HK_REACH_CLIQUE;
        r->b[i].reach = (uint32_t)(HK_REACH_CLIQUE + lead);
        i = next;
    }
    return lead;
}

/* The second pass: each lost block that no flood has reached leads a clique of its own,
 * flooded through the lost blocks. In address order, so that one of a cycle of lost blocks
 * (none held from outside it) leads it. */
static void hk_cliques(struct hk_run *r)
{
    for (size_t i = 0; i < r->nb; i++) {
        if (r->b[i].reach != HK_REACH_LOST)
            continue;
        r->mark = (uint32_t)(HK_REACH_CLIQUE + i);
        r->b[i].reach = r->mark;
        r->work[r->nwork++] = (uint32_t)i;
        hk_flood(r);
    }
}

static HK_NOINLINE void hk_mark(struct hk_run *r)
{
    /* Registers: callee-saved ones spilled into this frame, the rest saved by callers. The
     * jmp_buf is zeroed first: setjmp fills only part of it, and the rest is scanned too. */
    jmp_buf regs;
    memset(&regs, 0, sizeof regs);
    __builtin_unwind_init();
    setjmp(regs);
    r->mark = HK_REACH_ROOT;
    hk_scan_own_stack(r);
    hk_flood(r);
    dl_iterate_phdr(hk_root_visit, r);
    hk_flood(r);
    hk_leak_scan_mappings(r);
    hk_flood(r);
    __asm__ volatile("" : : "r"(&regs) : "memory");
}

/* Not inlined: the scrubs and hk_mark run from this one frame (see hk_scrub_dead_stack). */
HK_NOINLINE bool hk_leak_scan(struct hk_run *r)
{
    if (!hk_snapshot(r))
        return false;
    hk_scrub_dead_stack();   /* before and after hk_mark, from the same frame */
    hk_mark(r);
    hk_scrub_dead_stack();
    hk_cliques(r);
    return true;
}
