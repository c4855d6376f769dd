/* The crash context of a fatal signal (hk_crash.h). */
#include "hk_crash.h"
#include "hk_dump.h"
#include "hk_dump_format.h"
#include "hk_emit.h"
#include "hk_maps.h"

#define UNW_LOCAL_ONLY   /* this process only: the _UL symbols of libunwind.so */
#include <libunwind.h>
#include <string.h>
#include <ucontext.h>

static uintptr_t hk_crash_pc(void *ctx)
{
    const ucontext_t *uc = ctx;
    if (!uc)
        return 0;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    return 0;
#endif
}

/* si_addr is a faulting address only for the faults the kernel raises itself; for a signal
 * sent by kill, raise or abort (si_code <= 0) the same bytes hold the sender's pid. */
static bool hk_crash_has_addr(int sig, const siginfo_t *info)
{
    return info && info->si_code > 0 &&
           (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL);
}

void hk_crash_capture(struct hk_crash *c, int sig, const siginfo_t *info, void *ctx)
{
    memset(c, 0, sizeof *c);
    c->sig = sig;
    c->code = info ? info->si_code : 0;
    c->has_addr = hk_crash_has_addr(sig, info);
    c->addr = c->has_addr ? (uintptr_t)info->si_addr : 0;
    c->pc = hk_crash_pc(ctx);
}

void hk_crash_unwind(struct hk_crash *c, void *ctx)
{
#if defined(__x86_64__) || defined(__aarch64__)
    /* libunwind's unw_context_t is the ucontext_t there: the walk starts at the fault. */
    unw_cursor_t cur;
    if (ctx && unw_init_local2(&cur, (unw_context_t *)ctx, UNW_INIT_SIGNAL_FRAME) == 0) {
        do {
            unw_word_t ip;
            if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 || !ip)
                break;
            c->frames[c->nframes++] = (uintptr_t)ip;
        } while (c->nframes < HK_CRASH_MAX_FRAMES && unw_step(&cur) > 0);
    }
#endif
    if (!c->nframes && c->pc)
        c->frames[c->nframes++] = c->pc;
}

/* "SEGV_MAPERR: address not mapped" and the like (hk_dump_format.h); NULL for a code
 * without a name. */
static const char *hk_crash_code_name(int sig, int code)
{
#define HK_CODE(signal, c, name) {signal, c, name},
    static const struct {
        int sig, code;
        const char *name;
    } names[] = {HK_SIGNAL_CODES(HK_CODE)};
#undef HK_CODE
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((names[i].sig == sig || !names[i].sig) && names[i].code == code)
            return names[i].name;
    return NULL;
}

void hk_crash_print(struct hk_out *o, const struct hk_crash *c)
{
    if (!c->nframes)
        return;
    hk_out_str(o, "hakmem:   " HK_LOG_PREFIX_CRASH);
    hk_out_hex(o, c->pc ? c->pc : c->frames[0]);
    const char *code = hk_crash_code_name(c->sig, c->code);
    if (code) {
        hk_out_str(o, " (");
        hk_out_str(o, code);
        hk_out_char(o, ')');
    }
    hk_out_str(o, ":\n");
    for (int i = 0; i < c->nframes; i++) {
        struct hk_maps_module mod;
        hk_out_str(o, "hakmem:     #");
        hk_out_u64(o, (uint64_t)i);
        hk_out_char(o, ' ');
        hk_out_hex(o, c->frames[i]);
        hk_out_str(o, " ?");
        if (hk_maps_module_of(c->frames[i], &mod)) {
            hk_out_str(o, " (");
            hk_out_str(o, mod.path);
            hk_out_char(o, '+');
            hk_out_hex(o, c->frames[i] - mod.base);
            hk_out_char(o, ')');
        }
        hk_out_char(o, '\n');
    }
}

void hk_crash_dump_keys(struct hk_out *o, const struct hk_crash *c)
{
    if (c->code > 0)   /* raised by the kernel; a sender's code says nothing more */
        hk_dump_rec_u64(o, "code", (uint64_t)c->code);
    if (c->pc)
        hk_dump_rec_hex(o, "pc", c->pc);
    if (!c->nframes)
        return;
    hk_out_str(o, " frames=");
    for (int i = 0; i < c->nframes; i++) {
        if (i)
            hk_out_char(o, ',');
        hk_out_hex(o, c->frames[i]);
    }
}

void hk_crash_dump_modules(struct hk_out *o, const struct hk_crash *c)
{
    uintptr_t seen[HK_CRASH_MAX_FRAMES];
    int nseen = 0;
    for (int i = 0; i < c->nframes; i++) {
        struct hk_maps_module mod;
        if (!hk_maps_module_of(c->frames[i], &mod))
            continue;
        bool dup = false;
        for (int k = 0; k < nseen && !dup; k++)
            dup = seen[k] == mod.end;
        if (dup)
            continue;
        seen[nseen++] = mod.end;
        hk_out_str(o, "module");
        hk_dump_rec_u64(o, "id", (uint64_t)(HK_CRASH_MODULE_ID + nseen - 1));
        hk_dump_rec_hex(o, "base", mod.base);
        hk_dump_rec_hex(o, "end", mod.end);
        hk_dump_rec_u64(o, "loaded", 1);
        hk_out_str(o, " path=");
        hk_out_quote(o, mod.path);
        hk_out_char(o, '\n');
    }
}
