/* hakmem dump files, version 1 (docs/dump-format.md). One record per line: a name, then
 * key=value pairs. Unknown keys are skipped and unknown records listed as unparsed (forward
 * compatible within a version); a newer version is refused; a file without "end" was cut off
 * while being written, so every complete line is read and the input is marked truncated. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "hakmem-dump "

bool hk_dump_detect(const struct hk_input *in)
{
    return in->len >= strlen(MAGIC) && memcmp(in->data, MAGIC, strlen(MAGIC)) == 0;
}

struct ctx {
    struct hk_model *m;
    struct hk_snapshot *snap;
    struct hk_loc at;
    struct hk_span line;
    bool bad;
};

static void bad_value(struct ctx *c, struct hk_span key)
{
    if (c->bad)
        return; /* one report per line */
    c->bad = true;
    char *k = hk_span_printable(key, 40);
    char *why = hk_xasprintf("bad value for key '%s'", k);
    hk_model_unparsed(c->m, c->at, c->line, why);
    free(why);
    free(k);
}

/* Sets a field from a numeric token when key names one in the table. */
static bool num_field(struct ctx *c, const struct hk_tok *t, const char *const *names, int count,
                      struct hk_num *fields)
{
    int i = hk_name_index(names, count, t->key);
    if (i < 0)
        return false;
    if (!hk_num_parse(&fields[i], t->val, c->at))
        bad_value(c, t->key);
    return true;
}

static void copy_str(char *dst, size_t cap, struct hk_span v)
{
    size_t n = v.n < cap - 1 ? v.n : cap - 1;
    memcpy(dst, v.p, n);
    dst[n] = '\0';
}

static char *dup_val(const struct hk_tok *t)
{
    return t->quoted ? hk_kv_unescape(t->val) : hk_xstrndup(t->val.p, t->val.n);
}

static void set_str(char **dst, const struct hk_tok *t)
{
    free(*dst);
    *dst = dup_val(t);
}

/* Finds "key" among the tokens of rest, for records that are keyed (class=, id=, ...). */
static bool find_key(struct hk_span rest, const char *key, struct hk_tok *out)
{
    struct hk_tok t;
    bool bad = false;
    while (hk_kv_next(&rest, &t, &bad))
        if (hk_span_eq(t.key, key)) {
            *out = t;
            return true;
        }
    return false;
}

static bool key_id(struct ctx *c, struct hk_span rest, const char *key, unsigned *id)
{
    struct hk_tok t;
    uint64_t v;
    bool inf;
    if (!find_key(rest, key, &t) || !hk_parse_u64(t.val, &v, &inf) || inf || v > 1u << 20) {
        if (!c->bad) {
            char *why = hk_xasprintf("record without a valid %s=", key);
            hk_model_unparsed(c->m, c->at, c->line, why);
            free(why);
            c->bad = true;
        }
        return false;
    }
    *id = (unsigned)v;
    return true;
}

static void parse_frames(struct hk_stack *st, struct hk_span v)
{
    size_t cap = 0;
    while (v.n) {
        const char *comma = memchr(v.p, ',', v.n);
        struct hk_span f = {v.p, comma ? (size_t)(comma - v.p) : v.n};
        uint64_t a;
        bool inf;
        if (hk_parse_u64(f, &a, &inf) && !inf) {
            hk_grow((void **)&st->frames, &cap, st->nframes, sizeof *st->frames);
            st->frames[st->nframes++] = a;
        }
        if (!comma)
            break;
        v.n -= (size_t)(comma + 1 - v.p);
        v.p = comma + 1;
    }
}

/* One record. Returns false if the record name is unknown. */
static bool record(struct ctx *c, struct hk_span name, struct hk_span rest)
{
    struct hk_snapshot *s = c->snap;
    struct hk_tok t;
    struct hk_span it = rest;
    bool bad = false;
    unsigned id;

    if (hk_span_eq(name, "header")) {
        while (hk_kv_next(&it, &t, &bad)) {
            if (hk_span_eq(t.key, "version"))
                set_str(&s->version, &t);
            else if (hk_span_eq(t.key, "build"))
                set_str(&s->build, &t);
            else if (hk_span_eq(t.key, "reason"))
                set_str(&s->reason, &t);
            else if (hk_span_eq(t.key, "exe"))
                set_str(&s->exe, &t);
            else
                num_field(c, &t, hk_field_names, HK_F_COUNT, s->f);
        }
    } else if (hk_span_eq(name, "process") || hk_span_eq(name, "limits")) {
        while (hk_kv_next(&it, &t, &bad))
            num_field(c, &t, hk_field_names, HK_F_COUNT, s->f);
        if (hk_span_eq(name, "limits")) {
            s->has_limits = true;
            free(s->limits_quote);
            s->limits_quote = hk_span_printable(c->line, 300);
        }
    } else if (hk_span_eq(name, "option")) {
        struct hk_tok n, v;
        if (find_key(rest, "name", &n)) {
            struct hk_model *m = c->m;
            hk_grow((void **)&m->options, &m->cap_options, m->noptions, sizeof *m->options);
            struct hk_option *o = &m->options[m->noptions++];
            o->name = dup_val(&n);
            o->value = find_key(rest, "value", &v) ? dup_val(&v) : hk_xstrdup("");
        }
    } else if (hk_span_eq(name, "class")) {
        if (!key_id(c, rest, "id", &id))
            return true;
        struct hk_class_row *r = hk_snap_class(s, id);
        while (hk_kv_next(&it, &t, &bad))
            num_field(c, &t, hk_class_field_names, HK_C_COUNT, r->f);
    } else if (hk_span_eq(name, "tier")) {
        struct hk_tok n;
        int ti = find_key(rest, "name", &n) ? hk_name_index(hk_tier_names, HK_TIER_COUNT, n.val)
                                            : -1;
        if (ti < 0) {
            hk_model_unparsed(c->m, c->at, c->line, "tier record without a known name=");
            return true;
        }
        while (hk_kv_next(&it, &t, &bad))
            num_field(c, &t, hk_tier_field_names, HK_T_COUNT, s->tier[ti]);
    } else if (hk_span_eq(name, "census") || hk_span_eq(name, "census_thread")) {
        bool thr = hk_span_eq(name, "census_thread");
        if (!key_id(c, rest, thr ? "thread" : "class", &id))
            return true;
        struct hk_census_row *r = hk_snap_census(s, id, thr);
        r->at = c->at;
        while (hk_kv_next(&it, &t, &bad)) {
            if (hk_span_eq(t.key, "state"))
                copy_str(r->state, sizeof r->state, t.val);
            else
                num_field(c, &t, hk_census_field_names, HK_Z_COUNT, r->f);
        }
    } else if (hk_span_eq(name, "event")) {
        struct hk_tok k;
        char kind[16] = "unknown";
        if (find_key(rest, "kind", &k))
            copy_str(kind, sizeof kind, k.val);
        struct hk_event *e = hk_snap_event(s, kind, c->at);
        e->quote = hk_span_printable(c->line, 300);
        while (hk_kv_next(&it, &t, &bad)) {
            if (hk_span_eq(t.key, "tier"))
                copy_str(e->tier, sizeof e->tier, t.val);
            else if (hk_span_eq(t.key, "name"))
                copy_str(e->name, sizeof e->name, t.val);
            else
                num_field(c, &t, hk_event_field_names, HK_E_COUNT, e->f);
        }
        if (strcmp(kind, "oom") == 0)
            s->has_oom = true;
    } else if (hk_span_eq(name, "misuse")) {
        struct hk_misuse *x = hk_model_misuse(c->m, c->at);
        x->quote = hk_span_printable(c->line, 300);
        snprintf(x->kind, sizeof x->kind, "unknown");
        while (hk_kv_next(&it, &t, &bad)) {
            if (hk_span_eq(t.key, "kind"))
                copy_str(x->kind, sizeof x->kind, t.val);
            else if (hk_span_eq(t.key, "state"))
                copy_str(x->state, sizeof x->state, t.val);
            else if (hk_span_eq(t.key, "addr") && !hk_num_parse(&x->addr, t.val, c->at))
                bad_value(c, t.key);
            else if (hk_span_eq(t.key, "class") && !hk_num_parse(&x->cls, t.val, c->at))
                bad_value(c, t.key);
            else if (hk_span_eq(t.key, "size") && !hk_num_parse(&x->size, t.val, c->at))
                bad_value(c, t.key);
            else if (hk_span_eq(t.key, "thread") && !hk_num_parse(&x->thread, t.val, c->at))
                bad_value(c, t.key);
            else if (hk_span_eq(t.key, "alloc_thread") &&
                     !hk_num_parse(&x->alloc_thread, t.val, c->at))
                bad_value(c, t.key);
        }
    } else if (hk_span_eq(name, "module")) {
        struct hk_module mod = {0};
        if (!key_id(c, rest, "id", &mod.id))
            return true;
        while (hk_kv_next(&it, &t, &bad)) {
            bool inf = false;
            if (hk_span_eq(t.key, "base") && !hk_parse_u64(t.val, &mod.base, &inf))
                bad_value(c, t.key);
            else if (hk_span_eq(t.key, "end") && !hk_parse_u64(t.val, &mod.end, &inf))
                bad_value(c, t.key);
            else if (hk_span_eq(t.key, "path"))
                set_str(&mod.path, &t);
        }
        if (!mod.path || mod.end <= mod.base) {
            hk_model_unparsed(c->m, c->at, c->line, "module without path= or base < end");
            free(mod.path);
            return true;
        }
        struct hk_model *m = c->m;
        hk_grow((void **)&m->modules, &m->cap_modules, m->nmodules, sizeof *m->modules);
        m->modules[m->nmodules++] = mod;
    } else if (hk_span_eq(name, "stack")) {
        if (!key_id(c, rest, "id", &id))
            return true;
        struct hk_stack *st = hk_model_stack(c->m, c->at);
        st->id = id;
        snprintf(st->kind, sizeof st->kind, "lost");
        while (hk_kv_next(&it, &t, &bad)) {
            bool inf = false;
            if (hk_span_eq(t.key, "blocks") && !hk_parse_u64(t.val, &st->blocks, &inf))
                bad_value(c, t.key);
            else if (hk_span_eq(t.key, "bytes") && !hk_parse_u64(t.val, &st->bytes, &inf))
                bad_value(c, t.key);
            else if (hk_span_eq(t.key, "kind"))
                copy_str(st->kind, sizeof st->kind, t.val);
            else if (hk_span_eq(t.key, "frames"))
                parse_frames(st, t.val);
        }
    } else if (hk_span_eq(name, "superslab_table")) {
        /* A summary for people reading the dump; the process record carries what the rules
         * use. Known, so it is not listed as unparsed. */
    } else {
        return false;
    }
    if (bad && !c->bad)
        hk_model_unparsed(c->m, c->at, c->line, "unterminated quoted value");
    return true;
}

int hk_dump_parse(const struct hk_input *in, struct hk_model *m, char *err, size_t errlen)
{
    struct hk_lines it;
    struct hk_span line;
    bool complete;
    hk_lines_init(&it, in);
    hk_lines_next(&it, &line, &complete);

    struct hk_span vs = {line.p + strlen(MAGIC), line.n - strlen(MAGIC)};
    uint64_t version;
    bool inf;
    if (!complete || !hk_parse_u64(hk_span_trim(vs), &version, &inf) || inf || version == 0) {
        snprintf(err, errlen, "not a valid dump: bad first line (expected 'hakmem-dump %d')",
                 HK_DUMP_VERSION);
        return -1;
    }
    if (version > HK_DUMP_VERSION) {
        snprintf(err, errlen, "dump version %llu is newer than this hkdump (knows %d)",
                 (unsigned long long)version, HK_DUMP_VERSION);
        return -1;
    }

    int idx = hk_model_add_input(m, in->name, true);
    struct hk_input_info *ii = &m->inputs[idx];
    ii->version = (unsigned)version;
    struct ctx c = {.m = m, .at = {idx, 1}};
    c.snap = hk_model_new_snapshot(m, c.at);
    bool ended = false;
    unsigned records = 0;

    while (hk_lines_next(&it, &line, &complete)) {
        c.at.line = it.lineno;
        c.line = line;
        c.bad = false;
        if (!complete) {
            /* Cut off mid-line: the record cannot be trusted. */
            m->inputs[idx].partial_bytes = line.n;
            break;
        }
        if (hk_span_trim(line).n == 0)
            continue;
        if (ended) {
            hk_model_unparsed(m, c.at, line, "data after the 'end' record");
            continue;
        }
        struct hk_span rest = line;
        struct hk_tok name;
        bool bad = false;
        hk_kv_next(&rest, &name, &bad);
        if (name.key.n) {
            hk_model_unparsed(m, c.at, line, "line does not start with a record name");
            continue;
        }
        if (hk_span_eq(name.val, "end")) {
            ended = true;
            continue;
        }
        if (record(&c, name.val, rest)) {
            records++;
        } else {
            char *n = hk_span_printable(name.val, 40);
            char *why = hk_xasprintf("unknown record '%s' (ignored)", n);
            hk_model_unparsed(m, c.at, line, why);
            free(why);
            free(n);
        }
    }
    ii = &m->inputs[idx];
    ii->lines = it.lineno;
    ii->records = records;
    ii->truncated = !ended;
    return 0;
}
