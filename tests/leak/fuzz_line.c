/* libFuzzer target for the DWARF line reader (diag/hk_leak_line.c, compiled into this target
 * with the sanitizers): the input is a .debug_line section (its own bytes also serve as the
 * string sections); a few addresses are looked up, the index built and reused. */
#include "hk_leak_line.h"

#include <stdlib.h>
#include <string.h>

/* The tracker's arena, as the reader sees it. */
void *hk_leak_arena_alloc(size_t size);
void *hk_leak_arena_alloc(size_t size)
{
    static void *keep[64];           /* freed at the next input: no leak reports */
    static unsigned n;
    if (n == 64) {
        for (unsigned i = 0; i < n; i++)
            free(keep[i]);
        n = 0;
    }
    return keep[n++] = malloc(size);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);   /* exact size: overreads are caught */
    memcpy(copy, data, size);
    struct hk_dwarf d = {copy, copy, copy, size, size, size, NULL, 0, false};
    uint64_t probe = 0;
    memcpy(&probe, data, size < 8 ? size : 8);
    const uint64_t addrs[] = {0, 0x1000, 0x1130, probe & 0xffff, probe};
    struct hk_line out;
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++)
        if (hk_leak_line_find(&d, addrs[i], &out) && !out.file)
            abort();                     /* found means a file name */
    free(copy);
    return 0;
}
