/* libFuzzer target: every parser and writer on arbitrary bytes. The input goes through the
 * text scanner, and through the dump parser with a valid first line prepended, then the rules
 * and all outputs run on the result: none of it may crash, leak or read out of bounds. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct hk_model *m)
{
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    struct hk_symbolizer *sym = hk_sym_new(m);
    struct hk_findings fs = {0};
    hk_rules_run(m, sym, &fs);
    hk_out_text(sink, m, &fs);
    hk_out_json(sink, m, &fs);
    hk_out_folded(sink, m, sym);
    hk_diff(sink, m, m, false);
    hk_diff(sink, m, m, true);
    hk_findings_free(&fs);
    hk_sym_free(sym);
    fclose(sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    struct hk_model m;

    hk_model_init(&m);
    hk_load_memory(&m, "fuzz", (const char *)data, size, err, sizeof err);
    exercise(&m);
    hk_model_free(&m);

    static const char head[] = "hakmem-dump 1\n";
    char *dump = malloc(sizeof head + size);
    if (!dump)
        return 0;
    memcpy(dump, head, sizeof head - 1);
    memcpy(dump + sizeof head - 1, data, size);
    hk_model_init(&m);
    if (hk_load_memory(&m, "fuzz.dump", dump, sizeof head - 1 + size, err, sizeof err) == 0)
        exercise(&m);
    hk_model_free(&m);
    free(dump);
    return 0;
}
