/* libFuzzer target: hkdump's command line and the opening of its inputs. The input is split
 * into arguments at newline and NUL bytes and run through hkd_cli (the whole of hkdump but
 * its exit handling) in a sandbox directory made at start-up, which holds what an input may
 * be: regular files (a log, a dump whose modules are the sandbox's odd files, an empty file,
 * one past the size limit), a directory, a FIFO nobody writes to, a socket, and symlinks to
 * /dev/zero, /dev/null, a file, a directory, nowhere and themselves. None of it may crash,
 * hang, leak or read out of bounds.
 *
 * Nothing reaches outside the sandbox: an argument that is an absolute path or has a ".."
 * component is replaced by a sandbox name, the sandbox's symlinks lead to devices, to
 * entries of the sandbox or nowhere (never to a directory outside it), stdin and stdout are
 * /dev/null, and hkdump writes no file: its output goes to stdout, and the file of plot's
 * -o FILE is replaced by "-" (stdout). The sandbox is removed at exit. The target runs inside
 * it: paths given to the fuzzer must be absolute.
 *
 * A run that blocks (an open of a FIFO waits for a writer) fails: libFuzzer's alarm
 * (-timeout=T rings every T/2 + 1 seconds) interrupts the system call, and a run that took
 * more than RUN_MAX_S seconds aborts with its arguments. */
#include "hkdump.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 16
#define RUN_MAX_S 2

static char sandbox[4096];
/* stderr as it was at start-up: libFuzzer's -close_fd_mask=2 silences hkdump's messages. */
static int report_fd = STDERR_FILENO;

static const char log_text[] =
    "hakmem: stats version=0.1.0 pid=7\n"
    "hakmem: superslabs mapped=20 unmapped=0 live=20 cached=0 bytes=41943040\n"
    "hakmem: error: double free of 0x7ff682230030 (class 2, 48 B, thread 9, state fast-cache); "
    "ignored\n"
    "hakmem: refused an allocation of 1 bytes aligned to 1099511627776 bytes: the alignment is "
    "more than physical memory and swap (25275953152 bytes); returning NULL with ENOMEM\n";

/* The modules are the sandbox's FIFO, device link, socket and a text file: the symbolizer
 * must open none of the first three and find no ELF in the last. */
static const char dump_text[] =
    "hakmem-dump 1\n"
    "header pid=7 time_ns=1 version=0.1.0 reason=exit exe=run.log\n"
    "module id=0 base=0x1000 end=0x2000 loaded=1 path=fifo\n"
    "module id=1 base=0x2000 end=0x3000 loaded=1 path=zero\n"
    "module id=2 base=0x3000 end=0x4000 loaded=1 path=sock\n"
    "module id=3 base=0x4000 end=0x5000 loaded=1 path=run.log\n"
    "stack id=1 blocks=1 bytes=8 kind=lost frames=0x1010,0x2010,0x3010,0x4010\n"
    "end\n";

static const char timeline_text[] =
    "hakmem-timeline 1\n"
    "header pid=7 exe=run.log every_ms=100 rlimit_as_cur=inf mem_total_kb=1000\n"
    "class id=2 size=64\n"
    "sample t_ms=0 vm_size_kb=900 vm_rss_kb=10 bytes_mapped=1 live_bytes=1 live=2:1\n"
    "event t_ms=5 kind=oom dump=run.dump\n"
    "sample t_ms=10 vm_size_kb=990 vm_rss_kb=20 bytes_mapped=2 live_bytes=1 live=2:1\n";

static const char *const links[][2] = {
    {"zero", "/dev/zero"}, {"null", "/dev/null"},   {"link.log", "run.log"},
    {"dirlink", "dir"},    {"dangling", "nowhere"}, {"loop", "loop"},
};
static const char *const files[] = {"run.log", "run.dump", "run.timeline", "empty", "big",
                                    "fifo", "sock", "dir/x.log"};

static void die(const char *what)
{
    perror(what);
    abort();
}

static void write_file(const char *name, const char *text)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t n = strlen(text);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n || close(fd) != 0)
        die(name);
}

/* A socket file: bound, then closed (the name stays). */
static void make_socket(const char *name)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0)
        die(name);
    close(s);
}

static void sandbox_remove(void)
{
    if (!sandbox[0] || chdir(sandbox) != 0)
        return;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        unlink(links[i][0]);
    rmdir("dir");
    if (chdir("/") == 0)
        rmdir(sandbox);
}

static void sandbox_make(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(sandbox, sizeof sandbox, "%s/hkdump-fuzz-cli.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(sandbox) || chdir(sandbox) != 0)
        die("sandbox");
    atexit(sandbox_remove);
    write_file("run.log", log_text);
    write_file("run.dump", dump_text);
    write_file("run.timeline", timeline_text);
    write_file("empty", "");
    int fd = open("big", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)HKD_INPUT_MAX + 1) != 0 || close(fd) != 0)
        die("big");   /* sparse: no disk used, and never read (its size says too large) */
    if (mkfifo("fifo", 0600) != 0 || mkdir("dir", 0700) != 0)
        die("fifo, dir");
    write_file("dir/x.log", log_text);
    make_socket("sock");
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlink(links[i][1], links[i][0]) != 0)
            die(links[i][0]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    report_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
        die("/dev/null");
    close(null);
    sandbox_make();
    return 0;
}

/* An argument that could name something outside the sandbox. */
static bool escapes(const char *a)
{
    if (a[0] == '/')
        return true;
    for (const char *c = a; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return true;
        c += n;
        c += *c == '/';
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 2] = {"hkdump"};
    int argc = 1;
    for (char *a = buf; argc <= MAX_ARGS && a < buf + size; argc++) {
        size_t n = strcspn(a, "\n");
        a[n] = '\0';
        /* plot's -o FILE writes to stdout (/dev/null): nothing is written in the sandbox. */
        bool output = argc > 1 && strcmp(argv[argc - 1], "-o") == 0;
        argv[argc] = output ? "-" : escapes(a) ? "run.log" : a;
        a += n + 1;
    }
    argv[argc] = NULL;
    time_t start = time(NULL);
    hkd_cli(argc, argv);
    fflush(stdout);
    if (time(NULL) - start > RUN_MAX_S) {
        dprintf(report_fd, "hkdump blocked for %lld s on:", (long long)(time(NULL) - start));
        for (int i = 1; i < argc; i++)
            dprintf(report_fd, " '%s'", argv[i]);
        dprintf(report_fd, "\n");
        abort();
    }
    free(buf);
    return 0;
}
