/* Golden test of the report emitter: a fixed snapshot must produce exactly the text and
 * JSON files in golden/ (checked by hand when they were written; any change to the format
 * shows up here and in docs/json-schema.md). */
#include "hakmem.h"
#include "hk_emit.h"
#include "hk_report.h"
#include "../common/hk_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct hakmem_stats fixed_snapshot(void)
{
    struct hakmem_stats st;
    memset(&st, 0, sizeof st);
    st.version = HAKMEM_STATS_VERSION;
    st.nclasses = 4;       /* a small table keeps the golden files readable */
    st.ntiny = 2;
    st.pid = 4242;
    const uint32_t sizes[4] = {16, 1024, 1280, 65536};
    for (unsigned c = 0; c < 4; c++) {
        struct hakmem_class_stats *k = &st.classes[c];
        k->class_id = c == 0 ? 0 : c == 1 ? 19 : c == 2 ? 20 : 43;
        k->size = sizes[c];
        k->allocs = 1000 * (c + 1);
        k->frees = 900 * (c + 1);
        k->live = k->allocs - k->frees;
        k->fast_hits = k->allocs - 10;
        k->refills = 10;
        k->refill_blocks = 320;
        k->spills = 3;
        k->spill_blocks = 96;
        k->remote_sent = c;
        k->remote_drained = c;
        k->bytes_requested = k->allocs * sizes[c] / 2;
    }
    st.classes[3].allocs = 0;     /* an unused class: omitted from the text table */
    st.classes[3].frees = 0;
    st.classes[3].live = 0;
    st.classes[3].fast_hits = 0;
    st.tiny = (struct hakmem_tier_stats){3000, 2700, 300, 1040000, 2, 0};
    st.mid = (struct hakmem_tier_stats){3000, 2700, 300, 1920000, 1, 0};
    st.large = (struct hakmem_tier_stats){5, 4, 1, 5000000, 2, 3};
    st.totals = (struct hakmem_tier_stats){6005, 5404, 601, 7960000, 0, 0};
    st.superslabs_mapped = 7;
    st.superslabs_unmapped = 5;
    st.superslabs_live = 2;
    st.superslabs_cached = 1;
    st.superslab_bytes = 2 * 2097152;
    st.large_bytes = 2 * 1052672;
    st.bytes_mapped = st.superslab_bytes + st.large_bytes;
    st.oom_events = 1;
    st.invalid_frees = 2;
    st.threads_seen = 9;
    st.threads_exited = 8;
    return st;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* The whole text is printed when it differs (longer than a failure message can be). */
static void compare(const char *what, const char *got, const char *golden_path)
{
    char *want = read_file(golden_path);
    if (!want) {
        test_fail("%s: cannot read %s", what, golden_path);
        return;
    }
    int same = strcmp(got, want) == 0;
    expect_true(same, "%s differs from %s", what, golden_path);
    if (!same)
        fprintf(stderr, "--- got:\n%s--- want:\n%s", got, want);
    free(want);
}

static void render(char *buf, size_t cap, int format, int scope)
{
    struct hakmem_stats st = fixed_snapshot();
    struct hk_out out;
    struct hk_emit e;
    hk_out_init_mem(&out, buf, cap);
    hk_emit_init(&e, &out, format);
    hk_report_emit(&e, &st, scope);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
        return 2;
    }
    char path[4096], buf[65536];
    if (!strcmp(argv[1], "--print")) {     /* for reviewing a format change by eye */
        render(buf, sizeof buf, HK_EMIT_TEXT, HK_REPORT_ALL);
        fputs(buf, stdout);
        render(buf, sizeof buf, HK_EMIT_TEXT, HK_REPORT_TINY);
        fputs(buf, stdout);
        render(buf, sizeof buf, HK_EMIT_JSON, HK_REPORT_ALL);
        fputs(buf, stdout);
        return 0;
    }
    render(buf, sizeof buf, HK_EMIT_TEXT, HK_REPORT_ALL);
    snprintf(path, sizeof path, "%s/report-all.txt", argv[1]);
    compare("text report", buf, path);
    render(buf, sizeof buf, HK_EMIT_TEXT, HK_REPORT_TINY);
    snprintf(path, sizeof path, "%s/report-tiny.txt", argv[1]);
    compare("tiny report", buf, path);
    render(buf, sizeof buf, HK_EMIT_JSON, HK_REPORT_ALL);
    snprintf(path, sizeof path, "%s/report.json", argv[1]);
    compare("JSON report", buf, path);
    return hk_test_done("emit_golden");
}
