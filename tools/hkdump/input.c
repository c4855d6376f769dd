/* Inputs are read whole into memory (logs of a crash are small next to the crash itself) and
 * walked line by line as spans, so NUL bytes, '\r' and very long lines need no special case. */
#include "hkdump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hkd_input_read(struct hkd_input *in, const char *name)
{
    memset(in, 0, sizeof *in);
    bool is_stdin = strcmp(name, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!is_stdin)
            close(fd);
        return EISDIR;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = hkd_xmalloc(cap + 1);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = hkd_xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            if (!is_stdin)
                close(fd);
            return e;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (!is_stdin)
        close(fd);
    buf[len] = '\0';
    in->name = hkd_xstrdup(name);
    in->data = buf;
    in->len = len;
    return 0;
}

void hkd_input_from_memory(struct hkd_input *in, const char *name, const char *data, size_t len)
{
    in->name = hkd_xstrdup(name);
    in->data = hkd_xmalloc(len + 1);
    memcpy(in->data, data, len);
    in->data[len] = '\0';
    in->len = len;
}

void hkd_input_free(struct hkd_input *in)
{
    free(in->name);
    free(in->data);
    memset(in, 0, sizeof *in);
}

void hkd_lines_init(struct hkd_lines *it, const struct hkd_input *in)
{
    it->p = in->data;
    it->end = in->data + in->len;
    it->lineno = 0;
}

bool hkd_lines_next(struct hkd_lines *it, struct hkd_span *line, bool *complete)
{
    if (it->p >= it->end)
        return false;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *stop = nl ? nl : it->end;
    line->p = it->p;
    line->n = (size_t)(stop - it->p);
    if (line->n && line->p[line->n - 1] == '\r')
        line->n--;
    *complete = nl != NULL;
    it->p = nl ? nl + 1 : it->end;
    it->lineno++;
    return true;
}
