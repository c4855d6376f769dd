#include "hk_os.h"
#include "hk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static atomic_uint_fast64_t hk_fail_after;     /* 0 = no fault injection */
static atomic_uint_fast64_t hk_maps_done;

void hk_os_set_fail_after(uint64_t n) { atomic_store(&hk_fail_after, n); }

static bool hk_os_fault_now(void)
{
    uint64_t limit = atomic_load_explicit(&hk_fail_after, HK_RELAXED);
    if (!limit)
        return false;
    return atomic_fetch_add(&hk_maps_done, 1) >= limit;
}

void *hk_os_map_meta(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *hk_os_map_aligned(size_t size, size_t align)
{
    if (hk_os_fault_now()) {
        errno = ENOMEM;
        return NULL;
    }
    if (size + align < size) {
        errno = ENOMEM;
        return NULL;
    }
    /* Over-map by the alignment and trim both ends. */
    char *raw = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *aligned = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (aligned > raw)
        munmap(raw, (size_t)(aligned - raw));
    size_t tail = (size_t)((raw + size + align) - (aligned + size));
    if (tail)
        munmap(aligned + size, tail);
    return aligned;
}

void hk_os_unmap(void *p, size_t size) { munmap(p, size); }

void hk_os_discard(void *p, size_t size) { madvise(p, size, MADV_DONTNEED); }

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

void hk_os_write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

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
