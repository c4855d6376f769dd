/* The suppression-file parser (HAKMEM_LEAK_SUPPRESSIONS): LeakSanitizer's syntax, one
 * `leak:PATTERN` per line, `#` comments, blank lines. It streams: the file is fed in pieces
 * of any size through one fixed line buffer, so a file of any length and any number of
 * patterns is read whole, and no pattern is ever cut (a cut one, `leak:m` for
 * `leak:my_third_party_init`, would suppress nearly everything). Apart from the leak check
 * so that tests/leak/fuzz_supp.c runs it alone; it calls nothing but the callback. */
#ifndef HK_LEAK_SUPP_H
#define HK_LEAK_SUPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line, without its newline. A longer one refuses the whole file. */
#define HK_SUPP_LINE_MAX 4095

struct hk_supp_parser {
    /* Called for every pattern (not NUL-terminated, len > 0); false: no memory for it. */
    bool (*pattern)(void *ctx, const char *pat, size_t len);
    void *ctx;
    const char *error;      /* why the file is refused; NULL while it is not */
    uint64_t line;          /* number of the line being read (of the refused one after) */
    size_t len;             /* bytes of the current line in buf */
    bool overlong;          /* the current line did not fit */
    char buf[HK_SUPP_LINE_MAX];
};

void hk_supp_parser_init(struct hk_supp_parser *p,
                         bool (*pattern)(void *ctx, const char *pat, size_t len), void *ctx);
/* The next n bytes of the file. False once the file is refused (p->error says why). */
bool hk_supp_feed(struct hk_supp_parser *p, const char *data, size_t n);
/* End of the file: a last line without a newline counts. False when the file is refused. */
bool hk_supp_finish(struct hk_supp_parser *p);

#endif
