/* hakmem — a tiered malloc with its own diagnostics.
 *
 * Two ways to use it:
 *   LD_PRELOAD=libhakmem.so prog     interposes malloc, free, calloc, realloc, ...
 *   cc prog.c $(pkg-config --cflags --libs hakmem)
 * The hakmem_* functions below are always available; the standard names are exported by
 * libhakmem.so only. */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>
#include <stdint.h>

#include "hakmem_counters.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAKMEM_VERSION_MAJOR 0
#define HAKMEM_VERSION_MINOR 1
#define HAKMEM_VERSION_PATCH 0

/* "0.1.0" */
const char *hakmem_version(void);

/* The allocator under its own names (same semantics as the standard functions). */
void *hakmem_malloc(size_t size);
void hakmem_free(void *ptr);
void *hakmem_calloc(size_t nmemb, size_t size);
void *hakmem_realloc(void *ptr, size_t size);
void *hakmem_reallocarray(void *ptr, size_t nmemb, size_t size);
int hakmem_posix_memalign(void **out, size_t alignment, size_t size);
void *hakmem_aligned_alloc(size_t alignment, size_t size);
void *hakmem_memalign(size_t alignment, size_t size);
void *hakmem_valloc(size_t size);
void *hakmem_pvalloc(size_t size);
size_t hakmem_malloc_usable_size(void *ptr);

/* Return what the calling thread caches to the slab freelists, drain remote frees, release
 * empty slabs and SuperSlabs. With force != 0 the SuperSlab cache is emptied too, so that
 * "SuperSlabs live" afterwards counts only SuperSlabs that hold live blocks. */
void hakmem_collect(int force);

/* With HAKMEM_LEAK_CHECK=1: report the blocks leaked so far (as at exit) and return how many
 * unsuppressed leaked blocks there are. Returns 0 when leak tracking is off. */
uint64_t hakmem_leak_check(void);

/* Writes a dump file into HAKMEM_DUMP_DIR now (docs/dump-format.md). Returns 0, or -1 when
 * HAKMEM_DUMP_DIR is unset or the file could not be created. */
int hakmem_dump(void);

/* ---- statistics snapshot ------------------------------------------------------------ */

#define HAKMEM_STATS_VERSION 3   /* 3: diag_bytes among the process counters */
/* The JSON report's "version" (docs/json-schema.md): 3 since lost leaks are direct or
 * indirect. */
#define HAKMEM_JSON_VERSION 3
#define HAKMEM_MAX_CLASSES 64

/* One size class, all threads merged (live and exited). allocs - frees == live. The
 * counters are those of HAKMEM_CLASS_COUNTERS (hakmem_counters.h). */
#define HAKMEM_FIELD_(name, width, doc) uint64_t name;
struct hakmem_class_stats {
    uint32_t class_id;
    uint32_t size;              /* block size in bytes */
    uint64_t allocs;            /* blocks handed to the program: fast_hits + slow_allocs */
    uint64_t live;              /* allocs - frees */
    HAKMEM_CLASS_COUNTERS(HAKMEM_FIELD_)
};

/* A tier (tiny, mid, large): the sum of its classes, or the large-block counters. */
struct hakmem_tier_stats {
    uint64_t allocs, frees, live, bytes_requested;
    uint64_t mappings;          /* large: live mappings; tiny/mid: live slabs */
    uint64_t cache_hits;        /* large: mappings reused from the cache */
};

struct hakmem_stats {
    uint32_t version;           /* HAKMEM_STATS_VERSION */
    uint32_t nclasses;          /* entries used in classes[] */
    uint32_t ntiny;             /* classes[0 .. ntiny) are the tiny tier, the rest are mid */
    uint32_t pid;
    struct hakmem_class_stats classes[HAKMEM_MAX_CLASSES];
    struct hakmem_tier_stats tiny, mid, large;
    struct hakmem_tier_stats totals;
    uint64_t superslabs_live;   /* superslabs_mapped - superslabs_unmapped */
    uint64_t bytes_mapped;      /* all live mappings: superslab_bytes + large_bytes */
    HAKMEM_PROCESS_COUNTERS(HAKMEM_FIELD_)
};
#undef HAKMEM_FIELD_

/* Fill *out (size = sizeof *out) with a consistent-enough snapshot: counters of every live
 * thread are summed with those merged from exited threads. Returns 0, or -1 with errno. */
int hakmem_stats_snapshot(struct hakmem_stats *out, size_t size);

/* Write the report to a file descriptor: text table, or JSON (docs/json-schema.md). */
void hakmem_stats_print(int fd);
void hakmem_stats_json(int fd);

#ifdef __cplusplus
}
#endif
#endif /* HAKMEM_H */
