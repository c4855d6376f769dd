/* One input into the model: a dump file if it starts like one, free text otherwise. */
#include "hkdump.h"

#include <string.h>

static int load(struct hk_model *m, struct hk_input *in, char *err, size_t errlen)
{
    if (hk_dump_detect(in))
        return hk_dump_parse(in, m, err, errlen);
    hk_scan_text(in, m);
    return 0;
}

int hk_load(struct hk_model *m, const char *name)
{
    struct hk_input in;
    int e = hk_input_read(&in, name);
    if (e) {
        fprintf(stderr, "hkdump: %s: %s\n", name, strerror(e));
        return -1;
    }
    char err[200];
    int r = load(m, &in, err, sizeof err);
    if (r)
        fprintf(stderr, "hkdump: %s: %s\n", strcmp(name, "-") ? name : "<stdin>", err);
    hk_input_free(&in);
    return r;
}

int hk_load_memory(struct hk_model *m, const char *name, const char *data, size_t len,
                   char *err, size_t errlen)
{
    struct hk_input in;
    hk_input_from_memory(&in, name, data, len);
    int r = load(m, &in, err, errlen);
    hk_input_free(&in);
    return r;
}
