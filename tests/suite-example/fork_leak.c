/* The parent is clean; the child it forks leaks a buffer and exits, and the parent passes
 * when the child did. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scrub.h"

__attribute__((noinline)) static void sx_child_work(void)
{
    volatile unsigned long lost = ~(unsigned long)malloc(512);
    (void)lost;
}

int main(void)
{
    char *mine = malloc(64);
    if (!mine)
        return 1;
    strcpy(mine, "parent");
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        sx_child_work();
        sx_scrub_stack();
        exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return 1;
    free(mine);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
