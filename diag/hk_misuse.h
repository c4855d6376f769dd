/* Misuse reports (diag/hk_misuse.c). The report itself is the hook hk_misuse_report()
 * (src/hk_hooks.h); this header adds what the other reports read of them. */
#ifndef HK_MISUSE_H
#define HK_MISUSE_H

#include "hk_hooks.h"

struct hk_emit;
/* Emits the most recent misuse reports (up to 32): dump records, or the JSON "misuse" array
 * (the text report does not repeat them: each was printed when it happened). */
void hk_misuse_emit(struct hk_emit *e);
/* Stable identifier used in dumps and JSON ("double-free", ...). */
const char *hk_misuse_id(enum hk_misuse_kind kind);

#endif
