/* Map-count exhaustion: the program maps many single pages of its own (alternate protections
 * keep the kernel from merging them), then keeps allocating large blocks, each a mapping,
 * until malloc fails near vm.max_map_count. With argument "churn" it frees and reallocates
 * large blocks of growing sizes instead (run with HAKMEM_FAULT_MUNMAP_FAIL_AFTER: freed
 * mappings that cannot be unmapped stay). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long max_map_count(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long v = 65530;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 65530;
        fclose(f);
    }
    return v;
}

int main(int argc, char **argv)
{
    int churn = argc > 1 && strcmp(argv[1], "churn") == 0;
    long own = max_map_count() - (churn ? 3000 : 2000);
    long page = sysconf(_SC_PAGESIZE);
    char *base = mmap(NULL, (size_t)own * (size_t)page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return 2;
    for (long i = 1; i < own; i += 2)
        mprotect(base + i * page, (size_t)page, PROT_READ);
    unsigned long n = 0;
    void *last = NULL;
    for (;;) {
        size_t size = (640u << 10) + (churn ? (n % 64) * 8192 : 0);
        void *p = malloc(size);
        if (!p)
            break;
        memset(p, 5, 4096);
        if (churn) {
            free(last);
            last = p;
        }
        n++;
        if (!churn)                      /* a page of its own between hakmem's blocks */
            mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (n > 1000000)
            break;
    }
    fprintf(stderr, "mapcount: malloc failed after %lu large blocks\n", n);
    return 1;
}
