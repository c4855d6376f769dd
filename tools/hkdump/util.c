/* Small helpers: allocation that cannot fail, string lists, spans over input bytes. */
#include "hkdump.h"
#include "hk_utf8.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void *hkd_oom(void)
{
    fputs("hkdump: out of memory\n", stderr);
    exit(2);
}

void *hkd_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : hkd_oom();
}

void *hkd_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : hkd_oom();
}

void *hkd_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : hkd_oom();
}

char *hkd_xstrdup(const char *s)
{
    return hkd_xstrndup(s, strlen(s));
}

#if HKD_HAVE_DEMANGLE
/* libstdc++'s demangler (extern "C" in <cxxabi.h>): a malloc'd name, or NULL. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);
#endif

char *hkd_demangle(const char *name, size_t n)
{
#if HKD_HAVE_DEMANGLE
    if (n > 2 && n < 4096 && name[0] == '_' && name[1] == 'Z') {
        char *z = hkd_xstrndup(name, n);
        int status = -1;
        char *d = __cxa_demangle(z, NULL, NULL, &status);
        free(z);
        if (d && status == 0)
            return d;
        free(d);
    }
#endif
    return hkd_xstrndup(name, n);
}

char *hkd_xstrndup(const char *s, size_t n)
{
    char *d = hkd_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *hkd_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    return r < 0 ? hkd_oom() : s;
}

void hkd_grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return;
    size_t c = *cap ? *cap * 2 : 8;
    while (c <= n)
        c *= 2;
    *v = hkd_xrealloc(*v, c * elem);
    memset((char *)*v + *cap * elem, 0, (c - *cap) * elem);
    *cap = c;
}

static size_t idmap_home(unsigned id, size_t cap)
{
    return (size_t)(id * 2654435761u) & (cap - 1); /* Knuth's multiplicative hash */
}

size_t hkd_idmap_get(const struct hkd_idmap *m, unsigned id)
{
    if (!m->cap)
        return SIZE_MAX;
    for (size_t i = idmap_home(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->v[i].idx1)
            return SIZE_MAX;
        if (m->v[i].id == id)
            return m->v[i].idx1 - 1;
    }
}

static void idmap_insert(struct hkd_idmap *m, unsigned id, size_t idx1)
{
    size_t i = idmap_home(id, m->cap);
    while (m->v[i].idx1 && m->v[i].id != id)
        i = (i + 1) & (m->cap - 1);
    m->n += !m->v[i].idx1;
    m->v[i] = (struct hkd_idmap_slot){id, idx1};
}

void hkd_idmap_put(struct hkd_idmap *m, unsigned id, size_t idx)
{
    if (2 * (m->n + 1) > m->cap) { /* at most half full: probes stay short */
        struct hkd_idmap old = *m;
        m->cap = old.cap ? 2 * old.cap : 16;
        m->v = hkd_xcalloc(m->cap, sizeof *m->v);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.v[i].idx1)
                idmap_insert(m, old.v[i].id, old.v[i].idx1);
        free(old.v);
    }
    idmap_insert(m, id, idx + 1);
}

void hkd_idmap_free(struct hkd_idmap *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}

uint64_t hkd_add_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

uint64_t hkd_mul_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

uint64_t hkd_sub_floor(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

uint64_t hkd_u64_of(double d)
{
    /* 2^64 is exact as a double; anything at or above it does not fit. */
    if (!(d > 0))
        return 0;
    return d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
}

void hkd_strv_add(struct hkd_strv *sv, const char *s)
{
    hkd_grow((void **)&sv->v, &sv->cap, sv->n, sizeof *sv->v);
    sv->v[sv->n++] = hkd_xstrdup(s);
}

void hkd_strv_addf(struct hkd_strv *sv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        hkd_oom();
    hkd_grow((void **)&sv->v, &sv->cap, sv->n, sizeof *sv->v);
    sv->v[sv->n++] = s;
}

void hkd_strv_free(struct hkd_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof *sv);
}

struct hkd_span hkd_span_of(const char *s)
{
    return (struct hkd_span){s, strlen(s)};
}

bool hkd_span_eq(struct hkd_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

bool hkd_span_starts(struct hkd_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n >= n && memcmp(s.p, lit, n) == 0;
}

const char *hkd_span_find(struct hkd_span s, const char *needle)
{
    return memmem(s.p, s.n, needle, strlen(needle));
}

struct hkd_span hkd_span_trim(struct hkd_span s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.n--;
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

char *hkd_span_printable(struct hkd_span s, size_t max)
{
    size_t n = s.n < max ? s.n : max;
    char *d = hkd_xmalloc(n + 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        d[i] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
    }
    if (n < s.n)
        memcpy(d + n, "...", 3), n += 3;
    d[n] = '\0';
    return d;
}

/* Text for XML: & < > " ' escaped; what XML 1.0 cannot hold (control bytes, invalid UTF-8,
 * U+FFFE and U+FFFF) becomes '?'. */
void hkd_xml_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        size_t len = hk_utf8_len(p, strnlen((const char *)p, 4));
        bool nonchar = len == 3 && c == 0xef && p[1] == 0xbf && p[2] >= 0xbe;
        if (!len || nonchar || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
            fputc('?', f);
            p++;
            continue;
        }
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fwrite(p, 1, len, f); break;
        }
        p += len;
    }
}
