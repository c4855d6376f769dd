/* hakmem dump files, version 1 (docs/dump-format.md). One record per line: a name, then
 * key=value pairs. Unknown keys are skipped and unknown records listed as unparsed (forward
 * compatible within a version); a newer version is refused; a file without "end" was cut off
 * while being written, so every complete line is read and the input is marked truncated. */
#include "hkdump.h"

#include <stddef.h>
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
    struct hkd_tok *tok;       /* the record's key=value tokens, after its name */
    size_t ntok, cap_tok;
    struct hkd_span *keys;     /* their keys, sorted, to find duplicates */
    size_t cap_keys;
    bool bad;                  /* the line was already reported */
    bool ended;                /* the 'end' record was read */
};

static void unparsed(struct ctx *c, const char *why)
{
    if (c->bad)
        return; /* one report per line */
    c->bad = true;
    hkd_model_unparsed(c->m, c->at, c->line, why);
}

static void bad_value(struct ctx *c, struct hkd_span key)
{
    char *k = hkd_span_printable(key, 40);
    char *why = hkd_xasprintf("bad value for key '%s'", k);
    unparsed(c, why);
    free(why);
    free(k);
}

/* Sets a field from a numeric token when key names one in the table. */
static bool num_field(struct ctx *c, const struct hkd_tok *t, const char *const *names,
                      int count, struct hkd_num *fields)
{
    int i = hkd_name_index(names, count, t->key);
    if (i < 0)
        return false;
    if (!hkd_num_parse(&fields[i], t->val, c->at))
        bad_value(c, t->key);
    return true;
}

static void num_fields(struct ctx *c, const char *const *names, int count,
                       struct hkd_num *fields)
{
    for (size_t i = 0; i < c->ntok; i++)
        num_field(c, &c->tok[i], names, count, fields);
}

static void u64_value(struct ctx *c, const struct hkd_tok *t, uint64_t *out)
{
    bool inf;
    if (!hkd_parse_u64(t->val, out, &inf))
        bad_value(c, t->key);
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

/* The token of "key", for records that are keyed (class=, id=, ...). */
static const struct hkd_tok *find_key(const struct ctx *c, const char *key)
{
    for (size_t i = 0; i < c->ntok; i++)
        if (hkd_span_eq(c->tok[i].key, key))
            return &c->tok[i];
    return NULL;
}

static bool key_id(struct ctx *c, const char *key, unsigned *id)
{
    const struct hkd_tok *t = find_key(c, key);
    uint64_t v;
    bool inf;
    if (!t || !hkd_parse_u64(t->val, &v, &inf) || inf || v > 1u << 20) {
        char *why = hkd_xasprintf("record without a valid %s=", key);
        unparsed(c, why);
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
    for (size_t i = 0; i < c->ntok; i++) {
        const struct hkd_tok *t = &c->tok[i];
        size_t k = 0;
        while (k < sizeof strs / sizeof strs[0] && !hkd_span_eq(t->key, strs[k].key))
            k++;
        if (k < sizeof strs / sizeof strs[0])
            set_str((char **)((char *)c->snap + strs[k].off), t);
        else
            num_field(c, t, hkd_field_names, HKD_F_COUNT, c->snap->f);
    }
}

static void rec_option(struct ctx *c)
{
    const struct hkd_tok *n = find_key(c, "name"), *v = find_key(c, "value");
    if (!n)
        return;
    struct hkd_model *m = c->m;
    hkd_grow((void **)&m->options, &m->cap_options, m->noptions, sizeof *m->options);
    struct hkd_option *o = &m->options[m->noptions++];
    o->name = dup_val(n);
    o->value = v ? dup_val(v) : hkd_xstrdup("");
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
    c->snap->limits_quote = hkd_span_printable(c->line, 300);
}

static void rec_class(struct ctx *c)
{
    unsigned id;
    if (key_id(c, "id", &id))
        num_fields(c, hkd_class_field_names, HKD_C_COUNT, hkd_snap_class(c->snap, id)->f);
}

static void rec_tier(struct ctx *c)
{
    const struct hkd_tok *n = find_key(c, "name");
    int ti = n ? hkd_name_index(hkd_tier_names, HKD_TIER_COUNT, n->val) : -1;
    if (ti < 0)
        unparsed(c, "tier record without a known name=");
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
    r->at = c->at;
    for (size_t i = 0; i < c->ntok; i++) {
        if (hkd_span_eq(c->tok[i].key, "state"))
            copy_str(r->state, sizeof r->state, c->tok[i].val);
        else
            num_field(c, &c->tok[i], hkd_census_field_names, HKD_Z_COUNT, r->f);
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
    const struct hkd_tok *k = find_key(c, "kind");
    char kind[16] = "unknown";
    if (k)
        copy_str(kind, sizeof kind, k->val);
    struct hkd_event *e = hkd_snap_event(c->snap, kind, c->at);
    e->quote = hkd_span_printable(c->line, 300);
    for (size_t i = 0; i < c->ntok; i++) {
        const struct hkd_tok *t = &c->tok[i];
        if (hkd_span_eq(t->key, "tier"))
            copy_str(e->tier, sizeof e->tier, t->val);
        else if (hkd_span_eq(t->key, "name"))
            copy_str(e->name, sizeof e->name, t->val);
        else if (hkd_span_eq(t->key, "frames"))
            parse_frames(&e->frames, &e->nframes, &e->cap_frames, t->val);
        else
            num_field(c, t, hkd_event_field_names, HKD_E_COUNT, e->f);
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
    struct hkd_misuse *x = hkd_model_misuse(c->m, c->at);
    x->quote = hkd_span_printable(c->line, 300);
    snprintf(x->kind, sizeof x->kind, "unknown");
    for (size_t i = 0; i < c->ntok; i++) {
        const struct hkd_tok *t = &c->tok[i];
        if (hkd_span_eq(t->key, "kind"))
            copy_str(x->kind, sizeof x->kind, t->val);
        else if (hkd_span_eq(t->key, "state"))
            copy_str(x->state, sizeof x->state, t->val);
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
            if (hkd_span_eq(t->key, nums[k].key) &&
                !hkd_num_parse((struct hkd_num *)((char *)x + nums[k].off), t->val, c->at))
                bad_value(c, t->key);
    }
}

static void rec_module(struct ctx *c)
{
    struct hkd_module mod = {0};
    if (!key_id(c, "id", &mod.id))
        return;
    for (size_t i = 0; i < c->ntok; i++) {
        const struct hkd_tok *t = &c->tok[i];
        if (hkd_span_eq(t->key, "base"))
            u64_value(c, t, &mod.base);
        else if (hkd_span_eq(t->key, "end"))
            u64_value(c, t, &mod.end);
        else if (hkd_span_eq(t->key, "path"))
            set_str(&mod.path, t);
    }
    if (!mod.path || mod.end <= mod.base) {
        unparsed(c, "module without path= or base < end");
        free(mod.path);
        return;
    }
    struct hkd_model *m = c->m;
    hkd_grow((void **)&m->modules, &m->cap_modules, m->nmodules, sizeof *m->modules);
    m->modules[m->nmodules++] = mod;
}

static void rec_stack(struct ctx *c)
{
    unsigned id;
    if (!key_id(c, "id", &id))
        return;
    struct hkd_stack *st = hkd_model_stack(c->m, c->at);
    st->id = id;
    snprintf(st->kind, sizeof st->kind, "lost");
    for (size_t i = 0; i < c->ntok; i++) {
        const struct hkd_tok *t = &c->tok[i];
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
    c->ended = true;
}

/* The table is made from the format header's list: a record added there without a handler
 * here does not compile. */
static const struct {
    const char *name;
    void (*fn)(struct ctx *c);
} records[] = {
#define HKD_REC(n) {#n, rec_##n},
    HK_DUMP_RECORDS(HKD_REC)
#undef HKD_REC
};

static int span_cmp(const void *a, const void *b)
{
    const struct hkd_span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int r = n ? memcmp(x->p, y->p, n) : 0; /* a bare word's key is {NULL, 0} */
    return r ? r : (x->n > y->n) - (x->n < y->n);
}

/* Splits the line after the record name into c->tok. False (reported) when a value is
 * malformed or a key appears twice: a writer never repeats a key, so a repeated one was
 * injected (a value with an unquoted control character) and neither copy can be trusted. */
static bool tokenize(struct ctx *c, struct hkd_span rest)
{
    struct hkd_tok t;
    bool bad = false;
    c->ntok = 0;
    while (hkd_kv_next(&rest, &t, &bad)) {
        hkd_grow((void **)&c->tok, &c->cap_tok, c->ntok, sizeof *c->tok);
        hkd_grow((void **)&c->keys, &c->cap_keys, c->ntok, sizeof *c->keys);
        c->keys[c->ntok] = t.key;
        c->tok[c->ntok++] = t;
    }
    if (bad) {
        unparsed(c, "unterminated quoted value");
        return true; /* the complete tokens are still used */
    }
    if (c->ntok > 1) /* keys is NULL while no line had a token */
        qsort(c->keys, c->ntok, sizeof *c->keys, span_cmp);
    for (size_t i = 1; i < c->ntok; i++)
        if (c->keys[i].n && span_cmp(&c->keys[i - 1], &c->keys[i]) == 0) {
            char *k = hkd_span_printable(c->keys[i], 40);
            char *why = hkd_xasprintf("key '%s' given twice (record ignored)", k);
            unparsed(c, why);
            free(why);
            free(k);
            return false;
        }
    return true;
}

/* One record line. Returns false if the record name is unknown. */
static bool record(struct ctx *c, struct hkd_span name, struct hkd_span rest)
{
    size_t i = 0;
    while (i < sizeof records / sizeof records[0] && !hkd_span_eq(name, records[i].name))
        i++;
    if (i == sizeof records / sizeof records[0])
        return false;
    if (tokenize(c, rest))
        records[i].fn(c);
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
    unsigned nrecords = 0;

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
        if (c.ended) {
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
        if (record(&c, name.val, rest)) {
            nrecords += !c.ended; /* 'end' closes the file; it holds no facts */
        } else {
            char *n = hkd_span_printable(name.val, 40);
            char *why = hkd_xasprintf("unknown record '%s' (ignored)", n);
            hkd_model_unparsed(m, c.at, line, why);
            free(why);
            free(n);
        }
    }
    free(c.tok);
    free(c.keys);
    ii = &m->inputs[idx];
    ii->lines = it.lineno;
    ii->records = nrecords;
    ii->truncated = !c.ended;
    return 0;
}
