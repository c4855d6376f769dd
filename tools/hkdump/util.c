/* Small helpers: allocation that cannot fail, string lists, spans over input bytes. */
#include "hkdump.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void *hk_oom(void)
{
    fputs("hkdump: out of memory\n", stderr);
    exit(2);
}

void *hk_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : hk_oom();
}

void *hk_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : hk_oom();
}

void *hk_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : hk_oom();
}

char *hk_xstrdup(const char *s)
{
    return hk_xstrndup(s, strlen(s));
}

char *hk_xstrndup(const char *s, size_t n)
{
    char *d = hk_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *hk_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    return r < 0 ? hk_oom() : s;
}

void hk_grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return;
    size_t c = *cap ? *cap * 2 : 8;
    while (c <= n)
        c *= 2;
    *v = hk_xrealloc(*v, c * elem);
    memset((char *)*v + *cap * elem, 0, (c - *cap) * elem);
    *cap = c;
}

void hk_strv_add(struct hk_strv *sv, const char *s)
{
    hk_grow((void **)&sv->v, &sv->cap, sv->n, sizeof *sv->v);
    sv->v[sv->n++] = hk_xstrdup(s);
}

void hk_strv_addf(struct hk_strv *sv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        hk_oom();
    hk_grow((void **)&sv->v, &sv->cap, sv->n, sizeof *sv->v);
    sv->v[sv->n++] = s;
}

void hk_strv_free(struct hk_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof *sv);
}

struct hk_span hk_span_of(const char *s)
{
    return (struct hk_span){s, strlen(s)};
}

bool hk_span_eq(struct hk_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

bool hk_span_starts(struct hk_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n >= n && memcmp(s.p, lit, n) == 0;
}

const char *hk_span_find(struct hk_span s, const char *needle)
{
    return memmem(s.p, s.n, needle, strlen(needle));
}

struct hk_span hk_span_trim(struct hk_span s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.n--;
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

char *hk_span_printable(struct hk_span s, size_t max)
{
    size_t n = s.n < max ? s.n : max;
    char *d = hk_xmalloc(n + 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        d[i] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
    }
    if (n < s.n)
        memcpy(d + n, "...", 3), n += 3;
    d[n] = '\0';
    return d;
}
