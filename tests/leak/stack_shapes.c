/* Frames of the shapes optimised C gives, for the stack walk's test (test_stack.c): built
 * with -O2 -fomit-frame-pointer, so that the walk must use each function's .eh_frame rule
 * (a CFA from rsp at several offsets, one from rbp where alloca makes a frame pointer, a
 * large frame, saved registers) where a frame-pointer chain would be lost, and one whose rule
 * the walk must refuse. */
#include <alloca.h>
#include <stdint.h>
#include <string.h>

typedef uint32_t (*shape_cap)(void);

uint32_t shape_plain(shape_cap cap, int n);
uint32_t shape_alloca(shape_cap cap, int n);
uint32_t shape_big(shape_cap cap, int n);
uint32_t shape_saves(shape_cap cap, int n);
uint32_t shape_any(shape_cap cap, unsigned pick, int n);

static volatile unsigned char sink;

__attribute__((noinline)) uint32_t shape_plain(shape_cap cap, int n)
{
    uint32_t id = n ? shape_any(cap, (unsigned)n * 7u, n - 1) : cap();
    sink = (unsigned char)id;
    return id + 0 * sink;
}

__attribute__((noinline)) uint32_t shape_alloca(shape_cap cap, int n)
{
    volatile char *buf = alloca(16 + (size_t)n * 24);
    buf[0] = (char)n;
    uint32_t id = n ? shape_any(cap, (unsigned)n * 5u + 1, n - 1) : cap();
    sink = (unsigned char)(buf[0] + id);
    return id;
}

__attribute__((noinline)) uint32_t shape_big(shape_cap cap, int n)
{
    volatile char buf[70000];
    buf[n] = 1;
    uint32_t id = n ? shape_any(cap, (unsigned)n * 3u + 2, n - 1) : cap();
    sink = (unsigned char)(buf[n] + id);
    return id;
}

__attribute__((noinline)) uint32_t shape_saves(shape_cap cap, int n)
{
    /* Values live across the call: callee-saved registers pushed in the prologue. */
    volatile unsigned a = (unsigned)n, b = a * 3, c = b ^ 5, d = c + 7, e = d * 11;
    unsigned x = a, y = b, z = c, w = d, v = e;
    uint32_t id = n ? shape_any(cap, (unsigned)n + 3, n - 1) : cap();
    sink = (unsigned char)(x + y + z + w + v + id);
    return id;
}

__attribute__((noinline)) uint32_t shape_any(shape_cap cap, unsigned pick, int n)
{
    uint32_t id;
    switch (pick % 4) {
    case 0: id = shape_plain(cap, n); break;
    case 1: id = shape_alloca(cap, n); break;
    case 2: id = shape_big(cap, n); break;
    default: id = shape_saves(cap, n); break;
    }
    sink = (unsigned char)id;
    return id;
}

#if defined(__x86_64__)
/* A Microsoft-ABI function calling a System V one saves xmm6-15: its unwind information
 * names registers above the return address's, where libunwind ends the stack; the walk must
 * hand such a stack to it rather than walk on. Called through shape_via_ms_abi. */
__attribute__((noinline, ms_abi)) static uint32_t shape_ms_abi(shape_cap cap, int n)
{
    uint32_t id = n ? shape_any(cap, (unsigned)n, n - 1) : cap();
    sink = (unsigned char)id;
    return id;
}

uint32_t shape_via_ms_abi(shape_cap cap, int n);
__attribute__((noinline)) uint32_t shape_via_ms_abi(shape_cap cap, int n)
{
    uint32_t id = shape_ms_abi(cap, n);
    sink = (unsigned char)id;
    return id;
}
#endif
