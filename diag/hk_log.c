/* Reports never go to whatever fd 2 is at exit: sort and xz close it before they exit (the
 * report was lost with EBADF), and a program that closes it and opens a file gets that file
 * as fd 2 (the report was appended to its data). A copy made at start-up, high enough to stay
 * clear of the descriptors programs reuse, still reaches the stderr the program was started
 * with. A forked child inherits it; exec closes it. */
#include "hk_log.h"
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
           hk_opt.dump_dir || hk_opt.stats_signal;
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

int hk_log_fd(void)
{
    int fd = atomic_load(&hk_log_copy);
    if (fd == HK_LOG_NONE)
        return -1;
    if (fd < 0)
        return STDERR_FILENO;
    /* A program that closes every descriptor (daemons, closefrom) may have reused ours. */
    struct hk_os_fd_id now;
    if (!hk_os_fd_id(fd, &now) || now.dev != hk_log_copy_id.dev ||
        now.ino != hk_log_copy_id.ino)
        return -1;
    return fd;
}
