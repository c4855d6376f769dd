/* Golden test of the report emitter: a fixed snapshot must produce exactly the text and
 * JSON files in golden/ (checked by hand when they were written; any change to the format
 * shows up here and in docs/json-schema.md). Also: every write(2) the emitter makes ends at
 * a line end, so processes writing to one stderr at once never tear each other's lines. */
#include "hakmem.h"
#include "hk_emit.h"
#include "hk_report.h"
#include "../common/hk_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* A SOCK_SEQPACKET pair keeps each write(2) as one message, so the reader sees the writes'
 * boundaries. Lines of 1 to 199 bytes cross the 2 KiB buffer at every possible offset; the
 * one line longer than the buffer is the only one allowed to be written in pieces. */
static void check_whole_lines(void)
{
    int sv[2];
    assert_true(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
    static char want[65536], got[65536], msg[8192];
    size_t wlen = 0, glen = 0;
    struct hk_out o;
    hk_out_init_fd(&o, sv[0]);
    for (int i = 0; i < 300; i++) {
        int n = 1 + (i * 37) % 199;
        if (i == 150)
            n = 5000;   /* longer than the buffer */
        for (int k = 0; k < n - 1; k++)
            want[wlen + (size_t)k] = (char)('a' + (i + k) % 26);
        want[wlen + (size_t)n - 1] = '\n';
        hk_out_mem(&o, want + wlen, (size_t)n);
        wlen += (size_t)n;
    }
    hk_out_flush(&o);
    close(sv[0]);
    ssize_t n;
    int writes = 0, torn = 0;
    while ((n = read(sv[1], msg, sizeof msg)) > 0) {
        /* A piece of the long line holds no line end at all. */
        bool long_line = memchr(msg, '\n', (size_t)n) == NULL;
        if (msg[n - 1] != '\n' && !long_line)
            torn++;
        memcpy(got + glen, msg, (size_t)n);
        glen += (size_t)n;
        writes++;
    }
    close(sv[1]);
    expect_u64_eq(glen, wlen, "bytes written");
    expect_true(glen == wlen && !memcmp(got, want, wlen), "the bytes, in order");
    expect_u64_gt((uint64_t)writes, 10, "writes (a 2 KiB buffer, %zu bytes)", wlen);
    expect_u64_eq((uint64_t)torn, 0, "writes that ended mid-line, of %d", writes);
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
    check_whole_lines();
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
