/* Options: one table (hk_option_defs in hk_options.c) that drives the parser, the messages
 * about refused values and the documentation check; read once from the environment without
 * allocating. */
#ifndef HK_OPTIONS_H
#define HK_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hk_stats_mode { HK_STATS_OFF = 0, HK_STATS_TEXT = 1, HK_STATS_JSON = 2 };

/* Longest path hakmem opens (PATH_MAX without its NUL); a longer one is refused, never cut. */
#define HK_PATH_MAX 4095

struct hk_options {
    bool tiny_fast_stats;        /* HAKMEM_TINY_FAST_STATS=1: per-class tiny table at exit */
    int stats;                   /* HAKMEM_STATS=1|json: every counter at exit */
    const char *stats_file;      /* HAKMEM_STATS_FILE: report destination (%p = pid) */
    const char *log_path;        /* HAKMEM_LOG_PATH: every report to PATH.PID (%p = pid) */
    bool shadow;                 /* HAKMEM_SHADOW=1 */
    bool leak_check;             /* HAKMEM_LEAK_CHECK=1 */
    int leak_exitcode;           /* HAKMEM_LEAK_EXITCODE (23) */
    const char *leak_suppressions;
    const char *demangler;       /* HAKMEM_DEMANGLER: the leak report's C++ demangler, "none" */
    int leak_report;             /* 0 lost, 1 reachable, 2 all */
    bool leak_child;             /* HAKMEM_LEAK_CHILD */
    const char *leak_only;       /* HAKMEM_LEAK_ONLY: globs of the executables checked */
    const char *leak_suite_dir;  /* HAKMEM_LEAK_SUITE_DIR: one JSON report a process there */
    bool leak_suite_fail;        /* HAKMEM_LEAK_SUITE_FAIL: the leak exit code in suite mode */
    const char *dump_dir;        /* HAKMEM_DUMP_DIR */
    uint64_t stats_interval_ms;  /* HAKMEM_STATS_INTERVAL_MS (0 = no timeline) */
    uint64_t fault_mmap_fail_after;   /* HAKMEM_FAULT_MMAP_FAIL_AFTER (0 = off) */
    uint64_t fault_munmap_fail_after; /* HAKMEM_FAULT_MUNMAP_FAIL_AFTER (0 = off) */
    bool tls_list_spill;         /* HAKMEM_TINY_TLS_LIST_SPILL (1); 0 reproduces the leak */
    int stats_signal;            /* HAKMEM_STATS_SIGNAL (0 = none) */
    bool abort_on_error;         /* HAKMEM_ABORT_ON_ERROR */
    int stack_depth;             /* HAKMEM_STACK_DEPTH (16) */
    bool stack_walk;             /* HAKMEM_STACK_WALK (1): hakmem's own unwinder first */
    bool report_invalid;         /* HAKMEM_REPORT_INVALID (1): one line per misuse */
    uint32_t shadow_poison;      /* HAKMEM_SHADOW_POISON (256): 16 + the bytes checked */
};

extern struct hk_options hk_opt;

enum hk_opt_type {
    HK_OPT_BOOL,     /* 0|1 (also no|yes, false|true, off|on) */
    HK_OPT_UINT,     /* decimal or 0x hex in [min, max], a multiple of step; 0 too if zero_off */
    HK_OPT_CHOICE,   /* one of the '|'-separated words of choices, stored as its index */
    HK_OPT_PATH,     /* 1 to HK_PATH_MAX bytes; empty is unset */
    HK_OPT_SIGNAL,   /* a name (SIGUSR2, USR2) or number of a signal a report may take */
};

/* One option. The default is written as a user would write the value, and parsed by the
 * same code at start-up, so the table is the only place it is stated. */
struct hk_option_def {
    const char *name;
    enum hk_opt_type type;
    const char *def;             /* "" : unset */
    uint64_t min, max, step;     /* HK_OPT_UINT */
    bool zero_off;               /* HK_OPT_UINT: 0 is accepted too, and means off */
    const char *choices;         /* HK_OPT_CHOICE */
    size_t offset, size;         /* the field of struct hk_options */
    const char *doc;             /* what it does, one line */
};

extern const struct hk_option_def hk_option_defs[];
extern const size_t hk_noptions;

void hk_options_init(void);
/* What def accepts, in words ("1-64", "lost|reachable|all"), NUL-terminated in buf. */
void hk_option_accepts(const struct hk_option_def *def, char *buf, size_t cap);
/* The signal named or numbered by s that a live report may take; 0 when s names none, -1
 * when it names one that is refused (fatal, uncatchable, or one that ends programs). */
int hk_option_signal(const char *s);

#endif
