/* The fast unwinder for allocation stacks (x86-64): steps a frame with the rule that the
 * module's .eh_frame gives for its return address, read once and cached per address.
 * Elsewhere every step answers "cannot", and libunwind does every stack. */
#ifndef HK_UNWIND_H
#define HK_UNWIND_H

#include "hk_internal.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#define HK_UNWIND_FAST 1
#else
#define HK_UNWIND_FAST 0
#endif

/* A frame as the walk sees it: the return address that entered it (`pc`, a call site's
 * next instruction) and the two registers a frame's CFA is ever computed from. */
struct hk_unwind_frame {
    uintptr_t pc, sp, bp;
};

enum hk_unwind_step {
    HK_UNWIND_CALLER = 1,   /* *f is now its caller's frame */
    HK_UNWIND_END = 0,      /* the stack ends here (the return address is undefined, or 0) */
    HK_UNWIND_CANNOT = -1,  /* no plain rule for this frame (a signal frame, a CFA expression,
                               no unwind info) or its words lie outside [f->sp, top): libunwind
                               must do this stack */
};

/* The stack words that decided a walk's frames, in the order read, so that a later walk
 * from the same frame can be answered by checking them (hk_stack.c, the memo). A return
 * address is kept at every step; the word rbp was read from only when a rule computes a
 * CFA from it, so an rbp that holds data no rule uses decides nothing. */
#define HK_UNWIND_TRACE 40
struct hk_unwind_trace {
    unsigned n;                  /* words read; over HK_UNWIND_TRACE: too many to keep */
    bool bp_kept;                /* the word of the frame's rbp is kept already */
    const uintptr_t *bp_at;      /* the word the frame's rbp was read from */
    const uintptr_t *at[HK_UNWIND_TRACE];
    uintptr_t val[HK_UNWIND_TRACE];
};

static inline void hk_unwind_trace_keep(struct hk_unwind_trace *t, const uintptr_t *at,
                                        uintptr_t v)
{
    if (t->n < HK_UNWIND_TRACE) {
        t->at[t->n] = at;
        t->val[t->n] = v;
    }
    if (t->n <= HK_UNWIND_TRACE)
        t->n++;
}

/* A walk starts from a frame whose pc and rbp are read from `fp` (a frame record). */
static inline void hk_unwind_trace_start(struct hk_unwind_trace *t, const uintptr_t *fp)
{
    t->n = 0;
    hk_unwind_trace_keep(t, &fp[1], fp[1]);
    t->bp_at = &fp[0];
    t->bp_kept = false;
}

#if HK_UNWIND_FAST

/* How a rule carries a frame (0 in the table: not read yet). */
enum {
    HK_RULE_SP = 1,      /* CFA = sp + cfa_off */
    HK_RULE_BP = 2,      /* CFA = bp + cfa_off */
    HK_RULE_END = 3,     /* the return address is undefined: the outermost frame */
    HK_RULE_CANNOT = 4,
};

/* Invariant: for SP and BP the return address is at CFA - 8 and the CFA is the caller's
 * stack pointer; bp_saved says rbp was saved at CFA + bp_off (else the caller's rbp is this
 * frame's). Packed into one atomic word. */
struct hk_unwind_rule {
    int32_t cfa_off;
    int16_t bp_off;
    uint8_t kind;
    uint8_t bp_saved;
};

/* Open addressing by return address, key and rule on one line; a key is set once and never
 * removed, its rule is cleared when code is unloaded and read again. */
#define HK_UNWIND_SLOTS 65536u
#define HK_UNWIND_PROBES 16u
struct hk_unwind_slot {
    _Atomic uintptr_t pc;
    _Atomic uint64_t rule;
};
extern struct hk_unwind_slot hk_unwind_table[HK_UNWIND_SLOTS];

struct hk_unwind_rule hk_unwind_rule_miss(uintptr_t pc);

/* The rule for the call instruction at `target` from an .eh_frame_hdr table at `hdr`, in
 * the readable segment [seg_lo, seg_hi) where every byte read must lie (the fuzz target
 * calls it on arbitrary bytes). */
struct hk_unwind_rule hk_unwind_rule_from(const uint8_t *hdr, const uint8_t *seg_lo,
                                          const uint8_t *seg_hi, uintptr_t target);

/* The home slot of a return address: the table's 4 KiB page by a hash of the code page, the
 * slot in it by the address's place in its code page. The addresses of one code page share
 * a table page, so a process touches (and faults in) a table page per code page it returns
 * to, not one per return address. */
static inline unsigned hk_unwind_hash(uintptr_t pc)
{
    unsigned page = (unsigned)(((pc >> 12) * 0x9e3779b97f4a7c15ull) >> 56);   /* 8 bits */
    return page << 8 | (unsigned)((pc >> 4) & 0xff);
}
_Static_assert(HK_UNWIND_SLOTS == 1u << 16 && sizeof(struct hk_unwind_slot) == 16,
               "256 table pages of 256 slots");

static inline struct hk_unwind_rule hk_unwind_rule_get(uintptr_t pc)
{
    unsigned s = hk_unwind_hash(pc);
    for (unsigned k = 0; k < HK_UNWIND_PROBES; k++, s = (s + 1) & (HK_UNWIND_SLOTS - 1)) {
        struct hk_unwind_slot *e = &hk_unwind_table[s];
        uintptr_t v = atomic_load_explicit(&e->pc, HK_ACQUIRE);
        if (v == pc) {
            uint64_t w = atomic_load_explicit(&e->rule, HK_ACQUIRE);
            if (HK_UNLIKELY(!w))
                break;
            struct hk_unwind_rule r;
            memcpy(&r, &w, sizeof r);
            return r;
        }
        if (!v)
            break;
    }
    return hk_unwind_rule_miss(pc);
}

/* One step from *f to its caller. Reads the stack only between f->sp and `top`, the end
 * of the thread's stack; never allocates; the first look at a return address takes the
 * loader's lock (dl_iterate_phdr) to find its module. */
static inline enum hk_unwind_step hk_unwind_step(struct hk_unwind_frame *f, uintptr_t top,
                                                 struct hk_unwind_trace *t)
{
    struct hk_unwind_rule r = hk_unwind_rule_get(f->pc);
    if (r.kind == HK_RULE_END)
        return HK_UNWIND_END;
    if (r.kind != HK_RULE_SP && r.kind != HK_RULE_BP)
        return HK_UNWIND_CANNOT;
    if (r.kind == HK_RULE_BP && !t->bp_kept) {
        hk_unwind_trace_keep(t, t->bp_at, f->bp);
        t->bp_kept = true;
    }
    uintptr_t cfa = (r.kind == HK_RULE_SP ? f->sp : f->bp) + (uintptr_t)(intptr_t)r.cfa_off;
    /* The words read (the return address at CFA - 8, rbp's slot) lie in this frame: above
     * its stack pointer, below the top of the stack. Compared as integers: a garbage rbp
     * may wrap the sum. */
    if (cfa < f->sp + 8 || cfa > top || (cfa & 7))
        return HK_UNWIND_CANNOT;
    uintptr_t bp = f->bp;
    if (r.bp_saved) {
        uintptr_t at = cfa + (uintptr_t)(intptr_t)r.bp_off;
        if (at < f->sp || at > cfa - 16)
            return HK_UNWIND_CANNOT;
        bp = *(const uintptr_t *)at;
        t->bp_at = (const uintptr_t *)at;
        t->bp_kept = false;
    }
    uintptr_t ra = *(const uintptr_t *)(cfa - 8);
    hk_unwind_trace_keep(t, (const uintptr_t *)(cfa - 8), ra);
    f->pc = ra;
    f->sp = cfa;
    f->bp = bp;
    /* libunwind ends a stack at a return address this low, as at 0. */
    return ra >= 0x4000 ? HK_UNWIND_CALLER : HK_UNWIND_END;
}

#else

static inline enum hk_unwind_step hk_unwind_step(struct hk_unwind_frame *f, uintptr_t top,
                                                 struct hk_unwind_trace *t)
{
    (void)f;
    (void)top;
    (void)t;
    return HK_UNWIND_CANNOT;
}

#endif

/* Code was unloaded: every rule is read again when next needed, and hk_unwind_gen counts
 * one more (a walk remembered from before may no longer be the one the rules give). */
void hk_unwind_forget(void);
extern _Atomic uint32_t hk_unwind_gen;

#endif
