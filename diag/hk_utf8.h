/* Strict UTF-8, one copy for the library's JSON (diag/hk_emit.c) and hkdump's JSON and XML
 * outputs: a report must stay valid for strict parsers whatever bytes argv, paths or names
 * hold. Header-only, no malloc. */
#ifndef HK_UTF8_H
#define HK_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at p (n bytes left: 1 for ASCII), or 0: a bad lead or
 * continuation byte, an overlong form, a surrogate, or past U+10FFFF. */
static inline size_t hk_utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80 ? 1 : p[0] < 0xc2 ? 0 : p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3
               : p[0] <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
        return 0;   /* overlong, or a surrogate */
    if (len == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
        return 0;   /* overlong, or past U+10FFFF */
    return len;
}

#endif
