/* Runs out of memory on purpose (under HAKMEM_FAULT_MMAP_FAIL_AFTER or prlimit --as): four
 * threads allocate mid-tier blocks until malloc returns NULL; each must see errno ==
 * ENOMEM. Then a 64 TiB request must fail at once. Prints "allocated N" (successful mallocs;
 * output goes through write(2), so stdio allocates nothing). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say(const char *what, long n)
{
    char buf[96];
    size_t len = strlen(what);
    memcpy(buf, what, len);
    char num[24];
    int k = 0;
    do {
        num[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (k)
        buf[len++] = num[--k];
    buf[len++] = '\n';
    write(STDOUT_FILENO, buf, len);
}

static void *worker(void *arg)
{
    long id = (long)(intptr_t)arg, n = 0;
    for (;;) {
        /* Mid-tier sizes only: glibc's own allocations (a thread's DTV, for example) are
         * small, so the mid tier's counters must equal this program's count exactly. */
        size_t size = (size_t)(1100 + (n * 7 + id) % 1900);
        char *p = malloc(size);
        if (!p)
            return errno == ENOMEM ? (void *)(intptr_t)n : (void *)(intptr_t)-1;
        memset(p, 1, size < 64 ? size : 64);   /* keep everything: grow until refused */
        n++;
    }
}

int main(void)
{
    pthread_t t[4];
    long total = 0;
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        if ((intptr_t)r < 0) {
            say("wrong errno in thread ", i);
            return 1;
        }
        total += (intptr_t)r;
    }
    errno = 0;
    void *huge = malloc((size_t)64 << 40);
    if (huge || errno != ENOMEM) {
        say("64 TiB request did not fail with ENOMEM, errno ", errno);
        return 1;
    }
    say("allocated ", total);
    return 0;
}
