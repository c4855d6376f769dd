/* The record grammar of hakmem's files (docs/dump-format.md): line 1 names the format and its
 * version, then one record a line, a name and key=value pairs. Dumps and timelines share it,
 * and so share this reader: the version check, the tokens, the refusal of a repeated key, the
 * unknown record, the 'end' record and the cut-off last line are handled once, here; each
 * format brings its table of record handlers. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

bool hkd_format_detect(const struct hkd_input *in, const struct hkd_format *f)
{
    size_t n = strlen(f->magic);
    return in->len > n && memcmp(in->data, f->magic, n) == 0 && in->data[n] == ' ';
}

int hkd_format_version(const struct hkd_input *in, const struct hkd_format *f,
                       unsigned *version, char *err, size_t errlen)
{
    struct hkd_lines it;
    struct hkd_span line;
    bool complete = false, inf;
    uint64_t v;
    hkd_lines_init(&it, in);
    hkd_lines_next(&it, &line, &complete);
    size_t skip = strlen(f->magic) + 1;
    struct hkd_span vs = {line.p + skip, line.n >= skip ? line.n - skip : 0};
    if (!complete || line.n < skip || !hkd_parse_u64(hkd_span_trim(vs), &v, &inf) || inf ||
        v == 0) {
        snprintf(err, errlen, "not a valid %s: bad first line (expected '%s %u')", f->what,
                 f->magic, f->version);
        return -1;
    }
    if (v > f->version) {
        snprintf(err, errlen, "%s version %llu is newer than this hkdump (knows %u)", f->what,
                 (unsigned long long)v, f->version);
        return -1;
    }
    *version = (unsigned)v;
    return 0;
}

void hkd_recs_unparsed(struct hkd_recs *r, const char *why)
{
    if (r->bad)
        return; /* one report per line */
    r->bad = true;
    hkd_model_unparsed(r->m, r->at, r->line, why);
}

void hkd_recs_bad_value(struct hkd_recs *r, struct hkd_span key)
{
    char *k = hkd_span_printable(key, 40);
    char *why = hkd_xasprintf("bad value for key '%s'", k);
    hkd_recs_unparsed(r, why);
    free(why);
    free(k);
}

const struct hkd_tok *hkd_recs_find(const struct hkd_recs *r, const char *key)
{
    for (size_t i = 0; i < r->ntok; i++)
        if (hkd_span_eq(r->tok[i].key, key))
            return &r->tok[i];
    return NULL;
}

char *hkd_tok_dup(const struct hkd_tok *t)
{
    return t->quoted ? hkd_kv_unescape(t->val) : hkd_xstrndup(t->val.p, t->val.n);
}

bool hkd_recs_num(struct hkd_recs *r, const struct hkd_tok *t, const char *const *names,
                  int count, struct hkd_num *fields)
{
    int i = hkd_name_index(names, count, t->key);
    if (i < 0)
        return false;
    if (!hkd_num_parse(&fields[i], t->val, r->at))
        hkd_recs_bad_value(r, t->key);
    return true;
}

static int span_cmp(const void *a, const void *b)
{
    const struct hkd_span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = n ? memcmp(x->p, y->p, n) : 0; /* a bare word's key is {NULL, 0} */
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Splits the line after the record name into r->tok. False (reported) when a key appears
 * twice: a writer never repeats a key, so a repeated one was injected (a value with an
 * unquoted control character) and neither copy can be trusted. A malformed value is
 * reported and the complete tokens are still used. */
static bool tokenize(struct hkd_recs *r, struct hkd_span rest)
{
    struct hkd_tok t;
    bool bad = false;
    r->ntok = 0;
    while (hkd_kv_next(&rest, &t, &bad)) {
        hkd_grow((void **)&r->tok, &r->cap_tok, r->ntok, sizeof *r->tok);
        hkd_grow((void **)&r->keys, &r->cap_keys, r->ntok, sizeof *r->keys);
        r->keys[r->ntok] = t.key;
        r->tok[r->ntok++] = t;
    }
    if (bad) {
        hkd_recs_unparsed(r, "unterminated quoted value");
        return true;
    }
    if (r->ntok > 1) /* keys is NULL while no line had a token */
        qsort(r->keys, r->ntok, sizeof *r->keys, span_cmp);
    for (size_t i = 1; i < r->ntok; i++)
        if (r->keys[i].n && span_cmp(&r->keys[i - 1], &r->keys[i]) == 0) {
            char *k = hkd_span_printable(r->keys[i], 40);
            char *why = hkd_xasprintf("key '%s' given twice (record ignored)", k);
            hkd_recs_unparsed(r, why);
            free(why);
            free(k);
            return false;
        }
    return true;
}

/* One record line. Returns false if the record name is unknown. */
static bool record(struct hkd_recs *r, const struct hkd_format *f, struct hkd_span name,
                   struct hkd_span rest)
{
    size_t i = 0;
    while (i < f->ntypes && !hkd_span_eq(name, f->types[i].name))
        i++;
    if (i == f->ntypes)
        return false;
    if (tokenize(r, rest))
        f->types[i].fn(r);
    return true;
}

static void unknown_record(struct hkd_recs *r, struct hkd_span name)
{
    char *n = hkd_span_printable(name, 40);
    char *why = hkd_xasprintf("unknown record '%s' (ignored)", n);
    hkd_model_unparsed(r->m, r->at, r->line, why);
    free(why);
    free(n);
}

void hkd_recs_read(struct hkd_recs *r, const struct hkd_input *in, const struct hkd_format *f,
                   int idx)
{
    struct hkd_lines it;
    struct hkd_span line;
    bool complete;
    unsigned nrecords = 0;
    hkd_lines_init(&it, in);
    hkd_lines_next(&it, &line, &complete); /* the version line, read before */
    r->at = (struct hkd_loc){idx, 1};
    while (hkd_lines_next(&it, &line, &complete)) {
        r->at.line = it.lineno;
        r->line = line;
        r->bad = false;
        if (!complete) {
            /* Cut off mid-line: the record cannot be trusted. */
            r->m->inputs[idx].partial_bytes = line.n;
            break;
        }
        if (hkd_span_trim(line).n == 0)
            continue;
        if (r->ended) {
            hkd_model_unparsed(r->m, r->at, line, "data after the 'end' record");
            continue;
        }
        struct hkd_span rest = line;
        struct hkd_tok name;
        bool bad = false;
        hkd_kv_next(&rest, &name, &bad);
        if (name.key.n)
            hkd_model_unparsed(r->m, r->at, line, "line does not start with a record name");
        else if (record(r, f, name.val, rest))
            nrecords += !r->ended; /* 'end' closes the file; it holds no facts */
        else
            unknown_record(r, name.val);
    }
    free(r->tok);
    free(r->keys);
    r->tok = NULL, r->keys = NULL, r->cap_tok = r->cap_keys = r->ntok = 0;
    struct hkd_input_info *ii = &r->m->inputs[idx];
    ii->lines = it.lineno;
    ii->records = nrecords;
    ii->truncated = !r->ended;
}
