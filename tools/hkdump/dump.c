/* hakmem dump files, version 1 (docs/dump-format.md). One record per line: a name, then
 * key=value pairs. Unknown keys are skipped and unknown records listed as unparsed (forward
 * compatible within a version); a newer version is refused; a file without "end" was cut off
 * while being written, so every complete line is read and the input is marked truncated. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC HK_DUMP_MAGIC " "

bool hkd_dump_detect(const struct hkd_input *in)
{
    return in->len >= strlen(MAGIC) && memcmp(in->data, MAGIC, strlen(MAGIC)) == 0;
}

struct ctx {
    struct hkd_model *m;
    struct hkd_snapshot *snap;
    struct hkd_loc at;
    struct hkd_span line;
    bool bad;
};

static void bad_value(struct ctx *c, struct hkd_span key)
{
    if (c->bad)
        return; /* one report per line */
    c->bad = true;
    char *k = hkd_span_printable(key, 40);
    char *why = hkd_xasprintf("bad value for key '%s'", k);
    hkd_model_unparsed(c->m, c->at, c->line, why);
    free(why);
    free(k);
}

/* Sets a field from a numeric token when key names one in the table. */
static bool num_field(struct ctx *c, const struct hkd_tok *t, const char *const *names, int count,
                      struct hkd_num *fields)
{
    int i = hkd_name_index(names, count, t->key);
    if (i < 0)
        return false;
    if (!hkd_num_parse(&fields[i], t->val, c->at))
        bad_value(c, t->key);
    return true;
}

static void copy_str(char *dst, size_t cap, struct hkd_span v)
{
    size_t n = v.n < cap - 1 ? v.n : cap - 1;
    memcpy(dst, v.p, n);
    dst[n] = '\0';
}

static char *dup_val(const struct hkd_tok *t)
{
    return t->quoted ? hkd_kv_unescape(t->val) : hkd_xstrndup(t->val.p, t->val.n);
}

static void set_str(char **dst, const struct hkd_tok *t)
{
    free(*dst);
    *dst = dup_val(t);
}

/* Finds "key" among the tokens of rest, for records that are keyed (class=, id=, ...). */
static bool find_key(struct hkd_span rest, const char *key, struct hkd_tok *out)
{
    struct hkd_tok t;
    bool bad = false;
    while (hkd_kv_next(&rest, &t, &bad))
        if (hkd_span_eq(t.key, key)) {
            *out = t;
            return true;
        }
    return false;
}

static bool key_id(struct ctx *c, struct hkd_span rest, const char *key, unsigned *id)
{
    struct hkd_tok t;
    uint64_t v;
    bool inf;
    if (!find_key(rest, key, &t) || !hkd_parse_u64(t.val, &v, &inf) || inf || v > 1u << 20) {
        if (!c->bad) {
            char *why = hkd_xasprintf("record without a valid %s=", key);
            hkd_model_unparsed(c->m, c->at, c->line, why);
            free(why);
            c->bad = true;
        }
        return false;
    }
    *id = (unsigned)v;
    return true;
}

static void parse_frames(struct hkd_stack *st, struct hkd_span v)
{
    size_t cap = 0;
    while (v.n) {
        const char *comma = memchr(v.p, ',', v.n);
        struct hkd_span f = {v.p, comma ? (size_t)(comma - v.p) : v.n};
        uint64_t a;
        bool inf;
        if (hkd_parse_u64(f, &a, &inf) && !inf) {
            hkd_grow((void **)&st->frames, &cap, st->nframes, sizeof *st->frames);
            st->frames[st->nframes++] = a;
        }
        if (!comma)
            break;
        v.n -= (size_t)(comma + 1 - v.p);
        v.p = comma + 1;
    }
}

/* One record. Returns false if the record name is unknown. */
static bool record(struct ctx *c, struct hkd_span name, struct hkd_span rest)
{
    struct hkd_snapshot *s = c->snap;
    struct hkd_tok t;
    struct hkd_span it = rest;
    bool bad = false;
    unsigned id;

    if (hkd_span_eq(name, "header")) {
        while (hkd_kv_next(&it, &t, &bad)) {
            if (hkd_span_eq(t.key, "version"))
                set_str(&s->version, &t);
            else if (hkd_span_eq(t.key, "build"))
                set_str(&s->build, &t);
            else if (hkd_span_eq(t.key, "reason"))
                set_str(&s->reason, &t);
            else if (hkd_span_eq(t.key, "exe"))
                set_str(&s->exe, &t);
            else
                num_field(c, &t, hkd_field_names, HKD_F_COUNT, s->f);
        }
    } else if (hkd_span_eq(name, "process") || hkd_span_eq(name, "limits")) {
        while (hkd_kv_next(&it, &t, &bad))
            num_field(c, &t, hkd_field_names, HKD_F_COUNT, s->f);
        if (hkd_span_eq(name, "limits")) {
            s->has_limits = true;
            free(s->limits_quote);
            s->limits_quote = hkd_span_printable(c->line, 300);
        }
    } else if (hkd_span_eq(name, "option")) {
        struct hkd_tok n, v;
        if (find_key(rest, "name", &n)) {
            struct hkd_model *m = c->m;
            hkd_grow((void **)&m->options, &m->cap_options, m->noptions, sizeof *m->options);
            struct hkd_option *o = &m->options[m->noptions++];
            o->name = dup_val(&n);
            o->value = find_key(rest, "value", &v) ? dup_val(&v) : hkd_xstrdup("");
        }
    } else if (hkd_span_eq(name, "class")) {
        if (!key_id(c, rest, "id", &id))
            return true;
        struct hkd_class_row *r = hkd_snap_class(s, id);
        while (hkd_kv_next(&it, &t, &bad))
            num_field(c, &t, hkd_class_field_names, HKD_C_COUNT, r->f);
    } else if (hkd_span_eq(name, "tier")) {
        struct hkd_tok n;
        int ti = find_key(rest, "name", &n) ? hkd_name_index(hkd_tier_names, HKD_TIER_COUNT, n.val)
                                            : -1;
        if (ti < 0) {
            hkd_model_unparsed(c->m, c->at, c->line, "tier record without a known name=");
            return true;
        }
        while (hkd_kv_next(&it, &t, &bad))
            num_field(c, &t, hkd_tier_field_names, HKD_T_COUNT, s->tier[ti]);
    } else if (hkd_span_eq(name, "census") || hkd_span_eq(name, "census_thread")) {
        bool thr = hkd_span_eq(name, "census_thread");
        if (!key_id(c, rest, thr ? "thread" : "class", &id))
            return true;
        struct hkd_census_row *r = hkd_snap_census(s, id, thr);
        r->at = c->at;
        while (hkd_kv_next(&it, &t, &bad)) {
            if (hkd_span_eq(t.key, "state"))
                copy_str(r->state, sizeof r->state, t.val);
            else
                num_field(c, &t, hkd_census_field_names, HKD_Z_COUNT, r->f);
        }
    } else if (hkd_span_eq(name, "event")) {
        struct hkd_tok k;
        char kind[16] = "unknown";
        if (find_key(rest, "kind", &k))
            copy_str(kind, sizeof kind, k.val);
        struct hkd_event *e = hkd_snap_event(s, kind, c->at);
        e->quote = hkd_span_printable(c->line, 300);
        while (hkd_kv_next(&it, &t, &bad)) {
            if (hkd_span_eq(t.key, "tier"))
                copy_str(e->tier, sizeof e->tier, t.val);
            else if (hkd_span_eq(t.key, "name"))
                copy_str(e->name, sizeof e->name, t.val);
            else
                num_field(c, &t, hkd_event_field_names, HKD_E_COUNT, e->f);
        }
        if (strcmp(kind, "oom") == 0)
            s->has_oom = true;
    } else if (hkd_span_eq(name, "misuse")) {
        struct hkd_misuse *x = hkd_model_misuse(c->m, c->at);
        x->quote = hkd_span_printable(c->line, 300);
        snprintf(x->kind, sizeof x->kind, "unknown");
        while (hkd_kv_next(&it, &t, &bad)) {
            if (hkd_span_eq(t.key, "kind"))
                copy_str(x->kind, sizeof x->kind, t.val);
            else if (hkd_span_eq(t.key, "state"))
                copy_str(x->state, sizeof x->state, t.val);
            else if (hkd_span_eq(t.key, "addr") && !hkd_num_parse(&x->addr, t.val, c->at))
                bad_value(c, t.key);
            else if (hkd_span_eq(t.key, "class") && !hkd_num_parse(&x->cls, t.val, c->at))
                bad_value(c, t.key);
            else if (hkd_span_eq(t.key, "size") && !hkd_num_parse(&x->size, t.val, c->at))
                bad_value(c, t.key);
            else if (hkd_span_eq(t.key, "thread") && !hkd_num_parse(&x->thread, t.val, c->at))
                bad_value(c, t.key);
            else if (hkd_span_eq(t.key, "alloc_thread") &&
                     !hkd_num_parse(&x->alloc_thread, t.val, c->at))
                bad_value(c, t.key);
        }
    } else if (hkd_span_eq(name, "module")) {
        struct hkd_module mod = {0};
        if (!key_id(c, rest, "id", &mod.id))
            return true;
        while (hkd_kv_next(&it, &t, &bad)) {
            bool inf = false;
            if (hkd_span_eq(t.key, "base") && !hkd_parse_u64(t.val, &mod.base, &inf))
                bad_value(c, t.key);
            else if (hkd_span_eq(t.key, "end") && !hkd_parse_u64(t.val, &mod.end, &inf))
                bad_value(c, t.key);
            else if (hkd_span_eq(t.key, "path"))
                set_str(&mod.path, &t);
        }
        if (!mod.path || mod.end <= mod.base) {
            hkd_model_unparsed(c->m, c->at, c->line, "module without path= or base < end");
            free(mod.path);
            return true;
        }
        struct hkd_model *m = c->m;
        hkd_grow((void **)&m->modules, &m->cap_modules, m->nmodules, sizeof *m->modules);
        m->modules[m->nmodules++] = mod;
    } else if (hkd_span_eq(name, "stack")) {
        if (!key_id(c, rest, "id", &id))
            return true;
        struct hkd_stack *st = hkd_model_stack(c->m, c->at);
        st->id = id;
        snprintf(st->kind, sizeof st->kind, "lost");
        while (hkd_kv_next(&it, &t, &bad)) {
            bool inf = false;
            if (hkd_span_eq(t.key, "blocks") && !hkd_parse_u64(t.val, &st->blocks, &inf))
                bad_value(c, t.key);
            else if (hkd_span_eq(t.key, "bytes") && !hkd_parse_u64(t.val, &st->bytes, &inf))
                bad_value(c, t.key);
            else if (hkd_span_eq(t.key, "kind"))
                copy_str(st->kind, sizeof st->kind, t.val);
            else if (hkd_span_eq(t.key, "frames"))
                parse_frames(st, t.val);
        }
    } else if (hkd_span_eq(name, "superslab_table")) {
        /* A summary for people reading the dump; the process record carries what the rules
         * use. Known, so it is not listed as unparsed. */
    } else {
        return false;
    }
    if (bad && !c->bad)
        hkd_model_unparsed(c->m, c->at, c->line, "unterminated quoted value");
    return true;
}

int hkd_dump_parse(const struct hkd_input *in, struct hkd_model *m, char *err, size_t errlen)
{
    struct hkd_lines it;
    struct hkd_span line;
    bool complete;
    hkd_lines_init(&it, in);
    hkd_lines_next(&it, &line, &complete);

    struct hkd_span vs = {line.p + strlen(MAGIC), line.n - strlen(MAGIC)};
    uint64_t version;
    bool inf;
    if (!complete || !hkd_parse_u64(hkd_span_trim(vs), &version, &inf) || inf || version == 0) {
        snprintf(err, errlen, "not a valid dump: bad first line (expected 'hakmem-dump %d')",
                 HK_DUMP_VERSION);
        return -1;
    }
    if (version > HK_DUMP_VERSION) {
        snprintf(err, errlen, "dump version %llu is newer than this hkdump (knows %d)",
                 (unsigned long long)version, HK_DUMP_VERSION);
        return -1;
    }

    int idx = hkd_model_add_input(m, in->name, true);
    struct hkd_input_info *ii = &m->inputs[idx];
    ii->version = (unsigned)version;
    struct ctx c = {.m = m, .at = {idx, 1}};
    c.snap = hkd_model_new_snapshot(m, c.at);
    bool ended = false;
    unsigned records = 0;

    while (hkd_lines_next(&it, &line, &complete)) {
        c.at.line = it.lineno;
        c.line = line;
        c.bad = false;
        if (!complete) {
            /* Cut off mid-line: the record cannot be trusted. */
            m->inputs[idx].partial_bytes = line.n;
            break;
        }
        if (hkd_span_trim(line).n == 0)
            continue;
        if (ended) {
            hkd_model_unparsed(m, c.at, line, "data after the 'end' record");
            continue;
        }
        struct hkd_span rest = line;
        struct hkd_tok name;
        bool bad = false;
        hkd_kv_next(&rest, &name, &bad);
        if (name.key.n) {
            hkd_model_unparsed(m, c.at, line, "line does not start with a record name");
            continue;
        }
        if (hkd_span_eq(name.val, "end")) {
            ended = true;
            continue;
        }
        if (record(&c, name.val, rest)) {
            records++;
        } else {
            char *n = hkd_span_printable(name.val, 40);
            char *why = hkd_xasprintf("unknown record '%s' (ignored)", n);
            hkd_model_unparsed(m, c.at, line, why);
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
