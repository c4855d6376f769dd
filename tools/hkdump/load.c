/* One input into the model: a dump file or a timeline if it starts like one, free text
 * otherwise. */
#include "hkdump.h"

#include <errno.h>
#include <string.h>

static int load(struct hkd_model *m, struct hkd_input *in, char *err, size_t errlen)
{
    if (hkd_dump_detect(in))
        return hkd_dump_parse(in, m, err, errlen);
    if (hkd_timeline_detect(in))
        return hkd_timeline_parse(in, m, err, errlen);
    hkd_scan_text(in, m);
    return 0;
}

int hkd_load(struct hkd_model *m, const char *name)
{
    struct hkd_input in;
    int e = hkd_input_read(&in, name);
    if (e == EFBIG) {
        fprintf(stderr, "hkdump: %s: input larger than %zu MiB (not read)\n", name,
                HKD_INPUT_MAX >> 20);
        return -1;
    }
    if (e == HKD_INPUT_NOT_FILE) {
        fprintf(stderr, "hkdump: %s: a device or socket, not a file or pipe (not read)\n",
                name);
        return -1;
    }
    if (e) {
        fprintf(stderr, "hkdump: %s: %s\n", name, strerror(e));
        return -1;
    }
    char err[200];
    int r = load(m, &in, err, sizeof err);
    if (r)
        fprintf(stderr, "hkdump: %s: %s\n", strcmp(name, "-") ? name : "<stdin>", err);
    hkd_input_free(&in);
    return r;
}

int hkd_load_memory(struct hkd_model *m, const char *name, const char *data, size_t len,
                    char *err, size_t errlen)
{
    struct hkd_input in;
    hkd_input_from_memory(&in, name, data, len);
    int r = load(m, &in, err, errlen);
    hkd_input_free(&in);
    return r;
}
