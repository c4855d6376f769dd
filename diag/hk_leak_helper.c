/* The leak report's helper process: demangling allocates and the report does not, so the
 * mangled names go to `hkdump --demangle` (the one built or installed beside the library, or
 * HAKMEM_DEMANGLER=path; =none turns it off), one a line, and come back one a line in the
 * same order; the frames of the listed stacks go to `hkdump --inline` likewise, for the
 * code inlined at each (libdw reads what the report's own readers do not: the inline tree
 * of .debug_info). Input and output are memfds, so neither side can block on a full pipe;
 * the helper runs with the program's environment less LD_PRELOAD and HAKMEM_* (it must not
 * be checked itself) and DEBUGINFOD_*, started with vfork (no fork handlers: the leak lock
 * is held) and waited for; a ThreadSanitizer build starts none. Without a helper the names
 * stay as the symbol table has them. */
#include "hk_internal.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_options.h"
#include "hk_os.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A ThreadSanitizer build starts no helper: its vfork is a fork, which runs the program's
 * fork handlers, and hakmem's, inside the check (the leak lock held), and a clone with
 * CLONE_VM fails its own runtime check. */
#if defined(__SANITIZE_THREAD__)
#define HK_DM_SPAWN_OK 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HK_DM_SPAWN_OK 0
#endif
#endif
#ifndef HK_DM_SPAWN_OK
#define HK_DM_SPAWN_OK 1
#endif

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
    /* A set-uid program runs no helper of anyone's choosing. */
    if (!HK_DM_SPAWN_OK || getauxval(AT_SECURE))
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

/* Runs the helper on fd in (rewound) with its output to fd out; true when it exited 0, or
 * when the program's own SIGCHLD handling reaped it first (its output is checked anyway). */
static bool hk_dm_spawn(const char *path, const char *mode, int in, int out)
{
    size_t env_len;
    char **env = hk_dm_env(&env_len);
    if (!env)
        return false;
    char *const argv[] = {(char *)path, (char *)mode, NULL};
    /* No handler of the program's may run in the child, which shares its memory until
     * execve: every signal blocked around the vfork, the mask given back just before. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = vfork();
    if (pid == 0) {
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
            _exit(127);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execve(path, argv, env);
        _exit(127);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
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
