/* A program for the report tests, run under LD_PRELOAD of libhakmem.so:
 *   report_prog crash    allocate, then die of SIGSEGV (raised)
 *   report_prog fault    allocate, then write to address 16 in fault_here()
 *   report_prog fork     fork two children: one exits with exit(), one with _exit()
 *   report_prog signal   allocate, raise SIGUSR2 (the live-report signal), exit
 *   report_prog storm    4 threads raise SIGUSR2 200 times each, at the same time
 *   report_prog term     allocate, raise SIGTERM (must still end the program)
 *   report_prog leak     lose 10 blocks of 100 B (no pointer to them is left), exit
 *   report_prog leakexit N   lose them, then exit(N)
 *   report_prog reusefd2 [FILE]  close fd 2 (as sort and xz do before exit), open FILE (which
 *                        gets fd 2) and write "data" into it, exit
 *   report_prog plain    allocate 1000 blocks of 64 B, free 600, print to stdout, exit */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *keep[1000];

static void churn(void)
{
    for (int i = 0; i < 1000; i++) {
        keep[i] = malloc(64);
        memset(keep[i], i & 0xff, 64);
    }
    for (int i = 0; i < 600; i++)
        free(keep[i]);
}

/* The pointers are kept inverted, so the leak check's scan finds none of them. */
static __attribute__((noinline)) void lose(void)
{
    static volatile uintptr_t hidden[10];
    for (int i = 0; i < 10; i++)
        hidden[i] = ~(uintptr_t)malloc(100);
    (void)hidden[0];
}

static pthread_barrier_t storm_start;

static void *storm(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&storm_start);
    for (int i = 0; i < 200; i++)
        pthread_kill(pthread_self(), SIGUSR2);
    return NULL;
}

/* A real fault (not a raised signal): a write to an address no mapping covers. */
__attribute__((noinline)) static void fault_here(volatile int *p)
{
    *p = 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "plain";
    churn();
    if (!strcmp(mode, "crash")) {
        printf("about to crash\n");
        fflush(stdout);
        raise(SIGSEGV);
        return 0;
    }
    if (!strcmp(mode, "fault")) {
        printf("about to fault\n");
        fflush(stdout);
        volatile uintptr_t bad = 16;   /* through a variable: no compile-time bounds */
        fault_here((volatile int *)bad);
        return 0;
    }
    if (!strcmp(mode, "fork")) {
        for (int k = 0; k < 2; k++) {
            pid_t pid = fork();
            if (pid == 0) {
                for (int i = 0; i < 100; i++)
                    free(malloc(32));
                if (k == 0)
                    exit(0);
                _exit(0);
            }
            int st;
            waitpid(pid, &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return 1;
        }
        return 0;
    }
    if (!strcmp(mode, "signal")) {
        raise(SIGUSR2);
        return 0;
    }
    if (!strcmp(mode, "storm")) {
        pthread_t t[4];
        pthread_barrier_init(&storm_start, NULL, 4);
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, storm, NULL);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        return 0;
    }
    if (!strcmp(mode, "term")) {
        raise(SIGTERM);
        return 0;
    }
    if (!strcmp(mode, "leakexit") && argc > 2) {
        lose();
        exit(atoi(argv[2]));
    }
    if (!strcmp(mode, "reusefd2")) {
        close(2);
        if (argc > 2) {
            int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd != 2 || write(fd, "data\n", 5) != 5)
                return 1;
        }
        return 0;
    }
    if (!strcmp(mode, "leak")) {
        lose();
        return 0;
    }
    printf("plain: 1000 allocated, 600 freed\n");
    return 0;
}
