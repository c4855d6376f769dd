/* Reports: at exit, on fatal signals, on a chosen signal, and on demand. The printer reads
 * the public snapshot (struct hakmem_stats) only, and writes through the emitter, so the
 * text table and the JSON come from the same code. */
#ifndef HK_REPORT_H
#define HK_REPORT_H

#include <stdbool.h>

struct hakmem_stats;
struct hk_emit;

enum hk_report_scope {
    HK_REPORT_TINY = 0,   /* HAKMEM_TINY_FAST_STATS: the tiny class table and its total */
    HK_REPORT_ALL = 1,    /* HAKMEM_STATS: every tier and process counter */
};

/* The exit and signal hooks are registered by the hook hk_diag_start() (src/hk_hooks.h). */
/* Emits a report of st (text or JSON, per e). */
void hk_report_emit(struct hk_emit *e, const struct hakmem_stats *st, int scope);
/* Writes the report to fd; lock=false inside signal handlers. Returns 0, or the errno of
 * the write that failed (the report is then incomplete). */
int hk_report_write(int fd, int format, int scope, bool lock);

#endif
