/* The legacy free-form lines (and hakmem's OOM lines, which kept their shape):
 *   [SS OOM] mmap failed: err=12 ss_size=… alloc_size=… alloc=… freed=… bytes=…
 *            (hakmem's add: … tier=… [reason=map_count] maps=… max_map_count=…)
 *   RLIMIT_AS(cur=… max=…) VmSize=… kB VmRSS=… kB
 *   [DEBUG] superslab_refill NULL detail: class=… prev_ss=… … errno=…
 * They are found wherever they sit in a line (after a timestamp, inside prose). Documents wrap
 * them, so a record stays open and takes the following lines as long as those hold only
 * key=value tokens of that record that it has not seen yet (after a timestamp-like prefix). */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

struct key {
    const char *name;
    bool required;
};

static const struct key oom_keys[] = {
    {"err", true},    {"ss_size", false}, {"alloc_size", false}, {"alloc", true},
    {"freed", true},  {"bytes", true},    {"class", false},      {"tier", false},
    {"maps", false},  {"max_map_count", false}, {"reason", false}, {"live_bytes", false},
    {NULL, false}};
static const struct key rlimit_keys[] = {
    {"cur", true},     {"max", false},  {"VmSize", true}, {"VmRSS", true},
    {"VmPeak", false}, {"overcommit_memory", false},      {NULL, false}};
static const struct key refill_keys[] = {
    {"class", true},           {"prev_ss", false},  {"active", false},   {"bitmap", false},
    {"prev_meta", false},      {"used", false},     {"cap", false},      {"slab_idx", false},
    {"reused_freelist", false}, {"free_idx", false}, {"errno", true},     {NULL, false}};

static const struct {
    const char *marker;
    const char *label;
    const struct key *keys;
} kinds[] = {
    [HKD_LEG_NONE] = {NULL, NULL, NULL},
    [HKD_LEG_OOM] = {"[SS OOM]", "[SS OOM]", oom_keys},
    [HKD_LEG_RLIMIT] = {"RLIMIT_AS(", "RLIMIT_AS", rlimit_keys},
    [HKD_LEG_REFILL] = {"superslab_refill NULL detail:", "superslab_refill NULL detail",
                       refill_keys},
};

const char *hkd_legacy_find(struct hkd_span s, enum hkd_legacy_kind *kind)
{
    const char *best = NULL;
    for (int k = HKD_LEG_OOM; k <= HKD_LEG_REFILL; k++) {
        const char *p = hkd_span_find(s, kinds[k].marker);
        if (p && (!best || p < best)) {
            best = p;
            *kind = (enum hkd_legacy_kind)k;
        }
    }
    return best;
}

static int key_index(const struct key *keys, struct hkd_span name)
{
    for (int i = 0; keys[i].name; i++)
        if (hkd_span_eq(name, keys[i].name))
            return i;
    return -1;
}

static void set_num(struct hkd_num *n, struct hkd_span v, struct hkd_loc at)
{
    hkd_num_parse(n, v, at); /* a value that is not a number (e.g. "-2") is left unset */
}

/* Stores one key=value of the open record. */
static void apply(struct hkd_legacy *lg, struct hkd_model *m, const char *key, struct hkd_span v,
                  struct hkd_loc at)
{
    struct hkd_snapshot *s = &m->snaps[lg->snap];
    struct hkd_event *e = lg->has_ev ? &s->events[lg->ev] : NULL;
    if (!e && lg->kind != HKD_LEG_RLIMIT)
        return;
    switch (lg->kind) {
    case HKD_LEG_OOM:
        if (!strcmp(key, "err"))
            set_num(&e->f[HKD_E_errno], v, at);
        else if (!strcmp(key, "ss_size"))
            set_num(&s->f[HKD_F_ss_size], v, at), set_num(&e->f[HKD_E_ss_size], v, at);
        else if (!strcmp(key, "alloc_size"))
            set_num(&e->f[HKD_E_map_size], v, at);
        else if (!strcmp(key, "alloc")) /* legacy name: SuperSlabs mapped */
            set_num(&s->f[HKD_F_superslabs_mapped], v, at);
        else if (!strcmp(key, "freed")) /* legacy name: SuperSlabs unmapped */
            set_num(&s->f[HKD_F_superslabs_unmapped], v, at);
        else if (!strcmp(key, "bytes"))   /* cumulative: alloc × ss_size */
            set_num(&s->f[HKD_F_ss_bytes_ever], v, at);
        else if (!strcmp(key, "live_bytes"))   /* mapped now */
            set_num(&s->f[HKD_F_bytes_mapped], v, at);
        else if (!strcmp(key, "class"))
            set_num(&e->f[HKD_E_class], v, at);
        else if (!strcmp(key, "maps")) /* lines of /proc/self/maps at the failure */
            set_num(&s->f[HKD_F_maps], v, at);
        else if (!strcmp(key, "max_map_count"))
            set_num(&s->f[HKD_F_max_map_count], v, at);
        else if (!strcmp(key, "tier")) {
            size_t n = v.n < sizeof e->tier - 1 ? v.n : sizeof e->tier - 1;
            memcpy(e->tier, v.p, n);
            e->tier[n] = '\0';
        }
        break;
    case HKD_LEG_RLIMIT:
        if (!strcmp(key, "cur"))
            set_num(&s->f[HKD_F_rlimit_as_cur], v, at);
        else if (!strcmp(key, "max"))
            set_num(&s->f[HKD_F_rlimit_as_max], v, at);
        else if (!strcmp(key, "VmSize"))
            set_num(&s->f[HKD_F_vm_size_kb], v, at);
        else if (!strcmp(key, "VmRSS"))
            set_num(&s->f[HKD_F_vm_rss_kb], v, at);
        else if (!strcmp(key, "VmPeak"))
            set_num(&s->f[HKD_F_vm_peak_kb], v, at);
        else if (!strcmp(key, "overcommit_memory"))
            set_num(&s->f[HKD_F_overcommit_memory], v, at);
        break;
    case HKD_LEG_REFILL:
        if (!strcmp(key, "class"))
            set_num(&e->f[HKD_E_class], v, at);
        else if (!strcmp(key, "errno"))
            set_num(&e->f[HKD_E_errno], v, at);
        else if (!strcmp(key, "prev_ss"))
            set_num(&e->f[HKD_E_prev_ss], v, at);
        else if (!strcmp(key, "active"))
            set_num(&e->f[HKD_E_active], v, at);
        else if (!strcmp(key, "used"))
            set_num(&e->f[HKD_E_used], v, at);
        else if (!strcmp(key, "cap"))
            set_num(&e->f[HKD_E_cap], v, at);
        break;
    case HKD_LEG_NONE:
        break;
    }
}

static void append_quote(struct hkd_legacy *lg, struct hkd_span text)
{
    char *part = hkd_span_printable(hkd_span_trim(text), 200);
    char *q = lg->quote ? hkd_xasprintf("%s %s", lg->quote, part) : hkd_xstrdup(part);
    free(lg->quote);
    free(part);
    lg->quote = q;
}

static bool all_seen(const struct hkd_legacy *lg)
{
    const struct key *keys = kinds[lg->kind].keys;
    for (int i = 0; keys[i].name; i++)
        if (!(lg->seen & (1u << i)))
            return false;
    return true;
}

/* Applies every known key=value of text; unknown keys are skipped (newer writers add keys). */
static void take_tokens(struct hkd_legacy *lg, struct hkd_model *m, struct hkd_span text,
                        struct hkd_loc at)
{
    struct hkd_tok t;
    while (hkd_kv_next_loose(&text, &t)) {
        if (!t.key.n)
            continue;
        int i = key_index(kinds[lg->kind].keys, t.key);
        if (i < 0)
            continue;
        lg->seen |= 1u << i;
        apply(lg, m, kinds[lg->kind].keys[i].name, t.val, at);
    }
}

void hkd_legacy_start(struct hkd_legacy *lg, struct hkd_model *m, enum hkd_legacy_kind kind,
                      struct hkd_span s, struct hkd_loc at)
{
    hkd_legacy_end(lg, m);
    struct hkd_snapshot *cur = hkd_model_cur(m, at);
    bool fresh;
    switch (kind) {
    case HKD_LEG_REFILL:
        fresh = cur->has_refill || cur->has_oom || cur->has_report || cur->has_limits;
        break;
    case HKD_LEG_OOM:
        fresh = cur->has_oom || cur->has_report || cur->has_limits;
        break;
    default:
        fresh = cur->has_limits || (cur->has_report && !cur->has_oom);
        break;
    }
    if (fresh)
        cur = hkd_model_new_snapshot(m, at);
    lg->kind = kind;
    lg->snap = (size_t)(cur - m->snaps);
    lg->has_ev = kind != HKD_LEG_RLIMIT;
    if (kind == HKD_LEG_OOM)
        hkd_snap_event(cur, "oom", at), cur->has_oom = true;
    else if (kind == HKD_LEG_REFILL)
        hkd_snap_event(cur, "refill-null", at), cur->has_refill = true;
    else
        cur->has_limits = true;
    lg->ev = cur->nevents - 1;
    lg->seen = 0;
    lg->cont_lines = 0;
    lg->at = at;
    append_quote(lg, s);
    take_tokens(lg, m, (struct hkd_span){s.p + strlen(kinds[kind].marker),
                                     s.n - strlen(kinds[kind].marker)},
                at);
}

/* Timestamps and similar prefixes: "2025-11-05T10:00:00.1Z", "[12.345]", "10:00:01". */
static bool stamp_like(struct hkd_span w)
{
    bool digit = false;
    for (size_t i = 0; i < w.n; i++) {
        char c = w.p[i];
        if (c >= '0' && c <= '9')
            digit = true;
        else if (!strchr("-:.TZ+/[],", c))
            return false;
    }
    return digit;
}

/* Units and annotations that may sit between the values: "kB", "(ENOMEM)", "(45 GB)". */
static bool filler_word(struct hkd_span w)
{
    return hkd_span_eq(w, "kB") || hkd_span_eq(w, "KB") || hkd_span_eq(w, "B") ||
           (w.n && (w.p[0] == '(' || w.p[w.n - 1] == ')'));
}

bool hkd_legacy_continue(struct hkd_legacy *lg, struct hkd_model *m, struct hkd_span line,
                         struct hkd_loc at)
{
    if (lg->kind == HKD_LEG_NONE)
        return false;
    enum hkd_legacy_kind other;
    if (all_seen(lg) || lg->cont_lines >= 6 || hkd_legacy_find(line, &other) ||
        hkd_span_find(line, "hakmem: ")) {
        hkd_legacy_end(lg, m);
        return false;
    }
    struct hkd_span rest = line, text = line;
    struct hkd_tok t;
    unsigned known = 0, seen = lg->seen;
    bool lead = true, ok = true;
    while (ok && hkd_kv_next_loose(&rest, &t)) {
        if (!t.key.n) {
            if (lead && stamp_like(t.val)) {
                text = rest;
                continue;
            }
            ok = !lead && filler_word(t.val);
            continue;
        }
        lead = false;
        int i = key_index(kinds[lg->kind].keys, t.key);
        if (i < 0 || (seen & (1u << i))) {
            ok = false;
            break;
        }
        seen |= 1u << i;
        known++;
    }
    if (!ok || known == 0) {
        hkd_legacy_end(lg, m);
        return false;
    }
    lg->cont_lines++;
    append_quote(lg, text);
    take_tokens(lg, m, text, at);
    return true;
}

void hkd_legacy_end(struct hkd_legacy *lg, struct hkd_model *m)
{
    if (lg->kind == HKD_LEG_NONE)
        return;
    const struct key *keys = kinds[lg->kind].keys;
    char missing[160] = "";
    size_t o = 0;
    for (int i = 0; keys[i].name; i++)
        if (keys[i].required && !(lg->seen & (1u << i)) && o < sizeof missing - 24)
            o += (size_t)snprintf(missing + o, sizeof missing - o, "%s%s=", o ? ", " : "",
                                  keys[i].name);
    if (o) {
        char *why = hkd_xasprintf("incomplete %s record: missing %s (the values it has are used)",
                                  kinds[lg->kind].label, missing);
        hkd_model_unparsed(m, lg->at, hkd_span_of(lg->quote ? lg->quote : ""), why);
        free(why);
    }
    struct hkd_snapshot *s = &m->snaps[lg->snap];
    char **dst = lg->has_ev ? &s->events[lg->ev].quote : &s->limits_quote;
    free(*dst);
    *dst = lg->quote;
    lg->quote = NULL;
    lg->kind = HKD_LEG_NONE;
}
