/* The OS layer: every system call the allocator makes goes through here. Nothing in this
 * layer allocates. */
#ifndef HK_OS_H
#define HK_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A data mapping (SuperSlab, large block) as the kernel made it. The caller uses `size`
 * bytes at the aligned address hk_os_map_aligned returns; [raw, raw + raw_size) is what is
 * mapped around them and what hk_os_unmap must be given when the caller is done. The two
 * are equal unless a trim of the alignment slack was refused (docs/architecture.md,
 * "Mapping policy"). */
struct hk_os_map {
    void *raw;
    size_t raw_size;
    size_t tried;      /* on failure: the length of the mmap call that failed (0: none made) */
};

/* Maps `size` bytes aligned to `align` (a power of two >= page size): first exactly `size`
 * bytes at an aligned address just below the last mapping (MAP_FIXED_NOREPLACE, one VMA and
 * one system call), else `size + align` bytes wherever the kernel puts them, trimmed to the
 * aligned part. NULL on failure with errno set and m->tried. Honours
 * HAKMEM_FAULT_MMAP_FAIL_AFTER (the injected failure is that of the first mmap call). */
void *hk_os_map_aligned(size_t size, size_t align, struct hk_os_map *m);
/* Plain anonymous mapping for internal metadata (never fault-injected). */
void *hk_os_map_meta(size_t size);
/* munmap of a data mapping: 0, or the errno of the refusal (ENOMEM: the kernel would have
 * had to split a mapping past vm.max_map_count). A refused range is still mapped and still
 * the caller's. Counted in unmap_failures. Honours HAKMEM_FAULT_MUNMAP_FAIL_AFTER. */
int hk_os_unmap(void *p, size_t size);
/* munmap of metadata (never fault-injected). A refused range keeps its address space but
 * its pages are dropped; counted in unmap_failures. Returns 0 or the errno. */
int hk_os_unmap_meta(void *p, size_t size);
/* madvise(DONTNEED): keep the range, drop its pages (they read as zeros afterwards).
 * Returns 0 or the errno; on failure the contents are unchanged. */
int hk_os_discard(void *p, size_t size);

/* Lines of /proc/self/maps (one per mapping), counted without allocating; -1 if unreadable. */
long hk_os_map_count(void);
/* vm.max_map_count, read once; -1 if unreadable. */
long hk_os_max_map_count(void);

size_t hk_os_page_size(void);
pid_t hk_os_tid(void);
pid_t hk_os_pid(void);
pid_t hk_os_ppid(void);
uint64_t hk_os_random64(void);
uint64_t hk_os_time_ns(void);         /* CLOCK_REALTIME */
uint64_t hk_os_monotonic_ns(void);    /* CLOCK_MONOTONIC_COARSE: cheap, for ages */

/* write(2) all of buf, retrying on EINTR. Returns 0, or the errno of the write that failed
 * (ENOSPC, EFBIG, EIO...): a caller writing a report says so, one writing to stderr cannot. */
int hk_os_write_all(int fd, const char *buf, size_t len);
/* A copy of fd at the lowest free descriptor >= min_fd, closed on exec (F_DUPFD_CLOEXEC);
 * where min_fd is past RLIMIT_NOFILE, the lowest free one above 2. -1 with errno set. */
int hk_os_dup_high(int fd, int min_fd);
/* What fd refers to (device and inode), so a holder can tell whether the program has
 * closed it and opened something else under the same number. false when fd is not open. */
struct hk_os_fd_id { uint64_t dev, ino; };
bool hk_os_fd_id(int fd, struct hk_os_fd_id *id);
/* close(2); the descriptor is gone whatever it returns (Linux). */
void hk_os_close(int fd);
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
/* The executable's path (/proc/self/exe), NUL-terminated; false when it cannot be read or
 * does not fit. */
bool hk_os_exe_path(char *buf, size_t cap);
/* Renames from to to, never over an existing file: 0, or an errno value (EEXIST when to is
 * taken). Atomic (renameat2 RENAME_NOREPLACE; link and unlink where the file system lacks it). */
int hk_os_rename_new(const char *from, const char *to);
void hk_os_unlink(const char *path);

/* getenv without allocation; NULL in set-uid programs (environment not trusted). */
const char *hk_os_getenv(const char *name);

/* Fault injection: the number of mappings after which maps fail with ENOMEM, and of
 * successful munmaps after which munmaps fail with ENOMEM without unmapping (0 = never). */
void hk_os_set_fail_after(uint64_t maps, uint64_t unmaps);

#endif
