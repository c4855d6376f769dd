#include "hk_leak_supp.h"

#include <string.h>

void hk_supp_parser_init(struct hk_supp_parser *p,
                         bool (*pattern)(void *ctx, const char *pat, size_t len), void *ctx)
{
    p->pattern = pattern;
    p->ctx = ctx;
    p->error = NULL;
    p->line = 1;
    p->len = 0;
    p->overlong = false;
}

static bool hk_supp_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* One whole line (buf[0 .. len)): a pattern, a comment, or something else (ignored, as
 * LeakSanitizer's other suppression types are not ours). */
static bool hk_supp_line(struct hk_supp_parser *p)
{
    if (p->overlong) {
        p->error = "a line is longer than 4095 bytes, the limit of a suppression line";
        return false;
    }
    const char *s = p->buf, *e = p->buf + p->len;
    if (memchr(s, '\0', p->len)) {
        p->error = "a line holds a NUL byte";
        return false;
    }
    while (s < e && hk_supp_blank(*s))
        s++;
    while (e > s && hk_supp_blank(e[-1]))
        e--;
    bool is_pattern = (size_t)(e - s) > 5 && !memcmp(s, "leak:", 5);
    if (is_pattern && !p->pattern(p->ctx, s + 5, (size_t)(e - s - 5))) {
        p->error = "no memory for its patterns";
        return false;
    }
    p->line++;
    p->len = 0;
    return true;
}

bool hk_supp_feed(struct hk_supp_parser *p, const char *data, size_t n)
{
    if (p->error)
        return false;
    while (n) {
        const char *nl = memchr(data, '\n', n);
        size_t k = nl ? (size_t)(nl - data) : n;
        if (k > sizeof p->buf - p->len) {
            p->overlong = true;
            p->len = 0;
        } else if (!p->overlong) {
            memcpy(p->buf + p->len, data, k);
            p->len += k;
        }
        if (!nl)
            return true;
        if (!hk_supp_line(p))
            return false;
        p->overlong = false;
        data = nl + 1;
        n -= k + 1;
    }
    return true;
}

bool hk_supp_finish(struct hk_supp_parser *p)
{
    if (p->error)
        return false;
    return (!p->len && !p->overlong) || hk_supp_line(p);
}
