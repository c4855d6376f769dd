/* One misuse per run (argv[1]), then "survived" on stdout: run under LD_PRELOAD with
 * HAKMEM_SHADOW=1; the test checks the named report and that the process carried on. */
#define _ISOC11_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int global_buffer[8];

static void *free_in_thread(void *p)
{
    free(p);
    return NULL;
}

/* Named sites for the stacks of a report (HAKMEM_LEAK_CHECK=1 beside HAKMEM_SHADOW=1);
 * not static, so that the symbol table names them. */
char *site_alloc(size_t n);
void site_free(char *p);
void site_free_again(char *p);

__attribute__((noinline)) char *site_alloc(size_t n)
{
    char *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void site_free(char *p)
{
    free(p);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void site_free_again(char *p)
{
    free(p);
    __asm__ volatile("" ::: "memory");
}

/* Every aligned entry point keeps its alignment, and a block written whole, up to its
 * usable size, is freed without a report. Prints "misaligned ..." on a failure. */
static void aligned_check(void *p, size_t align, size_t size, const char *call)
{
    if (!p || (uintptr_t)p % align) {
        printf("misaligned %s(%zu, %zu) = %p\n", call, align, size, p);
        return;
    }
    size_t n = malloc_usable_size(p);
    if (n < size)
        printf("short %s(%zu, %zu): usable %zu\n", call, align, size, n);
    memset(p, 'A', n);
    free(p);
}

static void aligned_sound(void)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 4000, 4096, 70000, 600000};
    for (size_t align = 16; align <= ((size_t)1 << 21); align *= 2)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t size = sizes[i];
            void *p = NULL;
            if (posix_memalign(&p, align, size) == 0)
                aligned_check(p, align, size, "posix_memalign");
            else
                printf("misaligned posix_memalign(%zu, %zu) failed\n", align, size);
            aligned_check(aligned_alloc(align, size), align, size, "aligned_alloc");
            aligned_check(memalign(align, size), align, size, "memalign");
        }
    aligned_check(valloc(100), 4096, 100, "valloc");
    aligned_check(pvalloc(100), 4096, 100, "pvalloc");
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    int local = 0;
    if (!strcmp(m, "double")) {
        char *p = malloc(40);
        free(p);
        free(p);
    } else if (!strcmp(m, "double-sites")) {
        char *p = site_alloc(40);
        site_free(p);
        site_free_again(p);
    } else if (!strcmp(m, "remote-double")) {
        /* freed by another thread (waiting on the remote queue), then freed again */
        char *p = malloc(50);
        pthread_t t;
        pthread_create(&t, NULL, free_in_thread, p);
        pthread_join(t, NULL);
        free(p);
    } else if (!strcmp(m, "realloc-freed")) {
        char *p = malloc(40);
        free(p);
        errno = 0;
        char *volatile q = realloc(p, 80);
        if (q || errno != EINVAL) {       /* hakmem: NULL and EINVAL, after the report */
            fprintf(stderr, "FAIL: realloc of a freed block returned %p, errno %d\n",
                    (void *)q, errno);
            return 1;
        }
    } else if (!strcmp(m, "interior")) {
        char *p = malloc(64);
        free(p + 16);
        free(p);
    } else if (!strcmp(m, "foreign-stack")) {
        free(&local);
    } else if (!strcmp(m, "foreign-static")) {
        free(global_buffer);
    } else if (!strcmp(m, "use-after-free")) {
        char *p = malloc(100);
        free(p);
        memset(p + 32, 'X', 8);           /* write into the freed block */
        for (int i = 0; i < 1000; i++)    /* until it is handed out again */
            free(malloc(100));
    } else if (!strcmp(m, "overflow")) {
        char *p = malloc(30);
        memset(p, 'Y', 31);               /* one byte past the request */
        free(p);
    } else if (!strcmp(m, "overflow-aligned")) {
        char *p = aligned_alloc(64, 60);
        p[60] = 'Y';
        free(p);
    } else if (!strncmp(m, "underflow", 9)) {
        /* the byte before the block, the 16 before it, the 16th before an aligned block and
         * one before a large block; the pointer goes to stderr for the test to find */
        char *p = !strcmp(m, "underflow-aligned") ? aligned_alloc(256, 200)
                  : !strcmp(m, "underflow-large") ? malloc(1 << 20)
                  : malloc(!strcmp(m, "underflow-16") ? 100 : 30);
        fprintf(stderr, "PTR %p\n", (void *)p);
        if (!strcmp(m, "underflow-16"))
            memset(p - 16, 'U', 16);
        else
            p[!strcmp(m, "underflow") ? -1 : !strcmp(m, "underflow-large") ? -9 : -16] = 'U';
        free(p);
    } else if (!strcmp(m, "aligned")) {
        aligned_sound();
    } else if (!strcmp(m, "use-after-free-16")) {
        /* a write at the program's byte 4: the first bytes HAKMEM_SHADOW_POISON=32 checks
         * are its bytes 0-15 (the block's 16-31, behind the front guard) */
        char *p = malloc(100);
        free(p);
        p[4] = 'W';
        for (int i = 0; i < 1000; i++)
            free(malloc(100));
    } else if (!strcmp(m, "use-after-free-deep")) {
        /* a write at byte 200 of a freed 256-byte block: inside the default poison window,
         * outside a HAKMEM_SHADOW_POISON=64 one */
        char *p = malloc(240);
        free(p);
        p[200] = 'Z';
        for (int i = 0; i < 1000; i++)
            free(malloc(240));
    } else if (!strcmp(m, "corrupt-freelist")) {
        char *p = malloc(200), *q = malloc(200);
        free(q);
        free(p);
        /* The free block's header (link and free mark) is the block's first 16 bytes: in
         * shadow mode the front guard's, the 16 before p; otherwise p's own. Both words are
         * overwritten, as a write after free would: the next hand-out finds the mark gone. */
        const char *shadow = getenv("HAKMEM_SHADOW");
        void **hdr = (void **)(shadow && !strcmp(shadow, "1") ? p - 16 : p);
        hdr[0] = hdr[1] = (char *)&local;
        free(malloc(200));
        free(malloc(200));
    } else {
        fprintf(stderr, "unknown mode %s\n", m);
        return 2;
    }
    printf("survived\n");
    return 0;
}
