/* Heap overflow: each live block is written 64 bytes past its end, over the free block next
 * to it, whose free-list link the allocator reads when it hands that block out. In plain
 * mode hakmem checks each link it follows: the corrupt lists are reported and dropped, the
 * program runs on (without the check it would crash inside malloc, or be handed a planted
 * address). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *v[64];
    for (int i = 0; i < 64; i++)
        if (!(v[i] = malloc(48)))
            return 2;
    for (int i = 0; i < 64; i += 2)
        free(v[i]);
    for (int i = 1; i < 64; i += 2)
        memset(v[i], 0x41, 48 + 64);
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(48);
        if (p)
            memset(p, 0, 48);
    }
    puts("overflow: done");
    return 0;
}
