/* Dump files (HAKMEM_DUMP_DIR): a versioned, line-oriented record of the process's counters,
 * census, limits, misuse reports, leak stacks and the event that caused it, written without
 * malloc so it works on OOM and in signal handlers. Format: docs/dump-format.md. */
#ifndef HK_DUMP_H
#define HK_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_crash;

struct hk_dump_event {
    const char *kind;       /* "oom", "signal", or NULL (exit, request) */
    int err;                /* oom: errno of the failed mapping */
    size_t size;            /* oom: the request */
    int cls;                /* oom: size class, -1 for large */
    const char *tier;       /* oom: "tiny", "mid", "large" */
    size_t map_size;        /* oom: the mapping that failed (0: refused before mapping) */
    int signo;              /* signal */
    const char *signame;
    uintptr_t addr;         /* signal: faulting address */
    const struct hk_crash *crash;   /* signal: its context (hk_crash.h), or NULL */
};

/* Writes a dump into HAKMEM_DUMP_DIR (nothing when unset). reason: "oom", "signal", "exit",
 * "request". lock=false inside signal handlers. Returns 0, or -1 when none was written. */
int hk_dump_write(const char *reason, const struct hk_dump_event *ev, bool lock);

/* One " key=value" field of a record line, for the records other files write (the leak
 * check's module and stack records). A string value is bare or quoted (hk_out_value): a
 * program path or an environment value cannot add fields to the line. */
struct hk_out;
void hk_dump_rec_u64(struct hk_out *o, const char *key, uint64_t v);
void hk_dump_rec_hex(struct hk_out *o, const char *key, uint64_t v);
void hk_dump_rec_str(struct hk_out *o, const char *key, const char *v);
/* A limit in bytes, "inf" for UINT64_MAX (unlimited). */
void hk_dump_rec_limit(struct hk_out *o, const char *key, uint64_t v);
/* One option record for every HAKMEM_* variable that was set (dumps, the timeline). */
void hk_dump_options(struct hk_out *o);

#endif
