/* One run of the leak check: the snapshot of live blocks, their groups by stack, the
 * suppressions and the totals, and what each file of the check does with it. Internal to
 * the leak check; the rest of hakmem sees hk_leak.h.
 *
 *   hk_leak.c             entry points: one run at a time (lock, recursion guard), the
 *                         run's memory, which kinds are reported, the exit code
 *   hk_leak_scan.c        the snapshot of the live blocks and the reachability scan
 *   hk_leak_supp_match.c  the suppressions in use: built-in list, the file, matching a stack
 *   hk_leak_group.c       blocks grouped by stack and kind, groups ordered by bytes
 *   hk_leak_report.c      the text report, and the stacks of misuse reports
 *   hk_leak_json.c        the "leaks" object and array of the JSON report
 *   hk_leak_dump.c        the dump records (modules, stacks)
 * A run's memory is mapped by the run (hk_leak_run_map) and unmapped when it ends. */
#ifndef HK_LEAK_RUN_H
#define HK_LEAK_RUN_H

#include "hk_lock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The two kinds the totals count and HAKMEM_LEAK_REPORT selects; a lost group is direct or
 * indirect besides (struct hk_group). */
enum { HK_KIND_LOST = 0, HK_KIND_REACHABLE = 1 };

/* hk_lb.reach: HK_REACH_LOST not reached from the roots, HK_REACH_ROOT reached from them, and
 * after the second pass (hk_leak_scan.c) every lost block is HK_REACH_CLIQUE + i, in the clique
 * of block i: reached from i through lost blocks only. A leader (i itself) that another flood
 * reaches joins that clique, so a chain of leaders ends at the block that holds them all;
 * blocks at the end of their chain are the direct leaks, the others indirect. */
enum { HK_REACH_LOST = 0, HK_REACH_ROOT = 1, HK_REACH_CLIQUE = 2 };

/* One live block of the snapshot, sorted by address. */
struct hk_lb {
    uintptr_t ptr;
    size_t size;
    uint32_t stack;
    uint32_t reach;
};

/* An address range [lo, hi). */
struct hk_range {
    uintptr_t lo, hi;
};

/* The blocks of one stack and one kind; a lost group is either direct (held by no other lost
 * block) or indirect (held only by lost blocks). */
struct hk_group {
    uint32_t stack;
    uint8_t kind;
    uint8_t indirect;      /* lost, and each block held by another lost block */
    uint8_t supp;          /* 0 no, 1 by the file, 2 by the built-in list */
    uint64_t blocks, bytes;
    uint64_t held_blocks, held_bytes;   /* direct: the indirect blocks its blocks hold */
    size_t smin, smax;
};

/* A pattern of the built-in list, or of the file: those are kept in the run's text buffer,
 * which moves when it grows, so they are found by offset until the file is read whole. */
struct hk_supp {
    const char *pat;
    size_t off;
    bool builtin;
    uint64_t hits_stacks, hits_blocks;
};

/* The largest mapping the leak check scans as a root: 64 GiB is 128 MiB of page map. */
#define HK_LEAK_MAPS_SCAN_MAX ((uint64_t)64 << 30)

struct hk_run {
    uint64_t start_ns;     /* when the check began (hk_os_monotonic_ns) */
    struct hk_lb *b;
    size_t nb, b_len;
    struct hk_group *g;
    size_t ng, g_len;
    uint32_t *order;       /* group indices, most bytes first */
    size_t order_len;
    uintptr_t minp, maxp;
    uint32_t *work;        /* flood-fill work stack (block indices) */
    size_t nwork, work_len;
    uint32_t mark;         /* what a block found now becomes: HK_REACH_ROOT or a clique */
    /* totals per kind (index HK_KIND_*) of unsuppressed tracked blocks */
    uint64_t stacks[2], blocks[2], bytes[2];
    uint64_t indirect_blocks, indirect_bytes;   /* of the lost, those held by lost blocks */
    uint64_t supp_stacks, supp_blocks, supp_bytes;
    uint64_t untracked_blocks, untracked_bytes;
    uint64_t roots_bytes;
    uint64_t maps_bytes;   /* of those, in the program's own mappings */
    uint64_t huge_maps, huge_maps_bytes;   /* mappings too large to scan (hk_leak_maps.c) */
    struct hk_range *skip; /* what the scan of the mappings skips (hk_leak_maps.c) */
    size_t nskip, skip_len;
    bool skip_failed;
    struct hk_supp *supp;  /* the built-in patterns, then the file's */
    size_t nsupp, supp_map_len;
    char *supp_text;       /* the file's patterns, NUL-terminated */
    size_t supp_used, supp_len;
    const char *supp_why;  /* why the file was refused (nothing suppressed from it) */
    uint64_t supp_line;    /* the line that refused it, 0 when not a line */
    uint32_t *verdict;     /* by frame id: 0 not matched yet, else 1 + hk_supp_verdict */
    size_t nverdict, verdict_len;
    bool verdict_failed;
};

/* One check at a time; the symbol tables the check reads belong to its holder. */
extern hk_lock_t hk_leak_lock;

/* ---- hk_leak.c ---- */

/* A zeroed mapping of at least bytes (*len: its length). */
void *hk_leak_run_map(size_t bytes, size_t *len);
/* Unmaps what hk_leak_run_map mapped. */
void hk_leak_run_unmap(void *p, size_t len);
/* The most bytes the check had mapped at once since it began (the run's peak). */
size_t hk_leak_run_peak(void);
/* The most mappings the check holds at once. */
size_t hk_leak_run_map_max(void);
/* Every mapping of the check now mapped, [lo, hi). */
void hk_leak_run_maps(void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx);
/* Grows a mapping of the run to at least need bytes (doubling, contents kept). */
bool hk_leak_run_grow(void **p, size_t *len, size_t need);
/* Kinds printed and counted: HAKMEM_LEAK_REPORT=lost, reachable or all. */
bool hk_leak_kind_selected(int kind);
/* Runs fn on a fresh analysis of the live blocks: the recursion guard held (nothing the
 * check does is tracked), the leak lock held, the run's memory mapped and unmapped around
 * it. fn gets NULL when the analysis could not get its memory. */
void hk_leak_with_analysis(void (*fn)(struct hk_run *r, void *arg), void *arg);

/* ---- hk_leak_scan.c ---- */

/* Fills r->b with the live blocks, sorted by address, marks those reachable from the roots
 * and puts each lost block in a clique; false when memory for it could not be mapped. */
bool hk_leak_scan(struct hk_run *r);
/* The leader of block i's clique (i lost): i itself for a direct leak. */
size_t hk_leak_leader(struct hk_run *r, size_t i);

/* Scans [lo, hi) for pointers into live blocks (marking them, to be flooded). */
void hk_leak_scan_range(struct hk_run *r, uintptr_t lo, uintptr_t hi);

/* ---- hk_leak_maps.c ---- */

/* Scans the process's own private writable mappings as roots, less hakmem's, the check's
 * and the tracker's, the loaded objects and the thread stacks (hk_leak_maps.c). */
void hk_leak_scan_mappings(struct hk_run *r);

/* ---- hk_leak_supp_match.c ---- */

/* The built-in list, then HAKMEM_LEAK_SUPPRESSIONS: all of the file or (refused, with
 * r->supp_why) none of it. */
void hk_leak_supp_load(struct hk_run *r);
/* The inline chains of the frames of the groups of the kinds reported that no suppression
 * takes by their own names, from the helper (hk_leak_sym.c): before the suppressions are
 * applied, as they match inlined functions too. */
void hk_leak_sym_inline(struct hk_run *r);
/* Whether a suppression takes g (nothing counted). */
bool hk_leak_supp_matches(struct hk_run *r, const struct hk_group *g);
/* Forgets the per-frame verdicts: the frames have new names (inline chains). */
void hk_leak_supp_forget(struct hk_run *r);
/* 0 not suppressed, 1 by the file, 2 by the built-in list; counts the hit. */
uint8_t hk_leak_suppressed(struct hk_run *r, const struct hk_group *g);

/* ---- hk_leak_group.c ---- */

/* Groups r's blocks by stack and kind (direct, indirect, reachable), gives each direct group
 * the indirect blocks it holds, applies the suppressions, sums the totals and orders the
 * groups (r->order: direct, indirect, reachable; most bytes first); false without memory. */
bool hk_leak_group(struct hk_run *r);
/* "direct", "indirect" or "reachable": the kind the JSON report and the dump write. */
const char *hk_leak_kind_name(const struct hk_group *g);

/* ---- hk_leak_json.c ---- */

struct hk_emit;
/* JSON: the "leak_summary" object and the "leaks" array of r, in the current object. */
void hk_leak_emit_run(struct hk_emit *e, const struct hk_run *r);

/* ---- hk_leak_suite.c: suite mode (HAKMEM_LEAK_SUITE_DIR) ---- */

/* Opens this process's report (a temporary name in the directory) and writes all of it but
 * the exit status: the process fields and, with r, the run (NULL: the check had no memory). */
void hk_leak_suite_begin(const struct hk_run *r);
/* Ends the open report, if any: the program's exit status (< 0: unknown) and the leak exit
 * code that replaces it (< 0: none), then renames it to hakmem-leak.PID.N.json, N the first
 * number not taken, so that no report is ever overwritten. */
void hk_leak_suite_end(int status, int replaced);

/* ---- hk_leak_report.c ---- */

struct hk_out;
struct hk_line;
/* The text report to fd; final: at exit, else on demand. */
void hk_leak_print_report(const struct hk_run *r, int fd, bool final);
/* The line that says the process exits with HAKMEM_LEAK_EXITCODE for n leaked blocks. */
void hk_leak_print_exiting(uint64_t n);
/* The program failed on its own (status != 0): the leaks are counted, its status kept. */
void hk_leak_print_keeping(uint64_t n, int status);
/* "dir/file:line"; json: escaped as the body of a JSON string. */
void hk_leak_out_source(struct hk_out *o, const struct hk_line *src, bool json);

#endif
