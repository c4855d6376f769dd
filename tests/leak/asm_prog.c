/* Loses the 40 bytes that asm_alloc (tests/leak/asm_untyped.S) allocates: under
 * HAKMEM_LEAK_CHECK=1 with the suppression leak:asm_alloc the only leak is suppressed by the
 * untyped symbol's name, and the exit status is 0. */
#include <stdio.h>

void *asm_alloc(void);

int main(void)
{
    asm_alloc();
    printf("lost the block asm_alloc allocated\n");
    return 0;
}
