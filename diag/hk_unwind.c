/* The fast unwinder: the rule that carries a frame to its caller, read from the module's
 * .eh_frame (the same call-frame information libunwind reads) and kept per return address.
 *
 * On x86-64 nearly every frame is a plain one: its CFA (the caller's stack pointer) is rsp
 * or rbp plus a constant, the return address lies at CFA - 8, and rbp is either unchanged
 * or saved at a constant offset from the CFA. Such a rule is 8 bytes, the same at every
 * visit of a return address, so a step is one lookup in a lock-free table and two or three
 * loads from the stack. Anything else (signal trampolines, CFA expressions, rbp kept in
 * another register, code without unwind info) is answered HK_UNWIND_CANNOT, and the caller
 * hands the whole stack to libunwind: the walk gives libunwind's frames or none.
 *
 * A rule is read on the first visit of its return address: dl_iterate_phdr finds the
 * module and its PT_GNU_EH_FRAME (.eh_frame_hdr), a binary search of its table finds the
 * FDE, and the CIE's and FDE's instructions run up to the call. Every byte read lies in the
 * loaded segment that holds the table; malformed data gives HK_UNWIND_CANNOT. */
#include "hk_unwind.h"

#include <link.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>

_Atomic uint32_t hk_unwind_gen;

#if HK_UNWIND_FAST

_Static_assert(sizeof(struct hk_unwind_rule) == 8, "a rule is one word");

struct hk_unwind_slot hk_unwind_table[HK_UNWIND_SLOTS];

static inline uint64_t hk_rule_pack(struct hk_unwind_rule r)
{
    uint64_t w;
    memcpy(&w, &r, sizeof w);
    return w;
}

/* ---- reading .eh_frame ----------------------------------------------------------------- */

/* A bounded reader: every read past `end` sets `bad` and yields 0. */
struct hk_rd {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t hk_rd_bytes(struct hk_rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, n);   /* little-endian: x86-64 only */
    r->p += n;
    return v;
}

static uint64_t hk_rd_uleb(struct hk_rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = (uint8_t)hk_rd_bytes(r, 1);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t hk_rd_sleb(struct hk_rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = (uint8_t)hk_rd_bytes(r, 1);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (shift + 7 < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << (shift + 7);
            return (int64_t)v;
        }
    }
    r->bad = true;
    return 0;
}

/* A pointer in DW_EH_PE encoding `enc`: absolute, or relative to where it is read, or to
 * `datarel` (0: none given, and the pointer is bad). Text- and function-relative encodings
 * are not used on x86-64; an indirect one (the bit 0x80, which C++ personality pointers
 * carry) is refused, and hk_cie_read strips it from the one pointer it skips. */
static uintptr_t hk_rd_ptr(struct hk_rd *r, uint8_t enc, uintptr_t datarel)
{
    uintptr_t here = (uintptr_t)r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00: v = hk_rd_bytes(r, 8); break;                     /* absptr */
    case 0x01: v = hk_rd_uleb(r); break;
    case 0x02: v = hk_rd_bytes(r, 2); break;
    case 0x03: v = hk_rd_bytes(r, 4); break;
    case 0x04: v = hk_rd_bytes(r, 8); break;
    case 0x09: v = (uint64_t)hk_rd_sleb(r); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)hk_rd_bytes(r, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)hk_rd_bytes(r, 4); break;
    case 0x0c: v = hk_rd_bytes(r, 8); break;
    default: r->bad = true; return 0;
    }
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += here; break;       /* pcrel */
    case 0x30:                         /* datarel */
        if (!datarel)
            r->bad = true;
        v += datarel;
        break;
    default: r->bad = true; return 0;
    }
    if (enc & 0x80)
        r->bad = true;                 /* indirect */
    return (uintptr_t)v;
}

/* The two registers and the return address, as the instructions leave them. */
enum { HK_HOW_SAME, HK_HOW_OFFSET, HK_HOW_UNDEF, HK_HOW_OTHER };
#define HK_REG_BP 6
#define HK_REG_SP 7
#define HK_REG_RA 16

struct hk_row {
    int cfa_reg;       /* HK_REG_SP, HK_REG_BP, or -1 (another register, an expression) */
    int64_t cfa_off;
    uint8_t bp_how, ra_how;
    int64_t bp_off, ra_off;
};

struct hk_cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    bool has_z, signal;
    struct hk_rd insns;
};

/* Register numbers above the return address's (the vector registers) make libunwind end
 * the stack at this frame: so does the walk (false), by handing the stack to it. */
#define HK_REG_MAX HK_REG_RA

static bool hk_row_set(struct hk_row *row, uint64_t reg, uint8_t how, int64_t off)
{
    if (reg > HK_REG_MAX)
        return false;
    if (reg == HK_REG_BP) {
        row->bp_how = how;
        row->bp_off = off;
    } else if (reg == HK_REG_RA) {
        row->ra_how = how;
        row->ra_off = off;
    }
    return true;
}

static bool hk_row_restore(struct hk_row *row, const struct hk_row *init, uint64_t reg)
{
    if (reg > HK_REG_MAX)
        return false;
    if (reg == HK_REG_BP) {
        row->bp_how = init->bp_how;
        row->bp_off = init->bp_off;
    } else if (reg == HK_REG_RA) {
        row->ra_how = init->ra_how;
        row->ra_off = init->ra_off;
    }
    return true;
}

/* A factored offset, in unsigned arithmetic: malformed data wraps instead of overflowing. */
static inline int64_t hk_factor(uint64_t v, int64_t align)
{
    return (int64_t)(v * (uint64_t)align);
}

static bool hk_cfa_def(struct hk_row *row, uint64_t reg)
{
    if (reg > HK_REG_MAX)
        return false;
    row->cfa_reg = reg == HK_REG_SP || reg == HK_REG_BP ? (int)reg : -1;
    return true;
}

/* Runs call-frame instructions from `loc` until the row that covers `target` (the call
 * instruction). `init` is the CIE's row (for DW_CFA_restore), NULL while running the CIE.
 * Returns false on an instruction it does not know, one that libunwind does not know
 * either (val_offset), a register libunwind refuses, or malformed data. */
static bool hk_cfa_run(struct hk_rd *r, const struct hk_cie *c, struct hk_row *row,
                       const struct hk_row *init, uintptr_t loc, uintptr_t target)
{
    struct hk_row saved[8];
    unsigned nsaved = 0;
    bool ok = true;
    while (ok && r->p < r->end && !r->bad) {
        uint8_t op = (uint8_t)hk_rd_bytes(r, 1);
        uint64_t reg, delta = 0;
        switch (op >> 6) {
        case 1:                                        /* DW_CFA_advance_loc */
            delta = op & 0x3f;
            goto advance;
        case 2:                                        /* DW_CFA_offset */
            ok = hk_row_set(row, op & 0x3f, HK_HOW_OFFSET, hk_factor(hk_rd_uleb(r), c->data_align));
            continue;
        case 3:                                        /* DW_CFA_restore */
            ok = init && hk_row_restore(row, init, op & 0x3f);
            continue;
        }
        switch (op) {
        case 0x00:                                     /* nop */
            break;
        case 0x01:                                     /* set_loc */
            loc = hk_rd_ptr(r, c->fde_enc, 0);
            if (!init)
                return false;
            if (loc > target)
                return !r->bad;
            break;
        case 0x02: delta = hk_rd_bytes(r, 1); goto advance;
        case 0x03: delta = hk_rd_bytes(r, 2); goto advance;
        case 0x04: delta = hk_rd_bytes(r, 4); goto advance;
        case 0x05:                                     /* offset_extended */
            reg = hk_rd_uleb(r);
            ok = hk_row_set(row, reg, HK_HOW_OFFSET, hk_factor(hk_rd_uleb(r), c->data_align));
            break;
        case 0x06:                                     /* restore_extended */
            ok = init && hk_row_restore(row, init, hk_rd_uleb(r));
            break;
        case 0x07: ok = hk_row_set(row, hk_rd_uleb(r), HK_HOW_UNDEF, 0); break;
        case 0x08: ok = hk_row_set(row, hk_rd_uleb(r), HK_HOW_SAME, 0); break;
        case 0x09:                                     /* register */
            reg = hk_rd_uleb(r);
            ok = hk_rd_uleb(r) <= HK_REG_MAX && hk_row_set(row, reg, HK_HOW_OTHER, 0);
            break;
        case 0x0a:                                     /* remember_state */
            if (nsaved == sizeof saved / sizeof saved[0])
                return false;
            saved[nsaved++] = *row;
            break;
        case 0x0b:                                     /* restore_state (the CFA too) */
            if (!nsaved)
                return false;
            *row = saved[--nsaved];
            break;
        case 0x0c:                                     /* def_cfa */
            ok = hk_cfa_def(row, hk_rd_uleb(r));
            row->cfa_off = (int64_t)hk_rd_uleb(r);
            break;
        case 0x0d: ok = hk_cfa_def(row, hk_rd_uleb(r)); break;   /* def_cfa_register */
        case 0x0e: row->cfa_off = (int64_t)hk_rd_uleb(r); break; /* def_cfa_offset */
        case 0x0f:                                     /* def_cfa_expression */
            row->cfa_reg = -1;
            goto skip_block;
        case 0x10:                                     /* expression */
        case 0x16:                                     /* val_expression */
            ok = hk_row_set(row, hk_rd_uleb(r), HK_HOW_OTHER, 0);
            goto skip_block;
        case 0x11:                                     /* offset_extended_sf */
            reg = hk_rd_uleb(r);
            ok = hk_row_set(row, reg, HK_HOW_OFFSET,
                            hk_factor((uint64_t)hk_rd_sleb(r), c->data_align));
            break;
        case 0x12:                                     /* def_cfa_sf */
            ok = hk_cfa_def(row, hk_rd_uleb(r));
            row->cfa_off = hk_factor((uint64_t)hk_rd_sleb(r), c->data_align);
            break;
        case 0x13:                                     /* def_cfa_offset_sf */
            row->cfa_off = hk_factor((uint64_t)hk_rd_sleb(r), c->data_align);
            break;
        case 0x2e: hk_rd_uleb(r); break;               /* GNU_args_size */
        case 0x2f:                                     /* GNU_negative_offset_extended */
            reg = hk_rd_uleb(r);
            ok = hk_row_set(row, reg, HK_HOW_OFFSET,
                            hk_factor(0 - hk_rd_uleb(r), c->data_align));
            break;
        default:                                       /* val_offset(_sf) among them */
            return false;
        }
        continue;
    skip_block: {
            uint64_t len = hk_rd_uleb(r);
            if (r->bad || len > (uint64_t)(r->end - r->p))
                return false;
            r->p += len;
            continue;
        }
    advance:
        if (!init)
            return false;                             /* the CIE sets no locations */
        loc += delta * c->code_align;
        if (loc > target)
            return !r->bad;
    }
    return ok && !r->bad;
}

static bool hk_cie_read(struct hk_rd *r, struct hk_cie *c)
{
    uint32_t len = (uint32_t)hk_rd_bytes(r, 4);
    if (r->bad || len == 0 || len == 0xffffffffu || len > (size_t)(r->end - r->p))
        return false;
    const uint8_t *end = r->p + len;
    r->end = end;
    if (hk_rd_bytes(r, 4) != 0)
        return false;                                  /* not a CIE */
    uint8_t version = (uint8_t)hk_rd_bytes(r, 1);
    if (version != 1 && version != 3)
        return false;
    const char *aug = (const char *)r->p;
    const uint8_t *nul = memchr(r->p, 0, (size_t)(end - r->p));
    if (!nul)
        return false;
    r->p = nul + 1;
    c->code_align = hk_rd_uleb(r);
    c->data_align = hk_rd_sleb(r);
    uint64_t ra = version == 1 ? hk_rd_bytes(r, 1) : hk_rd_uleb(r);
    if (ra != HK_REG_RA)
        return false;
    c->fde_enc = 0;
    c->signal = false;
    c->has_z = aug[0] == 'z';
    if (c->has_z) {
        uint64_t alen = hk_rd_uleb(r);
        if (r->bad || alen > (uint64_t)(end - r->p))
            return false;
        const uint8_t *aend = r->p + alen;
        for (const char *a = aug + 1; *a; a++) {
            if (*a == 'R') {
                c->fde_enc = (uint8_t)hk_rd_bytes(r, 1);
            } else if (*a == 'P') {
                uint8_t penc = (uint8_t)hk_rd_bytes(r, 1);
                hk_rd_ptr(r, penc & 0x7f, 0);           /* the personality: not needed */
            } else if (*a == 'L') {
                hk_rd_bytes(r, 1);
            } else if (*a == 'S') {
                c->signal = true;
            } else {
                break;                                 /* the length says where data ends */
            }
        }
        r->p = aend;
    } else if (aug[0]) {
        return false;
    }
    c->insns = (struct hk_rd){.p = r->p, .end = end, .bad = r->bad};
    return !r->bad;
}

/* The FDE covering `target` through the binary-search table of .eh_frame_hdr at `hdr`,
 * which lies in the loaded segment [seg_lo, seg_hi). */
static const uint8_t *hk_fde_find(const uint8_t *hdr, const uint8_t *seg_lo,
                                  const uint8_t *seg_hi, uintptr_t target)
{
    struct hk_rd r = {.p = hdr, .end = seg_hi};
    uint8_t version = (uint8_t)hk_rd_bytes(&r, 1);
    uint8_t ptr_enc = (uint8_t)hk_rd_bytes(&r, 1);
    uint8_t count_enc = (uint8_t)hk_rd_bytes(&r, 1);
    uint8_t table_enc = (uint8_t)hk_rd_bytes(&r, 1);
    /* The table every linker writes: (initial location, FDE) pairs of signed 4-byte
     * offsets from the start of the header. */
    if (r.bad || version != 1 || table_enc != 0x3b || count_enc == 0xff)
        return NULL;
    hk_rd_ptr(&r, ptr_enc, (uintptr_t)hdr);
    uint64_t count = hk_rd_ptr(&r, count_enc, (uintptr_t)hdr);
    if (r.bad || count == 0 || count > (uint64_t)(seg_hi - r.p) / 8)
        return NULL;
    const uint8_t *table = r.p;
    uint64_t lo = 0, hi = count;     /* the last entry whose location <= target */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        int32_t loc;
        memcpy(&loc, table + mid * 8, 4);
        if ((uintptr_t)hdr + (intptr_t)loc <= target)
            lo = mid;
        else
            hi = mid;
    }
    int32_t loc, fde;
    memcpy(&loc, table + lo * 8, 4);
    memcpy(&fde, table + lo * 8 + 4, 4);
    if ((uintptr_t)hdr + (intptr_t)loc > target)
        return NULL;
    uintptr_t p = (uintptr_t)hdr + (uintptr_t)(intptr_t)fde;
    return p >= (uintptr_t)seg_lo && p < (uintptr_t)seg_hi ? (const uint8_t *)p : NULL;
}

static struct hk_unwind_rule hk_rule_of_row(const struct hk_row *row)
{
    struct hk_unwind_rule cannot = {.kind = HK_RULE_CANNOT};
    if (row->ra_how == HK_HOW_UNDEF)
        return (struct hk_unwind_rule){.kind = HK_RULE_END};
    /* libunwind's fast path takes a frame as plain only within these bounds (a CFA offset
     * below 2^28, an rbp slot within 2^14), and its slow path ends some stacks otherwise. */
    if (row->cfa_reg < 0 || row->ra_how != HK_HOW_OFFSET || row->ra_off != -8 ||
        row->cfa_off < 8 || row->cfa_off >= (1 << 28))
        return cannot;
    struct hk_unwind_rule rule = {.cfa_off = (int32_t)row->cfa_off,
                           .kind = row->cfa_reg == HK_REG_SP ? HK_RULE_SP : HK_RULE_BP};
    if (row->bp_how == HK_HOW_OFFSET) {
        if (row->bp_off <= -(1 << 14) || row->bp_off > -16 || row->bp_off % 8)
            return cannot;
        rule.bp_off = (int16_t)row->bp_off;
        rule.bp_saved = 1;
    } else if (row->bp_how != HK_HOW_SAME) {
        return cannot;
    }
    return rule;
}

/* The rule for the call instruction at `target`, from the unwind table at `hdr` in the
 * loaded segment [seg_lo, seg_hi) (every byte read lies there). */
struct hk_unwind_rule hk_unwind_rule_from(const uint8_t *hdr, const uint8_t *seg_lo,
                                          const uint8_t *seg_hi, uintptr_t target)
{
    struct hk_unwind_rule cannot = {.kind = HK_RULE_CANNOT};
    const uint8_t *fde = hk_fde_find(hdr, seg_lo, seg_hi, target);
    if (!fde)
        return cannot;
    struct hk_rd r = {.p = fde, .end = seg_hi};
    uint32_t len = (uint32_t)hk_rd_bytes(&r, 4);
    if (r.bad || len == 0 || len == 0xffffffffu || len > (size_t)(r.end - r.p))
        return cannot;
    r.end = r.p + len;
    const uint8_t *idp = r.p;
    uint32_t cie_off = (uint32_t)hk_rd_bytes(&r, 4);
    if (r.bad || cie_off == 0 || cie_off > (uintptr_t)(idp - seg_lo))
        return cannot;
    struct hk_rd cr = {.p = idp - cie_off, .end = seg_hi};
    struct hk_cie cie;
    if (!hk_cie_read(&cr, &cie) || cie.signal)
        return cannot;
    uintptr_t begin = hk_rd_ptr(&r, cie.fde_enc, 0);
    uintptr_t range = hk_rd_ptr(&r, cie.fde_enc & 0x0f, 0);
    if (cie.has_z) {
        uint64_t alen = hk_rd_uleb(&r);
        if (r.bad || alen > (uint64_t)(r.end - r.p))
            return cannot;
        r.p += alen;
    }
    if (r.bad || target < begin || target - begin >= range)
        return cannot;
    struct hk_row init = {.cfa_reg = -1, .bp_how = HK_HOW_SAME, .ra_how = HK_HOW_OTHER};
    struct hk_rd ci = cie.insns;
    if (!hk_cfa_run(&ci, &cie, &init, NULL, begin, target))
        return cannot;
    struct hk_row row = init;
    if (!hk_cfa_run(&r, &cie, &row, &init, begin, target))
        return cannot;
    return hk_rule_of_row(&row);
}

/* The loader's count of unloaded objects when the rules were last checked against it
 * (all ones: not read yet). */
static _Atomic unsigned long long hk_unwind_subs = ~0ull;

struct hk_eh {
    uintptr_t target;
    struct hk_unwind_rule rule;
    unsigned long long subs;
};

/* Finds the module holding the call and reads its rule there, while dl_iterate_phdr holds
 * the loader's lock (the module cannot be unloaded meanwhile). */
static int hk_eh_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct hk_eh *e = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        e->subs = info->dlpi_subs;
    bool in = false;
    uintptr_t hdr = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && e->target >= a && e->target - a < ph->p_memsz)
            in = true;
        else if (ph->p_type == PT_GNU_EH_FRAME)
            hdr = a;
    }
    if (!in)
        return 0;
    for (int i = 0; hdr && i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && hdr >= a && hdr - a < ph->p_filesz) {
            e->rule = hk_unwind_rule_from((const uint8_t *)hdr, (const uint8_t *)a,
                                          (const uint8_t *)(a + ph->p_filesz), e->target);
            break;
        }
    }
    return 1;
}

/* The rule at return address `pc`, read from its module's .eh_frame. An object unloaded
 * since the last read (glibc unloads some itself, past the dlclose that hakmem interposes)
 * clears every cached rule first. */
static struct hk_unwind_rule hk_rule_read(uintptr_t pc)
{
    struct hk_eh e = {.target = pc - 1, .rule = {.kind = HK_RULE_CANNOT}};
    dl_iterate_phdr(hk_eh_visit, &e);
    unsigned long long seen = atomic_load_explicit(&hk_unwind_subs, HK_RELAXED);
    if (e.subs != seen) {
        atomic_store_explicit(&hk_unwind_subs, e.subs, HK_RELAXED);
        if (seen != ~0ull)
            hk_unwind_forget();
    }
    return e.rule;
}

/* Reads the rule and caches it (hk_unwind_rule_get found none). An address whose
 * neighbourhood is full (every slot taken by others: keys are never removed) goes to
 * libunwind without reading .eh_frame, at this and every later visit. */
struct hk_unwind_rule hk_unwind_rule_miss(uintptr_t pc)
{
    unsigned s = hk_unwind_hash(pc);
    for (unsigned k = 0; k < HK_UNWIND_PROBES; k++, s = (s + 1) & (HK_UNWIND_SLOTS - 1)) {
        struct hk_unwind_slot *e = &hk_unwind_table[s];
        uintptr_t v = atomic_load_explicit(&e->pc, HK_ACQUIRE);
        if (!v && atomic_compare_exchange_strong(&e->pc, &v, pc))
            v = pc;
        if (v == pc) {
            struct hk_unwind_rule rule = hk_rule_read(pc);
            atomic_store_explicit(&e->rule, hk_rule_pack(rule), HK_RELEASE);
            return rule;
        }
    }
    return (struct hk_unwind_rule){.kind = HK_RULE_CANNOT};
}

/* The rules are cleared before the generation moves on (release): a walk that sees the new
 * generation (acquire, hk_stack_capture) sees no rule of the old code. */
void hk_unwind_forget(void)
{
    for (unsigned s = 0; s < HK_UNWIND_SLOTS; s++)
        atomic_store_explicit(&hk_unwind_table[s].rule, 0, HK_RELAXED);
    atomic_fetch_add_explicit(&hk_unwind_gen, 1, HK_RELEASE);
}

#else

void hk_unwind_forget(void) { atomic_fetch_add_explicit(&hk_unwind_gen, 1, HK_RELAXED); }

#endif
