/* Free-form text: stderr captures, CI logs, documents quoting log lines. Every line is looked
 * at for hakmem's forms wherever they start in the line; prose is skipped, but a line that
 * looks like ours and cannot be read is listed as unparsed, never dropped silently. */
#include "hkdump.h"

#include <string.h>

struct scan {
    struct hkd_model *m;
    struct hkd_legacy lg;
    struct hkd_report_state rs;
    unsigned records;
};

/* A line holding one or more legacy records ("...errno=12[SS OOM] mmap failed..." happens when
 * a document joins lines): each record runs up to the next marker. */
static void legacy_segments(struct scan *sc, struct hkd_span s, const char *p,
                            enum hkd_legacy_kind kind, struct hkd_loc at)
{
    const char *end = s.p + s.n;
    while (p) {
        struct hkd_span tail = {p + 1, (size_t)(end - p - 1)};
        enum hkd_legacy_kind next_kind = HKD_LEG_NONE;
        const char *next = hkd_legacy_find(tail, &next_kind);
        const char *stop = next ? next : end;
        hkd_legacy_start(&sc->lg, sc->m, kind, (struct hkd_span){p, (size_t)(stop - p)}, at);
        sc->records++;
        if (next)
            hkd_legacy_end(&sc->lg, sc->m);
        p = next;
        kind = next_kind;
    }
}

/* The kernel's settings as a log quotes them: "vm.overcommit_memory = 2" (sysctl),
 * "CommitLimit:  8126464 kB" and "Committed_AS: ..." (/proc/meminfo). */
static bool kernel_line(struct scan *sc, struct hkd_span s, struct hkd_loc at)
{
    static const struct {
        const char *key;
        enum hkd_field f;
    } keys[] = {{"vm.overcommit_memory", HKD_F_overcommit_memory},
                {"vm.max_map_count", HKD_F_max_map_count},
                {"CommitLimit:", HKD_F_commit_limit_kb},
                {"Committed_AS:", HKD_F_committed_as_kb}};
    struct hkd_span t = hkd_span_trim(s);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!hkd_span_starts(t, keys[i].key))
            continue;
        struct hkd_span v = {t.p + strlen(keys[i].key), t.n - strlen(keys[i].key)};
        v = hkd_span_trim(v);
        if (v.n && v.p[0] == '=')
            v = hkd_span_trim((struct hkd_span){v.p + 1, v.n - 1});
        size_t n = 0;
        while (n < v.n && v.p[n] >= '0' && v.p[n] <= '9')
            n++;
        if (!n || !hkd_num_parse(&hkd_model_cur(sc->m, at)->f[keys[i].f],
                                 (struct hkd_span){v.p, n}, at))
            return false;
        sc->records++;
        return true;
    }
    return false;
}

static void line(struct scan *sc, struct hkd_span s, struct hkd_loc at)
{
    enum hkd_legacy_kind kind = HKD_LEG_NONE;
    const char *leg = hkd_legacy_find(s, &kind);
    const char *hm = hkd_span_find(s, "hakmem: ");

    if (hm && (!leg || hm < leg)) {
        struct hkd_span rest = {hm + 8, (size_t)(s.p + s.n - hm - 8)};
        struct hkd_span trimmed = hkd_span_trim(rest);
        if (leg && (size_t)(leg - trimmed.p) == 0) {
            legacy_segments(sc, s, leg, kind, at);
            return;
        }
        const char *why;
        if (hkd_report_line(&sc->rs, sc->m, rest, at, &why))
            sc->records++;
        else if (leg)
            legacy_segments(sc, s, leg, kind, at); /* "hakmem: <noise> [SS OOM] ..." */
        else
            hkd_model_unparsed(sc->m, at, s, why);
        return;
    }
    if (leg) {
        legacy_segments(sc, s, leg, kind, at);
        return;
    }
    static const struct {
        const char *text, *name;
        unsigned signo;
    } shell[] = {{"Segmentation fault", "SIGSEGV", 11}, {"Bus error", "SIGBUS", 7},
                 {"Aborted (core dumped)", "SIGABRT", 6}};
    for (size_t i = 0; i < sizeof shell / sizeof shell[0]; i++)
        if (hkd_span_find(s, shell[i].text)) {
            /* The shell's report of the death: a signal event without an address. */
            struct hkd_event *e = hkd_snap_event(hkd_model_cur(sc->m, at), "signal", at);
            snprintf(e->name, sizeof e->name, "%s", shell[i].name);
            hkd_num_set(&e->f[HKD_E_signo], shell[i].signo, false, at);
            e->quote = hkd_span_printable(hkd_span_trim(s), 200);
            sc->records++;
            return;
        }
    if (hkd_span_find(s, "mmap failed:") && hkd_span_find(s, "err=")) {
        hkd_model_unparsed(sc->m, at, s,
                           "mmap failure quoted without its [SS OOM] marker (not used)");
        return;
    }
    if (kernel_line(sc, s, at))
        return;
    struct hkd_span t = hkd_span_trim(s);
    if (hkd_span_starts(t, "{") && hkd_span_find(t, "\"classes\"") &&
        hkd_span_find(t, "\"superslabs\""))
        hkd_model_unparsed(sc->m, at, s, "hakmem JSON stats are not read by this hkdump; "
                                         "use HAKMEM_STATS=1 (text) or a dump");
}

void hkd_scan_text(const struct hkd_input *in, struct hkd_model *m)
{
    struct scan sc = {.m = m};
    hkd_report_init(&sc.rs);
    int idx = hkd_model_add_input(m, in->name, false);
    struct hkd_lines it;
    struct hkd_span s;
    bool complete;
    hkd_lines_init(&it, in);
    while (hkd_lines_next(&it, &s, &complete)) {
        struct hkd_loc at = {idx, it.lineno};
        if (hkd_legacy_continue(&sc.lg, m, s, at))
            continue;
        line(&sc, s, at);
    }
    hkd_legacy_end(&sc.lg, m);
    m->inputs[idx].lines = it.lineno;
    m->inputs[idx].records = sc.records;
}
