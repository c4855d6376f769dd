/* Glob matching, one copy for the leak check (suppressions, HAKMEM_LEAK_ONLY) and hkdump
 * (suite baselines), so that a pattern means the same in both. Header-only, no malloc: it runs
 * inside the allocator, before it is ready (fnmatch(3) may allocate).
 *
 * Two syntaxes over one matcher:
 * - LeakSanitizer's suppressions (hk_glob_lsan): only '*' is special, `^` anchors at the start
 *   and `$` at the end; otherwise the pattern may match anywhere (a substring).
 * - fnmatch(3) without flags (hk_glob_fnmatch): '*', '?', '[...]' (with '!' or '^' and
 *   ranges; a '[' without its ']' is an ordinary byte) and '\' escapes (a '\' that ends the
 *   pattern matches nothing, as in glibc); the whole string. In
 *   both, '*' also matches '/'. */
#ifndef HK_GLOB_H
#define HK_GLOB_H

#include <stdbool.h>
#include <string.h>

/* One '[...]' element of [*pp, pend) against c; false with *pp unmoved when it has no ']'. */
static inline bool hk_glob_class(const char **pp, const char *pend, unsigned char c, bool *hit)
{
    const char *q = *pp + 1;
    bool neg = q < pend && (*q == '!' || *q == '^');
    q += neg;
    const char *first = q;
    bool in = false;
    while (q < pend && (*q != ']' || q == first)) {
        unsigned char lo = (unsigned char)*q, hi = lo;
        if (q + 2 < pend && q[1] == '-' && q[2] != ']') {
            hi = (unsigned char)q[2];
            q += 3;
        } else {
            q++;
        }
        in |= c >= lo && c <= hi;
    }
    if (q >= pend)
        return false;
    *pp = q + 1;
    *hit = in != neg;
    return true;
}

/* One element of the pattern at *pp (not '*') against byte c; *pp moves past it. */
static inline bool hk_glob_one(const char **pp, const char *pend, unsigned char c, bool classes)
{
    const char *p = *pp;
    if (classes) {
        bool hit;
        if (*p == '?') {
            *pp = p + 1;
            return true;
        }
        if (*p == '[' && hk_glob_class(pp, pend, c, &hit))
            return hit;
        if (*p == '\\') {
            if (p + 1 == pend)      /* a '\' with nothing to quote never matches (glibc) */
                return false;
            p++;
        }
    }
    *pp = p + 1;
    return (unsigned char)*p == c;
}

/* Pattern [p, pend) against s: with lead_star as if it began with '*', with open_end as if it
 * ended with one. Backtracks to the last '*' only: linear in practice, never recursive. */
static inline bool hk_glob_span(const char *p, const char *pend, const char *s, bool classes,
                                bool lead_star, bool open_end)
{
    const char *star = lead_star ? p : NULL, *retry = s;
    for (;;) {
        if (p < pend && *p == '*') {
            star = ++p;
            retry = s;
            continue;
        }
        if (p == pend && (open_end || !*s))
            return true;
        const char *np = p;
        if (p < pend && *s && hk_glob_one(&np, pend, (unsigned char)*s, classes)) {
            p = np;
            s++;
            continue;
        }
        if (!star || !*retry)
            return false;
        p = star;
        s = ++retry;
    }
}

static inline bool hk_glob_lsan(const char *pat, const char *s)
{
    bool anchor_start = pat[0] == '^';
    pat += anchor_start;
    size_t len = strlen(pat);
    bool anchor_end = len && pat[len - 1] == '$';
    return hk_glob_span(pat, pat + len - anchor_end, s, false, !anchor_start, !anchor_end);
}

static inline bool hk_glob_fnmatch(const char *p, const char *pend, const char *s)
{
    return hk_glob_span(p, pend, s, true, false, false);
}

/* Whether path, or its file name, matches one of the ':'-separated fnmatch globs of list. */
static inline bool hk_glob_any(const char *list, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    while (*list) {
        const char *end = strchr(list, ':');
        if (!end)
            end = list + strlen(list);
        if (end > list && (hk_glob_fnmatch(list, end, path) || hk_glob_fnmatch(list, end, base)))
            return true;
        list = *end ? end + 1 : end;
    }
    return false;
}

#endif
