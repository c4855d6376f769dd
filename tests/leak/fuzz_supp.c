/* libFuzzer target for the suppression-file parser (diag/hk_leak_supp.c, compiled into this
 * target with the sanitizers). The input is a suppression file; it is parsed whole, and again
 * fed in pieces whose sizes come from the input itself. Both must give the same patterns and
 * the same verdict (streaming never cuts or joins a pattern), and every pattern must be
 * non-empty, without a newline or NUL, and no longer than a line. */
#include "hk_leak_supp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hk_collect {
    uint64_t hash, count;
};

static bool hk_collect_pattern(void *ctx, const char *pat, size_t len)
{
    struct hk_collect *c = ctx;
    if (!len || len > HK_SUPP_LINE_MAX || memchr(pat, '\n', len) || memchr(pat, '\0', len))
        abort();
    for (size_t i = 0; i < len; i++)
        c->hash = (c->hash ^ (unsigned char)pat[i]) * 0x100000001b3ull;
    c->hash = (c->hash ^ 0x1ff) * 0x100000001b3ull;   /* the end of a pattern counts too */
    c->count++;
    return true;
}

static bool hk_parse(const unsigned char *data, size_t size, bool pieces, struct hk_collect *c)
{
    static struct hk_supp_parser p;
    hk_supp_parser_init(&p, hk_collect_pattern, c);
    size_t at = 0, k = 0;
    while (at < size) {
        size_t n = pieces ? 1 + data[k++ % size] % 97 : size;
        if (n > size - at)
            n = size - at;
        char *piece = malloc(n);                     /* exact size: overreads are caught */
        memcpy(piece, data + at, n);
        bool ok = hk_supp_feed(&p, piece, n);
        free(piece);
        if (!ok)
            return false;
        at += n;
    }
    return hk_supp_finish(&p);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct hk_collect whole = {0, 0}, split = {0, 0};
    bool a = hk_parse(data, size, false, &whole);
    bool b = hk_parse(data, size, true, &split);
    if (a != b || (a && (whole.hash != split.hash || whole.count != split.count)))
        abort();
    return 0;
}
