/* Internals of leak tracking shared by hk_stack.c (capture, dedup, module map, arena),
 * hk_leak_sym.c (symbols, frames) and the files of the check (hk_leak_run.h). Not part of
 * the allocator's interface. */
#ifndef HK_LEAK_INT_H
#define HK_LEAK_INT_H

#include "hk_leak_line.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define HK_STACK_MAX_DEPTH 64
#define HK_MODULE_NONE 0xffffu
#define HK_MODULES_MAX 2048     /* modules ever seen (never reused) */

/* ---- arena (hk_stack.c): memory of our own, from hk_os_map_meta, never from hakmem ---- */

/* Zeroed, 16-byte aligned; NULL when the system refuses memory. Thread-safe. */
void *hk_leak_arena_alloc(size_t size);
/* Gives back what hk_leak_arena_alloc(size) returned: a large allocation (over 256 KiB, a
 * mapping of its own) is unmapped; a small one is not reused. */
void hk_leak_arena_free(void *p, size_t size);
/* Bytes of arena memory handed out (overhead accounting). */
size_t hk_leak_arena_used(void);

/* ---- recursion guard (hk_stack.c) ---- */

/* Sets the calling thread's guard: allocations made until hk_stack_guard_leave() are not
 * tracked (stack id 0). Returns false if it was already set (then do not leave). */
bool hk_stack_guard_enter(void);
void hk_stack_guard_leave(void);

/* ---- module map (hk_stack.c) ---- */

/* A loaded object as seen by dl_iterate_phdr; entries are never removed, so frames of
 * libraries unloaded later still resolve to their path and offset. */
struct hk_leak_module {
    uintptr_t base;        /* load bias (dlpi_addr): offset = address - base */
    uintptr_t lo, hi;      /* lowest and highest address of its PT_LOAD segments */
    const char *path;      /* arena copy; the executable's real path for "" */
    bool loaded;           /* still loaded at the last refresh */
    bool is_main;          /* the executable */
};

uint32_t hk_stack_module_count(void);
const struct hk_leak_module *hk_stack_module(uint32_t idx);
/* Index of hakmem's own module, HK_MODULE_NONE when hakmem is linked into the executable. */
uint32_t hk_stack_self_module(void);
/* Re-reads the list of loaded objects (marks unloaded ones). */
void hk_stack_modules_refresh(void);

/* ---- stacks (hk_stack.c) ---- */

/* Highest stack id handed out so far (ids are 1 .. count). */
uint32_t hk_stack_count(void);
/* Every distinct frame (return address and module) has a frame id, 1 .. this count. */
uint32_t hk_stack_frame_count(void);
/* The frame ids of a stack, innermost first; returns their number (0 for an unknown id). */
int hk_stack_frame_ids(uint32_t id, const uint32_t **fids);
/* The return address (0 for an unknown id) and the module (HK_MODULE_NONE if unknown) of a
 * frame. */
uintptr_t hk_stack_frame_pc(uint32_t fid);
uint16_t hk_stack_frame_module(uint32_t fid);
/* State of tracking: hk_stack_init() ran in this process. */
bool hk_stack_ready(void);
/* pid of the process that ran hk_stack_init() (a forked child has another). */
pid_t hk_stack_init_pid(void);
/* The calling thread's captures so far: by the walk (hk_unwind.c), by libunwind, and of
 * the walked ones those the memo answered (hk_stack.c). */
void hk_stack_capture_counts(uint64_t *walks, uint64_t *unwinds, uint64_t *memo_hits);
/* HAKMEM_STACK_WALK at run time (tests compare the walk with libunwind). */
void hk_stack_walk_enable(bool on);

/* ---- symbols (hk_leak_sym.c): ELF symbol tables read from the module files ---- */

/* Name of the function that contains `addr` (an address inside module idx, not a return
 * address), or NULL. The string lives until hk_leak_sym_release(). Report time only. */
const char *hk_leak_sym_lookup(uint32_t module, uintptr_t addr);
/* File and line of `addr` (as for hk_leak_sym_lookup) from the module file's DWARF line
 * table; false without debug information. Strings live until hk_leak_sym_release(). */
bool hk_leak_sym_line(uint32_t module, uintptr_t addr, struct hk_line *out);

/* What the reports say of a frame (a frame id of hk_stack_frame_ids); file and line only
 * with src. Looked up once per frame id and kept until hk_leak_sym_release(), as are the
 * strings. */
struct hk_frame_info {
    uintptr_t pc;
    const char *func;       /* NULL when unknown */
    const char *module;     /* NULL when unknown */
    uintptr_t offset;
    struct hk_line src;     /* file:line (file NULL without debug information) */
    /* The helper's inline chain: ninlined entries, the innermost inlined function first,
     * the function they are inlined into (func) last with the line of the call; NULL, 0
     * without inlined code at pc. Read with hk_leak_inline_next. */
    const char *inlined;
    uint32_t ninlined;
};
/* One entry of an inline chain, and the chain past it. An entry is "function\0file\0line\0",
 * or "function\0\0" without a source (src->file NULL then). */
static inline void hk_leak_inline_next(const char **chain, const char **func,
                                       struct hk_line *src)
{
    const char *p = *chain;
    *func = p;
    p += strlen(p) + 1;
    *src = (struct hk_line){NULL, NULL, 0};
    if (*p) {
        src->file = p;
        p += strlen(p) + 1;
        for (; *p; p++)
            src->line = src->line * 10 + (unsigned)(*p - '0');
    }
    *chain = p + 1;
}
void hk_leak_frame_info(uint32_t fid, bool src, struct hk_frame_info *fi);
/* Unmaps the files opened by lookups, their indexes and what was kept of each frame. */
void hk_leak_sym_release(void);
/* Names every recorded frame and has the C++ ones demangled by the helper
 * (hk_leak_helper.c): the report, the suppressions and the JSON then see people's names. */
void hk_leak_sym_demangle(void);
/* The helper in `mode` (--demangle, --inline) on in (one item a line): its output, one a
 * line, in a run mapping *out of *out_map_len bytes; false when there is no helper or it
 * failed. */
bool hk_leak_helper_run(const char *mode, const char *in, size_t in_len, char **out,
                        size_t *out_len, size_t *out_map_len);

#endif
