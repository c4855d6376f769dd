/* Inputs are read whole into memory (logs of a crash are small next to the crash itself) and
 * walked line by line as spans, so NUL bytes, '\r' and very long lines need no special case. */
#include "hkdump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A UTF-8 byte order mark (editors on Windows write one) is not part of the first line. */
static void drop_bom(struct hkd_input *in)
{
    if (in->len >= 3 && memcmp(in->data, "\xef\xbb\xbf", 3) == 0) {
        memmove(in->data, in->data + 3, in->len - 3 + 1);
        in->len -= 3;
    }
}

/* 0 when an input of this kind is read; a directory is EISDIR, a device or socket
 * HKD_INPUT_NOT_FILE (never opened: opening some devices acts). */
static int input_kind(const struct stat *st)
{
    if (S_ISREG(st->st_mode) || S_ISFIFO(st->st_mode))
        return 0;
    return S_ISDIR(st->st_mode) ? EISDIR : HKD_INPUT_NOT_FILE;
}

/* Opens a named input: looked at first (symlinks followed), opened without blocking (a FIFO
 * nobody writes to then reads as empty, at once) and checked again on the descriptor, which
 * must be the same file. A regular file larger than the limit is EFBIG without a read. */
static int input_open(const char *name, int *out)
{
    struct stat st, fst;
    if (stat(name, &st) != 0)
        return errno;
    int e = input_kind(&st);
    if (e)
        return e;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > HKD_INPUT_MAX)
        return EFBIG;
    int fd = open(name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    if (fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
        e = EAGAIN;   /* replaced between the two looks: read nothing */
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        e = errno;
    if (e) {
        close(fd);
        return e;
    }
    *out = fd;
    return 0;
}

int hkd_input_read(struct hkd_input *in, const char *name)
{
    memset(in, 0, sizeof *in);
    bool is_stdin = strcmp(name, "-") == 0;
    int fd = STDIN_FILENO;
    if (!is_stdin) {
        int e = input_open(name, &fd);
        if (e)
            return e;
    } else {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
            return EISDIR;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = hkd_xmalloc(cap + 1);
    for (;;) {
        if (len > HKD_INPUT_MAX) {
            free(buf);
            if (!is_stdin)
                close(fd);
            return EFBIG;
        }
        if (len == cap) {
            /* One byte past the limit is enough to know the input is too large. */
            cap = cap * 2 > HKD_INPUT_MAX + 1 ? HKD_INPUT_MAX + 1 : cap * 2;
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
    drop_bom(in);
    return 0;
}

void hkd_input_from_memory(struct hkd_input *in, const char *name, const char *data, size_t len)
{
    in->name = hkd_xstrdup(name);
    in->data = hkd_xmalloc(len + 1);
    memcpy(in->data, data, len);
    in->data[len] = '\0';
    in->len = len;
    drop_bom(in);
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
    it->nl = it->cr = NULL;
    it->lineno = 0;
}

/* The next c at or after it->p, searched again only once p has passed the last one found:
 * each byte is searched once, even when one kind of line end never occurs. */
static const char *next_of(const struct hkd_lines *it, const char *cached, char c)
{
    if (cached && cached >= it->p)
        return cached;
    const char *q = memchr(it->p, c, (size_t)(it->end - it->p));
    return q ? q : it->end;
}

bool hkd_lines_next(struct hkd_lines *it, struct hkd_span *line, bool *complete)
{
    if (it->p >= it->end)
        return false;
    it->nl = next_of(it, it->nl, '\n');
    it->cr = next_of(it, it->cr, '\r');
    const char *stop = it->cr < it->nl ? it->cr : it->nl;
    line->p = it->p;
    line->n = (size_t)(stop - it->p);
    *complete = stop < it->end;
    /* "\r\n" is one line end. */
    it->p = stop == it->cr && stop + 1 == it->nl ? stop + 2 : *complete ? stop + 1 : it->end;
    it->lineno++;
    return true;
}
