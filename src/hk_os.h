/* The OS layer: every system call the allocator makes goes through here. Nothing in this
 * layer allocates. */
#ifndef HK_OS_H
#define HK_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Maps `size` bytes aligned to `align` (a power of two >= page size). NULL on failure with
 * errno set. Honours HAKMEM_FAULT_MMAP_FAIL_AFTER. */
void *hk_os_map_aligned(size_t size, size_t align);
/* Plain anonymous mapping for internal metadata (never fault-injected). */
void *hk_os_map_meta(size_t size);
void hk_os_unmap(void *p, size_t size);
void hk_os_discard(void *p, size_t size);   /* madvise(DONTNEED): keep the range, drop pages */

size_t hk_os_page_size(void);
pid_t hk_os_tid(void);
pid_t hk_os_pid(void);
uint64_t hk_os_random64(void);
uint64_t hk_os_time_ns(void);         /* CLOCK_REALTIME */
uint64_t hk_os_monotonic_ns(void);    /* CLOCK_MONOTONIC_COARSE: cheap, for ages */

/* write(2) all of buf, retrying on EINTR; errors are ignored (we are reporting). */
void hk_os_write_all(int fd, const char *buf, size_t len);
/* Reads up to cap-1 bytes of a small file (e.g. /proc/self/status) into buf, NUL-terminated.
 * Returns the length or -1. */
long hk_os_read_file(const char *path, char *buf, size_t cap);

/* getenv without allocation; NULL in set-uid programs (environment not trusted). */
const char *hk_os_getenv(const char *name);

/* Fault injection: number of mappings after which maps fail with ENOMEM (0 = never). */
void hk_os_set_fail_after(uint64_t n);

#endif
