/* hakmem dump files, version 1 (docs/dump-format.md). One record per line: a name, then
 * key=value pairs. Unknown keys are skipped and unknown records listed as unparsed (forward
 * compatible within a version); a newer version is refused; a file without "end" was cut off
 * while being written, so every complete line is read and the input is marked truncated. */
#include "hkdump.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const struct hkd_format format;

bool hkd_dump_detect(const struct hkd_input *in)
{
    return hkd_format_detect(in, &format);
}

struct ctx {
    struct hkd_recs r;         /* the line being read (records.c); r.user is this ctx */
    struct hkd_snapshot *snap;
};

static void num_fields(struct ctx *c, const char *const *names, int count,
                       struct hkd_num *fields)
{
    for (size_t i = 0; i < c->r.ntok; i++)
        hkd_recs_num(&c->r, &c->r.tok[i], names, count, fields);
}

static void u64_value(struct ctx *c, const struct hkd_tok *t, uint64_t *out)
{
    bool inf;
    if (!hkd_parse_u64(t->val, out, &inf))
        hkd_recs_bad_value(&c->r, t->key);
}

static void copy_str(char *dst, size_t cap, struct hkd_span v)
{
    size_t n = v.n < cap - 1 ? v.n : cap - 1;
    memcpy(dst, v.p, n);
    dst[n] = '\0';
}

static void set_str(char **dst, const struct hkd_tok *t)
{
    free(*dst);
    *dst = hkd_tok_dup(t);
}

static bool key_id(struct ctx *c, const char *key, unsigned *id)
{
    const struct hkd_tok *t = hkd_recs_find(&c->r, key);
    uint64_t v;
    bool inf;
    if (!t || !hkd_parse_u64(t->val, &v, &inf) || inf || v > 1u << 20) {
        char *why = hkd_xasprintf("record without a valid %s=", key);
        hkd_recs_unparsed(&c->r, why);
        free(why);
        return false;
    }
    *id = (unsigned)v;
    return true;
}

/* "0x..,0x..": the addresses into *frames (*n of them, *cap allocated). */
static void parse_frames(uint64_t **frames, size_t *n, size_t *cap, struct hkd_span v)
{
    while (v.n) {
        const char *comma = memchr(v.p, ',', v.n);
        struct hkd_span f = {v.p, comma ? (size_t)(comma - v.p) : v.n};
        uint64_t a;
        bool inf;
        if (hkd_parse_u64(f, &a, &inf) && !inf) {
            hkd_grow((void **)frames, cap, *n, sizeof **frames);
            (*frames)[(*n)++] = a;
        }
        if (!comma)
            break;
        v.n -= (size_t)(comma + 1 - v.p);
        v.p = comma + 1;
    }
}

/* ---- one handler per record of diag/hk_dump_format.h (HK_DUMP_RECORDS) ---- */

static void rec_header(struct ctx *c)
{
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {{"version", offsetof(struct hkd_snapshot, version)},
                {"build", offsetof(struct hkd_snapshot, build)},
                {"reason", offsetof(struct hkd_snapshot, reason)},
                {"exe", offsetof(struct hkd_snapshot, exe)}};
    for (size_t i = 0; i < c->r.ntok; i++) {
        const struct hkd_tok *t = &c->r.tok[i];
        size_t k = 0;
        while (k < sizeof strs / sizeof strs[0] && !hkd_span_eq(t->key, strs[k].key))
            k++;
        if (k < sizeof strs / sizeof strs[0])
            set_str((char **)((char *)c->snap + strs[k].off), t);
        else
            hkd_recs_num(&c->r, t, hkd_field_names, HKD_F_COUNT, c->snap->f);
    }
}

static void rec_option(struct ctx *c)
{
    const struct hkd_tok *n = hkd_recs_find(&c->r, "name");
    const struct hkd_tok *v = hkd_recs_find(&c->r, "value");
    if (n)
        hkd_model_option(c->r.m, hkd_tok_dup(n), v ? hkd_tok_dup(v) : hkd_xstrdup(""));
}

static void rec_process(struct ctx *c)
{
    num_fields(c, hkd_field_names, HKD_F_COUNT, c->snap->f);
}

static void rec_limits(struct ctx *c)
{
    num_fields(c, hkd_field_names, HKD_F_COUNT, c->snap->f);
    c->snap->has_limits = true;
    free(c->snap->limits_quote);
    c->snap->limits_quote = hkd_span_printable(c->r.line, 300);
}

static void rec_class(struct ctx *c)
{
    unsigned id;
    if (key_id(c, "id", &id))
        num_fields(c, hkd_class_field_names, HKD_C_COUNT, hkd_snap_class(c->snap, id)->f);
}

static void rec_tier(struct ctx *c)
{
    const struct hkd_tok *n = hkd_recs_find(&c->r, "name");
    int ti = n ? hkd_name_index(hkd_tier_names, HKD_TIER_COUNT, n->val) : -1;
    if (ti < 0)
        hkd_recs_unparsed(&c->r, "tier record without a known name=");
    else
        num_fields(c, hkd_tier_field_names, HKD_T_COUNT, c->snap->tier[ti]);
}

/* A summary for people reading the dump; the process record carries what the rules use. */
static void rec_superslab_table(struct ctx *c)
{
    (void)c;
}

static void census(struct ctx *c, bool thread)
{
    unsigned id;
    if (!key_id(c, thread ? "thread" : "class", &id))
        return;
    struct hkd_census_row *r = hkd_snap_census(c->snap, id, thread);
    r->at = c->r.at;
    for (size_t i = 0; i < c->r.ntok; i++) {
        if (hkd_span_eq(c->r.tok[i].key, "state"))
            copy_str(r->state, sizeof r->state, c->r.tok[i].val);
        else
            hkd_recs_num(&c->r, &c->r.tok[i], hkd_census_field_names, HKD_Z_COUNT, r->f);
    }
}

static void rec_census(struct ctx *c)
{
    census(c, false);
}

static void rec_census_thread(struct ctx *c)
{
    census(c, true);
}

static void rec_event(struct ctx *c)
{
    const struct hkd_tok *k = hkd_recs_find(&c->r, "kind");
    char kind[16] = "unknown";
    if (k)
        copy_str(kind, sizeof kind, k->val);
    struct hkd_event *e = hkd_snap_event(c->snap, kind, c->r.at);
    e->quote = hkd_span_printable(c->r.line, 300);
    for (size_t i = 0; i < c->r.ntok; i++) {
        const struct hkd_tok *t = &c->r.tok[i];
        if (hkd_span_eq(t->key, "tier"))
            copy_str(e->tier, sizeof e->tier, t->val);
        else if (hkd_span_eq(t->key, "name"))
            copy_str(e->name, sizeof e->name, t->val);
        else if (hkd_span_eq(t->key, "frames"))
            parse_frames(&e->frames, &e->nframes, &e->cap_frames, t->val);
        else
            hkd_recs_num(&c->r, t, hkd_event_field_names, HKD_E_COUNT, e->f);
    }
    if (strcmp(kind, "oom") == 0)
        c->snap->has_oom = true;
}

static void rec_misuse(struct ctx *c)
{
    static const struct {
        const char *key;
        size_t off;
    } nums[] = {{"addr", offsetof(struct hkd_misuse, addr)},
                {"class", offsetof(struct hkd_misuse, cls)},
                {"size", offsetof(struct hkd_misuse, size)},
                {"thread", offsetof(struct hkd_misuse, thread)},
                {"alloc_thread", offsetof(struct hkd_misuse, alloc_thread)}};
    struct hkd_misuse *x = hkd_model_misuse(c->r.m, c->r.at);
    x->quote = hkd_span_printable(c->r.line, 300);
    snprintf(x->kind, sizeof x->kind, "unknown");
    for (size_t i = 0; i < c->r.ntok; i++) {
        const struct hkd_tok *t = &c->r.tok[i];
        if (hkd_span_eq(t->key, "kind"))
            copy_str(x->kind, sizeof x->kind, t->val);
        else if (hkd_span_eq(t->key, "state"))
            copy_str(x->state, sizeof x->state, t->val);
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
            if (hkd_span_eq(t->key, nums[k].key) &&
                !hkd_num_parse((struct hkd_num *)((char *)x + nums[k].off), t->val, c->r.at))
                hkd_recs_bad_value(&c->r, t->key);
    }
}

static void rec_module(struct ctx *c)
{
    struct hkd_module mod = {0};
    if (!key_id(c, "id", &mod.id))
        return;
    for (size_t i = 0; i < c->r.ntok; i++) {
        const struct hkd_tok *t = &c->r.tok[i];
        if (hkd_span_eq(t->key, "base"))
            u64_value(c, t, &mod.base);
        else if (hkd_span_eq(t->key, "end"))
            u64_value(c, t, &mod.end);
        else if (hkd_span_eq(t->key, "path"))
            set_str(&mod.path, t);
    }
    if (!mod.path || mod.end <= mod.base) {
        hkd_recs_unparsed(&c->r, "module without path= or base < end");
        free(mod.path);
        return;
    }
    struct hkd_model *m = c->r.m;
    hkd_grow((void **)&m->modules, &m->cap_modules, m->nmodules, sizeof *m->modules);
    m->modules[m->nmodules++] = mod;
}

static void rec_stack(struct ctx *c)
{
    unsigned id;
    if (!key_id(c, "id", &id))
        return;
    struct hkd_stack *st = hkd_model_stack(c->r.m, c->r.at);
    st->id = id;
    snprintf(st->kind, sizeof st->kind, "lost");
    for (size_t i = 0; i < c->r.ntok; i++) {
        const struct hkd_tok *t = &c->r.tok[i];
        if (hkd_span_eq(t->key, "blocks"))
            u64_value(c, t, &st->blocks);
        else if (hkd_span_eq(t->key, "bytes"))
            u64_value(c, t, &st->bytes);
        else if (hkd_span_eq(t->key, "held_blocks"))
            u64_value(c, t, &st->held_blocks);
        else if (hkd_span_eq(t->key, "held_bytes"))
            u64_value(c, t, &st->held_bytes);
        else if (hkd_span_eq(t->key, "kind"))
            copy_str(st->kind, sizeof st->kind, t->val);
        else if (hkd_span_eq(t->key, "frames"))
            parse_frames(&st->frames, &st->nframes, &st->cap_frames, t->val);
    }
}

static void rec_end(struct ctx *c)
{
    c->r.ended = true;
}

/* The table is made from the format header's list: a record added there without a handler
 * here does not compile. Each entry calls its handler with the dump's context. */
#define HKD_REC(n) static void call_##n(struct hkd_recs *r) { rec_##n(r->user); }
HK_DUMP_RECORDS(HKD_REC)
#undef HKD_REC
static const struct hkd_rec_type records[] = {
#define HKD_REC(n) {#n, call_##n},
    HK_DUMP_RECORDS(HKD_REC)
#undef HKD_REC
};
static const struct hkd_format format = {HK_DUMP_MAGIC, "dump", HK_DUMP_VERSION, records,
                                         sizeof records / sizeof records[0]};

int hkd_dump_parse(const struct hkd_input *in, struct hkd_model *m, char *err, size_t errlen)
{
    unsigned version;
    if (hkd_format_version(in, &format, &version, err, errlen))
        return -1;
    int idx = hkd_model_add_input(m, in->name, true);
    m->inputs[idx].version = version;
    struct ctx c = {.r = {.m = m, .at = {idx, 1}}};
    c.r.user = &c;
    c.snap = hkd_model_new_snapshot(m, c.r.at);
    hkd_recs_read(&c.r, in, &format, idx);
    return 0;
}
