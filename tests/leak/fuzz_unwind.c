/* libFuzzer target for the unwinder's .eh_frame reader (diag/hk_unwind.c, compiled into this
 * target with the sanitizers): the input is a loaded segment that starts with .eh_frame_hdr
 * (the seeds: .eh_frame_hdr and .eh_frame of two small objects, as objcopy -O binary lays
 * them out, so their relative pointers hold); rules are read for the call sites just past
 * the first functions the table names, and at addresses taken from the input. */
#include "hk_unwind.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char *seg = malloc(size ? size : 1);   /* exact size: overreads are caught */
    memcpy(seg, data, size);
    uint64_t probe = 0;
    memcpy(&probe, data, size < 8 ? size : 8);
    uintptr_t base = (uintptr_t)seg, targets[12];
    unsigned n = 0;
    targets[n++] = base + (probe & 0xffff);
    targets[n++] = base - (probe >> 48);
    targets[n++] = (uintptr_t)probe;
    /* The table that follows a 12-byte header of 4-byte fields: (location, FDE) pairs. */
    for (unsigned k = 0; n < 12 && 12 + 8 * (size_t)k + 4 <= size; k++) {
        int32_t loc;
        memcpy(&loc, seg + 12 + 8 * k, 4);
        targets[n++] = base + (uintptr_t)(intptr_t)loc + 1 + (probe >> (8 * (k % 8)) & 0x3f);
    }
    for (unsigned i = 0; i < n; i++) {
        struct hk_unwind_rule r = hk_unwind_rule_from(seg, seg, seg + size, targets[i]);
        if (r.kind < HK_RULE_SP || r.kind > HK_RULE_CANNOT)
            abort();                              /* every answer is one of the four */
        if ((r.kind == HK_RULE_SP || r.kind == HK_RULE_BP) &&
            (r.cfa_off < 8 || (r.bp_saved && (r.bp_off > -16 || r.bp_off % 8))))
            abort();                              /* a rule the step may trust */
    }
    free(seg);
    return 0;
}
