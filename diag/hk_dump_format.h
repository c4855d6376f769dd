/* The dump format (docs/dump-format.md), shared by its writer (diag/hk_dump.c) and its reader
 * (tools/hkdump): one version constant and, per record, the keys it holds, so the two cannot
 * drift apart. Records and keys may be added within a version; a changed meaning needs a new
 * HK_DUMP_VERSION.
 *
 * Lists are X-macros over bare key names. X must stringify (#k) or paste (##k) its argument,
 * never pass it on: "errno" is a key and a macro. XC is applied to the entries of the counter
 * lists in include/hakmem_counters.h, XC(name, width, doc), whose names are keys too. This
 * header is included by the library, so it holds macros only. */
#ifndef HK_DUMP_FORMAT_H
#define HK_DUMP_FORMAT_H

#include "hakmem_counters.h"

/* Line 1 of every dump: HK_DUMP_MAGIC, a space, HK_DUMP_VERSION. */
#define HK_DUMP_MAGIC "hakmem-dump"
#define HK_DUMP_VERSION 1

/* Every record name, in the order a dump writes them; "end" closes a complete file. */
#define HK_DUMP_RECORDS(X)                                                              \
    X(header) X(option) X(process) X(limits) X(class) X(tier) X(superslab_table)        \
    X(census) X(census_thread) X(event) X(misuse) X(module) X(stack) X(end)

#define HK_DUMP_HEADER_KEYS(X) X(pid) X(time_ns) X(version) X(build) X(reason) X(exe)
#define HK_DUMP_OPTION_KEYS(X) X(name) X(value)

/* process: two derived gauges, then every process counter in list order. */
#define HK_DUMP_PROCESS_KEYS(X, XC) X(superslabs_live) X(bytes_mapped) HAKMEM_PROCESS_COUNTERS(XC)

/* limits: diag_resident_kb is the part of vm_rss_kb in the diagnostics' own mappings (the
 * side tables, the leak tracker's arena), counted with mincore: not the program's. */
#define HK_DUMP_LIMITS_KEYS(X)                                                          \
    X(rlimit_as_cur) X(rlimit_as_max) X(vm_size_kb) X(vm_rss_kb) X(vm_peak_kb)          \
    X(overcommit_memory) X(maps) X(max_map_count) X(diag_resident_kb)

/* class: the id, then its numbers: block size, the derived allocs and live, then every class
 * counter in list order. */
#define HK_DUMP_CLASS_COUNTS(X, XC) X(size) X(allocs) X(live) HAKMEM_CLASS_COUNTERS(XC)
#define HK_DUMP_CLASS_KEYS(X, XC) X(id) HK_DUMP_CLASS_COUNTS(X, XC)

#define HK_DUMP_TIER_COUNTS(X)                                                          \
    X(allocs) X(frees) X(live) X(bytes_requested) X(mappings) X(cache_hits)
#define HK_DUMP_TIER_KEYS(X) X(name) HK_DUMP_TIER_COUNTS(X)

#define HK_DUMP_SUPERSLAB_TABLE_KEYS(X)                                                 \
    X(slab_size) X(superslabs) X(slabs) X(slabs_used) X(blocks_used) X(blocks_capacity)

/* Shadow census: blocks of one class by state. A quarantined block was found corrupted
 * (written after its free, a broken canary) and is never handed out again. */
#define HK_DUMP_CENSUS_STATES(X)                                                        \
    X(in_use) X(fast_cache) X(tls_list) X(slab_free) X(remote_queue) X(uncarved)        \
    X(quarantined)
#define HK_DUMP_CENSUS_KEYS(X) X(class) X(size) HK_DUMP_CENSUS_STATES(X)
#define HK_DUMP_CENSUS_THREAD_KEYS(X)                                                   \
    X(thread) X(tid) X(state) X(in_use) X(fast_cache) X(tls_list) X(remote_queue)

/* event: kind=oom uses errno..map_size, kind=signal signo, name, addr and what the crash
 * context gave: code (si_code), pc (the faulting instruction) and frames (the crashing
 * thread's stack, pc first, then return addresses; module records map them). */
#define HK_DUMP_EVENT_KEYS(X)                                                           \
    X(kind) X(errno) X(size) X(class) X(tier) X(ss_size) X(map_size) X(signo) X(name)   \
    X(addr) X(code) X(pc) X(frames)
#define HK_DUMP_MISUSE_KEYS(X)                                                          \
    X(kind) X(addr) X(class) X(thread) X(state) X(size) X(alloc_thread)
#define HK_DUMP_MODULE_KEYS(X) X(id) X(base) X(end) X(loaded) X(path)
#define HK_DUMP_STACK_KEYS(X) X(id) X(blocks) X(bytes) X(kind) X(held_blocks) X(held_bytes) X(frames)

/* "fatal signal N (NAME) at address 0x.." (a fault) or "sent by pid N" (kill, abort),
 * then " in pid N; counters follow". */
#define HK_LOG_PREFIX_FATAL "fatal signal "
/* The next line: "  crashed at pc 0x.. (SEGV_MAPERR: address not mapped):" (the code's name
 * when it has one), then the stack's frames, "    #0 0x.. ? (path+0x..)". */
#define HK_LOG_PREFIX_CRASH "crashed at pc "

/* The si_codes a crash line and hkdump name (X(signal, code, name)); <signal.h> gives the
 * numbers. A sent signal's codes (SI_USER, SI_TKILL) are the same for every signal. */
#define HK_SIGNAL_CODES(X)                                                              \
    X(SIGSEGV, SEGV_MAPERR, "SEGV_MAPERR: address not mapped")                          \
    X(SIGSEGV, SEGV_ACCERR, "SEGV_ACCERR: no permission for the access")                \
    X(SIGBUS, BUS_ADRALN, "BUS_ADRALN: misaligned address")                             \
    X(SIGBUS, BUS_ADRERR, "BUS_ADRERR: past the end of a mapped file")                  \
    X(SIGBUS, BUS_OBJERR, "BUS_OBJERR: hardware error")                                 \
    X(SIGFPE, FPE_INTDIV, "FPE_INTDIV: integer division by zero")                       \
    X(SIGFPE, FPE_INTOVF, "FPE_INTOVF: integer overflow")                               \
    X(SIGILL, ILL_ILLOPC, "ILL_ILLOPC: illegal opcode")                                 \
    X(SIGILL, ILL_ILLOPN, "ILL_ILLOPN: illegal operand")                                \
    X(SIGILL, ILL_PRVOPC, "ILL_PRVOPC: privileged opcode")                              \
    X(0, SI_USER, "SI_USER: sent by kill")                                              \
    X(0, SI_TKILL, "SI_TKILL: sent by tgkill or raise")
#define HK_LOG_PREFIX_DUMP_WRITTEN "dump written to "
#define HK_LOG_PREFIX_LEAK_NO_MEMORY "leak report: not enough memory for the check"
/* HAKMEM_ABORT_ON_ERROR=1 at an out-of-memory event (the event's lines come first). */
#define HK_LOG_PREFIX_OOM_ABORT "aborting at this out-of-memory event"
/* The leak tracker's own memory and what the check took (diagnostic cost, no finding). */
#define HK_LOG_PREFIX_LEAK_TRACKER "tracker: "

/* The words of a misuse report, in the order of enum hk_misuse_kind (src/hk_hooks.h):
 * X(id, what, detail). The line reads "error: WHAT of 0x..: DETAIL (class 3, 64 B, ...)"
 * (no ": DETAIL" when it is NULL); the id names the kind in dumps and JSON. */
#define HK_MISUSE_TEXTS(X)                                                              \
    X("double-free", "double free", NULL)                                               \
    X("interior-free", "invalid free", "interior pointer, not the start of a block")    \
    X("foreign-free", "invalid free", "not allocated by hakmem (foreign pointer)")      \
    X("unallocated-free", "invalid free", "hakmem memory that was never handed out")    \
    X("use-after-free", "use after free", "a freed block was written to")               \
    X("overflow", "buffer overflow", "bytes past the requested size were overwritten")  \
    X("underflow", "buffer underflow",                                                  \
      "bytes before the block were overwritten (its front guard)")                      \
    X("corrupt-freelist", "corrupt freelist",                                           \
      "a free list links to an address that is not a free block; the rest of the list " \
      "is dropped")

/* Lines hakmem prints on its log (after "hakmem: ") that carry no numbers of their own,
 * by the text they start with: the writer prints these prefixes and hkdump knows them all.
 * X(name, prefix). */
#define HK_LOG_NOTES(X)                                                                 \
    X(dump_written, HK_LOG_PREFIX_DUMP_WRITTEN)                                                 \
    X(leak_no_memory, HK_LOG_PREFIX_LEAK_NO_MEMORY)                   \
    X(leak_not_checked, "not checked: ")                                                \
    X(leak_exiting, "exiting with status ")                                             \
    X(leak_more, "... and ")                                                            \
    X(leak_reachable, "still reachable blocks are not listed")                          \
    X(leak_suppressed, "suppressed ")                                                   \
    X(leak_tracker, HK_LOG_PREFIX_LEAK_TRACKER)                                         \
    X(oom_abort, HK_LOG_PREFIX_OOM_ABORT)                                               \
    X(live_skipped, "live reports skipped: ")

/* ---- the timeline (HAKMEM_STATS_INTERVAL_MS, docs/dump-format.md) ----
 * Line 1: HK_TIMELINE_MAGIC, a space, HK_TIMELINE_VERSION. Then one header, the option
 * records (as in a dump), one class record per size class, and in time order one sample per
 * tick (a sample_census after it when the shadow census ran), the events, and "end" when the
 * process ended it (exit, or a fatal signal). The file holds at most max_samples samples: when
 * full, every other sample is dropped, every_ms doubles and the file is written anew
 * (decimation), so it spans the whole run at a coarser step. */
#define HK_TIMELINE_MAGIC "hakmem-timeline"
#define HK_TIMELINE_VERSION 1
#define HK_TIMELINE_RECORDS(X)                                                          \
    X(header) X(option) X(class) X(sample) X(sample_census) X(event) X(end)

/* interval_ms: the option; every_ms: the step between the samples this file holds now;
 * decimations: how often it doubled. rlimit_as_cur ("inf" when unlimited) and mem_total_kb
 * (/proc/meminfo) are the limits a forecast aims at. */
#define HK_TIMELINE_HEADER_KEYS(X)                                                      \
    X(pid) X(time_ns) X(version) X(build) X(exe) X(interval_ms) X(every_ms)             \
    X(decimations) X(max_samples) X(rlimit_as_cur) X(mem_total_kb) X(page_size)
#define HK_TIMELINE_CLASS_KEYS(X) X(id) X(size)

/* sample: t_ms since the timeline began (CLOCK_MONOTONIC); vm_size_kb and vm_rss_kb from
 * /proc/self/statm; then the allocator's gauges. live_bytes = tiny_live_bytes +
 * mid_live_bytes (live blocks times their block size) + large_live_bytes (the mappings of
 * the large_live live large blocks; large_bytes also counts the cached and kept ones).
 * remote_queue: blocks freed by other threads and not yet taken back by the owner
 * (remote_sent - remote_drained over every class). diag_bytes: the diagnostics' own
 * mappings, of which shadow_bytes the side tables and timeline_bytes this timeline's memory
 * (the rest is the leak tracker's); never in bytes_mapped. After the keys,
 * live=ID:BLOCKS,... lists the classes with live blocks (left out when none has). */
#define HK_TIMELINE_SAMPLE_KEYS(X)                                                      \
    X(t_ms) X(vm_size_kb) X(vm_rss_kb) X(bytes_mapped) X(superslab_bytes) X(large_bytes) \
    X(superslabs_mapped) X(superslabs_unmapped) X(superslabs_cached) X(slabs_live)      \
    X(live_bytes) X(tiny_live_bytes) X(mid_live_bytes) X(large_live) X(large_live_bytes) \
    X(remote_queue) X(threads_live) X(oom_events) X(diag_bytes) X(shadow_bytes)         \
    X(timeline_bytes)
/* sample_census: the shadow census's totals over every class, by state (the census keys). */
#define HK_TIMELINE_CENSUS_KEYS(X) X(t_ms) HK_DUMP_CENSUS_STATES(X)
/* event: kind is a dump's reason (oom, signal, exit, request); dump the file written for it
 * ("none" when none could be). */
#define HK_TIMELINE_EVENT_KEYS(X) X(t_ms) X(kind) X(dump)

#endif
