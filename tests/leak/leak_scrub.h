/* The leak test programs' scrub_stack (C and C++): overwrites the dead part of the stack
 * below the caller, where stale copies of lost pointers would make a conservative scan call
 * them reachable. */
#ifndef LEAK_SCRUB_H
#define LEAK_SCRUB_H

#include <stddef.h>

__attribute__((noinline, unused)) static void scrub_stack(void)
{
    volatile char buf[64 * 1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = 0;
}

#endif
