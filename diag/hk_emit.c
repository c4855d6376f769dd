#include "hk_emit.h"
#include "hk_utf8.h"
#include "hk_log.h"
#include "hk_os.h"

#include <errno.h>
#include <string.h>

void hk_out_init_fd(struct hk_out *o, int fd)
{
    o->fd = fd;
    o->mem = NULL;
    o->mem_cap = o->mem_len = 0;
    o->len = 0;
    o->err = 0;
}

void hk_out_init_mem(struct hk_out *o, char *mem, size_t cap)
{
    hk_out_init_fd(o, -1);
    o->mem = mem;
    o->mem_cap = cap;
    if (cap)
        mem[0] = '\0';
}

void hk_out_flush(struct hk_out *o)
{
    if (!o->len || o->err) {
        o->len = 0;
        return;
    }
    if (o->mem) {
        size_t room = o->mem_cap > o->mem_len + 1 ? o->mem_cap - o->mem_len - 1 : 0;
        size_t n = o->len < room ? o->len : room;
        if (n < o->len)
            o->err = ENOSPC;
        memcpy(o->mem + o->mem_len, o->buf, n);
        o->mem_len += n;
        if (o->mem_cap)
            o->mem[o->mem_len] = '\0';
    } else if (o->fd >= 0) {
        o->err = hk_os_write_all(o->fd, o->buf, o->len);
    }
    o->len = 0;
}

void hk_out_file_problem(const char *head, const char *path, const char *why, int err,
                         const char *tail)
{
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: ");
    hk_out_str(&o, head);
    hk_out_str(&o, path);
    hk_out_str(&o, ": ");
    hk_out_str(&o, why);
    if (err) {
        const char *name = hk_os_errno_name(err);
        hk_out_str(&o, " (errno ");
        hk_out_u64(&o, (uint64_t)err);
        if (name) {
            hk_out_str(&o, ", ");
            hk_out_str(&o, name);
        }
        hk_out_char(&o, ')');
    }
    hk_out_str(&o, tail);
    hk_out_char(&o, '\n');
    hk_out_flush(&o);
}

/* A full buffer: write its whole lines and keep the unfinished last one, so processes that
 * write to one stderr at once (exiting together) never tear each other's lines. A line
 * longer than the buffer, with no line end in it, is the one exception: written in pieces. */
static void hk_out_flush_lines(struct hk_out *o)
{
    size_t whole = o->len;
    while (whole && o->buf[whole - 1] != '\n')
        whole--;
    if (!whole) {
        hk_out_flush(o);
        return;
    }
    size_t rest = o->len - whole;
    o->len = whole;
    hk_out_flush(o);
    if (!o->err) {
        memmove(o->buf, o->buf + whole, rest);
        o->len = rest;
    }
}

void hk_out_mem(struct hk_out *o, const char *s, size_t n)
{
    while (n) {
        if (o->len == sizeof o->buf)
            hk_out_flush_lines(o);
        size_t room = sizeof o->buf - o->len;
        size_t k = n < room ? n : room;
        memcpy(o->buf + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
    }
}

void hk_out_str(struct hk_out *o, const char *s) { hk_out_mem(o, s, strlen(s)); }
void hk_out_char(struct hk_out *o, char c) { hk_out_mem(o, &c, 1); }

static int hk_fmt_u64(char *tmp, uint64_t v)
{
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n / 2; i++) {
        char c = tmp[i];
        tmp[i] = tmp[n - 1 - i];
        tmp[n - 1 - i] = c;
    }
    return n;
}

void hk_out_u64(struct hk_out *o, uint64_t v)
{
    char tmp[24];
    hk_out_mem(o, tmp, (size_t)hk_fmt_u64(tmp, v));
}

void hk_out_i64(struct hk_out *o, int64_t v)
{
    if (v < 0) {
        hk_out_char(o, '-');
        hk_out_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        hk_out_u64(o, (uint64_t)v);
    }
}

void hk_out_hex(struct hk_out *o, uint64_t v)
{
    char tmp[18];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    hk_out_str(o, "0x");
    while (n)
        hk_out_char(o, tmp[--n]);
}

void hk_out_pad_u64(struct hk_out *o, uint64_t v, int width)
{
    char tmp[24];
    int n = hk_fmt_u64(tmp, v);
    for (int i = n; i < width; i++)
        hk_out_char(o, ' ');
    hk_out_mem(o, tmp, (size_t)n);
}

void hk_out_pad_str(struct hk_out *o, const char *s, int width)
{
    int n = (int)strlen(s);
    for (int i = n; i < width; i++)
        hk_out_char(o, ' ');
    hk_out_str(o, s);
}

void hk_out_fixed(struct hk_out *o, uint64_t num, uint64_t den, int decimals)
{
    if (!den) {
        hk_out_str(o, "-");
        return;
    }
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    /* Rounded, without overflow for the counter ranges we print. */
    unsigned __int128 q = ((unsigned __int128)num * scale * 2 + den) / ((unsigned __int128)den * 2);
    hk_out_u64(o, (uint64_t)(q / scale));
    if (decimals) {
        hk_out_char(o, '.');
        char tmp[24];
        uint64_t frac = (uint64_t)(q % scale);
        int n = hk_fmt_u64(tmp, frac);
        for (int i = n; i < decimals; i++)
            hk_out_char(o, '0');
        hk_out_mem(o, tmp, (size_t)n);
    }
}

void hk_out_quote(struct hk_out *o, const char *v)
{
    hk_out_char(o, '"');
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\') {
            hk_out_char(o, '\\');
            hk_out_char(o, (char)c);
        } else if (c == '\n') {
            hk_out_str(o, "\\n");
        } else if (c == '\t') {
            hk_out_str(o, "\\t");
        } else if (c == '\r') {
            hk_out_str(o, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            hk_out_str(o, "\\x");
            hk_out_char(o, "0123456789abcdef"[c >> 4]);
            hk_out_char(o, "0123456789abcdef"[c & 15]);
        } else {
            hk_out_char(o, (char)c);
        }
    }
    hk_out_char(o, '"');
}

static bool hk_value_bare(const char *v)
{
    if (!*v)
        return false;
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c <= ' ' || c == 0x7f || c == '"' || c == '\\' || c == '=')
            return false;
    }
    return true;
}

void hk_out_value(struct hk_out *o, const char *v)
{
    if (hk_value_bare(v))
        hk_out_str(o, v);
    else
        hk_out_quote(o, v);
}

void hk_out_json_str(struct hk_out *o, const char *s)
{
    hk_out_char(o, '"');
    hk_out_json_str_body(o, s);
    hk_out_char(o, '"');
}

void hk_out_json_str_body(struct hk_out *o, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            hk_out_char(o, '\\');
            hk_out_char(o, (char)c);
        } else if (c == '\n') {
            hk_out_str(o, "\\n");
        } else if (c < 0x20) {
            hk_out_str(o, "\\u00");
            hk_out_char(o, "0123456789abcdef"[c >> 4]);
            hk_out_char(o, "0123456789abcdef"[c & 15]);
        } else if (c < 0x80) {
            hk_out_char(o, (char)c);
        } else {
            /* Valid UTF-8 as it is; a byte that is not (argv and paths hold any) becomes
             * U+FFFD, so the report stays JSON that strict parsers read. */
            size_t len = hk_utf8_len((const unsigned char *)s, strnlen(s, 4));
            if (!len) {
                hk_out_str(o, "\\ufffd");
                continue;
            }
            for (size_t i = 0; i < len; i++)
                hk_out_char(o, s[i]);
            s += len - 1;
        }
    }
}

/* ---- emitter ---- */

void hk_emit_init(struct hk_emit *e, struct hk_out *out, int format)
{
    memset(e, 0, sizeof *e);
    e->out = out;
    e->format = format;
}

void hk_emit_json_key(struct hk_emit *e, const char *key)
{
    if (!e->first[e->depth])
        hk_out_char(e->out, ',');
    e->first[e->depth] = false;
    if (key) {
        hk_out_json_str(e->out, key);
        hk_out_char(e->out, ':');
    }
}

static void hk_emit_push(struct hk_emit *e, char open)
{
    hk_out_char(e->out, open);
    if (e->depth + 1 < HK_EMIT_MAX_DEPTH)
        e->depth++;
    e->first[e->depth] = true;
    e->in_array[e->depth] = false;
}

static void hk_emit_pop(struct hk_emit *e, char close)
{
    hk_out_char(e->out, close);
    if (e->depth > 0)
        e->depth--;
}

void hk_emit_begin(struct hk_emit *e)
{
    if (e->format == HK_EMIT_JSON) {
        e->depth = 0;
        e->first[0] = true;
        hk_emit_push(e, '{');
    }
}

void hk_emit_end(struct hk_emit *e)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_pop(e, '}');
        hk_out_char(e->out, '\n');
    }
    hk_out_flush(e->out);
}

void hk_emit_obj_begin(struct hk_emit *e, const char *name, const char *label)
{
    if (e->format == HK_EMIT_JSON) {
        if (e->in_array[e->depth]) {
            hk_emit_json_key(e, NULL);
            hk_emit_push(e, '{');
        } else if (name) {
            hk_emit_json_key(e, name);
            hk_emit_push(e, '{');
        } else {
            e->flat_open++;
        }
    } else {
        if (e->format == HK_EMIT_TEXT)
            hk_out_str(e->out, "hakmem: ");
        hk_out_str(e->out, label ? label : name);
    }
}

void hk_emit_obj_end(struct hk_emit *e)
{
    if (e->format == HK_EMIT_JSON) {
        if (e->flat_open)
            e->flat_open--;
        else
            hk_emit_pop(e, '}');
    } else {
        hk_out_char(e->out, '\n');
    }
}

void hk_emit_array_begin(struct hk_emit *e, const char *name)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_json_key(e, name);
        hk_emit_push(e, '[');
        e->in_array[e->depth] = true;
    }
}

void hk_emit_array_end(struct hk_emit *e)
{
    if (e->format == HK_EMIT_JSON) {
        e->in_array[e->depth] = false;
        hk_emit_pop(e, ']');
    }
}

void hk_emit_group_begin(struct hk_emit *e, const char *name)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_json_key(e, name);
        hk_emit_push(e, '{');
    }
}

void hk_emit_group_end(struct hk_emit *e)
{
    if (e->format == HK_EMIT_JSON)
        hk_emit_pop(e, '}');
}

void hk_emit_u64(struct hk_emit *e, const char *key, uint64_t v)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_json_key(e, key);
    } else {
        hk_out_char(e->out, ' ');
        hk_out_str(e->out, key);
        hk_out_char(e->out, '=');
    }
    hk_out_u64(e->out, v);
}

void hk_emit_hex(struct hk_emit *e, const char *key, uint64_t v)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_json_key(e, key);
        hk_out_char(e->out, '"');
        hk_out_hex(e->out, v);
        hk_out_char(e->out, '"');
        return;
    }
    hk_out_char(e->out, ' ');
    hk_out_str(e->out, key);
    hk_out_char(e->out, '=');
    hk_out_hex(e->out, v);
}

void hk_emit_json_u64(struct hk_emit *e, const char *key, uint64_t v)
{
    if (e->format == HK_EMIT_JSON)
        hk_emit_u64(e, key, v);
}

void hk_emit_str(struct hk_emit *e, const char *key, const char *v)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_json_key(e, key);
        hk_out_json_str(e->out, v);
        return;
    }
    hk_out_char(e->out, ' ');
    hk_out_str(e->out, key);
    hk_out_char(e->out, '=');
    hk_out_value(e->out, v);
}

void hk_emit_table_begin(struct hk_emit *e, const char *name, const char *const *cols,
                         const int *widths, int ncols)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_json_key(e, name);
        hk_emit_push(e, '[');
        return;
    }
    e->in_table = true;
    hk_out_str(e->out, "hakmem:");
    for (int i = 0; i < ncols; i++) {
        hk_out_char(e->out, ' ');
        hk_out_pad_str(e->out, cols[i], widths[i]);
    }
    hk_out_char(e->out, '\n');
}

void hk_emit_row_begin(struct hk_emit *e)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_json_key(e, NULL);
        hk_emit_push(e, '{');
        return;
    }
    hk_out_str(e->out, "hakmem:");
}

void hk_emit_cell_u64(struct hk_emit *e, const char *key, int width, uint64_t v)
{
    if (e->format == HK_EMIT_JSON) {
        hk_emit_u64(e, key, v);
        return;
    }
    hk_out_char(e->out, ' ');
    hk_out_pad_u64(e->out, v, width);
}

void hk_emit_cell_pct(struct hk_emit *e, int width, uint64_t num, uint64_t den)
{
    if (e->format == HK_EMIT_JSON)
        return;
    char tmp[32];
    struct hk_out o;
    hk_out_init_mem(&o, tmp, sizeof tmp);
    hk_out_fixed(&o, num * 100, den, 1);
    hk_out_flush(&o);
    hk_out_char(e->out, ' ');
    hk_out_pad_str(e->out, tmp, width);
}

void hk_emit_row_end(struct hk_emit *e)
{
    if (e->format == HK_EMIT_JSON)
        hk_emit_pop(e, '}');
    else
        hk_out_char(e->out, '\n');
}

void hk_emit_table_end(struct hk_emit *e)
{
    if (e->format == HK_EMIT_JSON)
        hk_emit_pop(e, ']');
    else
        e->in_table = false;
}

