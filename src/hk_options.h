/* Options: one table, read once from the environment without allocating. */
#ifndef HK_OPTIONS_H
#define HK_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

enum hk_stats_mode { HK_STATS_OFF = 0, HK_STATS_TEXT = 1, HK_STATS_JSON = 2 };

struct hk_options {
    bool tiny_fast_stats;        /* HAKMEM_TINY_FAST_STATS=1: per-class tiny table at exit */
    int stats;                   /* HAKMEM_STATS=1|json: every counter at exit */
    const char *stats_file;      /* HAKMEM_STATS_FILE: report destination (%p = pid) */
    bool shadow;                 /* HAKMEM_SHADOW=1 */
    bool leak_check;             /* HAKMEM_LEAK_CHECK=1 */
    int leak_exitcode;           /* HAKMEM_LEAK_EXITCODE (23) */
    const char *leak_suppressions;
    int leak_report;             /* 0 lost, 1 reachable, 2 all */
    bool leak_child;             /* HAKMEM_LEAK_CHILD */
    const char *dump_dir;        /* HAKMEM_DUMP_DIR */
    uint64_t fault_mmap_fail_after;
    bool tls_list_spill;         /* HAKMEM_TINY_TLS_LIST_SPILL (1); 0 reproduces the leak */
    int stats_signal;            /* HAKMEM_STATS_SIGNAL (0 = none) */
    bool abort_on_error;         /* HAKMEM_ABORT_ON_ERROR */
    int stack_depth;             /* HAKMEM_STACK_DEPTH (16) */
    bool stack_fp;               /* HAKMEM_STACK_FP (1): frame-pointer walks where verified */
    bool report_invalid;         /* HAKMEM_REPORT_INVALID (1): one line per misuse */
    uint32_t shadow_poison;      /* HAKMEM_SHADOW_POISON (256): bytes of a freed block checked */
};

extern struct hk_options hk_opt;

void hk_options_init(void);
/* Parses a decimal (or 0x hex) number; returns def when unset or malformed. */
uint64_t hk_parse_u64(const char *s, uint64_t def);

#endif
