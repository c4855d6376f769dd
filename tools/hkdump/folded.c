/* Leak stacks in the folded format of flamegraph tools: one line per stack, frames from the
 * outermost caller to the allocation, separated by ';', then a space and the bytes. The
 * record kind (lost or reachable) is the root frame, so the graph splits on it first. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

static void frame(FILE *f, const char *name)
{
    /* ';' separates frames (flamegraph tools split the count at the last space, so spaces in
     * names are fine). */
    for (const char *p = name; *p; p++)
        fputc(*p == ';' || *p == '\n' ? ':' : *p, f);
}

void hkd_out_folded(FILE *f, const struct hkd_model *m, struct hkd_symbolizer *sym)
{
    for (size_t i = 0; i < m->nstacks; i++) {
        const struct hkd_stack *s = &m->stacks[i];
        frame(f, s->kind);
        for (size_t j = s->nframes; j-- > 0;) {
            char *name = hkd_sym_name(sym, s->frames[j], true);
            fputc(';', f);
            frame(f, name);
            free(name);
        }
        fprintf(f, " %llu\n", (unsigned long long)s->bytes);
    }
}
