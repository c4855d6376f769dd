/* Leak tracking on stacks other than the thread's own: allocations from a coroutine on a
 * heap-allocated stack (swapcontext) and from a signal handler on an alternate signal stack.
 * Run under LD_PRELOAD with HAKMEM_LEAK_CHECK=1, it must run through and exit 0 (everything
 * is freed). The stack walk (diag/hk_unwind.c) stays off such stacks (it only reads words
 * inside the thread's own stack); this is a smoke test of that path, not a proof: a word
 * read off the stack would only crash if it pointed at unmapped memory. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

static ucontext_t main_ctx, co_ctx;
static void *co_blocks[1000];
static void *sig_blocks[100];

__attribute__((noinline)) static void *alloc_here(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}

static void coroutine(void)
{
    for (int i = 0; i < 1000; i++)
        co_blocks[i] = alloc_here(16 + (size_t)i % 200);
    swapcontext(&co_ctx, &main_ctx);
}

static void on_signal(int sig)
{
    (void)sig;
    for (int i = 0; i < 100; i++)
        sig_blocks[i] = alloc_here(32);
}

int main(void)
{
    size_t co_size = 256 * 1024;
    char *co_stack = malloc(co_size);
    if (!co_stack || getcontext(&co_ctx) != 0)
        return 1;
    co_ctx.uc_stack.ss_sp = co_stack;
    co_ctx.uc_stack.ss_size = co_size;
    co_ctx.uc_link = &main_ctx;
    makecontext(&co_ctx, coroutine, 0);
    for (int round = 0; round < 3; round++) {
        if (round)
            makecontext(&co_ctx, coroutine, 0);
        if (swapcontext(&main_ctx, &co_ctx) != 0)
            return 1;
        for (int i = 0; i < 1000; i++)
            free(co_blocks[i]);
    }
    free(co_stack);

    stack_t ss = {.ss_sp = malloc(SIGSTKSZ * 4), .ss_size = SIGSTKSZ * 4};
    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    for (int round = 0; round < 3; round++) {
        raise(SIGUSR1);
        for (int i = 0; i < 100; i++)
            free(sig_blocks[i]);
    }
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    free(ss.ss_sp);
    printf("ok\n");
    return 0;
}
