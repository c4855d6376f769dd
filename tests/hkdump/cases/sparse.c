/* A healthy program holding one huge sparse block: 6 GiB allocated, a few pages of it
 * touched, a dump taken while it is live (hakmem_dump), freed, exit 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t size = (size_t)6 << 30;
    char *p = malloc(size);
    if (!p)
        return 2;
    for (size_t off = 0; off < size; off += (size_t)64 << 20)
        p[off] = 1;
    int (*dump)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "hakmem_dump");
    if (dump)
        dump();
    free(p);
    return 0;
}
