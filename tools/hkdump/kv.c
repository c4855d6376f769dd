/* Tokens of "key=value" text, in two flavours: strict for dump files (the format is ours) and
 * loose for free text, where keys hide behind '(' and values carry ')' or ',' from prose. */
#include "hkdump.h"

#include <string.h>

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Skips leading blanks of s; false (and s emptied) when nothing else is left. */
static bool skip_blanks(struct hkd_span *s, const char **at)
{
    const char *p = s->p, *end = s->p + s->n;
    while (p < end && blank(*p))
        p++;
    if (p == end) {
        s->p = end, s->n = 0;
        return false;
    }
    *at = p;
    return true;
}

bool hkd_kv_next(struct hkd_span *s, struct hkd_tok *t, bool *bad)
{
    const char *p, *end = s->p + s->n;
    if (!skip_blanks(s, &p))
        return false;
    const char *k = p;
    while (p < end && *p != '=' && !blank(*p))
        p++;
    memset(t, 0, sizeof *t);
    if (p == end || *p != '=') {
        t->val = (struct hkd_span){k, (size_t)(p - k)};
    } else {
        t->key = (struct hkd_span){k, (size_t)(p - k)};
        p++;
        if (p < end && *p == '"') {
            const char *v = ++p;
            while (p < end && *p != '"')
                p += (*p == '\\' && p + 1 < end) ? 2 : 1;
            if (p >= end) {
                *bad = true;
                p = end;
                t->val = (struct hkd_span){v, (size_t)(end - v)};
            } else {
                t->val = (struct hkd_span){v, (size_t)(p - v)};
                p++;
            }
            t->quoted = true;
        } else {
            const char *v = p;
            while (p < end && !blank(*p))
                p++;
            t->val = (struct hkd_span){v, (size_t)(p - v)};
        }
    }
    s->p = p;
    s->n = (size_t)(end - p);
    return true;
}

static bool ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

bool hkd_kv_next_loose(struct hkd_span *s, struct hkd_tok *t)
{
    const char *p, *end = s->p + s->n;
    if (!skip_blanks(s, &p))
        return false;
    const char *b = p;
    while (p < end && !blank(*p))
        p++;
    s->p = p;
    s->n = (size_t)(end - p);
    memset(t, 0, sizeof *t);
    const char *eq = memchr(b, '=', (size_t)(p - b));
    if (!eq) {
        t->val = (struct hkd_span){b, (size_t)(p - b)};
        return true;
    }
    /* The key is the identifier just before '=': "RLIMIT_AS(cur=inf" has key "cur". */
    const char *k = eq;
    while (k > b && ident(k[-1]))
        k--;
    t->key = (struct hkd_span){k, (size_t)(eq - k)};
    struct hkd_span v = {eq + 1, (size_t)(p - eq - 1)};
    bool has_open = memchr(v.p, '(', v.n) != NULL;
    while (v.n && (strchr("],;", v.p[v.n - 1]) || (v.p[v.n - 1] == ')' && !has_open)))
        v.n--;
    t->val = v;
    return true;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *hkd_kv_unescape(struct hkd_span v)
{
    char *d = hkd_xmalloc(v.n + 1);
    size_t o = 0;
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (c == '\\' && i + 1 < v.n) {
            c = v.p[++i];
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c == 'r')
                c = '\r';
            else if (c == 'x' && i + 2 < v.n && hex_digit(v.p[i + 1]) >= 0 &&
                     hex_digit(v.p[i + 2]) >= 0)
                c = (char)(hex_digit(v.p[i + 1]) << 4 | hex_digit(v.p[i + 2])), i += 2;
        }
        d[o++] = c;
    }
    d[o] = '\0';
    return d;
}

bool hkd_parse_u64(struct hkd_span s, uint64_t *out, bool *inf)
{
    *inf = false;
    if (hkd_span_eq(s, "inf") || hkd_span_eq(s, "infinity") || hkd_span_eq(s, "unlimited")) {
        *inf = true;
        *out = UINT64_MAX;
        return true;
    }
    if (hkd_span_eq(s, "(nil)")) {
        *out = 0;
        return true;
    }
    uint64_t v = 0;
    if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
        if (s.n > 18)
            return false;
        for (size_t i = 2; i < s.n; i++) {
            char c = s.p[i];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                return false;
            v = v << 4 | (uint64_t)d;
        }
        *out = v;
        return true;
    }
    if (s.n == 0 || s.n > 20)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

