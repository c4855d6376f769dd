/* The leak report's helper process: demangling allocates and the report does not, so the
 * mangled names go to `hkdump --demangle` (the one built or installed beside the library, or
 * HAKMEM_DEMANGLER=path; =none turns it off), one a line, and come back one a line in the
 * same order; the frames of the listed stacks go to `hkdump --inline` likewise, for the
 * code inlined at each (libdw reads what the report's own readers do not: the inline tree
 * of .debug_info). Input and output are memfds, so neither side can block on a full pipe;
 * the helper runs with the program's environment less LD_PRELOAD and HAKMEM_* (it must not
 * be checked itself) and DEBUGINFOD_*, started with clone (no fork handlers: the leak lock
 * is held) and waited for. Without a helper the names stay as the symbol table has them. */
#include "hk_internal.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_options.h"
#include "hk_os.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* dir + rel into buf when that file is executable; NULL otherwise. */
static const char *hk_dm_try(char *buf, size_t cap, const char *dir, size_t dlen, const char *rel)
{
    size_t rl = strlen(rel);
    if (dlen + rl + 1 > cap)
        return NULL;
    memcpy(buf, dir, dlen);
    memcpy(buf + dlen, rel, rl + 1);
    return access(buf, X_OK) == 0 ? buf : NULL;
}

/* The helper: HAKMEM_DEMANGLER, else hkdump beside this library (the build tree's
 * tools/hkdump/, an installed prefix's bin/); NULL when there is none. */
static const char *hk_dm_path(char *buf, size_t cap)
{
    if (getauxval(AT_SECURE))   /* a set-uid program runs no helper of anyone's choosing */
        return NULL;
    const char *opt = hk_opt.demangler;
    if (opt)
        return opt[0] && strcmp(opt, "none") ? opt : NULL;
    Dl_info dli;
    const char *slash;
    if (!dladdr((void *)hk_dm_path, &dli) || !dli.dli_fname ||
        !(slash = strrchr(dli.dli_fname, '/')))
        return NULL;
    size_t dlen = (size_t)(slash - dli.dli_fname) + 1;
    static const char *const rel[] = {"tools/hkdump/hkdump", "../bin/hkdump",
                                      "../../bin/hkdump"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        const char *p = hk_dm_try(buf, cap, dli.dli_fname, dlen, rel[i]);
        if (p)
            return p;
    }
    return NULL;
}

/* The program's environment less LD_PRELOAD, HAKMEM_* and DEBUGINFOD_* (libdw would fetch
 * debug files over the network, with minutes of timeouts, while the program waits at
 * exit), in a mapping of the run. */
static char **hk_dm_env(size_t *len)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **v = hk_leak_run_map((n + 1) * sizeof *v, len);
    if (!v)
        return NULL;
    size_t k = 0;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "HAKMEM_", 7) &&
            strncmp(*e, "DEBUGINFOD_", 11))
            v[k++] = *e;
    v[k] = NULL;
    return v;
}

static bool hk_dm_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

#define HK_DM_STACK (64 * 1024)

/* What the child needs, in the parent's memory (the child shares it until execve). */
struct hk_dm_child {
    const char *path;
    char *const *argv;
    char **env;
    int in, out;
    const sigset_t *mask;
};

/* The child, on a stack of its own: system calls only, no libc wrapper that a sanitizer or
 * the program may interpose (fd 0 and 1 from the memfds, the program's signal mask back,
 * execve). in and out are above 2, so dup3 never meets its own number. */
static int hk_dm_child(void *arg)
{
    const struct hk_dm_child *c = arg;
    if (syscall(SYS_dup3, c->in, 0, 0) < 0 || syscall(SYS_dup3, c->out, 1, 0) < 0)
        syscall(SYS_exit_group, 127);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, c->mask, NULL, _NSIG / 8);
    syscall(SYS_execve, c->path, c->argv, c->env);
    syscall(SYS_exit_group, 127);
    return 127;
}

/* Runs the helper on fd in (rewound) with its output to fd out; true when it exited 0, or
 * when the program's own SIGCHLD handling reaped it first (its output is checked anyway).
 * Started with clone(CLONE_VM | CLONE_VFORK), as posix_spawn does: no fork handlers run
 * (the leak lock is held, and hakmem's own handler takes it), where vfork may be fork in
 * disguise (ThreadSanitizer's vfork is). */
static bool hk_dm_spawn(const char *path, const char *mode, int in, int out)
{
    size_t env_len, stack_len;
    char **env = hk_dm_env(&env_len);
    char *stack = env ? hk_leak_run_map(HK_DM_STACK, &stack_len) : NULL;
    if (!stack) {
        if (env)
            hk_leak_run_unmap(env, env_len);
        return false;
    }
    char *const argv[] = {(char *)path, (char *)mode, NULL};
    /* No handler of the program's may run in the child, which shares its memory until
     * execve: every signal blocked around the clone, the mask given back just before. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    struct hk_dm_child c = {path, argv, env, in, out, &old};
    pid_t pid = clone(hk_dm_child, stack + stack_len, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    hk_leak_run_unmap(stack, stack_len);
    hk_leak_run_unmap(env, env_len);
    if (pid < 0)
        return false;
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    return w < 0 ? errno == ECHILD : WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A memfd (close-on-exec) with a number above 2; -1 when none. */
static int hk_dm_memfd(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0 || fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

bool hk_leak_helper_run(const char *mode, const char *in, size_t in_len, char **out,
                        size_t *out_len, size_t *out_map_len)
{
    char pathbuf[1024];
    const char *path = hk_dm_path(pathbuf, sizeof pathbuf);
    if (!path || !in_len)
        return false;
    /* Above 2, so that the dup2 onto 0 and 1 in the child moves them wherever the program
     * left its own stdin and stdout (closed, in a daemon). */
    int fin = hk_dm_memfd("hakmem-helper-in");
    int fout = fin < 0 ? -1 : hk_dm_memfd("hakmem-helper-out");
    bool ok = fout >= 0 && hk_dm_write_all(fin, in, in_len) && lseek(fin, 0, SEEK_SET) == 0 &&
              hk_dm_spawn(path, mode, fin, fout);
    struct stat st;
    ok = ok && fstat(fout, &st) == 0 && st.st_size > 0;
    if (ok) {
        *out = hk_leak_run_map((size_t)st.st_size + 1, out_map_len);
        ok = *out && pread(fout, *out, (size_t)st.st_size, 0) == st.st_size;
        if (*out && !ok)
            hk_leak_run_unmap(*out, *out_map_len);
        *out_len = ok ? (size_t)st.st_size : 0;
    }
    if (fin >= 0)
        close(fin);
    if (fout >= 0)
        close(fout);
    return ok;
}
