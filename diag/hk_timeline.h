/* The timeline (HAKMEM_STATS_INTERVAL_MS=n): memory over time, one sample every n ms in
 * HAKMEM_DUMP_DIR/hakmem-PID.timeline (format: diag/hk_dump_format.h, docs/dump-format.md),
 * for `hkdump plot` and hkdump's trend findings.
 *
 * A timer thread of ours takes the samples: it never allocates (its one allocation is the
 * thread itself, made by pthread_create at start-up), blocks every signal, and costs the
 * program's threads nothing between samples. The file is bounded by decimation: it holds at
 * most HK_TIMELINE_MAX_SAMPLES samples, kept in memory too; when they are all used, every
 * other one is dropped, the step doubles and the file is written anew. */
#ifndef HK_TIMELINE_H
#define HK_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#define HK_TIMELINE_MAX_SAMPLES 1024
#define HK_TIMELINE_MAX_EVENTS 64

/* Starts the timer thread when the option asks for it (a library constructor calls it). */
void hk_timeline_start(void);
/* A dump was written for this reason (oom, signal, exit, request; path NULL when none could
 * be): the timeline records a sample and the event. exit and signal end the timeline.
 * lock=false inside signal handlers. Never allocates. */
void hk_timeline_event(const char *reason, const char *path, bool lock);
/* The timeline's own mapping (part of diag_bytes), for the dump's diag_resident_kb. */
void hk_timeline_mapping(void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx);

#endif
