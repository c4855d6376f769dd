/* What a fatal signal says about the crash: the signal, its si_code, the faulting address and
 * instruction, and the crashing thread's stack unwound from the signal's context; printed on
 * the log under the fatal-signal line and written into the signal's dump (hkdump symbolizes
 * it). Everything here is async-signal-safe: no malloc, no lock. */
#ifndef HK_CRASH_H
#define HK_CRASH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define HK_CRASH_MAX_FRAMES 32

struct hk_crash {
    int sig, code;          /* signal number and si_code */
    bool has_addr;          /* a fault the kernel raised: addr is the faulting address */
    uintptr_t addr, pc;     /* pc: the faulting instruction, 0 when not known */
    int nframes;            /* frames[0] is pc, the others return addresses */
    uintptr_t frames[HK_CRASH_MAX_FRAMES];
};

/* Fills c from the handler's arguments (ctx: its ucontext_t, or NULL): all but the stack. */
void hk_crash_capture(struct hk_crash *c, int sig, const siginfo_t *info, void *ctx);
/* The crashing thread's stack into c, unwound from ctx. A stack smashed by the program can
 * fault the unwinder: call it after everything that must get out is written. */
void hk_crash_unwind(struct hk_crash *c, void *ctx);

struct hk_out;
/* The log lines under the fatal-signal line: "  crashed at pc ...:" and one frame a line. */
void hk_crash_print(struct hk_out *o, const struct hk_crash *c);
/* The event record's crash keys (" code= pc= frames="). */
void hk_crash_dump_keys(struct hk_out *o, const struct hk_crash *c);
/* One module record per file the frames lie in (ids from HK_CRASH_MODULE_ID). */
void hk_crash_dump_modules(struct hk_out *o, const struct hk_crash *c);
#define HK_CRASH_MODULE_ID 1000

#endif
