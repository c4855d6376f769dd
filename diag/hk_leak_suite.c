/* Suite mode of the leak check (HAKMEM_LEAK_SUITE_DIR): each checked process writes its
 * report, JSON through the one emitter, as a file of its own in the directory instead of the
 * text report on stderr: the process (pid, parent, executable, argv), the run's summary and
 * records, its exit status. hkdump suite DIR merges them (docs/leaks.md, "Suite mode").
 *
 * The check runs in the library destructor, which usually comes before the on_exit
 * callback that learns the exit status (hk_leak.c): the report is written up to its last
 * member under a temporary name, kept open, and ended and renamed when the status is known.
 * A reader never sees a partial report under the final name, and the final name is never
 * reused (N counts up past names taken: a pid reused by a later process, or an image that
 * exec'd and reports again under the same pid). Never allocates. */
#include "hakmem.h"
#include "hk_dump_format.h"
#include "hk_emit.h"
#include "hk_glob.h"
#include "hk_hooks.h"
#include "hk_log.h"
#include "hk_internal.h"
#include "hk_leak_run.h"
#include "hk_options.h"
#include "hk_os.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* The suite directory as an absolute path, when it was given relative. */
static char hk_suite_dir_abs[HK_PATH_MAX + 1];

static void hk_leak_suite_dir_absolute(void)
{
    const char *d = hk_opt.leak_suite_dir;
    if (!d || d[0] == '/' || !getcwd(hk_suite_dir_abs, sizeof hk_suite_dir_abs))
        return;
    size_t n = strlen(hk_suite_dir_abs), len = strlen(d);
    if (n + 1 + len >= sizeof hk_suite_dir_abs)
        return;   /* too long to join: used as given */
    hk_suite_dir_abs[n] = '/';
    memcpy(hk_suite_dir_abs + n + 1, d, len + 1);
    hk_opt.leak_suite_dir = hk_suite_dir_abs;
}

/* A process whose executable matches none of the globs is not checked at all (no stacks
 * recorded), so the runner of a test suite costs nothing but its start. */
bool hk_leak_prepare(void)
{
    hk_leak_suite_dir_absolute();
    if (!hk_opt.leak_only)
        return true;
    char exe[HK_PATH_MAX + 1];
    return hk_os_exe_path(exe, sizeof exe) && hk_glob_any(hk_opt.leak_only, exe);
}

/* The open report, from hk_leak_suite_begin to hk_leak_suite_end. fd < 0: none. */
static struct {
    int fd;
    struct hk_out out;
    struct hk_emit e;
    char tmp[HK_PATH_MAX + 1];
} hk_suite = {.fd = -1};

/* /proc/self/cmdline: the arguments, each NUL-terminated. Static, not on the stack: the
 * destructor may run on a small thread stack. */
static char hk_suite_cmdline[8192];

/* DIR/<name><a>.<b><suffix> into buf; false when it does not fit. */
static bool hk_suite_path(char *buf, size_t cap, const char *name, uint64_t a, uint64_t b,
                          const char *suffix)
{
    struct hk_out o;
    hk_out_init_mem(&o, buf, cap);
    hk_out_str(&o, hk_opt.leak_suite_dir);
    hk_out_char(&o, '/');
    hk_out_str(&o, name);
    hk_out_u64(&o, a);
    hk_out_char(&o, '.');
    hk_out_u64(&o, b);
    hk_out_str(&o, suffix);
    hk_out_flush(&o);
    return !o.err;
}

/* "argv":["prog", "arg", ...]; "argv_truncated":1 when the command line did not fit. */
static void hk_suite_argv(struct hk_emit *e)
{
    long n = hk_os_read_file("/proc/self/cmdline", hk_suite_cmdline, sizeof hk_suite_cmdline);
    hk_emit_json_key(e, "argv");
    hk_out_char(e->out, '[');
    for (long i = 0; i < n; i += (long)strlen(hk_suite_cmdline + i) + 1) {
        if (i)
            hk_out_char(e->out, ',');
        hk_out_json_str(e->out, hk_suite_cmdline + i);
    }
    hk_out_char(e->out, ']');
    if (n >= (long)sizeof hk_suite_cmdline - 1)
        hk_emit_u64(e, "argv_truncated", 1);
}

static void hk_suite_process(struct hk_emit *e)
{
    char exe[HK_PATH_MAX + 1];
    hk_emit_obj_begin(e, NULL, "process");
    hk_emit_u64(e, "version", HAKMEM_JSON_VERSION);
    hk_emit_str(e, "report", "leak");
    hk_emit_u64(e, "pid", (uint64_t)hk_os_pid());
    hk_emit_u64(e, "ppid", (uint64_t)hk_os_ppid());
    hk_emit_str(e, "exe", hk_os_exe_path(exe, sizeof exe) ? exe : "?");
    hk_suite_argv(e);
    hk_emit_str(e, "hakmem", hakmem_version());
    hk_emit_u64(e, "time_ns", hk_os_time_ns());
    hk_emit_obj_end(e);
}

void hk_leak_suite_begin(const struct hk_run *r)
{
    const char *why = NULL;
    uint64_t pid = (uint64_t)hk_os_pid();
    if (!hk_suite_path(hk_suite.tmp, sizeof hk_suite.tmp, ".hakmem-leak.", pid,
                       hk_os_random64() >> 16, ".tmp")) {
        hk_out_file_problem("leak report: cannot write into ", hk_opt.leak_suite_dir,
                            "the path is too long", 0, "");
        return;
    }
    hk_suite.fd = hk_os_open_file(hk_suite.tmp, HK_FILE_NEW, &why);
    if (hk_suite.fd < 0) {
        hk_out_file_problem("leak report: cannot write ", hk_suite.tmp, why, errno, "");
        return;
    }
    hk_out_init_fd(&hk_suite.out, hk_suite.fd);
    hk_emit_init(&hk_suite.e, &hk_suite.out, HK_EMIT_JSON);
    hk_emit_begin(&hk_suite.e);
    hk_suite_process(&hk_suite.e);
    if (r)
        hk_leak_emit_run(&hk_suite.e, r);
    else
        hk_emit_str(&hk_suite.e, "error", HK_LOG_PREFIX_LEAK_NO_MEMORY);
    hk_out_flush(&hk_suite.out);
}

/* The final name: hakmem-leak.PID.N.json, N from 0 up to the first not taken. */
static void hk_suite_publish(void)
{
    char path[HK_PATH_MAX + 1];
    uint64_t pid = (uint64_t)hk_os_pid();
    int err = EEXIST;
    for (uint64_t n = 0; n < 10000 && err == EEXIST; n++) {
        if (!hk_suite_path(path, sizeof path, "hakmem-leak.", pid, n, ".json"))
            break;
        err = hk_os_rename_new(hk_suite.tmp, path);
    }
    if (err) {
        hk_out_file_problem("leak report: cannot rename ", hk_suite.tmp, "no free name",
                            err == EEXIST ? 0 : err, "");
        hk_os_unlink(hk_suite.tmp);
    }
}

void hk_leak_suite_end(int status, int replaced)
{
    if (hk_suite.fd < 0)
        return;
    struct hk_emit *e = &hk_suite.e;
    hk_emit_obj_begin(e, NULL, "exit");
    if (status >= 0)
        hk_emit_u64(e, "exit_status", (uint64_t)status);
    if (replaced >= 0)
        hk_emit_u64(e, "leak_exit_status", (uint64_t)replaced);
    hk_emit_obj_end(e);
    hk_emit_end(e);
    int err = hk_suite.out.err;
    hk_os_close(hk_suite.fd);
    hk_suite.fd = -1;
    if (err) {
        hk_out_file_problem("leak report: cannot write ", hk_suite.tmp, "write failed", err, "");
        hk_os_unlink(hk_suite.tmp);
        return;
    }
    hk_suite_publish();
}
