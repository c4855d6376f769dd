/* The timeline (HAKMEM_STATS_INTERVAL_MS), version 1 (docs/dump-format.md, "Timeline
 * files"): the dump's grammar (records.c) with its own records, a header, the options, the
 * size classes, then samples of the gauges in time order with the events among them. Every
 * count is bounded (hkdump.h, HKD_TL_MAX_*), so a hostile file costs at most a few hundred
 * MiB and linear time; a file without 'end' was cut off when the process was killed, and
 * every complete line of it is read. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

#define HKD_TL_NAME(k) #k,
const char *const hkd_tl_header_names[HKD_TH_COUNT] = {HK_TIMELINE_HEADER_KEYS(HKD_TL_NAME)};
const char *const hkd_tl_sample_names[HKD_TS_COUNT] = {HK_TIMELINE_SAMPLE_KEYS(HKD_TL_NAME)};
const char *const hkd_tl_census_names[HKD_TC_COUNT] = {HK_TIMELINE_CENSUS_KEYS(HKD_TL_NAME)};
#undef HKD_TL_NAME

_Static_assert(HKD_TS_COUNT <= 32 && (int)HKD_TC_COUNT <= (int)HKD_TS_COUNT,
               "one set bit per key, and a census point fits in a sample's");
/* t_ms is the first key of both point records: a point's time is v[0] either way. */
_Static_assert(HKD_TS_t_ms == 0 && HKD_TC_t_ms == 0, "t_ms first");

static const struct hkd_format format;

bool hkd_timeline_detect(const struct hkd_input *in)
{
    return hkd_format_detect(in, &format);
}

bool hkd_tl_has(const struct hkd_tl_point *p, int key)
{
    return p->set >> key & 1;
}

struct ctx {
    struct hkd_recs r;
    struct hkd_timeline *tl;
    size_t *stamp;          /* per class: 1 + the sample that listed it last (duplicates) */
    size_t cap_stamp;
    bool said_cap;          /* the first record past a bound was listed as unparsed */
};

static void over_cap(struct ctx *c, const char *what, size_t bound)
{
    c->tl->over_cap++;
    if (c->said_cap)
        return;
    c->said_cap = true;
    char *why = hkd_xasprintf("more %s than hkdump keeps (%s): this and later ones are not "
                              "read", what, hkd_count(bound).s);
    hkd_recs_unparsed(&c->r, why);
    free(why);
}

/* A number of the record: bare decimal (or 0x hex); "inf" is no sample value. */
static bool tok_u64(struct ctx *c, const struct hkd_tok *t, uint64_t *out)
{
    bool inf;
    if (hkd_parse_u64(t->val, out, &inf) && !inf)
        return true;
    hkd_recs_bad_value(&c->r, t->key);
    return false;
}

static bool need_key(struct ctx *c, const char *key, uint64_t *out)
{
    const struct hkd_tok *t = hkd_recs_find(&c->r, key);
    if (t && tok_u64(c, t, out))
        return true;
    if (!t) {
        char *why = hkd_xasprintf("record without a valid %s=", key);
        hkd_recs_unparsed(&c->r, why);
        free(why);
    }
    return false;
}

/* ---- one handler per record of HK_TIMELINE_RECORDS ---- */

static void rec_header(struct ctx *c)
{
    struct hkd_timeline *tl = c->tl;
    for (size_t i = 0; i < c->r.ntok; i++) {
        const struct hkd_tok *t = &c->r.tok[i];
        char **s = hkd_span_eq(t->key, "version") ? &tl->version
                   : hkd_span_eq(t->key, "build") ? &tl->build
                   : hkd_span_eq(t->key, "exe")   ? &tl->exe
                                                  : NULL;
        if (s) {
            free(*s);
            *s = hkd_tok_dup(t);
        } else {
            hkd_recs_num(&c->r, t, hkd_tl_header_names, HKD_TH_COUNT, tl->h);
        }
    }
}

static void rec_option(struct ctx *c)
{
    const struct hkd_tok *n = hkd_recs_find(&c->r, "name");
    const struct hkd_tok *v = hkd_recs_find(&c->r, "value");
    if (n)
        hkd_model_option(c->r.m, hkd_tok_dup(n), v ? hkd_tok_dup(v) : hkd_xstrdup(""));
}

static void rec_class(struct ctx *c)
{
    struct hkd_timeline *tl = c->tl;
    uint64_t id, size;
    if (!need_key(c, "id", &id) || !need_key(c, "size", &size))
        return;
    if (id > 1u << 20) {
        hkd_recs_bad_value(&c->r, hkd_span_of("id"));
        return;
    }
    size_t i = hkd_idmap_get(&tl->class_ids, (unsigned)id);
    if (i == SIZE_MAX) {
        if (tl->nclasses >= HKD_TL_MAX_CLASSES) {
            over_cap(c, "size classes", HKD_TL_MAX_CLASSES);
            return;
        }
        hkd_grow((void **)&tl->classes, &tl->cap_classes, tl->nclasses, sizeof *tl->classes);
        i = tl->nclasses++;
        hkd_idmap_put(&tl->class_ids, (unsigned)id, i);
        tl->classes[i].id = (unsigned)id;
    }
    tl->classes[i].size = size;
}

/* One "ID:BLOCKS" of live=: a class a class record declared, listed once in the sample. */
static void live_entry(struct ctx *c, struct hkd_tl_point *p, struct hkd_span e, size_t n)
{
    struct hkd_timeline *tl = c->tl;
    const char *colon = memchr(e.p, ':', e.n);
    uint64_t id, blocks;
    bool inf, inf2;
    size_t cls;
    if (!colon ||
        !hkd_parse_u64((struct hkd_span){e.p, (size_t)(colon - e.p)}, &id, &inf) ||
        !hkd_parse_u64((struct hkd_span){colon + 1, (size_t)(e.p + e.n - colon - 1)},
                       &blocks, &inf2) || inf || inf2 || id > 1u << 20 ||
        (cls = hkd_idmap_get(&tl->class_ids, (unsigned)id)) == SIZE_MAX ||
        c->stamp[cls] == n + 1) {
        hkd_recs_unparsed(&c->r, "live= entry that is not ID:BLOCKS of a declared class, "
                                 "once (entry skipped)");
        return;
    }
    if (tl->nlive >= HKD_TL_MAX_LIVE) {
        over_cap(c, "live= entries", HKD_TL_MAX_LIVE);
        return;
    }
    c->stamp[cls] = n + 1;
    hkd_grow((void **)&tl->live, &tl->cap_live, tl->nlive, sizeof *tl->live);
    tl->live[tl->nlive++] = (struct hkd_tl_live){cls, blocks};
    p->nlive++;
}

static void live_list(struct ctx *c, struct hkd_tl_point *p, struct hkd_span v, size_t n)
{
    if (c->cap_stamp < c->tl->nclasses) {
        size_t old = c->cap_stamp;
        c->cap_stamp = c->tl->cap_classes;
        c->stamp = hkd_xrealloc(c->stamp, c->cap_stamp * sizeof *c->stamp);
        memset(c->stamp + old, 0, (c->cap_stamp - old) * sizeof *c->stamp);
    }
    p->live_at = c->tl->nlive;
    while (v.n) {
        const char *comma = memchr(v.p, ',', v.n);
        size_t len = comma ? (size_t)(comma - v.p) : v.n;
        live_entry(c, p, (struct hkd_span){v.p, len}, n);
        if (!comma)
            break;
        v.p = comma + 1;
        v.n -= len + 1;
    }
}

/* The keys of a sample or a sample_census into a point; false without a valid t_ms. */
static bool point(struct ctx *c, struct hkd_tl_point *p, const char *const *names, int count)
{
    memset(p, 0, sizeof *p);
    p->line = c->r.at.line;
    for (size_t i = 0; i < c->r.ntok; i++) {
        const struct hkd_tok *t = &c->r.tok[i];
        int k = hkd_name_index(names, count, t->key);
        if (k >= 0 && tok_u64(c, t, &p->v[k]))
            p->set |= 1u << k;
    }
    if (hkd_tl_has(p, 0))
        return true;
    hkd_recs_unparsed(&c->r, "point without a valid t_ms= (not used)");
    return false;
}

static void rec_sample(struct ctx *c)
{
    struct hkd_timeline *tl = c->tl;
    if (tl->nsamples >= HKD_TL_MAX_SAMPLES) {
        over_cap(c, "samples", HKD_TL_MAX_SAMPLES);
        return;
    }
    struct hkd_tl_point p;
    if (!point(c, &p, hkd_tl_sample_names, HKD_TS_COUNT))
        return;
    const struct hkd_tok *live = hkd_recs_find(&c->r, "live");
    if (live)
        live_list(c, &p, live->val, tl->nsamples);
    hkd_grow((void **)&tl->samples, &tl->cap_samples, tl->nsamples, sizeof *tl->samples);
    tl->samples[tl->nsamples++] = p;
}

static void rec_sample_census(struct ctx *c)
{
    struct hkd_timeline *tl = c->tl;
    if (tl->ncensus >= HKD_TL_MAX_SAMPLES) {
        over_cap(c, "census samples", HKD_TL_MAX_SAMPLES);
        return;
    }
    struct hkd_tl_point p;
    if (!point(c, &p, hkd_tl_census_names, HKD_TC_COUNT))
        return;
    hkd_grow((void **)&tl->census, &tl->cap_census, tl->ncensus, sizeof *tl->census);
    tl->census[tl->ncensus++] = p;
}

static void rec_event(struct ctx *c)
{
    struct hkd_timeline *tl = c->tl;
    uint64_t t;
    const struct hkd_tok *k = hkd_recs_find(&c->r, "kind");
    const struct hkd_tok *d = hkd_recs_find(&c->r, "dump");
    if (!need_key(c, "t_ms", &t))
        return;
    if (tl->nevents >= HKD_TL_MAX_EVENTS) {
        over_cap(c, "events", HKD_TL_MAX_EVENTS);
        return;
    }
    hkd_grow((void **)&tl->events, &tl->cap_events, tl->nevents, sizeof *tl->events);
    struct hkd_tl_event *e = &tl->events[tl->nevents++];
    e->t_ms = t;
    e->line = c->r.at.line;
    char *kind = k ? hkd_span_printable(k->val, sizeof e->kind - 4) : hkd_xstrdup("unknown");
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    free(kind);
    char *raw = d ? hkd_tok_dup(d) : hkd_xstrdup("none");
    e->dump = hkd_span_printable(hkd_span_of(raw), 300);
    free(raw);
}

static void rec_end(struct ctx *c)
{
    c->r.ended = true;
}

#define HKD_REC(n) static void call_##n(struct hkd_recs *r) { rec_##n(r->user); }
HK_TIMELINE_RECORDS(HKD_REC)
#undef HKD_REC
static const struct hkd_rec_type records[] = {
#define HKD_REC(n) {#n, call_##n},
    HK_TIMELINE_RECORDS(HKD_REC)
#undef HKD_REC
};
static const struct hkd_format format = {HK_TIMELINE_MAGIC, "timeline", HK_TIMELINE_VERSION,
                                         records, sizeof records / sizeof records[0]};

/* By time, then by line: the writer's order where times are equal. */
static int by_time(const void *a, const void *b)
{
    const struct hkd_tl_point *x = a, *y = b;
    if (x->v[0] != y->v[0])
        return x->v[0] < y->v[0] ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int event_by_time(const void *a, const void *b)
{
    const struct hkd_tl_event *x = a, *y = b;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

int hkd_timeline_parse(const struct hkd_input *in, struct hkd_model *m, char *err,
                       size_t errlen)
{
    unsigned version;
    if (hkd_format_version(in, &format, &version, err, errlen))
        return -1;
    int idx = hkd_model_add_input(m, in->name, false);
    m->inputs[idx].is_timeline = true;
    m->inputs[idx].version = version;
    hkd_grow((void **)&m->timelines, &m->cap_timelines, m->ntimelines, sizeof *m->timelines);
    struct hkd_timeline *tl = &m->timelines[m->ntimelines++];
    memset(tl, 0, sizeof *tl);
    tl->input = idx;
    struct ctx c = {.r = {.m = m}, .tl = tl};
    c.r.user = &c;
    hkd_recs_read(&c.r, in, &format, idx);
    free(c.stamp);
    /* Events are written when they happen and samples on the tick: do not rely on order. */
    if (tl->nsamples)
        qsort(tl->samples, tl->nsamples, sizeof *tl->samples, by_time);
    if (tl->ncensus)
        qsort(tl->census, tl->ncensus, sizeof *tl->census, by_time);
    if (tl->nevents)
        qsort(tl->events, tl->nevents, sizeof *tl->events, event_by_time);
    return 0;
}

uint64_t hkd_tl_class_bytes(const struct hkd_timeline *tl, const struct hkd_tl_point *p,
                            size_t cls)
{
    for (size_t i = 0; i < p->nlive; i++) {
        const struct hkd_tl_live *l = &tl->live[p->live_at + i];
        if (l->cls == cls)
            return hkd_mul_sat(l->blocks, tl->classes[cls].size);
    }
    return 0;
}

const struct hkd_timeline *hkd_model_timeline(const struct hkd_model *m, int idx)
{
    for (size_t i = 0; i < m->ntimelines; i++)
        if (m->timelines[i].input == idx)
            return &m->timelines[i];
    return NULL;
}

void hkd_timeline_free(struct hkd_timeline *tl)
{
    free(tl->version);
    free(tl->build);
    free(tl->exe);
    free(tl->classes);
    hkd_idmap_free(&tl->class_ids);
    free(tl->samples);
    free(tl->census);
    free(tl->live);
    for (size_t i = 0; i < tl->nevents; i++)
        free(tl->events[i].dump);
    free(tl->events);
    memset(tl, 0, sizeof *tl);
}
