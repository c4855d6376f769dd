/* Reports never go to whatever fd 2 is at exit: sort and xz close it before they exit (the
 * report was lost with EBADF), and a program that closes it and opens a file gets that file
 * as fd 2 (the report was appended to its data). A copy made at start-up, high enough to stay
 * clear of the descriptors programs reuse, still reaches the stderr the program was started
 * with. A forked child inherits it; exec closes it.
 *
 * HAKMEM_LOG_PATH sends every report to a file of its own per process instead, so that a
 * test runner reading the program's stderr sees only the program's output. */
#include "hk_log.h"
#include "hk_emit.h"
#include "hk_hooks.h"
#include "hk_options.h"
#include "hk_os.h"

#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

/* Above the descriptors a program numbers by hand (0-9 in shells) and the first ones it
 * opens; the bash convention for its own saved descriptors is 10 and up, ours is 100. */
#define HK_LOG_MIN_FD 100

/* -1: no copy (reports go to fd 2); HK_LOG_NONE: there was no stderr to copy. */
#define HK_LOG_NONE (-2)
static atomic_int hk_log_copy = -1;
static struct hk_os_fd_id hk_log_copy_id;

static bool hk_log_wanted(void)
{
    return hk_opt.stats || hk_opt.tiny_fast_stats || hk_opt.shadow || hk_opt.leak_check ||
           hk_opt.dump_dir || hk_opt.stats_signal || hk_opt.log_path;
}

void hk_log_start(void)
{
    if (!hk_log_wanted() || atomic_load(&hk_log_copy) != -1)
        return;
    int fd = hk_os_dup_high(STDERR_FILENO, HK_LOG_MIN_FD);
    if (fd < 0) {
        /* No stderr at start-up: whatever becomes fd 2 later is the program's file. Out of
         * descriptors: fd 2, as before. */
        if (errno == EBADF)
            atomic_store(&hk_log_copy, HK_LOG_NONE);
        return;
    }
    if (!hk_os_fd_id(fd, &hk_log_copy_id)) {
        hk_os_close(fd);
        return;
    }
    atomic_store(&hk_log_copy, fd);
}

static bool hk_log_same(int fd, const struct hk_os_fd_id *id)
{
    struct hk_os_fd_id now;
    return hk_os_fd_id(fd, &now) && now.dev == id->dev && now.ino == id->ino;
}

static int hk_log_stderr_fd(void)
{
    int fd = atomic_load(&hk_log_copy);
    if (fd == HK_LOG_NONE)
        return -1;
    if (fd < 0)
        return STDERR_FILENO;
    /* A program that closes every descriptor (daemons, closefrom) may have reused ours. */
    return hk_log_same(fd, &hk_log_copy_id) ? fd : -1;
}

bool hk_log_expand(const char *pattern, bool add_pid, char *path, size_t cap)
{
    struct hk_out o;
    hk_out_init_mem(&o, path, cap);
    for (const char *s = pattern; *s; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            hk_out_u64(&o, (uint64_t)hk_os_pid());
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            hk_out_char(&o, '%');
            s++;
        } else {
            hk_out_char(&o, *s);
        }
    }
    if (add_pid) {
        hk_out_char(&o, '.');
        hk_out_u64(&o, (uint64_t)hk_os_pid());
    }
    hk_out_flush(&o);
    return !o.err;
}

static bool hk_log_has_pid(const char *s)
{
    for (; *s; s++) {
        if (s[0] == '%' && (s[1] == 'p' || s[1] == '%')) {
            if (s[1] == 'p')
                return true;
            s++;
        }
    }
    return false;
}

/* The log file of this process: pid in the high half, the descriptor (-1: refused) in the
 * low half; 0 until the first report. Opened at the first report, not at start-up, so that
 * processes that report nothing leave no empty files; a forked child sees its parent's pid
 * and opens its own. */
static _Atomic uint64_t hk_log_file;
static struct hk_os_fd_id hk_log_file_id;
static atomic_flag hk_log_opening = ATOMIC_FLAG_INIT;

/* Opens the file for HAKMEM_LOG_PATH through the checked opener and moves it above the low
 * descriptors, as the copy of stderr. -1 after saying why: the refusal line reaches stderr
 * because hk_log_opening is held, so hk_log_fd answers the copy of stderr meanwhile. */
static int hk_log_open(void)
{
    char path[HK_PATH_MAX + 1];
    const char *why = "the path with the pid is longer than 4095 bytes";
    int fd = -1, err = ENAMETOOLONG;
    if (hk_log_expand(hk_opt.log_path, !hk_log_has_pid(hk_opt.log_path), path, sizeof path)) {
        fd = hk_os_open_file(path, HK_FILE_REPLACE, &why);
        err = errno;
    }
    if (fd < 0) {
        hk_out_file_problem("cannot write reports to ", path, why, err,
                            "; writing them to stderr");
        return -1;
    }
    int high = hk_os_dup_high(fd, HK_LOG_MIN_FD);
    if (high >= 0) {
        hk_os_close(fd);
        fd = high;
    }
    if (!hk_os_fd_id(fd, &hk_log_file_id)) {
        hk_os_close(fd);
        return -1;
    }
    return fd;
}

static int hk_log_file_fd(void)
{
    uint32_t pid = (uint32_t)hk_os_pid();
    uint64_t v = atomic_load(&hk_log_file);
    if (!v || (uint32_t)(v >> 32) != pid) {
        /* Another thread, or this one interrupted by a signal, is opening it: this one
         * report goes to stderr rather than waiting for a holder that may be ourselves. */
        if (atomic_flag_test_and_set(&hk_log_opening))
            return -1;
        v = atomic_load(&hk_log_file);
        if (!v || (uint32_t)(v >> 32) != pid) {
            if (v && (int32_t)(uint32_t)v >= 0)
                hk_os_close((int32_t)(uint32_t)v);   /* the parent's, inherited over fork */
            int fd = hk_log_open();
            v = (uint64_t)pid << 32 | (uint32_t)fd;
            atomic_store(&hk_log_file, v);
        }
        atomic_flag_clear(&hk_log_opening);
    }
    int fd = (int32_t)(uint32_t)v;
    return fd >= 0 && hk_log_same(fd, &hk_log_file_id) ? fd : -1;
}

int hk_log_fd(void)
{
    if (hk_opt.log_path) {
        int fd = hk_log_file_fd();
        if (fd >= 0)
            return fd;
    }
    return hk_log_stderr_fd();
}
