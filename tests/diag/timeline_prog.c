/* The programs of timeline_test.sh, run under LD_PRELOAD=libhakmem.so:
 *   run MS       allocate and free for MS ms, the live set growing then shrinking
 *   requests N   N dump requests (hakmem_dump, found with dlsym): N samples at once
 *   fork         a child that runs 100 ms and exits, beside the parent
 *   crash        run 100 ms, then a SIGSEGV
 *   closefds     run 50 ms, close every descriptor above 2, run 100 ms more */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Keeps up to 4096 blocks of mixed sizes live, replacing them at random. */
static void churn(double ms)
{
    static void *slot[4096];
    unsigned seed = 1;
    double end = now_ms() + ms;
    while (now_ms() < end)
        for (int i = 0; i < 1000; i++) {
            unsigned k = (unsigned)rand_r(&seed) % 4096;
            free(slot[k]);
            size_t size = 16u << (rand_r(&seed) % 10);
            slot[k] = malloc(size);
            memset(slot[k], 1, size < 64 ? size : 64);
        }
    for (int k = 0; k < 4096; k++)
        free(slot[k]), slot[k] = NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "run";
    if (!strcmp(mode, "run")) {
        churn(argc > 2 ? atof(argv[2]) : 200);
    } else if (!strcmp(mode, "requests")) {
        int (*dump)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "hakmem_dump");
        if (!dump)
            return 3;
        for (int i = 0, n = argc > 2 ? atoi(argv[2]) : 10; i < n; i++)
            dump();
    } else if (!strcmp(mode, "fork")) {
        pid_t pid = fork();
        churn(100);
        if (pid == 0)
            exit(0);
        int st;
        waitpid(pid, &st, 0);
    } else if (!strcmp(mode, "crash")) {
        churn(100);
        raise(SIGSEGV);
    } else if (!strcmp(mode, "closefds")) {
        churn(50);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        churn(100);
    } else {
        return 2;
    }
    puts("done");
    return 0;
}
