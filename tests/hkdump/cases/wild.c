/* Wild-pointer crash: a pointer computed from garbage is written through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void store(char *p, int v)
{
    *p = (char)v;
}

int main(void)
{
    char *buf = malloc(32);
    if (!buf)
        return 2;
    memset(buf, 0, 32);
    uintptr_t garbage = 0x00000dead0000000u + (uintptr_t)buf[3];
    store((char *)garbage, 1);
    free(buf);
    return 0;
}
