/* The suppressions in use: the built-in list of glibc's and ld.so's one-time allocations,
 * and HAKMEM_LEAK_SUPPRESSIONS read through the streaming parser (hk_leak_supp.c) into the
 * run's memory; a group is suppressed when a pattern matches a frame of its stack. */
#include "hk_glob.h"
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

/* A function of the frame: its own, or one inlined at its pc (as LeakSanitizer matches). */
static bool hk_supp_match_func(const char *pat, const struct hk_frame_info *fi)
{
    if (fi->func && hk_glob_lsan(pat, fi->func))
        return true;
    const char *chain = fi->inlined, *func;
    struct hk_line src;
    for (uint32_t k = 0; k + 1 < fi->ninlined; k++) {
        hk_leak_inline_next(&chain, &func, &src);
        if (hk_glob_lsan(pat, func))
            return true;
    }
    return false;
}

static bool hk_supp_match_frame(const char *pat, const struct hk_frame_info *fi)
{
    if (hk_supp_match_func(pat, fi))
        return true;
    return fi->module && (hk_glob_lsan(pat, fi->module) || hk_glob_lsan(pat, hk_basename(fi->module)));
}

/* 1 + the pattern that takes frame fid (the file's before the built-in ones, later lines
 * first), 0 when none does: matched once per frame id and check (r->verdict). */
static size_t hk_supp_verdict(struct hk_run *r, uint32_t fid)
{
    uint32_t *memo = fid < r->nverdict ? &r->verdict[fid] : NULL;
    if (memo && *memo)
        return *memo - 1;
    struct hk_frame_info fi;
    hk_leak_frame_info(fid, false, &fi);
    size_t v = 0;
    for (size_t s = r->nsupp; s-- > 0 && !v;) {
        const struct hk_supp *sp = &r->supp[s];
        if (sp->builtin ? hk_supp_match_func(sp->pat, &fi) : hk_supp_match_frame(sp->pat, &fi))
            v = s + 1;
    }
    if (memo)
        *memo = (uint32_t)v + 1;
    return v;
}

/* 1 + the pattern that takes the stack of g (the highest of its frames'), 0 for none. */
static size_t hk_supp_best(struct hk_run *r, const struct hk_group *g)
{
    if (!r->verdict && !r->verdict_failed) {
        r->nverdict = (size_t)hk_stack_frame_count() + 1;
        r->verdict = hk_leak_run_map(r->nverdict * sizeof *r->verdict, &r->verdict_len);
        r->verdict_failed = !r->verdict;
        if (!r->verdict)
            r->nverdict = 0;   /* matched frame by frame each time: slower, the same */
    }
    const uint32_t *fids;
    int n = hk_stack_frame_ids(g->stack, &fids);
    size_t best = 0;
    for (int i = 0; i < n; i++) {
        size_t v = hk_supp_verdict(r, fids[i]);
        if (v > best)
            best = v;
    }
    return best;
}

bool hk_leak_supp_matches(struct hk_run *r, const struct hk_group *g)
{
    return hk_supp_best(r, g) != 0;
}

void hk_leak_supp_forget(struct hk_run *r)
{
    if (r->verdict)
        memset(r->verdict, 0, r->nverdict * sizeof *r->verdict);
}

uint8_t hk_leak_suppressed(struct hk_run *r, const struct hk_group *g)
{
    size_t best = hk_supp_best(r, g);
    if (!best)
        return 0;
    struct hk_supp *sp = &r->supp[best - 1];
    sp->hits_stacks++;
    sp->hits_blocks += g->blocks;
    return sp->builtin ? 2 : 1;
}
