/* Clears the stack below the caller, so that no stale copy of a lost pointer is left for the
 * leak check's conservative scan to find. */
#ifndef SX_SCRUB_H
#define SX_SCRUB_H
__attribute__((noinline)) static void sx_scrub_stack(void)
{
    volatile char junk[16384];
    for (unsigned i = 0; i < sizeof junk; i++)
        junk[i] = 0;
}
#endif
