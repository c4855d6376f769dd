/* Where reports go: the descriptor every report, misuse line, OOM line and fatal-signal
 * report is written to (docs/diagnostics.md, "Where reports go"). */
#ifndef HK_LOG_H
#define HK_LOG_H

/* At start-up, before the program can close or reuse fd 2: when any report may be written,
 * keep a private copy of stderr (F_DUPFD_CLOEXEC, at fd 100 or above). */
void hk_log_start(void);
/* The descriptor for a report: the private copy of stderr; fd 2 when none was made; -1
 * (nothing is written) when the copy has since been closed and its number reused. */
int hk_log_fd(void);

#endif
