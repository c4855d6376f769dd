/* A small JSON reader for the suite reports (hakmem-leak.*.json): the whole text into a tree
 * of values. Any bytes may come in (a truncated report, another program's file, a hostile
 * one): every read is bounded, nesting is limited, and an error is one line naming the byte
 * where the input stopped making sense. Numbers keep their exact value when they are
 * non-negative integers (pids, addresses, byte counts). */
#include "hkdump.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than any report hakmem writes (4 levels), shallow enough for the C stack. */
#define HKD_JSON_MAX_DEPTH 64
/* Values in one input: a hostile "[1,1,1,...]" must not cost 40 times its size in memory. */
#define HKD_JSON_MAX_VALUES ((size_t)1 << 22)

struct hkd_jp {
    const char *p, *start, *end;
    int depth;
    size_t values;
    char *err;
    size_t errlen;
};

static bool hkd_jp_fail(struct hkd_jp *jp, const char *what)
{
    if (!jp->err[0])
        snprintf(jp->err, jp->errlen, "%s at byte %zu", what, (size_t)(jp->p - jp->start));
    return false;
}

static void hkd_jp_ws(struct hkd_jp *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' ||
                               *jp->p == '\r'))
        jp->p++;
}

static bool hkd_jp_lit(struct hkd_jp *jp, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, lit, n))
        return hkd_jp_fail(jp, "not a JSON value");
    jp->p += n;
    return true;
}

static int hkd_jp_hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void hkd_jp_utf8(char *out, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* \uXXXX at *pp (after the backslash and 'u'), a surrogate pair joined; U+FFFD for a lone
 * surrogate or U+0000 (a C string cannot hold it). */
static bool hkd_jp_uescape(struct hkd_jp *jp, const char **pp, char *out, size_t *n)
{
    const char *p = *pp;
    int cp = jp->end - p >= 4 ? hkd_jp_hex4(p) : -1;
    if (cp < 0)
        return hkd_jp_fail(jp, "bad \\u escape");
    p += 4;
    if (cp >= 0xd800 && cp < 0xdc00 && jp->end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
        int lo = hkd_jp_hex4(p + 2);
        if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }
    }
    if (cp == 0 || (cp >= 0xd800 && cp < 0xe000))
        cp = 0xfffd;
    hkd_jp_utf8(out, n, (unsigned)cp);
    *pp = p;
    return true;
}

static bool hkd_jp_string(struct hkd_jp *jp, char **s)
{
    const char *p = ++jp->p;   /* past the quote */
    const char *q = p;
    while (q < jp->end && *q != '"')
        q += *q == '\\' && q + 1 < jp->end ? 2 : 1;
    if (q >= jp->end)
        return hkd_jp_fail(jp, "unterminated string");
    char *out = hkd_xmalloc((size_t)(q - p) + 1);   /* escapes never grow the text */
    size_t n = 0;
    while (p < q) {
        unsigned char c = (unsigned char)*p++;
        if (c < 0x20) {
            free(out);
            jp->p = p - 1;
            return hkd_jp_fail(jp, "control byte in a string");
        }
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        char e = *p++;
        const char *map = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", e);
        if (e == 'u') {
            if (!hkd_jp_uescape(jp, &p, out, &n)) {
                free(out);
                return false;
            }
        } else if (e && map && (map - "\"\"\\\\//b\bf\fn\nr\rt\t") % 2 == 0) {
            out[n++] = map[1];
        } else {
            free(out);
            jp->p = p - 1;
            return hkd_jp_fail(jp, "bad escape in a string");
        }
    }
    out[n] = '\0';
    *s = out;
    jp->p = q + 1;
    return true;
}

static bool hkd_jp_number(struct hkd_jp *jp, struct hkd_json *v)
{
    const char *p = jp->p;
    bool neg = p < jp->end && *p == '-';
    p += neg;
    uint64_t u = 0;
    bool exact = !neg, digits = false;
    for (; p < jp->end && *p >= '0' && *p <= '9'; p++, digits = true) {
        unsigned d = (unsigned)(*p - '0');
        if (u > (UINT64_MAX - d) / 10)
            exact = false;
        else
            u = u * 10 + d;
    }
    if (!digits)
        return hkd_jp_fail(jp, "not a JSON value");
    while (p < jp->end && *p && strchr(".eE+-0123456789", *p)) {
        exact = false;
        p++;
    }
    char buf[64];
    size_t len = (size_t)(p - jp->p);
    memcpy(buf, jp->p, len < sizeof buf ? len : sizeof buf - 1);
    buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
    v->type = HKD_J_NUM;
    v->d = strtod(buf, NULL);
    v->u = exact ? u : hkd_u64_of(v->d);
    v->is_uint = exact;
    jp->p = p;
    return true;
}

static bool hkd_jp_value(struct hkd_jp *jp, struct hkd_json *v);

static struct hkd_json *hkd_jp_add(struct hkd_json *v, size_t *cap, char *key)
{
    if (v->n == *cap) {
        size_t k = *cap;
        hkd_grow((void **)&v->v, &k, v->n, sizeof *v->v);
        if (v->type == HKD_J_OBJ) {
            size_t kk = *cap;
            hkd_grow((void **)&v->keys, &kk, v->n, sizeof *v->keys);
        }
        *cap = k;
    }
    if (v->type == HKD_J_OBJ)
        v->keys[v->n] = key;
    memset(&v->v[v->n], 0, sizeof v->v[v->n]);
    return &v->v[v->n++];
}

/* An array or an object: members until the closing bracket. */
static bool hkd_jp_container(struct hkd_jp *jp, struct hkd_json *v, bool obj)
{
    if (++jp->depth > HKD_JSON_MAX_DEPTH)
        return hkd_jp_fail(jp, "nested too deep");
    v->type = obj ? HKD_J_OBJ : HKD_J_ARR;
    size_t cap = 0;
    char close = obj ? '}' : ']';
    jp->p++;
    hkd_jp_ws(jp);
    if (jp->p < jp->end && *jp->p == close) {
        jp->p++;
        jp->depth--;
        return true;
    }
    for (;;) {
        char *key = NULL;
        hkd_jp_ws(jp);
        if (obj) {
            if (jp->p >= jp->end || *jp->p != '"' || !hkd_jp_string(jp, &key))
                return hkd_jp_fail(jp, "expected a key");
            hkd_jp_ws(jp);
            if (jp->p >= jp->end || *jp->p++ != ':') {
                free(key);
                return hkd_jp_fail(jp, "expected ':'");
            }
        }
        if (++jp->values > HKD_JSON_MAX_VALUES) {
            free(key);
            return hkd_jp_fail(jp, "too many values");
        }
        if (!hkd_jp_value(jp, hkd_jp_add(v, &cap, key)))
            return false;
        hkd_jp_ws(jp);
        if (jp->p < jp->end && *jp->p == ',') {
            jp->p++;
            continue;
        }
        if (jp->p < jp->end && *jp->p == close) {
            jp->p++;
            jp->depth--;
            return true;
        }
        return hkd_jp_fail(jp, jp->p < jp->end ? "expected ',' or a closing bracket"
                                               : "the input ends inside a value (truncated?)");
    }
}

static bool hkd_jp_value(struct hkd_jp *jp, struct hkd_json *v)
{
    hkd_jp_ws(jp);
    if (jp->p >= jp->end)
        return hkd_jp_fail(jp, "the input ends where a value should be (truncated?)");
    switch (*jp->p) {
    case '{': return hkd_jp_container(jp, v, true);
    case '[': return hkd_jp_container(jp, v, false);
    case '"': v->type = HKD_J_STR; return hkd_jp_string(jp, &v->s);
    case 't': v->type = HKD_J_BOOL; v->b = true; return hkd_jp_lit(jp, "true");
    case 'f': v->type = HKD_J_BOOL; return hkd_jp_lit(jp, "false");
    case 'n': v->type = HKD_J_NULL; return hkd_jp_lit(jp, "null");
    default: return hkd_jp_number(jp, v);
    }
}

int hkd_json_parse(const char *data, size_t len, struct hkd_json *out, char *err, size_t errlen)
{
    struct hkd_jp jp = {data, data, data + len, 0, 0, err, errlen};
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    bool ok = hkd_jp_value(&jp, out);
    if (ok) {
        hkd_jp_ws(&jp);
        if (jp.p != jp.end)
            ok = hkd_jp_fail(&jp, "more after the JSON value");
    }
    if (ok)
        return 0;
    hkd_json_free(out);
    return -1;
}

void hkd_json_free(struct hkd_json *v)
{
    for (size_t i = 0; i < v->n; i++) {
        hkd_json_free(&v->v[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->v);
    free(v->keys);
    free(v->s);
    memset(v, 0, sizeof *v);
}

const struct hkd_json *hkd_json_get(const struct hkd_json *obj, const char *key,
                                    enum hkd_json_type type)
{
    if (!obj || obj->type != HKD_J_OBJ)
        return NULL;
    for (size_t i = obj->n; i-- > 0;)   /* a repeated key: the last one, as most readers */
        if (strcmp(obj->keys[i], key) == 0)
            return obj->v[i].type == type ? &obj->v[i] : NULL;
    return NULL;
}

const char *hkd_json_str(const struct hkd_json *obj, const char *key, const char *dflt)
{
    const struct hkd_json *v = hkd_json_get(obj, key, HKD_J_STR);
    return v ? v->s : dflt;
}

bool hkd_json_u64(const struct hkd_json *obj, const char *key, uint64_t *out)
{
    const struct hkd_json *v = hkd_json_get(obj, key, HKD_J_NUM);
    if (!v || !v->is_uint)
        return false;
    *out = v->u;
    return true;
}
