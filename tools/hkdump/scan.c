/* Free-form text: stderr captures, CI logs, documents quoting log lines. Every line is looked
 * at for hakmem's forms wherever they start in the line; prose is skipped, but a line that
 * looks like ours and cannot be read is listed as unparsed, never dropped silently. */
#include "hkdump.h"

#include <string.h>

struct scan {
    struct hk_model *m;
    struct hk_legacy lg;
    struct hk_report_state rs;
    unsigned records;
};

/* A line holding one or more legacy records ("...errno=12[SS OOM] mmap failed..." happens when
 * a document joins lines): each record runs up to the next marker. */
static void legacy_segments(struct scan *sc, struct hk_span s, const char *p,
                            enum hk_legacy_kind kind, struct hk_loc at)
{
    const char *end = s.p + s.n;
    while (p) {
        struct hk_span tail = {p + 1, (size_t)(end - p - 1)};
        enum hk_legacy_kind next_kind = HK_LEG_NONE;
        const char *next = hk_legacy_find(tail, &next_kind);
        const char *stop = next ? next : end;
        hk_legacy_start(&sc->lg, sc->m, kind, (struct hk_span){p, (size_t)(stop - p)}, at);
        sc->records++;
        if (next)
            hk_legacy_end(&sc->lg, sc->m);
        p = next;
        kind = next_kind;
    }
}

static void line(struct scan *sc, struct hk_span s, struct hk_loc at)
{
    enum hk_legacy_kind kind = HK_LEG_NONE;
    const char *leg = hk_legacy_find(s, &kind);
    const char *hm = hk_span_find(s, "hakmem: ");

    if (hm && (!leg || hm < leg)) {
        struct hk_span rest = {hm + 8, (size_t)(s.p + s.n - hm - 8)};
        struct hk_span trimmed = hk_span_trim(rest);
        if (leg && (size_t)(leg - trimmed.p) == 0) {
            legacy_segments(sc, s, leg, kind, at);
            return;
        }
        const char *why;
        if (hk_report_line(&sc->rs, sc->m, rest, at, &why))
            sc->records++;
        else if (leg)
            legacy_segments(sc, s, leg, kind, at); /* "hakmem: <noise> [SS OOM] ..." */
        else
            hk_model_unparsed(sc->m, at, s, why);
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
        if (hk_span_find(s, shell[i].text)) {
            /* The shell's report of the death: a signal event without an address. */
            struct hk_event *e = hk_snap_event(hk_model_cur(sc->m, at), "signal", at);
            snprintf(e->name, sizeof e->name, "%s", shell[i].name);
            hk_num_set(&e->f[HK_E_SIGNO], shell[i].signo, false, at);
            e->quote = hk_span_printable(hk_span_trim(s), 200);
            sc->records++;
            return;
        }
    if (hk_span_find(s, "mmap failed:") && hk_span_find(s, "err=")) {
        hk_model_unparsed(sc->m, at, s,
                          "mmap failure quoted without its [SS OOM] marker (not used)");
        return;
    }
    struct hk_span t = hk_span_trim(s);
    if (hk_span_starts(t, "{") && hk_span_find(t, "\"classes\"") &&
        hk_span_find(t, "\"superslabs\""))
        hk_model_unparsed(sc->m, at, s, "hakmem JSON stats are not read by this hkdump; "
                                        "use HAKMEM_STATS=1 (text) or a dump");
}

void hk_scan_text(const struct hk_input *in, struct hk_model *m)
{
    struct scan sc = {.m = m};
    hk_report_init(&sc.rs);
    int idx = hk_model_add_input(m, in->name, false);
    struct hk_lines it;
    struct hk_span s;
    bool complete;
    hk_lines_init(&it, in);
    while (hk_lines_next(&it, &s, &complete)) {
        struct hk_loc at = {idx, it.lineno};
        if (hk_legacy_continue(&sc.lg, m, s, at))
            continue;
        line(&sc, s, at);
    }
    hk_legacy_end(&sc.lg, m);
    m->inputs[idx].lines = it.lineno;
    m->inputs[idx].records = sc.records;
}
