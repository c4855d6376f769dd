/* The findings engine. Each rule reads numbers from the model, compares them with the
 * thresholds below (documented in docs/hkdump.md) and, when they hold, writes a finding with the
 * numbers it used. Rules never look for a particular example: the same shape of input with
 * other numbers gives other conclusions. */
#include "hkdump.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* ---- thresholds ---- */
#define SS_MIN_MAPPED 64            /* fewer SuperSlabs than this say nothing */
#define SS_RETURN_RATIO 10.0        /* mapped/unmapped at or above this = "not returned" */
#define SS_CHURN_MIN 1000           /* churn: at least this many mapped ... */
#define SS_CHURN_SHARE 0.5          /* ... and at least this share unmapped again */
#define GAP_MAX_RESIDENT 0.25       /* resident/reserved at or below this = gap */
#define GAP_MIN_HAKMEM (256ull << 20) /* hakmem's own mappings: at least this much */
#define GAP_MIN_VMSIZE (4ull << 30) /* VmSize alone: at least this much (threads, arenas) */
#define HELD_MIN_RESIDENT 0.70      /* resident/reserved at or above this = memory is held */
#define HELD_MIN_IN_USE 0.50       /* ... and census/counters do not say most blocks are free */
#define AS_NEAR 0.90                /* VmSize at or above this share of RLIMIT_AS */
#define HUGE_REQUEST (16ull << 30)  /* one request this large is suspicious by itself */
#define MAP_COUNT_DEFAULT 65530     /* vm.max_map_count default */
#define MAP_COUNT_NOTICE 0.50
#define MAP_COUNT_WARN 0.90
#define MAP_COUNT_NEAR 64           /* counted maps this close to max_map_count: reached */
#define PARKED_MIN 4096             /* blocks parked in one class before it matters */
#define PARKED_SHARE 0.50           /* share of a class's free blocks parked in caches */
#define REMOTE_MIN 1024             /* blocks waiting in remote queues before it matters */
#define REMOTE_SHARE 0.25           /* share of a class's free blocks in remote queues */
#define REMOTE_DRAIN_SHARE 0.50     /* counters: drained/sent below this = backlog */
#define GROWTH_RATIO 1.25           /* live and RSS both grew by at least this factor ... */
#define GROWTH_MIN_RSS (64ull << 20)/* ... and RSS by at least this much */
#define LEAK_OOM_SHARE 0.10        /* lost bytes / hakmem bytes for a leak to explain an OOM */
#define TOP_N 5                     /* evidence lines listed per finding */
#define FRAG_MIN_SHARE 0.25         /* free bytes in slab freelists / hakmem bytes ... */
#define FRAG_MAX_USE 0.50           /* ... of classes whose slabs are at most this full */
#define SPILL_NONE 0.01             /* counters: spilled blocks / frees below this = none */
#define CAUSE_BASE HKD_CAUSE_BASE  /* weights: a cause that accounts for the memory ... */

struct ctx {
    const struct hkd_model *m;
    struct hkd_snapshot v; /* merged view */
    struct hkd_symbolizer *sym;
    struct hkd_findings *out;
    bool oom;             /* an OOM happened: raises the severity of related findings */
};

struct hkd_where {
    char s[200];
};

static struct hkd_where where(const struct ctx *c, struct hkd_loc at)
{
    struct hkd_where w;
    if (at.line)
        snprintf(w.s, sizeof w.s, "  [%s:%u]", hkd_loc_name(c->m, at), at.line);
    else
        snprintf(w.s, sizeof w.s, "  [%s]", hkd_loc_name(c->m, at));
    return w;
}

static bool get(const struct ctx *c, enum hkd_field f, uint64_t *out)
{
    const struct hkd_num *n = &c->v.f[f];
    if (!n->set || n->inf)
        return false;
    *out = n->v;
    return true;
}

static const char *errno_name(uint64_t e)
{
    switch (e) {
    case 1: return "EPERM";
    case 11: return "EAGAIN";
    case 12: return "ENOMEM";
    case 22: return "EINVAL";
    case 23: return "ENFILE";
    case 24: return "EMFILE";
    case 27: return "EFBIG";
    case 75: return "EOVERFLOW";
    default: return "errno";
    }
}

/* The latest event of a kind over all snapshots. */
static const struct hkd_event *last_event(const struct ctx *c, const char *kind)
{
    for (size_t i = c->m->nsnaps; i-- > 0;) {
        const struct hkd_snapshot *s = &c->m->snaps[i];
        for (size_t j = s->nevents; j-- > 0;)
            if (strcmp(s->events[j].kind, kind) == 0)
                return &s->events[j];
    }
    return NULL;
}

static const struct hkd_option *option(const struct ctx *c, const char *name)
{
    for (size_t i = c->m->noptions; i-- > 0;)
        if (strcmp(c->m->options[i].name, name) == 0)
            return &c->m->options[i];
    return NULL;
}

static uint64_t class_size(const struct ctx *c, unsigned id)
{
    const struct hkd_class_row *r = hkd_snap_find_class(&c->v, id);
    return r && r->f[HKD_C_size].set ? r->f[HKD_C_size].v : 0;
}

static const struct hkd_class_row *class_row(const struct ctx *c, unsigned id)
{
    return hkd_snap_find_class(&c->v, id);
}

/* The SuperSlab size: reported, or from the OOM event, or bytes / live when it divides. */
static bool ss_size(const struct ctx *c, uint64_t *out)
{
    uint64_t bytes, live;
    if (get(c, HKD_F_ss_size, out))
        return true;
    const struct hkd_event *e = last_event(c, "oom");
    if (e && e->f[HKD_E_ss_size].set && e->f[HKD_E_ss_size].v) {
        *out = e->f[HKD_E_ss_size].v;
        return true;
    }
    if (get(c, HKD_F_superslab_bytes, &bytes) && get(c, HKD_F_superslabs_live, &live) && live &&
        bytes % live == 0) {
        *out = bytes / live;
        return true;
    }
    return false;
}

/* SuperSlab bytes mapped now: the reported bytes, else mapped - unmapped times their size. */
static bool ss_bytes(const struct ctx *c, uint64_t *out)
{
    uint64_t mapped, unmapped = 0, size;
    if (get(c, HKD_F_superslab_bytes, out))
        return true;
    if (get(c, HKD_F_superslabs_mapped, &mapped) && ss_size(c, &size)) {
        get(c, HKD_F_superslabs_unmapped, &unmapped);
        *out = hkd_mul_sat(hkd_sub_floor(mapped, unmapped), size);
        return true;
    }
    return false;
}

/* Bytes hakmem itself has mapped: the process total when given, else SuperSlabs + large. */
static bool hakmem_bytes(const struct ctx *c, uint64_t *out, const char **what)
{
    uint64_t ss = 0, large = 0;
    bool have_ss = ss_bytes(c, &ss), have_large = get(c, HKD_F_large_bytes, &large);
    if (get(c, HKD_F_bytes_mapped, out)) {
        *what = "hakmem's mappings";
        return true;
    }
    if (!have_ss && !have_large)
        return false;
    *out = hkd_add_sat(ss, large);
    *what = have_large ? "SuperSlabs and large blocks" : "SuperSlabs";
    return true;
}

/* What the diagnostics mapped for themselves (side tables, the leak tracker): 0 when the
 * input does not say. */
static uint64_t diag_bytes(const struct ctx *c)
{
    uint64_t d = 0;
    return get(c, HKD_F_diag_bytes, &d) ? d : 0;
}

/* The part of RSS that is the diagnostics' own: what the dump counted resident in their
 * mappings, else all they mapped (an upper bound). */
static uint64_t diag_resident(const struct ctx *c, bool *exact)
{
    uint64_t kb;
    *exact = get(c, HKD_F_diag_resident_kb, &kb);
    return *exact ? hkd_mul_sat(kb, 1024) : diag_bytes(c);
}

/* RSS less the diagnostics' own memory: what the program and the allocator hold. */
static double rss_without_diag(const struct ctx *c, uint64_t rss_kb)
{
    bool exact;
    double rss = (double)hkd_mul_sat(rss_kb, 1024), d = (double)diag_resident(c, &exact);
    return rss > d ? rss - d : 0;
}

/* The evidence line that says the diagnostics' memory was left out. */
static void diag_evidence(const struct ctx *c, struct hkd_finding *f)
{
    bool exact;
    uint64_t d = diag_resident(c, &exact);
    if (!d)
        return;
    hkd_ev_uint(f, "diag_resident_bytes", d);
    hkd_strv_addf(&f->evidence, "%s %s in the diagnostics' own mappings (side tables, the leak "
                  "tracker), left out of the RSS above%s", hkd_ibytes(d).s,
                  exact ? "resident" : "mapped", where(c, c->v.f[exact ? HKD_F_diag_resident_kb
                                                                        : HKD_F_diag_bytes].at).s);
}

static uint64_t z(const struct hkd_census_row *r, enum hkd_census_field i)
{
    return r->f[i].set && !r->f[i].inf ? r->f[i].v : 0;
}

/* Do the census or the class counters say the program's live blocks fill hakmem's memory?
 * 1 = yes, 0 = no, -1 = the input does not say. *share gets the share found. */
static int held_by_program(const struct ctx *c, uint64_t hb, double *share)
{
    double in_use = 0, carved = 0;
    for (size_t i = 0; i < c->v.ncensus; i++) {
        const struct hkd_census_row *r = &c->v.census[i];
        in_use += (double)z(r, HKD_Z_in_use);
        /* Quarantined blocks are carved and out of the program's hands. */
        carved += (double)z(r, HKD_Z_in_use) + (double)z(r, HKD_Z_fast_cache) +
                  (double)z(r, HKD_Z_tls_list) + (double)z(r, HKD_Z_slab_free) +
                  (double)z(r, HKD_Z_remote_queue) + (double)z(r, HKD_Z_quarantined);
    }
    if (carved > 0) {
        *share = in_use / carved;
        return *share >= HELD_MIN_IN_USE;
    }
    double live = 0;
    bool any = false;
    for (size_t i = 0; i < c->v.nclasses; i++) {
        const struct hkd_class_row *r = &c->v.classes[i];
        if (r->f[HKD_C_live].set && r->f[HKD_C_size].set) {
            live += (double)r->f[HKD_C_live].v * (double)r->f[HKD_C_size].v;
            any = true;
        }
    }
    if (!any || !hb)
        return -1;
    *share = live / (double)hb;
    return *share >= HELD_MIN_IN_USE;
}

static const char *next_shadow =
    "HAKMEM_SHADOW=1: the shadow census counts every free block by where it sits (fast "
    "cache, TLS list, slab freelist, remote queue), per class and per thread";
static const char *next_stats =
    "HAKMEM_STATS=1 (tiny classes only: HAKMEM_TINY_FAST_STATS=1): allocs, frees, refills and "
    "spills per class; blocks freed but never spilled back show as frees >> spill_blocks";
static const char *next_dump =
    "HAKMEM_DUMP_DIR=DIR: the next OOM or crash writes a dump (counters, census, limits) "
    "that hkdump reads";

/* ---- rules, in the order they appear in the report at equal severity ---- */

static bool any_dump(const struct ctx *c)
{
    for (size_t i = 0; i < c->m->ninputs; i++)
        if (c->m->inputs[i].is_dump)
            return true;
    return false;
}

/* A weight for a cause that accounts for share of the memory (docs/hkdump.md). */
static double cause_weight(double share)
{
    return hkd_cause_weight(share);
}

/* What the OOM rule reads: the latest OOM event (may be NULL when only the counter says
 * so) and its sizes. */
struct oom {
    const struct hkd_event *e;
    uint64_t n_oom, err, map, req, ssz, biggest;
    bool have_map, have_req, large;
};

static void oom_read(struct ctx *c, struct oom *o)
{
    const struct hkd_event *e = last_event(c, "oom");
    memset(o, 0, sizeof *o);
    o->e = e;
    get(c, HKD_F_oom_events, &o->n_oom);
    o->err = e && e->f[HKD_E_errno].set ? e->f[HKD_E_errno].v : 0;
    o->have_map = e && e->f[HKD_E_map_size].set;
    o->have_req = e && e->f[HKD_E_size].set;
    if (o->have_map)
        o->map = e->f[HKD_E_map_size].v;
    if (o->have_req)
        o->req = e->f[HKD_E_size].v;
    o->biggest = o->map > o->req ? o->map : o->req;
    ss_size(c, &o->ssz);
    o->large = e && strcmp(e->tier, "large") == 0;
}

static struct hkd_finding *oom_finding(struct ctx *c, const struct oom *o)
{
    const char *what = o->large ? "a large block" : "a new SuperSlab";
    if (o->e && o->err)
        return hkd_finding_new(c->out, "oom-event", HKD_SEV_INFO,
                               "out of memory: mmap of %s failed with %s (err=%llu)", what,
                               errno_name(o->err), (unsigned long long)o->err);
    if (o->e)
        return hkd_finding_new(c->out, "oom-event", HKD_SEV_INFO,
                               "out of memory: mmap of %s failed", what);
    return hkd_finding_new(c->out, "oom-event", HKD_SEV_INFO,
                           "out of memory: %s OOM event%s counted", hkd_count(o->n_oom).s,
                           o->n_oom == 1 ? "" : "s");
}

/* The event line itself, the counter, and the refill line that came before it. */
static void oom_event_evidence(struct ctx *c, struct hkd_finding *f, const struct oom *o)
{
    const struct hkd_event *e = o->e;
    if (e) {
        hkd_strv_addf(&f->evidence, "%s%s", e->quote ? e->quote : e->kind, where(c, e->at).s);
        if (o->err)
            hkd_ev_uint(f, "errno", o->err);
        if (e->f[HKD_E_class].set)
            hkd_ev_uint(f, "class", e->f[HKD_E_class].v);
        if (e->tier[0])
            hkd_ev_str(f, "tier", e->tier);
    }
    if (o->n_oom) {
        hkd_ev_uint(f, "oom_events", o->n_oom);
        if (!e)
            hkd_strv_addf(&f->evidence, "process oom_events=%s%s", hkd_count(o->n_oom).s,
                          where(c, c->v.f[HKD_F_oom_events].at).s);
    }
    const struct hkd_event *r = last_event(c, "refill-null");
    if (!r)
        return;
    hkd_strv_addf(&f->evidence, "%s%s", r->quote ? r->quote : r->kind, where(c, r->at).s);
    if (r->f[HKD_E_class].set && r->f[HKD_E_prev_ss].set && r->f[HKD_E_prev_ss].v == 0)
        hkd_strv_addf(&f->evidence,
                      "the refill of class %llu had no SuperSlab to fall back on "
                      "(prev_ss=(nil)), so it had to map a new one",
                      (unsigned long long)r->f[HKD_E_class].v);
    if (r->f[HKD_E_class].set)
        hkd_ev_uint(f, "refill_class", r->f[HKD_E_class].v);
}

static void oom_sizes(struct hkd_finding *f, const struct oom *o)
{
    if (o->have_map) {
        hkd_ev_uint(f, "map_size", o->map);
        if (o->ssz && o->map > o->ssz)
            hkd_strv_addf(&f->evidence,
                          "the failing map was %s for a %s SuperSlab (\u00d7%s: room to align "
                          "it)", hkd_ibytes(o->map).s, hkd_ibytes(o->ssz).s,
                          hkd_ratio((double)o->map, (double)o->ssz).s);
    }
    if ((o->have_map || o->have_req) && o->biggest < HUGE_REQUEST)
        hkd_strv_addf(&f->rules_out, "one absurd request: the failing request was only %s, "
                      "so memory ran out by accumulation", hkd_ibytes(o->biggest).s);
}

/* RLIMIT_AS, VmSize and the kernel's commit policy: which limits the numbers rule out. */
static void oom_limits(struct ctx *c, struct hkd_finding *f, const struct oom *o)
{
    const struct hkd_num *cur = &c->v.f[HKD_F_rlimit_as_cur];
    uint64_t vm_kb, rss_kb, oc;
    bool have_vm = get(c, HKD_F_vm_size_kb, &vm_kb);
    if (cur->set && cur->inf)
        hkd_ev_str(f, "rlimit_as_cur", "inf");
    else if (cur->set)
        hkd_ev_uint(f, "rlimit_as_cur", cur->v);
    if (have_vm)
        hkd_ev_uint(f, "vm_size_kb", vm_kb);
    if (get(c, HKD_F_vm_rss_kb, &rss_kb))
        hkd_ev_uint(f, "vm_rss_kb", rss_kb);
    uint64_t vm = have_vm ? hkd_mul_sat(vm_kb, 1024) : 0;
    if (cur->set && cur->inf)
        hkd_strv_add(&f->rules_out, "an address-space limit: RLIMIT_AS is unlimited (cur=inf)");
    else if (cur->set && have_vm && (double)vm < AS_NEAR * (double)cur->v &&
             hkd_add_sat(vm, o->biggest) <= cur->v)
        hkd_strv_addf(&f->rules_out, "the RLIMIT_AS limit: VmSize is %s of it",
                      hkd_pct((double)vm, (double)cur->v).s);
    if (get(c, HKD_F_overcommit_memory, &oc) && oc != 2)
        hkd_strv_addf(&f->rules_out, "the kernel's strict commit limit: overcommit_memory=%llu "
                      "(only 2 is strict)", (unsigned long long)oc);
}

static void oom_next(struct ctx *c, struct hkd_finding *f, const struct oom *o)
{
    if (!c->v.f[HKD_F_overcommit_memory].set)
        hkd_strv_add(&f->next, "on that machine: cat /proc/sys/vm/overcommit_memory "
                               "/proc/sys/vm/max_map_count (not in this input)");
    if (!c->v.ncensus && !any_dump(c))
        hkd_strv_add(&f->next, next_dump);
    if (o->large && o->biggest >= HUGE_REQUEST)
        hkd_strv_add(&f->next, "find the caller of the huge request (gdb: break on mmap with "
                               "a size condition); a size computed from bad input is common");
}

static void rule_oom(struct ctx *c)
{
    struct oom o;
    oom_read(c, &o);
    if (!o.e && !o.n_oom)
        return;
    c->oom = true;
    struct hkd_finding *f = oom_finding(c, &o);
    /* The event is context, printed first as the line the cause completes. */
    f->weight = -1;
    free(c->out->event);
    c->out->event = hkd_xstrdup(f->title);
    oom_event_evidence(c, f, &o);
    oom_sizes(f, &o);
    oom_limits(c, f, &o);
    oom_next(c, f, &o);
}

/* A request hakmem refused before mapping anything: its size or its alignment is more
 * than physical memory and swap, however small the other is. */
static void huge_refused(struct ctx *c, const struct hkd_event *e)
{
    bool by_align = strcmp(e->name, "alignment") == 0;
    uint64_t sz = e->f[HKD_E_size].set ? e->f[HKD_E_size].v : 0;
    uint64_t al = e->f[HKD_E_align].set ? e->f[HKD_E_align].v : 0;
    struct hkd_finding *f;
    if (by_align && !e->f[HKD_E_align].set)
        f = hkd_finding_new(c->out, "huge-request", HKD_SEV_ERROR,
                            "one request of %s was refused for its alignment (not named in "
                            "this line): an alignment that large is usually computed from bad "
                            "input", hkd_ibytes(sz).s);
    else if (by_align)
        f = hkd_finding_new(c->out, "huge-request", HKD_SEV_ERROR,
                            "one request of %s aligned to %s was refused: an alignment that "
                            "large is usually computed from bad input", hkd_ibytes(sz).s,
                            hkd_ibytes(al).s);
    else
        f = hkd_finding_new(c->out, "huge-request", HKD_SEV_ERROR,
                            "one request of %s was refused: a size that large is usually "
                            "computed from bad input", hkd_ibytes(sz).s);
    hkd_ev_uint(f, "size", sz);
    if (e->f[HKD_E_align].set)
        hkd_ev_uint(f, "align", al);
    if (e->f[HKD_E_limit].set)
        hkd_ev_uint(f, "limit", e->f[HKD_E_limit].v);
    hkd_strv_addf(&f->evidence, "%s%s", e->quote ? e->quote : e->kind, where(c, e->at).s);
    hkd_strv_add(&f->rules_out, "gradual exhaustion: the request was refused before anything "
                                "was mapped; the heap is as it was");
    hkd_strv_addf(&f->next, "find the caller: gdb, break on %s with a condition on its %s, or "
                  "HAKMEM_ABORT_ON_ERROR=1 for a core at the failure",
                  by_align ? "memalign/posix_memalign/aligned_alloc" : "malloc",
                  by_align ? "alignment" : "size");
}

static void rule_huge_request(struct ctx *c)
{
    const struct hkd_event *r = last_event(c, "refused");
    if (r) {
        huge_refused(c, r);
        return;
    }
    const struct hkd_event *e = last_event(c, "oom");
    if (!e)
        return;
    uint64_t sz = e->f[HKD_E_size].set ? e->f[HKD_E_size].v : 0;
    if (e->f[HKD_E_map_size].set && e->f[HKD_E_map_size].v > sz)
        sz = e->f[HKD_E_map_size].v;
    if (sz < HUGE_REQUEST)
        return;
    struct hkd_finding *f = hkd_finding_new(c->out, "huge-request", HKD_SEV_ERROR,
                                            "one request of %s failed: a size that large is "
                                            "usually computed from bad input", hkd_ibytes(sz).s);
    hkd_ev_uint(f, "size", sz);
    hkd_strv_addf(&f->evidence, "request %s (%s B) >= %s threshold%s", hkd_ibytes(sz).s,
                  hkd_count(sz).s, hkd_ibytes(HUGE_REQUEST).s, where(c, e->at).s);
    hkd_strv_add(&f->rules_out, "gradual exhaustion: one request alone exceeds what a "
                                "process normally maps");
    hkd_strv_add(&f->next, "find the caller: gdb, break on mmap/malloc with a size condition, "
                           "or HAKMEM_ABORT_ON_ERROR=1 for a core at the failure");
}

static void rule_superslabs(struct ctx *c)
{
    uint64_t mapped, unmapped = 0, size = 0;
    if (!get(c, HKD_F_superslabs_mapped, &mapped) || mapped < SS_MIN_MAPPED)
        return;
    bool have_unmapped = get(c, HKD_F_superslabs_unmapped, &unmapped);
    ss_size(c, &size);
    double ratio_den = (double)unmapped;
    if (!have_unmapped)
        return;
    if (unmapped && (double)mapped / ratio_den < SS_RETURN_RATIO)
        return;
    /* SuperSlabs full of live blocks cannot be returned: that is live-heap-growth's case. */
    uint64_t hb;
    const char *what;
    double share = 0;
    if (hakmem_bytes(c, &hb, &what) && held_by_program(c, hb, &share) == 1)
        return;
    struct hkd_finding *f;
    if (unmapped == 0)
        f = hkd_finding_new(c->out, "superslabs-not-returned",
                            c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                            "%s SuperSlabs mapped, none returned to the OS", hkd_count(mapped).s);
    else
        f = hkd_finding_new(c->out, "superslabs-not-returned",
                            c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                            "%s SuperSlabs mapped, only %s returned to the OS (%s)",
                            hkd_count(mapped).s, hkd_count(unmapped).s,
                            hkd_pct((double)unmapped, (double)mapped).s);
    hkd_ev_uint(f, "superslabs_mapped", mapped);
    hkd_ev_uint(f, "superslabs_unmapped", unmapped);
    hkd_ev_ratio(f, "mapped_per_unmapped", (double)mapped, (double)unmapped);
    struct hkd_where w = where(c, c->v.f[HKD_F_superslabs_mapped].at);
    uint64_t bytes = 0;
    bool have_bytes = get(c, HKD_F_superslab_bytes, &bytes);
    if (size) {
        uint64_t total = hkd_mul_sat(mapped, size);
        hkd_ev_uint(f, "ss_size", size);
        hkd_ev_uint(f, "mapped_bytes", total);
        hkd_strv_addf(&f->evidence, "%s \u00d7 %s = %s B (%s, %s) mapped, %s unmapped "
                      "(ratio %s)%s", hkd_count(mapped).s, hkd_ibytes(size).s, hkd_count(total).s,
                      hkd_sibytes(total).s, hkd_ibytes(total).s, hkd_count(unmapped).s,
                      hkd_ratio((double)mapped, (double)unmapped).s, w.s);
        if (have_bytes && bytes == total)
            hkd_strv_addf(&f->evidence, "SuperSlab bytes %s = %s \u00d7 %s: the counts are "
                          "SuperSlabs, not blocks", hkd_count(bytes).s, hkd_count(mapped).s,
                          hkd_ibytes(size).s);
        uint64_t ever;
        if (get(c, HKD_F_ss_bytes_ever, &ever) && ever == total)
            hkd_strv_addf(&f->evidence, "bytes=%s = %s \u00d7 %s: SuperSlabs ever mapped, not "
                          "mapped now", hkd_count(ever).s, hkd_count(mapped).s,
                          hkd_ibytes(size).s);
    } else {
        hkd_strv_addf(&f->evidence, "%s mapped, %s unmapped (ratio %s)%s", hkd_count(mapped).s,
                      hkd_count(unmapped).s, hkd_ratio((double)mapped, (double)unmapped).s, w.s);
        if (have_bytes)
            hkd_strv_addf(&f->evidence, "SuperSlab bytes mapped: %s (%s)", hkd_sibytes(bytes).s,
                          hkd_ibytes(bytes).s);
    }
    uint64_t allocs, frees;
    if (get(c, HKD_F_allocs, &allocs) && get(c, HKD_F_frees, &frees) && allocs) {
        hkd_ev_ratio(f, "frees_per_alloc", (double)frees, (double)allocs);
        hkd_strv_addf(&f->evidence, "the program freed %s of %s blocks (%s)", hkd_count(frees).s,
                      hkd_count(allocs).s, hkd_pct((double)frees, (double)allocs).s);
        if ((double)frees >= 0.5 * (double)allocs)
            hkd_strv_add(&f->rules_out, "the program keeping its blocks: it freed most of "
                                        "them, yet no SuperSlab became empty");
    }
    if (held_by_program(c, hakmem_bytes(c, &hb, &what) ? hb : 0, &share) == 0)
        hkd_strv_addf(&f->rules_out, "the program's live blocks filling them: %s by the %s",
                      hkd_pct(share * 100, 100).s,
                      c->v.ncensus ? "census (in use of carved blocks)"
                                   : "counters (live bytes of mapped bytes)");
    if (unmapped == 0)
        hkd_strv_add(&f->rules_out, "SuperSlab churn (mapping and unmapping again): none was "
                                    "ever unmapped");
    hkd_strv_add(&f->next, next_stats);
}

static void rule_churn(struct ctx *c)
{
    uint64_t mapped, unmapped;
    if (!get(c, HKD_F_superslabs_mapped, &mapped) || !get(c, HKD_F_superslabs_unmapped, &unmapped) ||
        mapped < SS_CHURN_MIN || (double)unmapped < SS_CHURN_SHARE * (double)mapped)
        return;
    struct hkd_finding *f = hkd_finding_new(c->out, "superslab-churn", HKD_SEV_NOTICE,
                                            "SuperSlabs are returned and mapped again: %s "
                                            "of %s unmapped", hkd_count(unmapped).s,
                                            hkd_count(mapped).s);
    hkd_ev_uint(f, "superslabs_mapped", mapped);
    hkd_ev_uint(f, "superslabs_unmapped", unmapped);
    hkd_strv_addf(&f->evidence, "%s mapped, %s unmapped (%s returned)%s", hkd_count(mapped).s,
                  hkd_count(unmapped).s, hkd_pct((double)unmapped, (double)mapped).s,
                  where(c, c->v.f[HKD_F_superslabs_mapped].at).s);
    uint64_t cached;
    if (get(c, HKD_F_superslabs_cached, &cached))
        hkd_strv_addf(&f->evidence, "%s SuperSlabs in the cache", hkd_count(cached).s);
    hkd_strv_add(&f->rules_out, "SuperSlabs never returned: most were unmapped again");
    hkd_strv_add(&f->next, "each map/unmap is two system calls and page faults: compare "
                           "superslabs_cached with superslabs_live in HAKMEM_STATS=1 output");
}

static void rule_gap(struct ctx *c)
{
    uint64_t rss_kb, vm_kb = 0, hb = 0;
    if (!get(c, HKD_F_vm_rss_kb, &rss_kb))
        return;
    const char *what = NULL;
    double rss = (double)hkd_mul_sat(rss_kb, 1024);
    bool have_vm = get(c, HKD_F_vm_size_kb, &vm_kb), have_hb = hakmem_bytes(c, &hb, &what);
    bool by_hb = have_hb && hb >= GAP_MIN_HAKMEM && rss <= GAP_MAX_RESIDENT * (double)hb;
    bool by_vm = have_vm && hkd_mul_sat(vm_kb, 1024) >= GAP_MIN_VMSIZE &&
                 rss <= GAP_MAX_RESIDENT * (double)hkd_mul_sat(vm_kb, 1024);
    if (!by_hb && !by_vm)
        return;
    double vm = (double)hkd_mul_sat(vm_kb, 1024);
    /* The title claims reuse only when the program freed most of what it allocated. */
    uint64_t allocs, frees;
    bool freed = get(c, HKD_F_allocs, &allocs) && get(c, HKD_F_frees, &frees) && allocs &&
                 (double)frees >= 0.5 * (double)allocs;
    const char *claim = freed ? "freed memory not reused" : "address space reserved, not resident";
    struct hkd_finding *f;
    if (by_vm)
        f = hkd_finding_new(c->out, "mapped-vs-resident-gap",
                            c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                            "%s: %s resident of %s reserved (%s), "
                            "the rest mapped but barely touched", claim,
                            hkd_ibytes(hkd_mul_sat(rss_kb, 1024)).s, hkd_ibytes(hkd_mul_sat(vm_kb, 1024)).s,
                            hkd_pct(rss, vm).s);
    else
        f = hkd_finding_new(c->out, "mapped-vs-resident-gap",
                            c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                            "%s: %s resident of %s in %s (%s), "
                            "the rest mapped but barely touched", claim,
                            hkd_ibytes(hkd_mul_sat(rss_kb, 1024)).s, hkd_ibytes(hb).s, what,
                            hkd_pct(rss, (double)hb).s);
    hkd_ev_uint(f, "vm_rss_kb", rss_kb);
    struct hkd_where w = where(c, c->v.f[HKD_F_vm_rss_kb].at);
    if (have_vm) {
        hkd_ev_uint(f, "vm_size_kb", vm_kb);
        hkd_ev_ratio(f, "resident_share_of_vmsize", rss, vm);
        hkd_strv_addf(&f->evidence, "VmRSS %s of VmSize %s = %s resident%s",
                      hkd_ibytes(hkd_mul_sat(rss_kb, 1024)).s, hkd_ibytes(hkd_mul_sat(vm_kb, 1024)).s, hkd_pct(rss, vm).s,
                      w.s);
    }
    if (have_hb) {
        hkd_ev_uint(f, "hakmem_bytes", hb);
        hkd_ev_ratio(f, "resident_share_of_hakmem_bytes", rss, (double)hb);
        hkd_strv_addf(&f->evidence, "VmRSS %s of %s (%s) in %s = %s, even if every resident "
                      "page were hakmem's", hkd_ibytes(hkd_mul_sat(rss_kb, 1024)).s, hkd_ibytes(hb).s,
                      hkd_sibytes(hb).s, what, hkd_pct(rss, (double)hb).s);
    }
    hkd_strv_add(&f->rules_out, "a leak the program holds: leaked blocks were written to, so "
                                "they would be resident and RSS would approach the mapped size");
    hkd_strv_add(&f->next, "confirm where the freed blocks went: the numbers fit blocks parked "
                           "outside the slab freelists (TLS caches/lists, remote queues) while "
                           "each refill maps fresh memory");
    hkd_strv_add(&f->next, next_shadow);
}

static void rule_address_space(struct ctx *c)
{
    const struct hkd_num *cur = &c->v.f[HKD_F_rlimit_as_cur];
    uint64_t vm_kb;
    if (!cur->set || cur->inf || !cur->v || !get(c, HKD_F_vm_size_kb, &vm_kb))
        return;
    double vm = (double)hkd_mul_sat(vm_kb, 1024), lim = (double)cur->v;
    const struct hkd_event *e = last_event(c, "oom");
    uint64_t map = e && e->f[HKD_E_map_size].set ? e->f[HKD_E_map_size].v : 0;
    bool near = vm >= AS_NEAR * lim, over = map && vm + (double)map > lim;
    if (!near && !over)
        return;
    struct hkd_finding *f = hkd_finding_new(c->out, "address-space-limit", HKD_SEV_ERROR,
                                            "RLIMIT_AS reached: VmSize %s, limit %s (%s)",
                                            hkd_ibytes(hkd_mul_sat(vm_kb, 1024)).s, hkd_ibytes(cur->v).s,
                                            hkd_pct(vm, lim).s);
    hkd_ev_uint(f, "rlimit_as_cur", cur->v);
    hkd_ev_uint(f, "vm_size_kb", vm_kb);
    hkd_ev_ratio(f, "vmsize_share_of_limit", vm, lim);
    hkd_strv_addf(&f->evidence, "RLIMIT_AS cur=%s B (%s), VmSize %s kB (%s) = %s of it%s",
                  hkd_count(cur->v).s, hkd_ibytes(cur->v).s, hkd_count(vm_kb).s,
                  hkd_ibytes(hkd_mul_sat(vm_kb, 1024)).s, hkd_pct(vm, lim).s, where(c, cur->at).s);
    if (map)
        hkd_strv_addf(&f->evidence, "the failing map of %s %s what is left (%s)",
                      hkd_ibytes(map).s, over ? "exceeds" : "fits in",
                      hkd_ibytes(hkd_u64_of(lim - vm)).s);
    uint64_t rss_kb;
    if (get(c, HKD_F_vm_rss_kb, &rss_kb))
        hkd_strv_addf(&f->rules_out, "physical memory exhaustion: only %s is resident",
                      hkd_ibytes(hkd_mul_sat(rss_kb, 1024)).s);
    hkd_strv_add(&f->rules_out, "the kernel's commit limit: the address-space limit is hit first");
    hkd_strv_add(&f->next, "confirm with a larger limit (ulimit -v) and see whether the "
                           "failure moves; the other findings say what fills the address space");
}

static void rule_overcommit(struct ctx *c)
{
    const struct hkd_event *e = last_event(c, "oom");
    uint64_t oc;
    if (!e || !e->f[HKD_E_errno].set || e->f[HKD_E_errno].v != 12 ||
        !get(c, HKD_F_overcommit_memory, &oc) || oc != 2)
        return;
    const struct hkd_num *cur = &c->v.f[HKD_F_rlimit_as_cur];
    uint64_t vm_kb = 0;
    bool have_vm = get(c, HKD_F_vm_size_kb, &vm_kb);
    if (cur->set && !cur->inf && have_vm && (double)hkd_mul_sat(vm_kb, 1024) >= AS_NEAR * (double)cur->v)
        return; /* address-space-limit explains it */
    struct hkd_finding *f = hkd_finding_new(c->out, "overcommit-refused", HKD_SEV_ERROR,
                                            "the kernel refused to commit more memory "
                                            "(vm.overcommit_memory=2, strict accounting)");
    hkd_ev_uint(f, "overcommit_memory", oc);
    hkd_strv_addf(&f->evidence, "overcommit_memory=2 and mmap failed with ENOMEM%s",
                  where(c, c->v.f[HKD_F_overcommit_memory].at).s);
    if (have_vm)
        hkd_strv_addf(&f->evidence, "VmSize %s at the failure", hkd_ibytes(hkd_mul_sat(vm_kb, 1024)).s);
    if (cur->set && cur->inf)
        hkd_strv_add(&f->rules_out, "RLIMIT_AS: it is unlimited");
    uint64_t lim_kb, com_kb;
    bool meminfo = get(c, HKD_F_commit_limit_kb, &lim_kb) && get(c, HKD_F_committed_as_kb, &com_kb);
    if (meminfo)
        hkd_strv_addf(&f->evidence, "Committed_AS %s of CommitLimit %s (%s)%s",
                      hkd_ibytes(hkd_mul_sat(com_kb, 1024)).s,
                      hkd_ibytes(hkd_mul_sat(lim_kb, 1024)).s,
                      hkd_pct((double)com_kb, (double)lim_kb).s,
                      where(c, c->v.f[HKD_F_committed_as_kb].at).s);
    else
        hkd_strv_add(&f->next, "grep -i commit /proc/meminfo");
    hkd_strv_add(&f->next, "sysctl vm.overcommit_ratio (the share of RAM the limit allows)");
}

/* hakmem's own mappings: live SuperSlabs + live large mappings; false when unknown. */
static bool hakmem_maps(const struct ctx *c, uint64_t *out, struct hkd_loc *at)
{
    uint64_t mapped, unmapped = 0, live, lm = 0, lu = 0;
    *at = c->v.f[HKD_F_superslabs_live].at;
    if (get(c, HKD_F_superslabs_live, &live)) {
    } else if (get(c, HKD_F_superslabs_mapped, &mapped)) {
        get(c, HKD_F_superslabs_unmapped, &unmapped);
        live = mapped > unmapped ? mapped - unmapped : 0;
        *at = c->v.f[HKD_F_superslabs_mapped].at;
    } else {
        return false;
    }
    get(c, HKD_F_large_mapped, &lm);
    get(c, HKD_F_large_unmapped, &lu);
    *out = hkd_add_sat(live, hkd_sub_floor(lm, lu));
    return true;
}

/* The count hakmem measured (maps= max_map_count= of the OOM line or the limits record):
 * true when it was there, whatever it says. */
static bool map_count_measured(struct ctx *c)
{
    uint64_t maps, max, own;
    struct hkd_loc at;
    if (!get(c, HKD_F_maps, &maps) || !get(c, HKD_F_max_map_count, &max) || !max)
        return false;
    double share = (double)maps / (double)max;
    if (share < MAP_COUNT_NOTICE)
        return true;
    bool reached = maps + MAP_COUNT_NEAR >= max;
    const struct hkd_event *e = last_event(c, "oom");
    bool enomem = e && e->f[HKD_E_errno].set && e->f[HKD_E_errno].v == 12;
    enum hkd_severity sev = reached && enomem      ? HKD_SEV_ERROR
                            : share >= MAP_COUNT_WARN ? HKD_SEV_WARNING
                                                      : HKD_SEV_NOTICE;
    struct hkd_finding *f = hkd_finding_new(
        c->out, "map-count-limit", sev,
        "%s mappings = %s of vm.max_map_count (%s)%s", hkd_count(maps).s,
        hkd_pct((double)maps, (double)max).s, hkd_count(max).s,
        reached && enomem ? ": the mmap failed for want of a mapping" : "");
    hkd_ev_uint(f, "maps", maps);
    hkd_ev_uint(f, "max_map_count", max);
    hkd_ev_real(f, "share_of_max_map_count", share);
    hkd_strv_addf(&f->evidence, "maps=%s max_map_count=%s: lines of /proc/self/maps counted "
                  "by hakmem%s", hkd_count(maps).s, hkd_count(max).s,
                  where(c, c->v.f[HKD_F_maps].at).s);
    bool own_known = hakmem_maps(c, &own, &at);
    if (own_known && c->v.f[HKD_F_large_mapped].set)
        hkd_strv_addf(&f->evidence, "%s of them are hakmem's (SuperSlabs + large mappings, "
                      "%s); the rest belong to the program and its libraries%s",
                      hkd_count(own).s, hkd_pct((double)own, (double)maps).s, where(c, at).s);
    else if (own_known)
        hkd_strv_addf(&f->evidence, "%s of them are hakmem's SuperSlabs (its large mappings "
                      "are not in this input)%s", hkd_count(own).s, where(c, at).s);
    if (reached && enomem)
        hkd_strv_add(&f->rules_out, "physical memory and the address space as the first cause: "
                                    "mmap also fails with ENOMEM when one more mapping would "
                                    "pass vm.max_map_count");
    hkd_strv_add(&f->next, "see what holds the mappings (sort /proc/PID/maps by name); raise "
                           "the limit if the program needs them (sysctl vm.max_map_count)");
    return true;
}

static void rule_map_count(struct ctx *c)
{
    if (map_count_measured(c))
        return;
    uint64_t maps, live, lm = 0, lu = 0;
    struct hkd_loc at;
    if (!hakmem_maps(c, &maps, &at))
        return;
    get(c, HKD_F_large_mapped, &lm);
    get(c, HKD_F_large_unmapped, &lu);
    live = hkd_sub_floor(maps, hkd_sub_floor(lm, lu));
    double share = (double)maps / MAP_COUNT_DEFAULT;
    if (share < MAP_COUNT_NOTICE)
        return;
    struct hkd_finding *f = hkd_finding_new(c->out, "map-count-limit",
                                            share >= MAP_COUNT_WARN ? HKD_SEV_WARNING
                                                                    : HKD_SEV_NOTICE,
                                            "%s live mappings = %s of the default "
                                            "vm.max_map_count (65,530)", hkd_count(maps).s,
                                            hkd_pct((double)maps, MAP_COUNT_DEFAULT).s);
    hkd_ev_uint(f, "mappings", maps);
    hkd_ev_real(f, "share_of_default_max_map_count", share);
    if (lm > lu)
        hkd_strv_addf(&f->evidence, "%s SuperSlabs + %s large mappings held by hakmem%s",
                      hkd_count(live).s, hkd_count(lm - lu).s, where(c, at).s);
    else
        hkd_strv_addf(&f->evidence, "%s SuperSlabs held by hakmem%s", hkd_count(live).s,
                      where(c, at).s);
    hkd_strv_add(&f->evidence, "each mapping is at least one kernel VMA; thread stacks, "
                               "libraries and split mappings add more, and mmap fails with "
                               "ENOMEM at the limit");
    hkd_strv_add(&f->next, "on that machine: cat /proc/sys/vm/max_map_count; wc -l "
                           "/proc/PID/maps near the failure");
}

struct parked {
    unsigned id;
    uint64_t parked, fast, list, slab_free, remote, in_use;
    struct hkd_loc at;
    const struct hkd_census_row *row;
};

static int by_parked(const void *a, const void *b)
{
    const struct parked *x = a, *y = b;
    return (x->parked < y->parked) - (x->parked > y->parked);
}


/* Classes whose free blocks sit mostly in thread caches. */
static struct parked *parked_classes(const struct ctx *c, size_t *n)
{
    struct parked *v = hkd_xcalloc(c->v.ncensus + 1, sizeof *v);
    *n = 0;
    for (size_t i = 0; i < c->v.ncensus; i++) {
        const struct hkd_census_row *r = &c->v.census[i];
        struct parked p = {r->id, 0, z(r, HKD_Z_fast_cache), z(r, HKD_Z_tls_list),
                           z(r, HKD_Z_slab_free), z(r, HKD_Z_remote_queue), z(r, HKD_Z_in_use),
                           r->at, r};
        p.parked = hkd_add_sat(p.fast, p.list);
        uint64_t free_blocks = hkd_add_sat(hkd_add_sat(p.parked, p.slab_free), p.remote);
        if (p.parked >= PARKED_MIN && (double)p.parked >= PARKED_SHARE * (double)free_blocks)
            v[(*n)++] = p;
    }
    qsort(v, *n, sizeof *v, by_parked);
    return v;
}

/* "parked": exited with HAKMEM_TINY_TLS_LIST_SPILL=0, its lists kept for good. */
static bool thread_gone(const struct hkd_census_row *r)
{
    return strcmp(r->state, "exited") == 0 || strcmp(r->state, "parked") == 0;
}

/* Threads holding many parked blocks, or any after they exited (*exited counts those). */
static struct parked *parked_threads(const struct ctx *c, size_t *n, size_t *exited)
{
    struct parked *v = hkd_xcalloc(c->v.ncensus_threads + 1, sizeof *v);
    *n = *exited = 0;
    for (size_t i = 0; i < c->v.ncensus_threads; i++) {
        const struct hkd_census_row *r = &c->v.census_threads[i];
        struct parked p = {r->id, 0, z(r, HKD_Z_fast_cache), z(r, HKD_Z_tls_list), 0, 0, 0,
                           r->at, r};
        p.parked = hkd_add_sat(p.fast, p.list);
        bool gone = thread_gone(r);
        if ((gone && p.parked) || p.parked >= PARKED_MIN) {
            v[(*n)++] = p;
            *exited += gone;
        }
    }
    qsort(v, *n, sizeof *v, by_parked);
    return v;
}

static void parked_class_evidence(struct ctx *c, struct hkd_finding *f, const struct parked *p)
{
    uint64_t size = class_size(c, p->id);
    uint64_t free_blocks = hkd_add_sat(hkd_add_sat(p->parked, p->slab_free), p->remote);
    char sz[64] = "";
    if (size)
        snprintf(sz, sizeof sz, " (%s)", hkd_ibytes(size).s);
    hkd_strv_addf(&f->evidence, "class %u%s: %s parked (fast cache %s, TLS list %s) = %s "
                  "of its %s free blocks; slab freelists %s, in use %s%s", p->id, sz,
                  hkd_count(p->parked).s, hkd_count(p->fast).s, hkd_count(p->list).s,
                  hkd_pct((double)p->parked, (double)free_blocks).s,
                  hkd_count(free_blocks).s, hkd_count(p->slab_free).s, hkd_count(p->in_use).s,
                  where(c, p->at).s);
    const struct hkd_class_row *row = class_row(c, p->id);
    if (row && row->f[HKD_C_frees].set && row->f[HKD_C_spill_blocks].set &&
        row->f[HKD_C_frees].v)
        hkd_strv_addf(&f->evidence, "class %u counters: %s frees, %s blocks spilled back "
                      "(%s)", p->id, hkd_count(row->f[HKD_C_frees].v).s,
                      hkd_count(row->f[HKD_C_spill_blocks].v).s,
                      hkd_pct((double)row->f[HKD_C_spill_blocks].v,
                              (double)row->f[HKD_C_frees].v).s);
}

static void parked_thread_evidence(struct ctx *c, struct hkd_finding *f, const struct parked *p)
{
    hkd_strv_addf(&f->evidence, "thread %u (tid %llu, %s): %s parked (fast cache %s, TLS "
                  "list %s)%s", p->id, (unsigned long long)z(p->row, HKD_Z_tid),
                  p->row->state[0] ? p->row->state : "?", hkd_count(p->parked).s,
                  hkd_count(p->fast).s, hkd_count(p->list).s, where(c, p->at).s);
}

static struct hkd_finding *parked_finding(struct ctx *c, const struct parked *cls, size_t ncls,
                                          size_t nthr, size_t exited)
{
    uint64_t total = 0;
    for (size_t i = 0; i < ncls; i++)
        total = hkd_add_sat(total, cls[i].parked);
    enum hkd_severity sev = exited || c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING;
    struct hkd_finding *f;
    if (ncls)
        f = hkd_finding_new(c->out, "tls-parked-blocks", sev,
                            "%s freed blocks parked in thread caches (%zu class%s), not in "
                            "the slab freelists", hkd_count(total).s, ncls,
                            ncls == 1 ? "" : "es");
    else
        f = hkd_finding_new(c->out, "tls-parked-blocks", sev,
                            "freed blocks parked in the caches of %zu thread%s%s", nthr,
                            nthr == 1 ? "" : "s", exited ? " that exited" : "");
    double bytes = 0;
    uint64_t hb;
    const char *what;
    for (size_t i = 0; i < ncls; i++)
        bytes += (double)cls[i].parked * (double)class_size(c, cls[i].id);
    f->weight = cause_weight(hakmem_bytes(c, &hb, &what) && hb ? bytes / (double)hb : 0);
    hkd_ev_uint(f, "parked_blocks", total);
    hkd_ev_uint(f, "classes", ncls);
    hkd_ev_uint(f, "threads", nthr);
    hkd_ev_uint(f, "exited_threads", exited);
    return f;
}

static void parked_advice(struct ctx *c, struct hkd_finding *f, size_t exited)
{
    const struct hkd_option *o = option(c, "HAKMEM_TINY_TLS_LIST_SPILL");
    bool no_spill = o && strcmp(o->value, "0") == 0;
    if (no_spill)
        hkd_strv_add(&f->evidence, "option HAKMEM_TINY_TLS_LIST_SPILL=0 is set: TLS lists "
                                   "never spill back to the slabs");
    hkd_strv_add(&f->rules_out, "a leak in the program: the census counts these blocks as "
                                "freed");
    if (exited)
        hkd_strv_add(&f->rules_out, "a flush at thread exit: threads that exited still own "
                                    "blocks");
    if (no_spill)
        hkd_strv_add(&f->next, "run again without HAKMEM_TINY_TLS_LIST_SPILL=0");
    hkd_strv_add(&f->next, "compare spills and spill_blocks with frees per class "
                           "(HAKMEM_STATS=1): lists that never spill keep their blocks");
    if (exited)
        hkd_strv_add(&f->next, "check the thread-exit flush: census_thread rows with "
                               "state=exited must hold no blocks");
}

static void rule_parked(struct ctx *c)
{
    size_t ncls, nthr, exited;
    struct parked *cls = parked_classes(c, &ncls);
    struct parked *thr = parked_threads(c, &nthr, &exited);
    if (ncls || nthr) {
        struct hkd_finding *f = parked_finding(c, cls, ncls, nthr, exited);
        for (size_t i = 0; i < ncls && i < TOP_N; i++)
            parked_class_evidence(c, f, &cls[i]);
        for (size_t i = 0; i < nthr && i < TOP_N; i++)
            parked_thread_evidence(c, f, &thr[i]);
        parked_advice(c, f, exited);
    }
    free(cls);
    free(thr);
}

/* What the remote-queue rule found: evidence lines and the blocks they add up to. */
struct remote {
    struct hkd_strv lines;
    uint64_t queued, orphaned, queued_threads, backlog;
    double bytes;   /* of the queued blocks, by class size */
};

static void remote_classes(struct ctx *c, struct remote *rq)
{
    for (size_t i = 0; i < c->v.ncensus; i++) {
        const struct hkd_census_row *r = &c->v.census[i];
        uint64_t q = z(r, HKD_Z_remote_queue);
        uint64_t free_blocks = hkd_add_sat(hkd_add_sat(q, z(r, HKD_Z_fast_cache)),
                                           hkd_add_sat(z(r, HKD_Z_tls_list),
                                                       z(r, HKD_Z_slab_free)));
        if (q >= REMOTE_MIN && (double)q >= REMOTE_SHARE * (double)free_blocks) {
            rq->queued = hkd_add_sat(rq->queued, q);
            rq->bytes += (double)q * (double)class_size(c, r->id);
            hkd_strv_addf(&rq->lines, "class %u: %s blocks in remote queues = %s of its %s "
                          "free blocks%s", r->id, hkd_count(q).s,
                          hkd_pct((double)q, (double)free_blocks).s, hkd_count(free_blocks).s,
                          where(c, r->at).s);
        }
    }
}

static void remote_threads(struct ctx *c, struct remote *rq)
{
    for (size_t i = 0; i < c->v.ncensus_threads; i++) {
        const struct hkd_census_row *r = &c->v.census_threads[i];
        uint64_t q = z(r, HKD_Z_remote_queue);
        bool gone = thread_gone(r);
        uint64_t free_blocks = hkd_add_sat(q, hkd_add_sat(z(r, HKD_Z_fast_cache),
                                                          z(r, HKD_Z_tls_list)));
        if ((gone && q) ||
            (q >= REMOTE_MIN && (double)q >= REMOTE_SHARE * (double)free_blocks)) {
            rq->orphaned = hkd_add_sat(rq->orphaned, gone ? q : 0);
            rq->queued_threads = hkd_add_sat(rq->queued_threads, q);
            hkd_strv_addf(&rq->lines, "thread %u (tid %llu, %s): %s blocks waiting in the "
                          "remote queues of its slabs%s", r->id,
                          (unsigned long long)z(r, HKD_Z_tid), r->state[0] ? r->state : "?",
                          hkd_count(q).s, where(c, r->at).s);
        }
    }
}

static void remote_counters(struct ctx *c, struct remote *rq)
{
    for (size_t i = 0; i < c->v.nclasses; i++) {
        const struct hkd_class_row *r = &c->v.classes[i];
        if (!r->f[HKD_C_remote_sent].set || !r->f[HKD_C_remote_drained].set)
            continue;
        uint64_t sent = r->f[HKD_C_remote_sent].v, drained = r->f[HKD_C_remote_drained].v;
        if (sent > drained && sent - drained >= REMOTE_MIN &&
            (double)drained < REMOTE_DRAIN_SHARE * (double)sent) {
            rq->backlog = hkd_add_sat(rq->backlog, sent - drained);
            hkd_strv_addf(&rq->lines, "class %u counters: %s remote frees sent, %s drained "
                          "(%s); %s not drained%s", r->id, hkd_count(sent).s,
                          hkd_count(drained).s, hkd_pct((double)drained, (double)sent).s,
                          hkd_count(sent - drained).s, where(c, r->f[HKD_C_remote_sent].at).s);
        }
    }
}

static void rule_remote(struct ctx *c)
{
    struct remote rq = {0};
    remote_classes(c, &rq);
    remote_threads(c, &rq);
    remote_counters(c, &rq);
    if (!rq.lines.n) {
        hkd_strv_free(&rq.lines);
        return;
    }
    if (rq.queued_threads > rq.queued)
        rq.queued = rq.queued_threads;
    struct hkd_finding *f;
    if (rq.orphaned)
        f = hkd_finding_new(c->out, "remote-queue-backlog", HKD_SEV_ERROR,
                            "%s freed blocks wait in remote queues of slabs whose owner exited",
                            hkd_count(rq.orphaned).s);
    else if (rq.queued)
        f = hkd_finding_new(c->out, "remote-queue-backlog",
                            c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                            "%s blocks freed by other threads wait in remote queues",
                            hkd_count(rq.queued).s);
    else
        f = hkd_finding_new(c->out, "remote-queue-backlog",
                            c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                            "remote frees are not drained: %s sent but not drained",
                            hkd_count(rq.backlog).s);
    uint64_t hb;
    const char *what;
    f->weight = cause_weight(hakmem_bytes(c, &hb, &what) && hb ? rq.bytes / (double)hb : 0);
    hkd_ev_uint(f, "remote_queued_blocks", rq.queued);
    hkd_ev_uint(f, "remote_not_drained", rq.backlog);
    hkd_ev_uint(f, "orphaned_blocks", rq.orphaned);
    for (size_t i = 0; i < rq.lines.n && i < 2 * TOP_N; i++)
        hkd_strv_add(&f->evidence, rq.lines.v[i]);
    hkd_strv_free(&rq.lines);
    hkd_strv_add(&f->rules_out, "a leak in the program: the program freed these blocks");
    hkd_strv_add(&f->next, "remote queues drain when the owner refills that class; slabs of "
                           "exited threads must be adopted: look at census_thread rows and "
                           "remote_sent vs remote_drained per class (HAKMEM_STATS=1)");
}

/* A live measure for a snapshot: bytes from class rows (live × size) or live blocks. */
static bool snap_live(const struct hkd_snapshot *s, double *out, bool *is_bytes)
{
    *is_bytes = true;
    double bytes = 0;
    bool any = false;
    for (size_t i = 0; i < s->nclasses; i++) {
        const struct hkd_class_row *r = &s->classes[i];
        if (r->f[HKD_C_live].set && r->f[HKD_C_size].set) {
            bytes += (double)r->f[HKD_C_live].v * (double)r->f[HKD_C_size].v;
            any = true;
        }
    }
    if (any) {
        *out = bytes;
        return true;
    }
    if (s->f[HKD_F_live].set) {
        *is_bytes = false;
        *out = (double)s->f[HKD_F_live].v;
        return true;
    }
    return false;
}

/* Over the snapshots that give live and RSS: both grew together. True if it reported. */
static bool live_growth(struct ctx *c)
{
    const struct hkd_snapshot *first = NULL, *last = NULL;
    double l0 = 0, l1 = 0;
    size_t points = 0;
    bool bytes = true;
    for (size_t i = 0; i < c->m->nsnaps; i++) {
        const struct hkd_snapshot *s = &c->m->snaps[i];
        double l;
        if (!s->f[HKD_F_vm_rss_kb].set || !snap_live(s, &l, &bytes))
            continue;
        if (!first)
            first = s, l0 = l;
        last = s, l1 = l;
        points++;
    }
    if (points < 2)
        return false;
    double r0 = (double)first->f[HKD_F_vm_rss_kb].v * 1024;
    double r1 = (double)last->f[HKD_F_vm_rss_kb].v * 1024;
    if (!(l0 > 0 && r0 > 0 && l1 >= GROWTH_RATIO * l0 && r1 >= GROWTH_RATIO * r0 &&
          r1 - r0 >= (double)GROWTH_MIN_RSS))
        return false;
    struct hkd_finding *f = hkd_finding_new(
        c->out, "live-heap-growth", HKD_SEV_WARNING,
        "live heap and RSS grew together over %zu snapshots (live \u00d7%s, RSS "
        "\u00d7%s): the program holds the memory", points, hkd_ratio(l1, l0).s,
        hkd_ratio(r1, r0).s);
    f->weight = cause_weight(0.5);
    hkd_ev_real(f, "live_growth", l1 / l0);
    hkd_ev_real(f, "rss_growth", r1 / r0);
    hkd_ev_uint(f, "snapshots", points);
    /* The sums are doubles (live × size of every class): beyond 2^64 they print saturated. */
    hkd_strv_addf(&f->evidence, "live %s \u2192 %s, VmRSS %s \u2192 %s%s",
                  bytes ? hkd_ibytes(hkd_u64_of(l0)).s : hkd_count(hkd_u64_of(l0)).s,
                  bytes ? hkd_ibytes(hkd_u64_of(l1)).s : hkd_count(hkd_u64_of(l1)).s,
                  hkd_ibytes(hkd_u64_of(r0)).s, hkd_ibytes(hkd_u64_of(r1)).s,
                  where(c, last->f[HKD_F_vm_rss_kb].at).s);
    hkd_strv_add(&f->rules_out, "memory stuck in the allocator: the program's own live "
                                "blocks grew as much as RSS");
    hkd_strv_add(&f->next, "HAKMEM_LEAK_CHECK=1: at exit, the live blocks grouped by "
                           "allocation stack (HAKMEM_LEAK_REPORT=all includes "
                           "reachable ones)");
    return true;
}

static void rule_live_heap(struct ctx *c)
{
    if (live_growth(c))
        return;
    /* One point in time: mapped memory that is mostly resident is really held. */
    uint64_t rss_kb, hb;
    const char *what;
    if (!get(c, HKD_F_vm_rss_kb, &rss_kb) || !hakmem_bytes(c, &hb, &what) || !hb ||
        (hb < GAP_MIN_HAKMEM && !c->oom))   /* at an OOM, whatever its size */
        return;
    double rss = rss_without_diag(c, rss_kb);
    if (rss < HELD_MIN_RESIDENT * (double)hb)
        return;
    /* Resident is not the same as held: when the census or the counters say most blocks are
     * free, the memory sits in the allocator (other rules say where), not in the program. */
    double share;
    if (held_by_program(c, hb, &share) == 0)
        return;
    struct hkd_finding *f;
    if (rss >= (double)hb)
        f = hkd_finding_new(c->out, "live-heap-growth", c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                            "the memory is resident: RSS %s \u2265 the %s in %s, so the program "
                            "holds it (a leak or real demand)", hkd_ibytes(hkd_u64_of(rss)).s,
                            hkd_ibytes(hb).s, what);
    else
        f = hkd_finding_new(c->out, "live-heap-growth", c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                            "the memory is resident: %s of %s in %s (%s), so the program holds "
                            "it (a leak or real demand)", hkd_ibytes(hkd_u64_of(rss)).s,
                            hkd_ibytes(hb).s, what, hkd_pct(rss, (double)hb).s);
    /* Resident pages alone do not say who holds them: below the limit they ran into. */
    f->weight = held_by_program(c, hb, &share) == 1 ? cause_weight(rss / (double)hb) : 0.40;
    hkd_ev_uint(f, "vm_rss_kb", rss_kb);
    hkd_ev_uint(f, "hakmem_bytes", hb);
    hkd_ev_ratio(f, "resident_share_of_hakmem_bytes", rss, (double)hb);
    hkd_strv_addf(&f->evidence, "VmRSS %s kB = %s; %s in %s: %s resident%s", hkd_count(rss_kb).s,
                  hkd_ibytes(hkd_mul_sat(rss_kb, 1024)).s, hkd_ibytes(hb).s, what, hkd_pct(rss, (double)hb).s,
                  where(c, c->v.f[HKD_F_vm_rss_kb].at).s);
    diag_evidence(c, f);
    hkd_strv_add(&f->rules_out, "memory reserved but unused (mapped, never touched): it is "
                                "resident");
    hkd_strv_add(&f->next, "HAKMEM_LEAK_CHECK=1: at exit, the live blocks grouped by "
                           "allocation stack; two reports (HAKMEM_STATS_SIGNAL) show what grows");
}

static bool stack_lost(const struct hkd_stack *s)
{
    return !strcmp(s->kind, "direct") || !strcmp(s->kind, "indirect") || !strcmp(s->kind, "lost");
}

/* Direct leaks first (the roots to fix: freeing one frees what it holds), most bytes with
 * what they hold first; then the indirect ones. */
static int by_root_bytes(const void *a, const void *b)
{
    const struct hkd_stack *const *x = a, *const *y = b;
    bool xi = !strcmp((*x)->kind, "indirect"), yi = !strcmp((*y)->kind, "indirect");
    if (xi != yi)
        return xi ? 1 : -1;
    uint64_t xb = hkd_add_sat((*x)->bytes, (*x)->held_bytes);
    uint64_t yb = hkd_add_sat((*y)->bytes, (*y)->held_bytes);
    if (xb != yb)
        return xb < yb ? 1 : -1;
    return ((*x)->id > (*y)->id) - ((*x)->id < (*y)->id);
}

/* A frame that is the allocation call itself: operator new or new[] (any overload), or one
 * of the C allocation functions; "name (file:line)" as symbolized. */
static bool alloc_entry(const char *name)
{
    static const char *const fns[] = {"malloc", "calloc", "realloc", "reallocarray",
                                      "aligned_alloc", "posix_memalign", "memalign", "valloc",
                                      "pvalloc", "strdup", "strndup"};
    if (!strncmp(name, "operator new", 12))
        return true;
    size_t n = strcspn(name, " (");
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strlen(fns[i]) == n && !strncmp(name, fns[i], n))
            return true;
    return false;
}

/* "stack 7: 48 B in 1 block lost directly, holding 8.4 KiB in 100 blocks" and the like. */
static char *leak_amount(const struct hkd_stack *s)
{
    const char *how = !strcmp(s->kind, "direct")     ? " lost directly"
                      : !strcmp(s->kind, "indirect") ? " lost indirectly (held by lost blocks)"
                                                     : "";
    if (!s->held_blocks)
        return hkd_xasprintf("%s in %s block%s%s", hkd_ibytes(s->bytes).s, hkd_count(s->blocks).s,
                             s->blocks == 1 ? "" : "s", how);
    return hkd_xasprintf("%s in %s block%s%s, holding %s in %s block%s", hkd_ibytes(s->bytes).s,
                         hkd_count(s->blocks).s, s->blocks == 1 ? "" : "s", how,
                         hkd_ibytes(s->held_bytes).s, hkd_count(s->held_blocks).s,
                         s->held_blocks == 1 ? "" : "s");
}

static void rule_leak(struct ctx *c)
{
    const struct hkd_stack **v = hkd_xcalloc(c->m->nstacks + 1, sizeof *v);
    size_t n = 0;
    uint64_t blocks = 0, bytes = 0;
    size_t indirect = 0;
    for (size_t i = 0; i < c->m->nstacks; i++)
        if (stack_lost(&c->m->stacks[i]) && c->m->stacks[i].blocks) {
            v[n++] = &c->m->stacks[i];
            blocks = hkd_add_sat(blocks, c->m->stacks[i].blocks);
            bytes = hkd_add_sat(bytes, c->m->stacks[i].bytes);
            indirect += !strcmp(c->m->stacks[i].kind, "indirect");
        }
    if (!n) {
        free(v);
        return;
    }
    qsort(v, n, sizeof *v, by_root_bytes);
    /* An error when it can explain an OOM: at least LEAK_OOM_SHARE of hakmem's memory. */
    uint64_t hb = 0;
    const char *what;
    bool big = c->oom && hakmem_bytes(c, &hb, &what) &&
               (double)bytes >= LEAK_OOM_SHARE * (double)hb;
    struct hkd_finding *f = hkd_finding_new(c->out, "application-leak",
                                            big ? HKD_SEV_ERROR : HKD_SEV_WARNING,
                                            "leak check: %s in %s block%s lost, from %zu "
                                            "allocation stack%s", hkd_ibytes(bytes).s,
                                            hkd_count(blocks).s, blocks == 1 ? "" : "s", n,
                                            n == 1 ? "" : "s");
    /* Its stacks name the holder: above live-heap-growth for the same bytes. */
    f->weight = cause_weight(hb ? (double)bytes / (double)hb : 0) + 0.05;
    hkd_ev_uint(f, "lost_bytes", bytes);
    hkd_ev_uint(f, "lost_blocks", blocks);
    hkd_ev_uint(f, "stacks", n);
    for (size_t i = 0; i < n && i < TOP_N; i++) {
        const struct hkd_stack *s = v[i];
        char *frames = hkd_xstrdup("");
        /* The first frames from the allocation side; skip frames inside libhakmem itself. */
        size_t shown = 0;
        for (size_t j = 0; j < s->nframes && shown < 3; j++) {
            char *name = s->names ? hkd_xstrdup(s->names[j])   /* from a text report */
                                  : hkd_sym_name(c->sym, s->frames[j], true);
            /* hakmem's own frames, and the allocation call the stack starts with (operator
             * new, malloc, ...): the frames that say who allocated come after them. */
            bool own = strstr(name, "libhakmem") != NULL || (!shown && alloc_entry(name));
            if (!own) {
                char *t = hkd_xasprintf("%s%s%s", frames, shown ? " \u2190 " : "", name);
                free(frames);
                frames = t;
                shown++;
            }
            free(name);
        }
        char *amount = leak_amount(s);
        hkd_strv_addf(&f->evidence, "stack %u: %s: %s%s", s->id, amount,
                      shown ? frames : "(no frames)", where(c, s->at).s);
        free(amount);
        free(frames);
    }
    if (indirect)
        hkd_strv_addf(&f->next, "fix the direct leaks first: %zu of the %zu stacks are blocks "
                                "held only by other lost blocks, freed with them", indirect, n);
    hkd_strv_add(&f->rules_out, "memory kept by the allocator: these blocks are allocated, "
                                "unreachable and never freed by the program");
    hkd_strv_add(&f->next, "hkdump --folded DUMP | flamegraph.pl > leaks.svg for the whole "
                           "picture; HAKMEM_LEAK_SUPPRESSIONS=FILE for known one-time "
                           "allocations");
    free(v);
}

/* Misuse reports counted per kind, in order of first appearance. */
struct misuse_kinds {
    const char *kind[16];
    size_t count[16], n;
};

static void misuse_count(const struct ctx *c, struct misuse_kinds *k)
{
    k->n = 0;
    for (size_t i = 0; i < c->m->nmisuse; i++) {
        size_t j = 0;
        while (j < k->n && strcmp(k->kind[j], c->m->misuse[i].kind))
            j++;
        if (j == k->n && k->n < 16)
            k->kind[k->n] = c->m->misuse[i].kind, k->count[k->n++] = 0;
        if (j < k->n)
            k->count[j]++;
    }
}

/* Blocks the census found corrupted (written after their free, a broken canary) and keeps
 * out of use: each is a misuse even when its report line is missing (a log cut short).
 * *worst gets the class holding most of them. */
static uint64_t quarantined(const struct ctx *c, const struct hkd_census_row **worst)
{
    uint64_t total = 0;
    *worst = NULL;
    for (size_t i = 0; i < c->v.ncensus; i++) {
        const struct hkd_census_row *r = &c->v.census[i];
        total = hkd_add_sat(total, z(r, HKD_Z_quarantined));
        if (z(r, HKD_Z_quarantined) && (!*worst || z(r, HKD_Z_quarantined) >
                                                       z(*worst, HKD_Z_quarantined)))
            *worst = r;
    }
    return total;
}

static struct hkd_finding *misuse_finding(struct ctx *c, const struct misuse_kinds *k,
                                          uint64_t invalid, uint64_t quar)
{
    char title[256] = "";
    size_t o = 0;
    for (size_t i = 0; i < k->n && o < sizeof title - 40; i++)
        o += (size_t)snprintf(title + o, sizeof title - o, "%s%zu %s", i ? ", " : "",
                              k->count[i], k->kind[i]);
    if (!k->n && invalid)
        snprintf(title, sizeof title, "%s invalid frees counted", hkd_count(invalid).s);
    else if (!k->n)
        snprintf(title, sizeof title, "%s blocks quarantined as corrupted", hkd_count(quar).s);
    struct hkd_finding *f = hkd_finding_new(c->out, "misuse", HKD_SEV_ERROR,
                                            "heap misuse by the program: %s", title);
    hkd_ev_uint(f, "reports", c->m->nmisuse);
    for (size_t i = 0; i < k->n; i++)
        hkd_ev_uint(f, k->kind[i], k->count[i]);
    if (invalid)
        hkd_ev_uint(f, "invalid_frees", invalid);
    if (quar)
        hkd_ev_uint(f, "quarantined_blocks", quar);
    return f;
}

/* One report and the stacks printed under it (shadow mode with leak tracking). */
static void misuse_report(struct ctx *c, struct hkd_finding *f, const struct hkd_misuse *x)
{
    hkd_strv_addf(&f->evidence, "%s%s", x->quote, where(c, x->at).s);
    char tid[32] = "";
    if (x->alloc_thread.set)
        snprintf(tid, sizeof tid, " by thread %llu", (unsigned long long)x->alloc_thread.v);
    if (!x->alloc_site && !x->free_site && !x->report_site && !tid[0])
        return;
    hkd_strv_addf(&f->evidence, "  the block was allocated%s%s%s%s%s%s%s", tid,
                  x->alloc_site ? " in " : "", x->alloc_site ? x->alloc_site : "",
                  x->free_site ? ", freed in " : "", x->free_site ? x->free_site : "",
                  x->report_site ? (strcmp(x->kind, "double-free") == 0 ? ", freed again in "
                                                                        : ", found in ")
                                 : "",
                  x->report_site ? x->report_site : "");
}

static bool misuse_of_block(const struct hkd_misuse *x)
{
    return strcmp(x->kind, "double-free") == 0 || strcmp(x->kind, "use-after-free") == 0 ||
           strcmp(x->kind, "overflow") == 0 || strcmp(x->kind, "underflow") == 0;
}

static void rule_misuse(struct ctx *c)
{
    uint64_t invalid = 0;
    get(c, HKD_F_invalid_frees, &invalid);
    const struct hkd_census_row *worst;
    uint64_t quar = quarantined(c, &worst);
    if (!c->m->nmisuse && !invalid && !quar)
        return;
    struct misuse_kinds k;
    misuse_count(c, &k);
    struct hkd_finding *f = misuse_finding(c, &k, invalid, quar);
    bool sites = false, block = quar > 0;   /* stacks printed; a misuse of a real block */
    for (size_t i = 0; i < c->m->nmisuse && i < TOP_N; i++) {
        misuse_report(c, f, &c->m->misuse[i]);
        sites |= c->m->misuse[i].alloc_site != NULL;
        block |= misuse_of_block(&c->m->misuse[i]);
    }
    if (c->m->nmisuse > TOP_N)
        hkd_strv_addf(&f->evidence, "... and %zu more", c->m->nmisuse - TOP_N);
    if (invalid)
        hkd_strv_addf(&f->evidence, "process counter invalid_frees=%s%s", hkd_count(invalid).s,
                      where(c, c->v.f[HKD_F_invalid_frees].at).s);
    if (quar)
        hkd_strv_addf(&f->evidence, "census: %s blocks quarantined (class %u: %s), found "
                      "written after their free or past their end and never reused%s",
                      hkd_count(quar).s, worst->id, hkd_count(z(worst, HKD_Z_quarantined)).s,
                      where(c, worst->at).s);
    hkd_strv_add(&f->rules_out, "the allocator as the first cause of a later crash: the "
                                "program's misuse came first");
    if (block && !sites)
        hkd_strv_add(&f->next, "HAKMEM_SHADOW=1 HAKMEM_LEAK_CHECK=1: each report then names "
                               "where the block was allocated and freed");
    hkd_strv_add(&f->next, "HAKMEM_ABORT_ON_ERROR=1 under gdb: stops at the first misuse with "
                           "its stack (HAKMEM_SHADOW=1 checks every free)");
    hkd_strv_add(&f->next, "an AddressSanitizer build pins overflows and uses after free to the "
                           "exact access");
}

/* The si_code's name as hakmem's log gives it (hk_dump_format.h), NULL when it has none. */
static const char *signal_code_name(uint64_t signo, uint64_t code)
{
#define HKD_CODE(signal, c, name) {signal, c, name},
    static const struct {
        int sig, code;
        const char *name;
    } names[] = {HK_SIGNAL_CODES(HKD_CODE)};
#undef HKD_CODE
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((!names[i].sig || (uint64_t)names[i].sig == signo) && names[i].code > 0 &&
            (uint64_t)names[i].code == code)
            return names[i].name;
    return NULL;
}

/* The crashing stack as names, "f0 ← f1 ← ..." (at most 6 frames); *own: the first frame in
 * hakmem's own code, -1 when none is. */
static char *crash_stack(struct ctx *c, const struct hkd_event *e, long *own)
{
    char *out = hkd_xstrdup("");
    *own = -1;
    for (size_t i = 0; i < e->nframes; i++) {
        char *key = hkd_sym_key(c->sym, e->frames[i]);
        if (*own < 0 && strstr(key, "libhakmem"))
            *own = (long)i;
        free(key);
        if (i >= 6)
            continue;
        char *name = hkd_sym_name(c->sym, e->frames[i], i > 0);
        char *t = hkd_xasprintf("%s%s%s", out, i ? " \u2190 " : "", name);
        free(out);
        free(name);
        out = t;
    }
    return out;
}

/* The signal event that says most: the last one with a crashing stack, else the last one
 * (a shell's "Segmentation fault" line comes after hakmem's own lines and says less). */
static const struct hkd_event *crash_signal_event(const struct ctx *c)
{
    for (size_t i = c->m->nsnaps; i-- > 0;) {
        const struct hkd_snapshot *s = &c->m->snaps[i];
        for (size_t j = s->nevents; j-- > 0;)
            if (!strcmp(s->events[j].kind, "signal") && s->events[j].nframes)
                return &s->events[j];
    }
    return last_event(c, "signal");
}

static void rule_signal(struct ctx *c)
{
    const struct hkd_event *e = crash_signal_event(c);
    if (!e)
        return;
    uint64_t signo = e->f[HKD_E_signo].set ? e->f[HKD_E_signo].v : 0;
    long own = -1;
    char *stack = e->nframes ? crash_stack(c, e, &own) : NULL;
    char *where0 = e->nframes ? hkd_sym_name(c->sym, e->frames[0], false) : NULL;
    struct hkd_finding *f = hkd_finding_new(c->out, "crash-signal", HKD_SEV_ERROR,
                                            "the process died of %s (signal %llu)%s%s",
                                            e->name[0] ? e->name : "a signal",
                                            (unsigned long long)signo, where0 ? " in " : "",
                                            where0 ? where0 : "");
    hkd_ev_uint(f, "signo", signo);
    hkd_strv_addf(&f->evidence, "%s%s", e->quote ? e->quote : e->kind, where(c, e->at).s);
    const char *code = e->code_name ? e->code_name
                       : e->f[HKD_E_code].set ? signal_code_name(signo, e->f[HKD_E_code].v)
                                              : NULL;
    if (code)
        hkd_ev_str(f, "code", code);
    if (e->f[HKD_E_addr].set) {
        char *name = hkd_sym_name(c->sym, e->f[HKD_E_addr].v, false);
        bool in_file = strncmp(name, "0x", 2) != 0;
        hkd_ev_str(f, "addr_symbol", name);
        hkd_strv_addf(&f->evidence, "faulting address 0x%llx%s%s%s%s",
                      (unsigned long long)e->f[HKD_E_addr].v, in_file ? ": " : "",
                      in_file ? name : "", code ? " \u2014 " : "", code ? code : "");
        free(name);
    }
    if (stack) {
        hkd_ev_str(f, "crash_stack", stack);
        hkd_strv_addf(&f->evidence, "crashing stack: %s", stack);
    }
    if (own >= 0) {
        char *name = hkd_sym_name(c->sym, e->frames[own], own > 0);
        hkd_ev_uint(f, "hakmem_frame", (uint64_t)own);
        hkd_strv_addf(&f->evidence, "frame #%ld is hakmem's own code (%s): the fault came inside "
                      "the allocator, which most often means the program wrote past a block's "
                      "end or through a freed pointer before, over what the allocator reads",
                      own, name);
        free(name);
        size_t caller = (size_t)own;
        while (caller < e->nframes) {
            char *key = hkd_sym_key(c->sym, e->frames[caller]);
            bool inside = strstr(key, "libhakmem") != NULL;
            free(key);
            if (!inside)
                break;
            caller++;
        }
        if (caller < e->nframes) {
            char *call = hkd_sym_name(c->sym, e->frames[caller], true);
            hkd_strv_addf(&f->evidence, "the program's call into hakmem: frame #%zu, %s",
                          caller, call);
            free(call);
        }
        hkd_strv_add(&f->next, "HAKMEM_SHADOW=1: guards every block and checks every free, "
                               "and reports the overflow or use after free that corrupted the "
                               "heap, with the block's address");
    } else {
        if (stack)
            hkd_strv_add(&f->rules_out, "a fault inside the allocator: none of hakmem's frames "
                                        "is on the crashing stack");
        if (!c->m->nmisuse)
            hkd_strv_add(&f->next, "HAKMEM_SHADOW=1: checks every free and reports the misuse "
                                   "that usually comes before a crash in the heap");
    }
    hkd_strv_add(&f->next, "ulimit -c unlimited, run again, then gdb EXE core: the registers "
                           "and locals at the fault");
    free(stack);
    free(where0);
}

/* A timeline without 'end': the process was killed (SIGKILL, the kernel's OOM killer) or
 * died before it could end the file; every sample up to then is read. */
static void truncated_timeline(struct ctx *c, size_t i)
{
    const struct hkd_input_info *ii = &c->m->inputs[i];
    const struct hkd_timeline *tl = hkd_model_timeline(c->m, (int)i);
    struct hkd_finding *f = hkd_finding_new(c->out, "truncated-timeline", HKD_SEV_WARNING,
                                            "%s was cut off (no 'end' record): the process was "
                                            "killed, or died without ending it",
                                            hkd_loc_name(c->m, (struct hkd_loc){(int)i, 0}));
    hkd_ev_str(f, "input", ii->name);
    hkd_ev_uint(f, "lines", ii->lines);
    hkd_ev_uint(f, "samples", tl ? tl->nsamples : 0);
    if (tl && tl->nsamples) {
        const struct hkd_tl_point *p = &tl->samples[tl->nsamples - 1];
        hkd_ev_uint(f, "last_t_ms", p->v[HKD_TS_t_ms]);
        hkd_strv_addf(&f->evidence, "%zu samples read, the last at t_ms=%llu%s", tl->nsamples,
                      (unsigned long long)p->v[HKD_TS_t_ms],
                      where(c, (struct hkd_loc){(int)i, p->line}).s);
    }
    if (ii->partial_bytes)
        hkd_strv_addf(&f->evidence, "the last line stops after %zu bytes without a newline "
                      "and was not used", ii->partial_bytes);
    hkd_strv_add(&f->rules_out, "an exit or a fatal signal hakmem saw: either would have ended "
                                "the file");
    hkd_strv_add(&f->next, "dmesg | grep -i 'killed process': the kernel's OOM killer names "
                           "what it killed; the trend findings use every complete sample");
}

static void rule_truncated(struct ctx *c)
{
    for (size_t i = 0; i < c->m->ninputs; i++) {
        const struct hkd_input_info *ii = &c->m->inputs[i];
        if (ii->is_timeline && ii->truncated)
            truncated_timeline(c, i);
        if (!ii->is_dump || !ii->truncated)
            continue;
        struct hkd_finding *f = hkd_finding_new(c->out, "truncated-dump", HKD_SEV_WARNING,
                                                "%s was cut off (no 'end' record): the process "
                                                "died while writing it",
                                                hkd_loc_name(c->m, (struct hkd_loc){(int)i, 0}));
        hkd_ev_str(f, "input", ii->name);
        hkd_ev_uint(f, "lines", ii->lines);
        hkd_ev_uint(f, "records", ii->records);
        hkd_strv_addf(&f->evidence, "%u lines, %u records read%s", ii->lines, ii->records,
                      ii->partial_bytes ? "" : ", last line complete");
        if (ii->partial_bytes)
            hkd_strv_addf(&f->evidence, "the last line stops after %zu bytes without a newline "
                          "and was not used", ii->partial_bytes);
        hkd_strv_add(&f->rules_out, "nothing: the records that are missing may hold the numbers "
                                    "that matter");
        hkd_strv_add(&f->next, "the findings use every complete record; for a whole dump, point "
                               "HAKMEM_DUMP_DIR at a disk with space and rerun");
    }
}

static void rule_unparsed(struct ctx *c)
{
    if (!c->m->unparsed_total)
        return;
    struct hkd_finding *f = hkd_finding_new(c->out, "unparsed-lines", HKD_SEV_NOTICE,
                                            "%s line%s looked like hakmem output but could not "
                                            "be read fully", hkd_count(c->m->unparsed_total).s,
                                            c->m->unparsed_total == 1 ? "" : "s");
    hkd_ev_uint(f, "lines", c->m->unparsed_total);
    for (size_t i = 0; i < c->m->nunparsed && i < TOP_N; i++) {
        const struct hkd_unparsed *u = &c->m->unparsed[i];
        hkd_strv_addf(&f->evidence, "%s:%u: %s: \"%s\"", hkd_loc_name(c->m, u->at), u->at.line,
                      u->reason, u->text);
    }
    if (c->m->unparsed_total > TOP_N)
        hkd_strv_addf(&f->evidence, "... and %s more (all in --json)",
                      hkd_count(c->m->unparsed_total - TOP_N).s);
    hkd_strv_add(&f->next, "check those lines by hand: the findings do not use them");
}

static void rule_no_data(struct ctx *c)
{
    for (size_t i = 0; i < c->m->ninputs; i++) {
        const struct hkd_input_info *ii = &c->m->inputs[i];
        if (ii->is_dump || ii->is_timeline || ii->records)
            continue;
        struct hkd_finding *f = hkd_finding_new(c->out, "no-hakmem-data", HKD_SEV_NOTICE,
                                                "%s: no hakmem output found in %u line%s",
                                                hkd_loc_name(c->m, (struct hkd_loc){(int)i, 0}),
                                                ii->lines, ii->lines == 1 ? "" : "s");
        hkd_ev_str(f, "input", ii->name);
        hkd_ev_uint(f, "lines", ii->lines);
        hkd_strv_add(&f->evidence, "none of: hakmem: report lines, [SS OOM], RLIMIT_AS(...), "
                                   "superslab_refill NULL detail, a hakmem-dump header");
        hkd_strv_add(&f->next, "run with HAKMEM_STATS=1 (report at exit) and "
                               "HAKMEM_DUMP_DIR=DIR (dump on OOM or crash)");
    }
}

/* RSS that grows while hakmem's own mappings do not: the memory is outside the allocator
 * (the program's own mmap, thread stacks, another allocator, a file mapping). */
static void rule_outside(struct ctx *c)
{
    const struct hkd_snapshot *first = NULL, *last = NULL;
    for (size_t i = 0; i < c->m->nsnaps; i++) {
        const struct hkd_snapshot *s = &c->m->snaps[i];
        if (s->f[HKD_F_vm_rss_kb].set && s->f[HKD_F_bytes_mapped].set) {
            first = first ? first : s;
            last = s;
        }
    }
    if (!first || first == last)
        return;
    /* The diagnostics' own mappings grow with the heap: not memory outside it. */
    double r0 = (double)first->f[HKD_F_vm_rss_kb].v * 1024 -
                (first->f[HKD_F_diag_resident_kb].set
                     ? (double)first->f[HKD_F_diag_resident_kb].v * 1024 : 0);
    double r1 = (double)last->f[HKD_F_vm_rss_kb].v * 1024 -
                (last->f[HKD_F_diag_resident_kb].set
                     ? (double)last->f[HKD_F_diag_resident_kb].v * 1024 : 0);
    double h0 = (double)first->f[HKD_F_bytes_mapped].v;
    double h1 = (double)last->f[HKD_F_bytes_mapped].v;
    if (!(r0 > 0 && r1 >= GROWTH_RATIO * r0 && r1 - r0 >= (double)GROWTH_MIN_RSS &&
          h1 - h0 < 0.10 * (r1 - r0)))
        return;
    struct hkd_finding *f = hkd_finding_new(
        c->out, "rss-outside-allocator", c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
        "RSS grew by %s while hakmem's mappings stayed at %s: the growth is outside the "
        "allocator", hkd_ibytes(hkd_u64_of(r1 - r0)).s, hkd_ibytes(hkd_u64_of(h1)).s);
    f->weight = cause_weight((r1 - r0) / r1);
    hkd_ev_real(f, "rss_growth", r1 / r0);
    hkd_ev_uint(f, "hakmem_bytes", hkd_u64_of(h1));
    hkd_strv_addf(&f->evidence, "VmRSS %s \u2192 %s%s", hkd_ibytes(hkd_u64_of(r0)).s,
                  hkd_ibytes(hkd_u64_of(r1)).s, where(c, last->f[HKD_F_vm_rss_kb].at).s);
    hkd_strv_addf(&f->evidence, "hakmem's mappings %s \u2192 %s%s", hkd_ibytes(hkd_u64_of(h0)).s,
                  hkd_ibytes(hkd_u64_of(h1)).s, where(c, last->f[HKD_F_bytes_mapped].at).s);
    uint64_t a, fr;
    if (get(c, HKD_F_allocs, &a) && get(c, HKD_F_frees, &fr) && a)
        hkd_strv_addf(&f->evidence, "allocs and frees balance: %s of %s blocks freed (%s)",
                      hkd_count(fr).s, hkd_count(a).s, hkd_pct((double)fr, (double)a).s);
    hkd_strv_add(&f->rules_out, "a leak through malloc and memory kept by hakmem: its "
                                "mappings did not grow");
    hkd_strv_add(&f->next, "pmap -x PID | sort -n -k3 | tail (the mappings with the most "
                           "resident memory)");
}

/* An OOM that fault injection made: the dump records the option, so no other finding
 * explains it. */
static void rule_injected(struct ctx *c)
{
    const struct hkd_option *o = option(c, "HAKMEM_FAULT_MMAP_FAIL_AFTER");
    const struct hkd_event *e = last_event(c, "oom");
    if (!o || !e || strcmp(o->value, "0") == 0 || !o->value[0])
        return;
    struct hkd_finding *f = hkd_finding_new(c->out, "injected-oom", HKD_SEV_ERROR,
                                            "the out-of-memory was injected: "
                                            "HAKMEM_FAULT_MMAP_FAIL_AFTER=%s makes mappings "
                                            "after the %s-th fail", o->value, o->value);
    f->weight = 1.0;
    hkd_ev_str(f, "HAKMEM_FAULT_MMAP_FAIL_AFTER", o->value);
    hkd_strv_addf(&f->evidence, "option HAKMEM_FAULT_MMAP_FAIL_AFTER=%s; %s%s", o->value,
                  e->quote ? e->quote : e->kind, where(c, e->at).s);
    hkd_strv_add(&f->rules_out, "a real shortage of memory, address space or mappings: the "
                                "failure was made on purpose");
    hkd_strv_add(&f->next, "unset HAKMEM_FAULT_MMAP_FAIL_AFTER and run again");
}

/* Per class, what the census says about its slabs, in bytes. */
struct frag_class {
    unsigned id;
    uint64_t size;
    double used, free_bytes;   /* in use, and free in the slab freelists */
    struct hkd_loc at;
};

static size_t frag_classes(const struct ctx *c, struct frag_class *v, double *free_total)
{
    size_t n = 0;
    *free_total = 0;
    for (size_t i = 0; i < c->v.ncensus; i++) {
        const struct hkd_census_row *r = &c->v.census[i];
        uint64_t size = class_size(c, r->id);
        if (!size)
            continue;
        double used = (double)z(r, HKD_Z_in_use) * (double)size;
        double fr = (double)z(r, HKD_Z_slab_free) * (double)size;
        if (!used || fr <= 0 || used / (used + fr) > FRAG_MAX_USE)
            continue;
        v[n++] = (struct frag_class){r->id, size, used, fr, r->at};
        *free_total += fr;
    }
    return n;
}

static int by_free_bytes(const void *a, const void *b)
{
    const struct frag_class *x = a, *y = b;
    return (x->free_bytes < y->free_bytes) - (x->free_bytes > y->free_bytes);
}

/* Fragmentation: free blocks on the slab freelists of sparsely used slabs (the census puts
 * them there, not in caches), a large share of hakmem's memory, kept because live blocks are
 * scattered over every slab. As jemalloc's bin utilisation, in bytes. */
static void rule_fragmentation(struct ctx *c)
{
    uint64_t hb;
    const char *what;
    if (!c->v.ncensus || !hakmem_bytes(c, &hb, &what) || !hb ||
        (!c->oom && hb < GAP_MIN_HAKMEM))   /* a small heap's free slabs are no failure */
        return;
    struct frag_class *v = hkd_xcalloc(c->v.ncensus + 1, sizeof *v);
    double free_total;
    size_t n = frag_classes(c, v, &free_total);
    if (!n || free_total < FRAG_MIN_SHARE * (double)hb) {
        free(v);
        return;
    }
    qsort(v, n, sizeof *v, by_free_bytes);
    double share = free_total / (double)hb;
    struct hkd_finding *f = hkd_finding_new(
        c->out, "fragmentation", c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
        "%s free in the slabs of %zu class%s (%s of %s in %s), pinned by live "
        "blocks scattered over them", hkd_ibytes(hkd_u64_of(free_total)).s, n,
        n == 1 ? "" : "es", hkd_pct(free_total, (double)hb).s, hkd_ibytes(hb).s, what);
    f->weight = cause_weight(share);
    hkd_ev_uint(f, "free_bytes_in_slabs", hkd_u64_of(free_total));
    hkd_ev_uint(f, "hakmem_bytes", hb);
    hkd_ev_ratio(f, "free_share_of_hakmem_bytes", free_total, (double)hb);
    for (size_t i = 0; i < n && i < TOP_N; i++)
        hkd_strv_addf(&f->evidence, "class %u (%s): %s in use, %s free on slab freelists: "
                      "slabs %s used%s", v[i].id, hkd_ibytes(v[i].size).s,
                      hkd_ibytes(hkd_u64_of(v[i].used)).s,
                      hkd_ibytes(hkd_u64_of(v[i].free_bytes)).s,
                      hkd_pct(v[i].used, v[i].used + v[i].free_bytes).s, where(c, v[i].at).s);
    const struct hkd_event *e = last_event(c, "oom");
    if (e && e->f[HKD_E_class].set && e->f[HKD_E_class].v != v[0].id)
        hkd_strv_addf(&f->evidence, "the failing request was of class %llu: the free blocks "
                      "of other classes cannot serve it, and no slab is empty to be reused",
                      (unsigned long long)e->f[HKD_E_class].v);
    hkd_strv_add(&f->rules_out, "blocks kept in thread caches or remote queues: the census "
                                "finds them on the slab freelists");
    hkd_strv_add(&f->rules_out, "a leak: the program freed these blocks");
    hkd_strv_add(&f->next, "keep long-lived blocks apart from short-lived ones (an arena or "
                           "pool per lifetime); any malloc fails at the same point");
    free(v);
}

/* Without a census: the counters of a class say its blocks were freed and never spilled
 * back, while nothing was returned to the OS (HAKMEM_TINY_TLS_LIST_SPILL=0's shape). */
static void parked_counters(struct ctx *c)
{
    uint64_t hb, unmapped = 0, mapped;
    const char *what;
    double share;
    if (c->v.ncensus || !c->oom || !hakmem_bytes(c, &hb, &what) ||
        held_by_program(c, hb, &share) != 0 || !get(c, HKD_F_superslabs_mapped, &mapped))
        return;
    get(c, HKD_F_superslabs_unmapped, &unmapped);
    if ((double)unmapped * SS_RETURN_RATIO > (double)mapped)
        return;
    struct hkd_strv lines = {0};
    uint64_t frees_total = 0;
    for (size_t i = 0; i < c->v.nclasses; i++) {
        const struct hkd_class_row *r = &c->v.classes[i];
        if (!r->f[HKD_C_frees].set || !r->f[HKD_C_spill_blocks].set)
            continue;
        uint64_t fr = r->f[HKD_C_frees].v, sp = r->f[HKD_C_spill_blocks].v;
        if (fr < PARKED_MIN || (double)sp > SPILL_NONE * (double)fr)
            continue;
        frees_total = hkd_add_sat(frees_total, fr);
        hkd_strv_addf(&lines, "class %u counters: %s frees, %s blocks spilled back to the "
                      "slabs%s", r->id, hkd_count(fr).s, hkd_count(sp).s,
                      where(c, r->f[HKD_C_frees].at).s);
    }
    if (lines.n) {
        struct hkd_finding *f = hkd_finding_new(c->out, "tls-parked-blocks", HKD_SEV_ERROR,
                                                "%s freed blocks never spilled back from "
                                                "thread caches to the slabs",
                                                hkd_count(frees_total).s);
        f->weight = cause_weight(1 - share);
        hkd_ev_uint(f, "frees_not_spilled", frees_total);
        for (size_t i = 0; i < lines.n && i < TOP_N; i++)
            hkd_strv_add(&f->evidence, lines.v[i]);
        hkd_strv_addf(&f->evidence, "the program's live blocks fill %s of %s in %s",
                      hkd_pct(share * 100, 100).s, hkd_ibytes(hb).s, what);
        parked_advice(c, f, 0);
    }
    hkd_strv_free(&lines);
}

/* One number of a snapshot at the failure and after it: a census state summed over the
 * classes (z >= 0), or a field. */
static bool snap_value(const struct hkd_snapshot *s, int zi, enum hkd_field fi, uint64_t *v,
                       struct hkd_loc *at)
{
    if (zi >= 0) {
        if (!s->ncensus)
            return false;
        *v = 0;
        for (size_t i = 0; i < s->ncensus; i++)
            *v = hkd_add_sat(*v, z(&s->census[i], (enum hkd_census_field)zi));
        *at = s->census[0].at;
        return true;
    }
    if (!s->f[fi].set || s->f[fi].inf)
        return false;
    *v = s->f[fi].v;
    *at = s->f[fi].at;
    return true;
}

/* The failure is judged on its own snapshot; a later one of the same process (the exit
 * dump) is shown as what changed since, so a queue drained by exit is a change, not a
 * contradiction. */
static void rule_since_failure(struct ctx *c)
{
    size_t fi = hkd_model_failure(c->m);
    if (fi == SIZE_MAX || !c->m->snaps[fi].f[HKD_F_pid].set)
        return;
    const struct hkd_snapshot *fs = &c->m->snaps[fi], *later = NULL;
    for (size_t i = fi + 1; i < c->m->nsnaps; i++) {
        const struct hkd_snapshot *s = &c->m->snaps[i];
        if (s->f[HKD_F_pid].set && s->f[HKD_F_pid].v == fs->f[HKD_F_pid].v)
            later = s;
    }
    if (!later)
        return;
    static const struct {
        int z;
        enum hkd_field f;
        const char *name;
    } what[] = {
        {HKD_Z_remote_queue, 0, "census remote_queue (blocks freed by other threads, queued)"},
        {HKD_Z_tls_list, 0, "census tls_list (blocks in threads' lists)"},
        {HKD_Z_in_use, 0, "census in_use (the program's live blocks)"},
        {-1, HKD_F_superslabs_live, "superslabs_live"},
        {-1, HKD_F_bytes_mapped, "bytes_mapped"},
        {-1, HKD_F_vm_rss_kb, "vm_rss_kb"},
    };
    struct hkd_finding *f = NULL;
    const char *fr = fs->reason ? fs->reason : "the failure";
    const char *lr = later->reason ? later->reason : "later";
    for (size_t k = 0; k < sizeof what / sizeof what[0]; k++) {
        uint64_t a, b;
        struct hkd_loc la, lb;
        if (!snap_value(fs, what[k].z, what[k].f, &a, &la) ||
            !snap_value(later, what[k].z, what[k].f, &b, &lb))
            continue;
        uint64_t d = a > b ? a - b : b - a;
        if (!d || (double)d < 0.10 * (double)(a > b ? a : b))
            continue;   /* a change of less than 10 % says nothing */
        if (!f)
            f = hkd_finding_new(c->out, "since-failure", HKD_SEV_INFO,
                                "after the %s, by the %s dump: %s %s \u2192 %s", fr, lr,
                                what[k].name, hkd_count(a).s, hkd_count(b).s);
        hkd_strv_addf(&f->evidence, "%s: %s at the %s%s, %s at the %s%s", what[k].name,
                      hkd_count(a).s, fr, where(c, la).s, hkd_count(b).s, lr, where(c, lb).s);
    }
    if (f)
        hkd_strv_add(&f->rules_out, "judging the failure on the later state: the findings "
                                    "above read the snapshot taken at the failure");
}

/* The timelines' trends and events (trend.c), after the OOM rule so an OOM of a dump makes
 * their growth findings errors too. */
static void rule_timeline(struct ctx *c)
{
    hkd_trend_rules(c->m, c->out, &c->oom);
}

/* Weights of the findings whose rule does not measure a share (docs/hkdump.md). */
static const struct {
    const char *id;
    double w;
} base_weights[] = {
    {"huge-request", 0.95},          {"misuse", 0.92},
    {"map-count-limit", 0.90},       {"crash-signal", 0.85},
    {"overcommit-refused", 0.50},    {"address-space-limit", 0.45},
    {"superslabs-not-returned", 0.30}, {"mapped-vs-resident-gap", 0.20},
    {"superslab-churn", 0.10},       {"live-heap-growth", 0.40},       {"truncated-dump", 0.05},
    {"timeline-forecast", 0.30},
};

static void weigh(struct hkd_findings *out)
{
    for (size_t i = 0; i < out->n; i++) {
        struct hkd_finding *f = &out->v[i];
        for (size_t k = 0; !f->weight && k < sizeof base_weights / sizeof base_weights[0]; k++)
            if (strcmp(f->id, base_weights[k].id) == 0)
                f->weight = base_weights[k].w;
        if (f->sev < HKD_SEV_WARNING && f->weight > 0)
            f->weight *= 0.1;   /* a notice explains nothing of a failure */
        /* Mappings near the limit are the cause only when the mmap failed there (error). */
        if (strcmp(f->id, "map-count-limit") == 0 && f->sev < HKD_SEV_ERROR)
            f->weight = 0.10;
    }
}

/* Findings the others contradict: memory "not reused" or "not returned" when the program
 * holds it, when the slabs are fragmented, or when the failure had another cause that is
 * not about memory (one request, injection, the map count). */
static void drop_contradicted(struct hkd_findings *out)
{
    static const char *const causes[] = {"application-leak", "live-heap-growth",
                                         "fragmentation", "huge-request", "injected-oom",
                                         "map-count-limit"};
    static const char *const symptoms[] = {"mapped-vs-resident-gap", "superslabs-not-returned"};
    bool cause = false;
    for (size_t k = 0; k < sizeof causes / sizeof causes[0]; k++) {
        struct hkd_finding *f = hkd_findings_find(out, causes[k]);
        cause |= f && f->sev >= HKD_SEV_WARNING && f->weight >= CAUSE_BASE;
    }
    for (size_t i = out->n; cause && i-- > 0;)
        for (size_t k = 0; k < sizeof symptoms / sizeof symptoms[0]; k++)
            if (strcmp(out->v[i].id, symptoms[k]) == 0) {
                hkd_findings_drop(out, i);
                break;
            }
}

void hkd_rules_run(const struct hkd_model *m, struct hkd_symbolizer *sym, struct hkd_findings *out)
{
    struct ctx c = {.m = m, .sym = sym, .out = out};
    hkd_model_view(m, &c.v);
    static void (*const rules[])(struct ctx *) = {
        rule_oom,        rule_timeline,     rule_huge_request,  rule_address_space,
        rule_overcommit, rule_superslabs,   rule_gap,           rule_live_heap,
        rule_parked,     rule_remote,       rule_leak,          rule_misuse,
        rule_signal,     rule_map_count,    rule_churn,         rule_truncated,
        rule_unparsed,   rule_no_data,      rule_injected,      rule_fragmentation,
        parked_counters, rule_outside,      rule_since_failure,
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        rules[i](&c);
    weigh(out);
    drop_contradicted(out);
    hkd_findings_sort(out);
    hkd_view_free(&c.v);
}
