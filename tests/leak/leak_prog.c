/* The program the leak tests run under LD_PRELOAD=libhakmem.so HAKMEM_LEAK_CHECK=1. Every
 * leak site is a noinline function with a known name, size and count (check_leaks.py has
 * the same table):
 *   site_small_main    main thread    10 x     40 B   lost
 *   site_mid_worker    4 workers    4x3 x   3000 B   lost
 *   site_large_main    main thread     2 x 200000 B   lost       (large tier)
 *   site_reach_main    main thread     6 x    100 B   reachable  (from a global array)
 *   site_reach_worker  4 workers    4x1 x   5000 B   reachable  (from a global array)
 *   site_chain         main thread     3 x     64 B   reachable  (a list: only its head is
 *                                                                  in a global)
 *   site_suppressed    main thread     5 x     24 B   lost       (the suppression tests)
 *   leakmod_leak       dlopen'd lib    7 x    200 B   lost       (library dlclosed)
 *   site_child         forked child    2 x     16 B   lost       (mode "fork" only)
 * Usage: leak_prog MODE DLMOD   MODE = leaks | none | fork */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leak_scrub.h"

#define NWORKERS 4

void site_small_main(void);
void site_large_main(void);
void site_reach_main(void);
void site_chain(void);
void site_suppressed(void);
void site_child(void);
void site_mid_worker(void);
void site_reach_worker(int t);
void churn(unsigned seed);

void *g_keep[6];
void *g_wkeep[NWORKERS];
struct node {
    struct node *next;
    char pad[56];
};
struct node *g_list;
static int g_leaks;

static void sink(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

__attribute__((noinline)) void site_small_main(void)
{
    for (int i = 0; i < 10; i++) {
        char *p = malloc(40);
        memset(p, 1, 40);
        sink(p);
    }
}

__attribute__((noinline)) void site_large_main(void)
{
    for (int i = 0; i < 2; i++) {
        char *p = malloc(200000);
        memset(p, 2, 4096);
        sink(p);
    }
}

__attribute__((noinline)) void site_reach_main(void)
{
    for (int i = 0; i < 6; i++)
        g_keep[i] = malloc(100);
}

__attribute__((noinline)) void site_chain(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 3; i++) {
        struct node *n = malloc(sizeof *n);
        n->next = head;
        head = n;
    }
    g_list = head;
}

__attribute__((noinline)) void site_suppressed(void)
{
    /* One call site, so one stack: check_leaks.py expects "5 blocks in 1 stack" (clang -O2
     * unrolls this loop into 5 calls, each its own stack). gcc and clang both honour this. */
#pragma GCC unroll 1
    for (int i = 0; i < 5; i++)
        sink(malloc(24));
}

__attribute__((noinline)) void site_child(void)
{
    for (int i = 0; i < 2; i++)
        sink(malloc(16));
}

__attribute__((noinline)) void site_mid_worker(void)
{
    for (int i = 0; i < 3; i++) {
        char *p = malloc(3000);
        memset(p, 3, 3000);
        sink(p);
    }
}

__attribute__((noinline)) void site_reach_worker(int t) { g_wkeep[t] = malloc(5000); }

/* Allocations that are all freed: must never appear in the report. */
__attribute__((noinline)) void churn(unsigned seed)
{
    void *slot[64] = {0};
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 8) % 64;
        free(slot[k]);
        size_t sz = (seed >> 16) % 4 == 0 ? 70000 + (seed % 1000) : 8 + (seed >> 20) % 2000;
        slot[k] = malloc(sz);
    }
    for (int k = 0; k < 64; k++)
        free(slot[k]);
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    churn(17u + (unsigned)t);
    if (g_leaks)
        site_mid_worker();
    site_reach_worker(t);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "leaks";
    int leaks = strcmp(mode, "none") != 0;
    g_leaks = leaks;
    for (int i = 0; i < 500; i++)
        printf("line %d of the program's own output\n", i);   /* buffered: a pipe */

    pthread_t th[NWORKERS];
    for (int t = 0; t < NWORKERS; t++)
        pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < NWORKERS; t++)
        pthread_join(th[t], NULL);
    churn(99);

    site_reach_main();
    site_chain();
    if (leaks) {
        site_small_main();
        site_large_main();
        site_suppressed();
        if (argc > 2) {
            void *h = dlopen(argv[2], RTLD_NOW);
            if (!h) {
                fprintf(stderr, "leak_prog: dlopen %s: %s\n", argv[2], dlerror());
                return 2;
            }
            void (*fn)(int) = (void (*)(int))dlsym(h, "leakmod_leak");
            fn(7);
            dlclose(h);
        }
    }

    if (strcmp(mode, "fork") == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            site_child();
            scrub_stack();
            printf("child: exiting\n");
            exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    scrub_stack();
    printf("done\n");
    return 0;
}
