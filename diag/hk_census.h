/* The shadow census (HAKMEM_SHADOW=1): how many blocks sit in each state, per size class and
 * per thread, counted by a walk of the side tables (src/hk_walk.h). This is what answers
 * "freed blocks are parked in thread caches and never return to the slabs". */
#ifndef HK_CENSUS_H
#define HK_CENSUS_H

#include <stdbool.h>
#include <stdint.h>

struct hk_emit;

/* Emitted with the stats report and into dumps. */
void hk_census_emit(struct hk_emit *e, bool lock);
/* The states of the census, in the order of HK_DUMP_CENSUS_STATES. */
#define HK_CENSUS_NSTATES 7
/* Blocks by state over every class, into out[HK_CENSUS_NSTATES]: the census without its
 * tables (the timeline's samples). Its own buffer, so it may run beside hk_census_emit. */
void hk_census_totals(uint64_t *out, bool lock);
/* The kernel thread id of a thread serial number (the census's thread table); 0 when
 * unknown. */
int hk_census_tid(uint32_t serial);

#endif
