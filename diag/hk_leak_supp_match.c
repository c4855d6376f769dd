/* The suppressions in use: the built-in list of glibc's and ld.so's one-time allocations,
 * and HAKMEM_LEAK_SUPPRESSIONS read through the streaming parser (hk_leak_supp.c) into the
 * run's memory; a group is suppressed when a pattern matches a frame of its stack. */
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_leak_supp.h"
#include "hk_options.h"
#include "hk_os.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Known one-time allocations of glibc and ld.so that are not the program's leaks. */
static const char *const hk_builtin_supp[] = {
    "*tls_get_addr*",        /* dynamic TLS blocks (glibc bug 12650; LeakSanitizer's too) */
    "_dl_allocate_tls*",     /* static TLS and DTV of threads */
    "*pthread_exit*",        /* unwinding state of pthread_exit */
    "_dlerror_run",          /* the per-thread dlerror() result */
    "_IO_file_doallocate",   /* stdio buffers */
};

/* LeakSanitizer's rule: `*` matches any run of characters, `^` anchors at the start and `$`
 * at the end; otherwise the pattern may match anywhere (a substring). */
static bool hk_glob(const char *pat, const char *s)
{
    bool anchor_start = pat[0] == '^';
    if (anchor_start)
        pat++;
    size_t plen = strlen(pat);
    bool anchor_end = plen && pat[plen - 1] == '$';
    if (anchor_end)
        plen--;
    const char *p = pat, *pend = pat + plen;
    const char *star = NULL, *retry = NULL;
    if (!anchor_start) {
        star = p;      /* an implicit leading '*' */
        retry = s;
    }
    for (;;) {
        if (p < pend && *p == '*') {
            star = ++p;
            retry = s;
            continue;
        }
        if (p == pend) {
            if (!anchor_end || !*s)
                return true;
        } else if (*s && *p == *s) {
            p++;
            s++;
            continue;
        }
        if (!star || !*retry)
            return false;
        p = star;
        s = ++retry;
    }
}

static const char *hk_basename(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static bool hk_supp_add(struct hk_run *r, const char *pat, size_t off, bool builtin)
{
    if (!hk_leak_run_grow((void **)&r->supp, &r->supp_map_len,
                          (r->nsupp + 1) * sizeof *r->supp))
        return false;
    r->supp[r->nsupp++] = (struct hk_supp){pat, off, builtin, 0, 0};
    return true;
}

/* The parser's callback: the pattern's text into the run's buffer, and its entry. */
static bool hk_supp_file_pattern(void *ctx, const char *pat, size_t len)
{
    struct hk_run *r = ctx;
    if (!hk_leak_run_grow((void **)&r->supp_text, &r->supp_len, r->supp_used + len + 1))
        return false;
    memcpy(r->supp_text + r->supp_used, pat, len);
    r->supp_text[r->supp_used + len] = '\0';
    r->supp_used += len + 1;
    return hk_supp_add(r, NULL, r->supp_used - len - 1, false);
}

/* Streams the file through the parser; false (r->supp_why set) when it is refused. */
static bool hk_supp_read(struct hk_run *r, const char *path)
{
    const char *why = NULL;
    int fd = hk_os_open_file(path, HK_FILE_READ, &why);
    if (fd < 0) {
        r->supp_why = why;
        return false;
    }
    struct hk_supp_parser p;
    hk_supp_parser_init(&p, hk_supp_file_pattern, r);
    char chunk[4096];
    for (;;) {
        ssize_t k = read(fd, chunk, sizeof chunk);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            r->supp_why = "a read failed";
        if (k <= 0 || !hk_supp_feed(&p, chunk, (size_t)k))
            break;
    }
    close(fd);
    if (r->supp_why)
        return false;
    if (!p.error)
        hk_supp_finish(&p);
    if (p.error) {
        r->supp_why = p.error;
        r->supp_line = p.line;
    }
    return !p.error;
}

void hk_leak_supp_load(struct hk_run *r)
{
    for (unsigned i = 0; i < sizeof hk_builtin_supp / sizeof hk_builtin_supp[0]; i++)
        hk_supp_add(r, hk_builtin_supp[i], 0, true);
    size_t nbuiltin = r->nsupp;
    const char *path = hk_opt.leak_suppressions;
    if (!path)
        return;
    if (!hk_supp_read(r, path)) {
        r->nsupp = nbuiltin;
        return;
    }
    for (size_t i = nbuiltin; i < r->nsupp; i++)
        r->supp[i].pat = r->supp_text + r->supp[i].off;
}

static bool hk_supp_match_frame(const char *pat, const struct hk_frame_info *fi)
{
    if (fi->func && hk_glob(pat, fi->func))
        return true;
    return fi->module && (hk_glob(pat, fi->module) || hk_glob(pat, hk_basename(fi->module)));
}

uint8_t hk_leak_suppressed(struct hk_run *r, const struct hk_group *g)
{
    const uintptr_t *frames;
    int n = hk_stack_frames(g->stack, &frames);
    for (size_t s = r->nsupp; s-- > 0;) {   /* the file's patterns first */
        for (int i = 0; i < n; i++) {
            struct hk_frame_info fi;
            hk_leak_frame_info(g->stack, i, &fi);
            bool hit = r->supp[s].builtin ? fi.func && hk_glob(r->supp[s].pat, fi.func)
                                          : hk_supp_match_frame(r->supp[s].pat, &fi);
            if (hit) {
                r->supp[s].hits_stacks++;
                r->supp[s].hits_blocks += g->blocks;
                return r->supp[s].builtin ? 2 : 1;
            }
        }
    }
    return 0;
}
