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

/* write(2) all of buf, retrying on EINTR. Returns 0, or the errno of the write that failed
 * (ENOSPC, EFBIG, EIO...): a caller writing a report says so, one writing to stderr cannot. */
int hk_os_write_all(int fd, const char *buf, size_t len);
/* The symbolic name of an errno value ("ENOSPC"), or NULL for the ones not listed. */
const char *hk_os_errno_name(int err);

/* How hk_os_open_file may open a file that an option names. */
enum hk_os_file {
    HK_FILE_READ,      /* an existing regular file, read only */
    HK_FILE_REPLACE,   /* a new file (0600), or an existing regular file of ours, emptied, 0600 */
    HK_FILE_NEW,       /* a new file (0600) only: fails with EEXIST when the name is taken */
};
/* The one way hakmem opens a file that an option names (HAKMEM_STATS_FILE, dump files in
 * HAKMEM_DUMP_DIR, HAKMEM_LEAK_SUPPRESSIONS). The directories are walked one component at a
 * time with O_NOFOLLOW|O_DIRECTORY, so a symlink anywhere in the path is refused; the file
 * is opened with O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC (a FIFO cannot block) and must be a regular
 * file; one that is written must also have one link and belong to the effective user.
 * Returns the fd (blocking again), or -1 with errno set and *why: the reason, in words. */
int hk_os_open_file(const char *path, enum hk_os_file how, const char **why);
/* Reads up to cap-1 bytes of a small file (e.g. /proc/self/status) into buf, NUL-terminated.
 * Returns the length or -1. */
long hk_os_read_file(const char *path, char *buf, size_t cap);

/* getenv without allocation; NULL in set-uid programs (environment not trusted). */
const char *hk_os_getenv(const char *name);

/* Fault injection: number of mappings after which maps fail with ENOMEM (0 = never). */
void hk_os_set_fail_after(uint64_t n);

#endif
