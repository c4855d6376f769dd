#include "hk_os.h"
#include "hk_internal.h"
#include "hk_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- data mappings (docs/architecture.md, "Mapping policy") ---- */

/* Fault injection: HAKMEM_FAULT_MMAP_FAIL_AFTER counts hk_os_map_aligned calls,
 * HAKMEM_FAULT_MUNMAP_FAIL_AFTER successful munmaps of data mappings. 0 = off. */
static atomic_uint_fast64_t hk_map_fail_after, hk_maps_done;
static atomic_uint_fast64_t hk_unmap_fail_after, hk_unmaps_done;

/* The base of the last data mapping made: the next exact try goes just below it, so that
 * hakmem's mappings grow downward the way the kernel places its own. 0: none yet. */
static atomic_uintptr_t hk_map_last;

/* Exact tries stop above this: the program, its brk heap and low fixed mappings live there. */
#define HK_OS_HINT_FLOOR ((uintptr_t)1 << 32)

void hk_os_set_fail_after(uint64_t maps, uint64_t unmaps)
{
    atomic_store(&hk_map_fail_after, maps);
    atomic_store(&hk_unmap_fail_after, unmaps);
}

static bool hk_os_map_fault(void)
{
    uint64_t limit = atomic_load_explicit(&hk_map_fail_after, HK_RELAXED);
    return limit && atomic_fetch_add(&hk_maps_done, 1) >= limit;
}

static bool hk_os_unmap_fault(void)
{
    uint64_t limit = atomic_load_explicit(&hk_unmap_fail_after, HK_RELAXED);
    return limit && atomic_load_explicit(&hk_unmaps_done, HK_RELAXED) >= limit;
}

static void *hk_os_mmap(void *addr, size_t len, int prot, int flags)
{
    void *p = mmap(addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *hk_os_map_meta(size_t size) { return hk_os_mmap(NULL, size, PROT_READ | PROT_WRITE, 0); }

int hk_os_unmap(void *p, size_t size)
{
    if (hk_os_unmap_fault()) {
        HK_PSTAT_ADD(unmap_failures, 1);
        return ENOMEM;
    }
    if (munmap(p, size) == 0) {
        if (atomic_load_explicit(&hk_unmap_fail_after, HK_RELAXED))
            atomic_fetch_add(&hk_unmaps_done, 1);
        return 0;
    }
    int err = errno;
    HK_PSTAT_ADD(unmap_failures, 1);
    return err;
}

int hk_os_discard(void *p, size_t size) { return madvise(p, size, MADV_DONTNEED) ? errno : 0; }

int hk_os_unmap_meta(void *p, size_t size)
{
    if (munmap(p, size) == 0)
        return 0;
    int err = errno;
    HK_PSTAT_ADD(unmap_failures, 1);
    (void)hk_os_discard(p, size);   /* what can still be given back */
    return err;
}

/* Whether the kernel honours MAP_FIXED_NOREPLACE (Linux 4.17), asked once by mapping over
 * a page that is surely mapped (this variable's): such a kernel refuses with EEXIST, an
 * older one treats the address as a hint and maps elsewhere (undone at once). Without it,
 * an exact try could land unaligned, and undoing that is an munmap that may be refused. */
static bool hk_os_noreplace(void)
{
    static atomic_int known;   /* 0: not asked, 1: yes, -1: no */
    int k = atomic_load_explicit(&known, HK_RELAXED);
    if (k)
        return k > 0;
    void *page = (void *)((uintptr_t)&known & ~(uintptr_t)(hk_os_page_size() - 1));
    void *p = hk_os_mmap(page, hk_os_page_size(), PROT_NONE, MAP_FIXED_NOREPLACE);
    k = !p && errno == EEXIST ? 1 : -1;
    if (p)
        (void)hk_os_unmap_meta(p, hk_os_page_size());
    atomic_store_explicit(&known, k, HK_RELAXED);   /* racers store the same */
    return k > 0;
}

/* Where an exact mapping of size bytes is tried: aligned, ending at or below the last
 * mapping's base. 0: no try (nothing mapped yet, too low, or the kernel cannot say no). */
static uintptr_t hk_os_hint(size_t size, size_t align)
{
    uintptr_t last = atomic_load_explicit(&hk_map_last, HK_RELAXED);
    if (last < HK_OS_HINT_FLOOR + size || !hk_os_noreplace())
        return 0;
    return (last - size) & ~(uintptr_t)(align - 1);
}

/* The slow way: size + align bytes anywhere, then the slack at both ends unmapped. A trim
 * the kernel refuses leaves that slack in m's raw range, which is unmapped whole later:
 * nothing is lost, and the mapping is still one range. */
static void *hk_os_map_over(size_t size, size_t align, struct hk_os_map *m)
{
    size_t len = size + align;
    m->tried = len;
    char *raw = hk_os_mmap(NULL, len, PROT_READ | PROT_WRITE, 0);
    if (!raw)
        return NULL;
    char *base = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    size_t head = (size_t)(base - raw), tail = len - head - size;
    m->raw = raw;
    m->raw_size = len;
    if (head && hk_os_unmap(raw, head) == 0) {
        m->raw = base;
        m->raw_size -= head;
    }
    if (tail && hk_os_unmap(base + size, tail) == 0)
        m->raw_size -= tail;
    return base;
}

void *hk_os_map_aligned(size_t size, size_t align, struct hk_os_map *m)
{
    m->raw = NULL;
    m->raw_size = 0;
    m->tried = 0;
    if (size + align < size) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t hint = hk_os_hint(size, align);
    if (hk_os_map_fault()) {
        m->tried = hint ? size : size + align;
        errno = ENOMEM;
        return NULL;
    }
    void *p = NULL;
    if (hint) {
        m->tried = size;
        p = hk_os_mmap((void *)hint, size, PROT_READ | PROT_WRITE, MAP_FIXED_NOREPLACE);
        if (p) {
            m->raw = p;
            m->raw_size = size;
        } else if (errno == ENOMEM) {
            return NULL;   /* a larger try would be refused too */
        }
    }
    if (!p)
        p = hk_os_map_over(size, align, m);   /* range taken (EEXIST), or no try */
    if (p)
        atomic_store_explicit(&hk_map_last, (uintptr_t)p, HK_RELAXED);
    return p;
}

long hk_os_map_count(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[2048];
    long lines = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    }
    close(fd);
    return lines;
}

long hk_os_max_map_count(void)
{
    static atomic_long cached;   /* 0: not read yet; racers store the same */
    long v = atomic_load_explicit(&cached, HK_RELAXED);
    if (v)
        return v;
    char buf[32];
    v = -1;
    if (hk_os_read_file("/proc/sys/vm/max_map_count", buf, sizeof buf) > 0 && buf[0] >= '0' &&
        buf[0] <= '9') {
        v = 0;
        for (const char *c = buf; *c >= '0' && *c <= '9'; c++)
            v = v * 10 + (*c - '0');
    }
    atomic_store_explicit(&cached, v, HK_RELAXED);
    return v;
}

size_t hk_os_page_size(void)
{
    /* Cached; threads racing to fill it store the same value (relaxed atomics say so). */
    static atomic_size_t page;
    size_t p = atomic_load_explicit(&page, HK_RELAXED);
    if (!p) {
        p = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page, p, HK_RELAXED);
    }
    return p;
}

pid_t hk_os_tid(void) { return (pid_t)syscall(SYS_gettid); }
pid_t hk_os_pid(void) { return (pid_t)syscall(SYS_getpid); }
pid_t hk_os_ppid(void) { return (pid_t)syscall(SYS_getppid); }

uint64_t hk_os_random64(void)
{
    uint64_t r = 0;
    const unsigned char *at = (const unsigned char *)getauxval(AT_RANDOM);
    if (at)
        memcpy(&r, at, sizeof r);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&r;
    return r | 1;
}

uint64_t hk_os_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t hk_os_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int hk_os_write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int hk_os_dup_high(int fd, int min_fd)
{
    int d = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
    if (d < 0 && errno == EINVAL)
        d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return d;
}

bool hk_os_fd_id(int fd, struct hk_os_fd_id *id)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return false;
    id->dev = (uint64_t)st.st_dev;
    id->ino = (uint64_t)st.st_ino;
    return true;
}

void hk_os_close(int fd) { close(fd); }

const char *hk_os_errno_name(int err)
{
    switch (err) {
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EFBIG: return "EFBIG";
    case EIO: return "EIO";
    case EPIPE: return "EPIPE";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EROFS: return "EROFS";
    case ELOOP: return "ELOOP";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENXIO: return "ENXIO";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EAGAIN: return "EAGAIN";
    default: return NULL;
    }
}

/* ---- files named by options ---- */

#define HK_OS_PATH_MAX 4095

/* The directory that holds the last component of path, opened one component at a time
 * without following a symlink; *leaf points at that component inside copy. */
static int hk_os_open_parent(const char *path, char *copy, const char **leaf, const char **why)
{
    size_t len = strlen(path);
    if (!len || len > HK_OS_PATH_MAX) {
        *why = len ? "the path is longer than 4095 bytes" : "the path is empty";
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(copy, path, len + 1);
    int dir = open(copy[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *s = copy;
    for (;;) {
        if (dir < 0) {
            *why = errno == ELOOP || errno == ENOTDIR
                       ? "a directory in the path is a symlink or not a directory"
                       : "a directory in the path cannot be opened";
            return -1;
        }
        while (*s == '/')
            s++;
        char *slash = strchr(s, '/');
        if (!slash)
            break;
        *slash = '\0';
        int next = openat(dir, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int err = errno;
        close(dir);
        errno = err;
        dir = next;
        s = slash + 1;
    }
    if (!*s) {
        close(dir);
        *why = "the path names a directory";
        errno = EISDIR;
        return -1;
    }
    *leaf = s;
    return dir;
}

/* Why st may not be used (NULL: it may). */
static const char *hk_os_file_refusal(const struct stat *st, enum hk_os_file how)
{
    if (!S_ISREG(st->st_mode))
        return "not a regular file (a FIFO, device, socket or directory)";
    if (how == HK_FILE_READ)
        return NULL;
    if (st->st_nlink != 1)
        return "a hard link (the file has more than one name)";
    if (st->st_uid != geteuid())
        return "the file belongs to another user";
    return NULL;
}

/* An existing file of that name, checked before (without opening it: opening a device may
 * act) and after opening (what was opened is what counts). */
static int hk_os_open_existing(int dir, const char *leaf, enum hk_os_file how, const char **why)
{
    struct stat before, st;
    if (fstatat(dir, leaf, &before, AT_SYMLINK_NOFOLLOW) < 0) {
        *why = "it cannot be looked up";
        return -1;
    }
    *why = S_ISLNK(before.st_mode) ? "the file is a symlink" : hk_os_file_refusal(&before, how);
    if (*why) {
        errno = EPERM;
        return -1;
    }
    int flags = (how == HK_FILE_READ ? O_RDONLY : O_WRONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    int fd = openat(dir, leaf, flags);
    if (fd < 0) {
        *why = errno == ELOOP ? "the file is a symlink" : "it cannot be opened";
        return -1;
    }
    if (fstat(fd, &st) < 0 || (*why = hk_os_file_refusal(&st, how)) ||
        st.st_ino != before.st_ino || st.st_dev != before.st_dev) {
        if (!*why)
            *why = "the file changed while it was opened";
        close(fd);
        errno = EPERM;
        return -1;
    }
    if (how == HK_FILE_REPLACE && (fchmod(fd, 0600) < 0 || ftruncate(fd, 0) < 0)) {
        *why = "it cannot be emptied or made private (mode 0600)";
        close(fd);
        return -1;
    }
    return fd;
}

static int hk_os_open_leaf(int dir, const char *leaf, enum hk_os_file how, const char **why)
{
    if (how == HK_FILE_READ)
        return hk_os_open_existing(dir, leaf, how, why);
    /* A few rounds: the name may be removed between the two opens. */
    for (int round = 0; round < 4; round++) {
        int fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK |
                                       O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            *why = "it cannot be created";
            return -1;
        }
        if (how == HK_FILE_NEW) {
            *why = "the name is taken";
            return -1;
        }
        fd = hk_os_open_existing(dir, leaf, how, why);
        if (fd >= 0 || errno != ENOENT)
            return fd;
    }
    return -1;
}

int hk_os_open_file(const char *path, enum hk_os_file how, const char **why)
{
    char copy[HK_OS_PATH_MAX + 1];
    const char *leaf;
    int dir = hk_os_open_parent(path, copy, &leaf, why);
    if (dir < 0)
        return -1;
    int fd = hk_os_open_leaf(dir, leaf, how, why);
    int err = errno;
    close(dir);
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    errno = err;
    return fd;
}

bool hk_os_exe_path(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1)
        return false;
    buf[n] = '\0';
    return true;
}

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

int hk_os_rename_new(const char *from, const char *to)
{
#ifdef SYS_renameat2
    if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return errno;
#endif
    if (link(from, to) != 0)
        return errno;
    unlink(from);
    return 0;
}

void hk_os_unlink(const char *path) { unlink(path); }

long hk_os_read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (long)got;
}

const char *hk_os_getenv(const char *name)
{
    if (getauxval(AT_SECURE))
        return NULL;
    size_t len = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}
