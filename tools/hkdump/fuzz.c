/* libFuzzer target: every parser and writer on arbitrary bytes, the suite reports' JSON too.
 * The input goes through the text scanner, and through the dump and the timeline parsers
 * with a valid first line prepended, then the rules and all outputs run on the result (the
 * plots of every timeline with a sample too): none of it may crash, leak or read out of
 * bounds. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct hkd_model *m)
{
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    struct hkd_symbolizer *sym = hkd_sym_new(m);
    struct hkd_findings fs = {0};
    hkd_rules_run(m, sym, &fs);
    hkd_out_text(sink, m, &fs);
    hkd_out_json(sink, m, &fs);
    hkd_out_folded(sink, m, sym);
    hkd_diff(sink, m, m, false);
    hkd_diff(sink, m, m, true);
    for (size_t i = 0; i < m->ntimelines; i++)
        if (m->timelines[i].nsamples) {
            hkd_plot_svg(sink, m, &m->timelines[i], &fs);
            hkd_plot_html(sink, m, &m->timelines[i], &fs);
        }
    hkd_findings_free(&fs);
    hkd_sym_free(sym);
    fclose(sink);
}

/* The input as a suite report (hkdump suite), and as a baseline of the same suite. */
static void exercise_suite(const uint8_t *data, size_t size)
{
    char err[200];
    struct hkd_suite s;
    hkd_suite_init(&s);
    hkd_suite_baseline(&s, (const char *)data, size, err, sizeof err);
    hkd_suite_add(&s, "fuzz.json", (const char *)data, size, err, sizeof err);
    hkd_suite_finish(&s);
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    hkd_suite_out_text(sink, &s, "fuzz");
    hkd_suite_out_json(sink, &s, "fuzz");
    hkd_suite_out_junit(sink, &s);
    hkd_suite_out_supp(sink, &s);
    fclose(sink);
    hkd_suite_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exercise_suite(data, size);

    char err[200];
    struct hkd_model m;

    hkd_model_init(&m);
    hkd_load_memory(&m, "fuzz", (const char *)data, size, err, sizeof err);
    exercise(&m);
    hkd_model_free(&m);

    /* As a dump, then as a timeline: the bytes after a valid first line. */
    static const char *const heads[] = {HK_DUMP_MAGIC " 1\n", HK_TIMELINE_MAGIC " 1\n"};
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        size_t hn = strlen(heads[h]);
        char *text = malloc(hn + size);
        if (!text)
            return 0;
        memcpy(text, heads[h], hn);
        memcpy(text + hn, data, size);
        hkd_model_init(&m);
        if (hkd_load_memory(&m, h ? "fuzz.timeline" : "fuzz.dump", text, hn + size, err,
                            sizeof err) == 0)
            exercise(&m);
        hkd_model_free(&m);
        free(text);
    }
    return 0;
}
