/* Leak tracking (HAKMEM_LEAK_CHECK=1): allocation stacks and the leak report.
 *
 * Division of work: the allocator (src/) records, for every live block, its requested size
 * and the stack id returned by the hook hk_stack_capture() in its side table, and shows the
 * blocks through hk_walk_blocks() (src/hk_walk.h). This module (diag/) owns stack capture
 * and deduplication, the reachability scan, grouping, symbolisation, suppressions, the
 * report and the exit code. Nothing here allocates through hakmem. */
#ifndef HK_LEAK_H
#define HK_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_emit;

/* ---- provided by diag/hk_stack.c ---- */

/* Called once at initialisation when leak tracking is on, after the allocator works (phase
 * 2): warms the unwinder up so that its own one-time allocations happen before tracking. */
void hk_stack_init(void);
/* hk_stack_capture() and hk_stack_code_unloaded() are hooks (src/hk_hooks.h): at most
 * HAKMEM_STACK_DEPTH frames; identical stacks get the same id; 0 when the stack could not be
 * captured (recursion, out of internal memory). Async-signal-unsafe; thread-safe. */
/* The frames (return addresses, innermost first) of a stack id, copied out; returns their
 * number (at most 64, HK_STACK_MAX_DEPTH). */
int hk_stack_frames(uint32_t id, uintptr_t frames[64]);

/* ---- provided by the leak check (diag/hk_leak.c and the files hk_leak_run.h lists) ---- */

/* Runs the leak check: scans for reachability, groups live blocks by stack, applies the
 * suppressions, prints the report (stderr, or as configured) and returns the number of
 * unsuppressed leaked blocks of the kinds selected by HAKMEM_LEAK_REPORT. */
uint64_t hk_leak_check_run(int fd, bool final);
/* Emits the "leaks" array (JSON) / leak lines (text) for the stats report. */
void hk_leak_emit(struct hk_emit *e);
/* Misuse reports: the frames of a stack id, one "hakmem:     #i ..." line each, symbolized
 * (only the addresses while a leak check holds the symbol tables); nothing for id 0. */
struct hk_out;
void hk_leak_print_stack(struct hk_out *o, uint32_t stack);
/* JSON: key:["function", ...] for a stack id, in the current object; nothing for id 0. */
void hk_leak_emit_frames(struct hk_emit *e, const char *key, uint32_t stack);
/* Writes the dump records of the live stacks: "module" lines (the module map, unloaded
 * modules included) and "stack" lines (docs/dump-format.md). */
void hk_leak_dump(struct hk_out *o);
/* Called by the exit report (library destructor) after the counters: when leak checking
 * is on and this process should report (HAKMEM_LEAK_CHILD), runs the final check and, if
 * unsuppressed leaks remain and the program exits with status 0, flushes stdio and ends the
 * process with HAKMEM_LEAK_EXITCODE; a non-zero status of the program's own is kept. */
void hk_leak_at_exit(void);
/* At start-up: learn the status the program passes to exit() (on_exit). */
void hk_leak_watch_exit(void);

/* Every mapping of the arena, [lo, hi). fn must not allocate from the arena. */
void hk_leak_arena_foreach(void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx);

#endif
