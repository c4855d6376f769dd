/* Where reports go: the descriptor every report, misuse line, OOM line and fatal-signal
 * report is written to (docs/diagnostics.md, "Where reports go"). */
#ifndef HK_LOG_H
#define HK_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* At start-up, before the program can close or reuse fd 2: when any report may be written,
 * keep a private copy of stderr (F_DUPFD_CLOEXEC, at fd 100 or above). */
void hk_log_start(void);
/* The descriptor for a report: the HAKMEM_LOG_PATH file of this process (opened at the
 * first report); else the private copy of stderr; fd 2 when none was made; -1 (nothing is
 * written) when the copy has since been closed and its number reused. */
int hk_log_fd(void);
/* pattern with %p replaced by the pid and %% by %, and ".PID" appended when add_pid, into
 * path (cap bytes); false when it does not fit. */
bool hk_log_expand(const char *pattern, bool add_pid, char *path, size_t cap);

#endif
