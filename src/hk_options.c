#include "hk_options.h"
#include "hk_os.h"

#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

struct hk_options hk_opt;

#define HK_FIELD(f) offsetof(struct hk_options, f), sizeof(((struct hk_options *)0)->f)
#define HK_BOOL(n, d, f, doc) {n, HK_OPT_BOOL, d, 0, 1, 0, false, NULL, HK_FIELD(f), doc}
#define HK_UINT(n, d, lo, hi, st, z, f, doc) {n, HK_OPT_UINT, d, lo, hi, st, z, NULL, HK_FIELD(f), doc}
#define HK_CHOICE(n, d, c, f, doc) {n, HK_OPT_CHOICE, d, 0, 0, 0, false, c, HK_FIELD(f), doc}
#define HK_PATH(n, f, doc) {n, HK_OPT_PATH, "", 0, 0, 0, false, NULL, HK_FIELD(f), doc}

/* Order: as the README lists them (tests/diag/check_options_doc.py compares). */
const struct hk_option_def hk_option_defs[] = {
    HK_BOOL("HAKMEM_TINY_FAST_STATS", "0", tiny_fast_stats,
            "per-class tiny table (all threads merged) on stderr at exit"),
    HK_CHOICE("HAKMEM_STATS", "0", "0|1|json", stats,
              "every counter of every tier at exit, as text (1) or JSON"),
    HK_PATH("HAKMEM_STATS_FILE", stats_file,
            "write the exit report there (%p: pid, %%: %)"),
    HK_PATH("HAKMEM_LOG_PATH", log_path,
            "every report goes to the file PATH.PID, or PATH with %p replaced by the pid"),
    {"HAKMEM_STATS_SIGNAL", HK_OPT_SIGNAL, "", 0, 0, 0, false, NULL, HK_FIELD(stats_signal),
     "print a live report when that signal arrives"},
    HK_BOOL("HAKMEM_SHADOW", "0", shadow, "shadow census of every block's state, and misuse checks"),
    HK_UINT("HAKMEM_SHADOW_POISON", "256", 32, 256, 16, true, shadow_poison,
            "freed blocks are checked for writes in their first n-16 bytes"),
    HK_BOOL("HAKMEM_LEAK_CHECK", "0", leak_check, "leak report at exit, grouped by allocation stack"),
    HK_UINT("HAKMEM_LEAK_EXITCODE", "23", 0, 255, 0, false, leak_exitcode,
            "exit status when leaks remain (0: report only)"),
    HK_PATH("HAKMEM_LEAK_SUPPRESSIONS", leak_suppressions,
            "LeakSanitizer-style leak:pattern lines; matching stacks are not reported"),
    HK_PATH("HAKMEM_DEMANGLER", demangler,
            "the helper that demangles C++ names and names inlined code in the leak report (default: hkdump beside the library; none: off)"),
    HK_CHOICE("HAKMEM_LEAK_REPORT", "lost", "lost|reachable|all", leak_report,
              "which leak records to print and count"),
    HK_BOOL("HAKMEM_LEAK_CHILD", "0", leak_child, "forked children report their leaks too"),
    HK_PATH("HAKMEM_LEAK_ONLY", leak_only,
            "check only executables whose path or file name matches one of these ':'-separated globs"),
    HK_PATH("HAKMEM_LEAK_SUITE_DIR", leak_suite_dir,
            "suite mode: each checked process writes its leak report as JSON there, not on stderr"),
    HK_BOOL("HAKMEM_LEAK_SUITE_FAIL", "0", leak_suite_fail,
            "suite mode: apply HAKMEM_LEAK_EXITCODE too (by default the status is the program's)"),
    HK_UINT("HAKMEM_STACK_DEPTH", "16", 1, 64, 0, false, stack_depth,
            "frames kept per allocation stack"),
    HK_BOOL("HAKMEM_STACK_WALK", "1", stack_walk, "walk stacks with rules read from .eh_frame (0: libunwind for all)"),
    HK_PATH("HAKMEM_DUMP_DIR", dump_dir, "write dump files there on OOM, fatal signals and exit"),
    HK_UINT("HAKMEM_STATS_INTERVAL_MS", "0", 10, 86400000, 0, true, stats_interval_ms,
            "append a sample to the timeline DUMP_DIR/hakmem-PID.timeline every n ms (0: off)"),
    HK_UINT("HAKMEM_FAULT_MMAP_FAIL_AFTER", "0", 0, UINT64_MAX, 0, false, fault_mmap_fail_after,
            "fault injection: mappings after the n-th fail with ENOMEM (0: never)"),
    HK_UINT("HAKMEM_FAULT_MUNMAP_FAIL_AFTER", "0", 0, UINT64_MAX, 0, false,
            fault_munmap_fail_after,
            "fault injection: munmaps after the n-th successful one fail with ENOMEM (0: never)"),
    HK_BOOL("HAKMEM_TINY_TLS_LIST_SPILL", "1", tls_list_spill,
            "0 reproduces the reference failure: thread lists never give blocks back"),
    HK_BOOL("HAKMEM_ABORT_ON_ERROR", "0", abort_on_error, "abort after a misuse report or at an out-of-memory event"),
    HK_BOOL("HAKMEM_REPORT_INVALID", "1", report_invalid, "one line per bad free (0: count only)"),
};
const size_t hk_noptions = sizeof hk_option_defs / sizeof hk_option_defs[0];

/* ---- values ---- */

static bool hk_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* Index of word in the '|'-separated list, or -1. */
static int hk_choice_index(const char *list, const char *word)
{
    size_t len = strlen(word);
    for (int i = 0; *list; i++) {
        const char *bar = strchr(list, '|');
        size_t n = bar ? (size_t)(bar - list) : strlen(list);
        if (n == len && !strncmp(list, word, n))
            return i;
        if (!bar)
            break;
        list = bar + 1;
    }
    return -1;
}

/* Linux signal numbers 1-31 by name; RT signals are taken by number. */
static const char *const hk_signames[32] = {
    NULL, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
    "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
    "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
};

/* A report handler on these would turn a crash into a loop of reports (the fatal ones,
 * which return to the faulting instruction), cannot be installed (KILL, STOP), or would keep
 * the program from ending when it is asked to (TERM, INT, QUIT, PIPE, XCPU, XFSZ). */
#define HK_REFUSED_SIGNALS "SEGV BUS FPE ILL ABRT TRAP SYS KILL STOP TERM INT QUIT PIPE XCPU XFSZ"
static const char hk_refused_signals[] = HK_REFUSED_SIGNALS;

static bool hk_signal_refused(int sig)
{
    if (sig > 31)
        return sig < SIGRTMIN;   /* 32, 33: glibc's own (thread cancellation, setxid) */
    const char *name = hk_signames[sig];
    size_t len = strlen(name);
    for (const char *p = hk_refused_signals; (p = strstr(p, name)); p += len)
        if ((p == hk_refused_signals || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
            return true;
    return false;
}

int hk_option_signal(const char *s)
{
    const char *bare = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
    int sig = 0;
    for (int i = 1; i < 32 && !sig; i++)
        if (!strcmp(bare, hk_signames[i]))
            sig = i;
    uint64_t n;
    if (!sig && bare == s && hk_parse_u64(s, &n) && n >= 1 && n <= 64)
        sig = (int)n;
    if (!sig)
        return 0;
    return hk_signal_refused(sig) ? -1 : sig;
}

static bool hk_parse_bool(const char *v, uint64_t *out)
{
    int i = hk_choice_index("0|1|no|yes|false|true|off|on", v);
    if (i < 0)
        return false;
    *out = (uint64_t)(i & 1);
    return true;
}

static bool hk_parse_uint(const struct hk_option_def *d, const char *v, uint64_t *out)
{
    uint64_t n;
    if (!hk_parse_u64(v, &n))
        return false;
    if (!(n == 0 && d->zero_off) &&
        (n < d->min || n > d->max || (d->step && n % d->step)))
        return false;
    *out = n;
    return true;
}

/* Parses v for d into *num (or *str for paths); false when d does not accept it. */
static bool hk_option_parse(const struct hk_option_def *d, const char *v, uint64_t *num,
                            const char **str)
{
    int i;
    switch (d->type) {
    case HK_OPT_BOOL: return hk_parse_bool(v, num);
    case HK_OPT_UINT: return hk_parse_uint(d, v, num);
    case HK_OPT_CHOICE:
        i = hk_choice_index(d->choices, v);
        *num = (uint64_t)i;
        return i >= 0;
    case HK_OPT_PATH:
        *str = v;
        return strlen(v) <= HK_PATH_MAX;
    case HK_OPT_SIGNAL:
        i = hk_option_signal(v);
        *num = (uint64_t)i;
        return i > 0;
    }
    return false;
}

static void hk_option_store(const struct hk_option_def *d, uint64_t num, const char *str)
{
    char *field = (char *)&hk_opt + d->offset;
    if (d->type == HK_OPT_PATH) {
        memcpy(field, &str, sizeof str);
    } else if (d->size == sizeof(bool)) {
        bool b = num != 0;
        memcpy(field, &b, sizeof b);
    } else if (d->size == sizeof(uint32_t)) {
        uint32_t u = (uint32_t)num;
        memcpy(field, &u, sizeof u);
    } else {
        memcpy(field, &num, sizeof num);
    }
}

/* ---- words for the messages and the documentation ---- */

struct hk_text {
    char *buf;
    size_t cap, len;
};

static void hk_text_add(struct hk_text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n && t->len + 1 < t->cap; i++)
        t->buf[t->len++] = s[i];
    t->buf[t->len] = '\0';
}

static void hk_text_str(struct hk_text *t, const char *s) { hk_text_add(t, s, strlen(s)); }

static void hk_text_u64(struct hk_text *t, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n)
        hk_text_add(t, &tmp[--n], 1);
}

void hk_option_accepts(const struct hk_option_def *d, char *buf, size_t cap)
{
    struct hk_text t = {buf, cap, 0};
    buf[0] = '\0';
    switch (d->type) {
    case HK_OPT_BOOL: hk_text_str(&t, "0|1"); break;
    case HK_OPT_CHOICE: hk_text_str(&t, d->choices); break;
    case HK_OPT_PATH: hk_text_str(&t, "a path of 1-4095 bytes"); break;
    case HK_OPT_SIGNAL:
        hk_text_str(&t, "a signal name (SIGUSR2, USR2) or number 1-64, except "
                        HK_REFUSED_SIGNALS " and 32-33");
        break;
    case HK_OPT_UINT:
        hk_text_u64(&t, d->min);
        hk_text_str(&t, "-");
        if (d->max == UINT64_MAX)
            hk_text_str(&t, "2^64-1");
        else
            hk_text_u64(&t, d->max);
        if (d->step) {
            hk_text_str(&t, " in steps of ");
            hk_text_u64(&t, d->step);
        }
        if (d->zero_off)
            hk_text_str(&t, ", or 0 (off)");
        break;
    }
}

/* "hakmem: NAME=VALUE ignored: expected ...; using DEFAULT" on stderr. */
static void hk_option_refused(const struct hk_option_def *d, const char *v)
{
    char line[512], accepts[192];
    struct hk_text t = {line, sizeof line - 1, 0};
    hk_option_accepts(d, accepts, sizeof accepts);
    size_t vlen = strlen(v);
    hk_text_str(&t, "hakmem: ");
    hk_text_str(&t, d->name);
    hk_text_str(&t, "=");
    hk_text_add(&t, v, vlen > 64 ? 64 : vlen);
    hk_text_str(&t, vlen > 64 ? "... ignored: expected " : " ignored: expected ");
    hk_text_str(&t, accepts);
    hk_text_str(&t, "; using ");
    hk_text_str(&t, *d->def ? d->def : "none");
    hk_text_str(&t, "\n");
    hk_os_write_all(STDERR_FILENO, line, t.len);
}

static void hk_option_read(const struct hk_option_def *d)
{
    uint64_t num = 0;
    const char *str = NULL;
    if (*d->def)
        hk_option_parse(d, d->def, &num, &str);
    const char *v = hk_os_getenv(d->name);
    if (v && *v) {
        uint64_t n = 0;
        const char *s = NULL;
        if (hk_option_parse(d, v, &n, &s)) {
            num = n;
            str = s;
        } else {
            hk_option_refused(d, v);
        }
    }
    hk_option_store(d, num, str);
}

/* Names that were options once, and what took their place. */
static const char *const hk_option_renamed[][2] = {
    {"HAKMEM_STACK_FP", "HAKMEM_STACK_WALK"},
};

/* "hakmem: NAME is not an option of hakmem: ignored" for each HAKMEM_ name in the
 * environment that the table does not know (a typo would otherwise change nothing,
 * silently), at most a few lines. */
static void hk_options_unknown(void)
{
    if (getauxval(AT_SECURE))
        return;
    unsigned said = 0;
    for (char **e = environ; e && *e && said < 8; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, "HAKMEM_", 7) || !eq)
            continue;
        size_t len = (size_t)(eq - *e);
        bool known = false;
        for (size_t i = 0; i < hk_noptions && !known; i++)
            known = strlen(hk_option_defs[i].name) == len &&
                    !strncmp(hk_option_defs[i].name, *e, len);
        if (known)
            continue;
        char line[256];
        struct hk_text t = {line, sizeof line - 1, 0};
        hk_text_str(&t, "hakmem: ");
        hk_text_add(&t, *e, len > 64 ? 64 : len);
        hk_text_str(&t, " is not an option of hakmem: ignored");
        for (size_t i = 0; i < sizeof hk_option_renamed / sizeof hk_option_renamed[0]; i++)
            if (strlen(hk_option_renamed[i][0]) == len && !strncmp(hk_option_renamed[i][0], *e, len)) {
                hk_text_str(&t, " (now ");
                hk_text_str(&t, hk_option_renamed[i][1]);
                hk_text_str(&t, ")");
            }
        hk_text_str(&t, "\n");
        hk_os_write_all(STDERR_FILENO, line, t.len);
        said++;
    }
}

void hk_options_init(void)
{
    for (size_t i = 0; i < hk_noptions; i++)
        hk_option_read(&hk_option_defs[i]);
    hk_options_unknown();
    hk_os_set_fail_after(hk_opt.fault_mmap_fail_after, hk_opt.fault_munmap_fail_after);
}
