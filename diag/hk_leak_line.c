/* File and line of a code address, for the leak and misuse reports: the DWARF line table
 * (.debug_line, versions 2 to 5) of the module's file, mapped by hk_leak_sym.c. No malloc:
 * the file is read in place, and the index of the units' address ranges (built on a
 * module's first lookup, so that later lookups run only the units that can hold the
 * address) lives in the leak tracker's arena, kept per module across leak checks. Report time only, under the leak lock.
 *
 * Not read: compressed sections (-gz), split DWARF and separate debug files; the frame then
 * has no file:line, as without debug info. */
#include "hk_leak_line.h"
#include "hk_leak_int.h"

#include <string.h>

/* A bounded little-endian reader. Reading past the end sets `bad` and yields zeros. */
struct hk_rd {
    const unsigned char *p, *end;
    bool bad;
};

static uint64_t hk_rd_uint(struct hk_rd *r, unsigned n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        r->p = r->end;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static uint64_t hk_rd_uleb(struct hk_rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; r->p < r->end; shift += 7) {
        unsigned char b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return v;
}

static int64_t hk_rd_sleb(struct hk_rd *r)
{
    int64_t v = 0;
    unsigned shift = 0;
    unsigned char b = 0;
    do {
        if (r->p >= r->end) {
            r->bad = true;
            return v;
        }
        b = *r->p++;
        if (shift < 64)
            v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v = (int64_t)((uint64_t)v | (~(uint64_t)0 << shift));   /* sign extension */
    return v;
}

static const char *hk_rd_cstr(struct hk_rd *r)
{
    const unsigned char *z = memchr(r->p, '\0', (size_t)(r->end - r->p));
    if (!z) {
        r->bad = true;
        r->p = r->end;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p = z + 1;
    return s;
}

/* A string at an offset of .debug_str or .debug_line_str. */
static const char *hk_sec_str(const struct hk_dwarf *d, bool line_str, uint64_t off)
{
    const unsigned char *sec = line_str ? d->line_str : d->str;
    size_t len = line_str ? d->line_str_len : d->str_len;
    if (!sec || off >= len || !memchr(sec + off, '\0', len - off))
        return NULL;
    return (const char *)sec + off;
}

/* One unit's header, as far as the lookup needs it. */
struct hk_unit {
    const unsigned char *start, *end;    /* the unit; end: the next one */
    const unsigned char *prog;           /* the line program */
    const unsigned char *dirs, *files;   /* v2-4: the string lists; v5: the entry formats */
    unsigned version, offset_size, addr_size;
    unsigned min_inst, line_range, opcode_base;
    int line_base;
    const unsigned char *std_lengths;
};

#define DW_FORM_block 0x09
#define DW_FORM_block1 0x0a
#define DW_FORM_data1 0x0b
#define DW_FORM_data2 0x05
#define DW_FORM_data4 0x06
#define DW_FORM_data8 0x07
#define DW_FORM_data16 0x1e
#define DW_FORM_string 0x08
#define DW_FORM_strp 0x0e
#define DW_FORM_line_strp 0x1f
#define DW_FORM_udata 0x0f
#define DW_FORM_strx 0x1a
#define DW_LNCT_path 1
#define DW_LNCT_directory_index 2

static bool hk_unit_parse(const struct hk_dwarf *d, const unsigned char *at, struct hk_unit *u)
{
    struct hk_rd r = {at, d->line + d->line_len, false};
    uint64_t len = hk_rd_uint(&r, 4);
    u->offset_size = 4;
    if (len == 0xffffffffu) {
        len = hk_rd_uint(&r, 8);
        u->offset_size = 8;
    }
    if (r.bad || len > (uint64_t)(r.end - r.p) || len < 2)
        return false;
    u->start = at;
    u->end = r.p + len;
    r.end = u->end;
    u->version = (unsigned)hk_rd_uint(&r, 2);
    if (u->version < 2 || u->version > 5)
        return false;
    u->addr_size = sizeof(void *);
    if (u->version >= 5) {
        u->addr_size = (unsigned)hk_rd_uint(&r, 1);
        hk_rd_uint(&r, 1);                           /* segment selector size */
    }
    uint64_t hlen = hk_rd_uint(&r, u->offset_size);
    if (r.bad || hlen > (uint64_t)(r.end - r.p))
        return false;
    u->prog = r.p + hlen;
    u->min_inst = (unsigned)hk_rd_uint(&r, 1);
    if (u->version >= 4)
        hk_rd_uint(&r, 1);                           /* maximum operations per instruction */
    hk_rd_uint(&r, 1);                               /* default_is_stmt */
    u->line_base = (int8_t)hk_rd_uint(&r, 1);
    u->line_range = (unsigned)hk_rd_uint(&r, 1);
    u->opcode_base = (unsigned)hk_rd_uint(&r, 1);
    u->std_lengths = r.p;
    if (r.bad || !u->line_range || !u->opcode_base ||
        u->opcode_base - 1 > (size_t)(u->prog - r.p) || u->addr_size > 8)
        return false;
    r.p += u->opcode_base - 1;
    u->dirs = r.p;
    if (u->version <= 4) {                           /* skip the directory strings */
        while (!r.bad && r.p < u->prog && *r.p)
            hk_rd_cstr(&r);
        r.p++;
        u->files = r.p;
    }
    return !r.bad && r.p <= u->prog;
}

/* Skips (or reads, when out != NULL and the form is a number or string) one value. */
static bool hk_form(const struct hk_dwarf *d, const struct hk_unit *u, struct hk_rd *r,
                    uint64_t form, uint64_t *num, const char **str)
{
    switch (form) {
    case DW_FORM_string: *str = hk_rd_cstr(r); break;
    case DW_FORM_line_strp: *str = hk_sec_str(d, true, hk_rd_uint(r, u->offset_size)); break;
    case DW_FORM_strp: *str = hk_sec_str(d, false, hk_rd_uint(r, u->offset_size)); break;
    case DW_FORM_udata: *num = hk_rd_uleb(r); break;
    case DW_FORM_data1: *num = hk_rd_uint(r, 1); break;
    case DW_FORM_data2: *num = hk_rd_uint(r, 2); break;
    case DW_FORM_data4: *num = hk_rd_uint(r, 4); break;
    case DW_FORM_data8: *num = hk_rd_uint(r, 8); break;
    case DW_FORM_data16: r->p = (size_t)(r->end - r->p) >= 16 ? r->p + 16 : (r->bad = true, r->end); break;
    case DW_FORM_block: {
        uint64_t n = hk_rd_uleb(r);
        r->p = n <= (uint64_t)(r->end - r->p) ? r->p + n : (r->bad = true, r->end);
        break;
    }
    case DW_FORM_block1: {
        uint64_t n = hk_rd_uint(r, 1);
        r->p = n <= (uint64_t)(r->end - r->p) ? r->p + n : (r->bad = true, r->end);
        break;
    }
    case DW_FORM_strx: hk_rd_uleb(r); break;         /* needs .debug_str_offsets: unnamed */
    default: return false;                           /* a form we cannot even skip */
    }
    return !r->bad;
}

/* v5: entry `want` of the directory or file table at r (which starts with its format: a
 * count of (content type, form) pairs); its path and directory index. Returns 1 when found,
 * 0 when the whole table was read without it (r is then just past the table), -1 on data
 * it cannot read. */
static int hk_v5_entry(const struct hk_dwarf *d, const struct hk_unit *u, struct hk_rd *r,
                       uint64_t want, const char **path, uint64_t *dir)
{
    unsigned nfmt = (unsigned)hk_rd_uint(r, 1);
    const unsigned char *fmt = r->p;
    for (unsigned i = 0; i < 2 * nfmt; i++)
        hk_rd_uleb(r);
    const unsigned char *fmt_end = r->p;
    uint64_t count = hk_rd_uleb(r);
    if (r->bad || (!nfmt && count))
        return -1;                /* entries of no bytes: their count cannot be checked */
    for (uint64_t k = 0; k < count; k++) {
        struct hk_rd f = {fmt, fmt_end, false};
        for (unsigned i = 0; i < nfmt; i++) {
            uint64_t type = hk_rd_uleb(&f), form = hk_rd_uleb(&f), num = 0;
            const char *str = NULL;
            if (!hk_form(d, u, r, form, &num, &str))
                return -1;
            if (k == want && type == DW_LNCT_path)
                *path = str;
            if (k == want && type == DW_LNCT_directory_index)
                *dir = num;
        }
        if (k == want)
            return *path ? 1 : -1;
    }
    return 0;
}

/* The path of file `index` of unit u: its directory prefixed when the name is relative
 * and the directory is not the compilation directory (v5 entry 0, v2-4 index 0). */
static void hk_unit_file(const struct hk_dwarf *d, const struct hk_unit *u, uint64_t index,
                         struct hk_line *out)
{
    const char *name = NULL, *dir = NULL;
    uint64_t di = 0;
    if (u->version >= 5) {
        struct hk_rd r = {u->dirs, u->prog, false};
        const char *skipped = NULL;
        uint64_t skipped_dir = 0;
        if (hk_v5_entry(d, u, &r, UINT64_MAX, &skipped, &skipped_dir) != 0 ||  /* directories */
            hk_v5_entry(d, u, &r, index, &name, &di) != 1)
            return;
        struct hk_rd rd = {u->dirs, u->prog, false};
        uint64_t unused = 0;
        if (!di || hk_v5_entry(d, u, &rd, di, &dir, &unused) != 1)
            dir = NULL;
    } else {
        /* v2-4: NUL-terminated lists, 1-based; an index past the end names nothing. */
        struct hk_rd f = {u->files, u->prog, false};
        uint64_t k = 0;
        while (k < index && !f.bad && f.p < u->prog && *f.p) {
            name = hk_rd_cstr(&f);
            di = hk_rd_uleb(&f);
            hk_rd_uleb(&f);
            hk_rd_uleb(&f);
            k++;
        }
        if (f.bad || k != index || !index)
            return;
        if (di) {
            struct hk_rd dr = {u->dirs, u->files, false};
            uint64_t j = 0;
            while (j < di && !dr.bad && dr.p < u->files && *dr.p) {
                dir = hk_rd_cstr(&dr);
                j++;
            }
            if (dr.bad || j != di)
                dir = NULL;
        }
    }
    if (!name)
        return;
    out->dir = name[0] == '/' ? NULL : dir;
    out->file = name;
}

/* Runs the line program of u. With want != NULL: finds the row that covers *want and
 * fills out; else widens [*lo, *hi) to the unit's addresses. Returns false on bad data. */
static bool hk_unit_run(const struct hk_dwarf *d, const struct hk_unit *u, const uint64_t *want,
                        struct hk_line *out, uint64_t *lo, uint64_t *hi)
{
    struct hk_rd r = {u->prog, u->end, false};
    uint64_t addr = 0, file = 1, line = 1;
    bool have_prev = false;
    uint64_t prev_addr = 0, prev_file = 0, prev_line = 0;
    while (r.p < r.end && !r.bad) {
        unsigned op = (unsigned)hk_rd_uint(&r, 1);
        bool emit = false, end_seq = false;
        if (op >= u->opcode_base) {
            unsigned adj = op - u->opcode_base;
            addr += (uint64_t)(adj / u->line_range) * u->min_inst;
            line += (uint64_t)(int64_t)(u->line_base + (int)(adj % u->line_range));
            emit = true;
        } else if (op == 0) {
            uint64_t len = hk_rd_uleb(&r);
            if (!len || len > (uint64_t)(r.end - r.p))
                return false;
            const unsigned char *next = r.p + len;
            unsigned sub = (unsigned)hk_rd_uint(&r, 1);
            if (sub == 1) {
                emit = end_seq = true;
            } else if (sub == 2 && len - 1 <= 8) {
                addr = hk_rd_uint(&r, (unsigned)(len - 1));
            }
            r.p = next;
        } else {
            switch (op) {
            case 1: emit = true; break;
            case 2: addr += hk_rd_uleb(&r) * u->min_inst; break;
            case 3: line += (uint64_t)hk_rd_sleb(&r); break;
            case 4: file = hk_rd_uleb(&r); break;
            case 8: addr += (uint64_t)((255 - u->opcode_base) / u->line_range) * u->min_inst; break;
            case 9: addr += hk_rd_uint(&r, 2); break;
            default:                                  /* skip its ULEB arguments */
                for (unsigned i = 0; i < u->std_lengths[op - 1]; i++)
                    hk_rd_uleb(&r);
                break;
            }
        }
        if (!emit)
            continue;
        if (!want) {
            if (addr < *lo)
                *lo = addr;
            if (addr > *hi)
                *hi = addr;
        } else if (have_prev && prev_addr <= *want && *want < addr) {
            out->line = (unsigned)prev_line;
            hk_unit_file(d, u, prev_file, out);
            return true;
        }
        have_prev = !end_seq;
        prev_addr = addr;
        prev_file = file;
        prev_line = line;
        if (end_seq) {
            addr = 0;
            file = line = 1;
        }
    }
    return !r.bad && !want;
}

struct hk_unit_range {
    uint64_t unit;            /* offset in .debug_line */
    uint64_t lo, hi;
};

bool hk_leak_line_find(struct hk_dwarf *d, uint64_t addr, struct hk_line *out)
{
    if (!d->line)
        return false;
    if (!d->ranges_built) {              /* first lookup: every unit's address range */
        d->ranges_built = true;
        size_t n = 0;
        for (const unsigned char *at = d->line; at < d->line + d->line_len;) {
            struct hk_unit u;
            if (!hk_unit_parse(d, at, &u))
                break;
            n++;
            at = u.end;
        }
        struct hk_unit_range *v = n ? hk_leak_arena_alloc(n * sizeof *v) : NULL;
        if (!v)
            return false;                /* no units, or no memory: no lines for this file */
        size_t k = 0;
        for (const unsigned char *at = d->line; k < n;) {
            struct hk_unit u;
            hk_unit_parse(d, at, &u);
            v[k] = (struct hk_unit_range){(uint64_t)(at - d->line), UINT64_MAX, 0};
            if (!hk_unit_run(d, &u, NULL, NULL, &v[k].lo, &v[k].hi))
                v[k].lo = UINT64_MAX, v[k].hi = 0;
            k++;
            at = u.end;
        }
        d->ranges = v;
        d->nranges = n;
    }
    const struct hk_unit_range *v = d->ranges;
    for (size_t k = 0; k < d->nranges; k++) {
        if (addr < v[k].lo || addr >= v[k].hi)
            continue;
        struct hk_unit u;
        memset(out, 0, sizeof *out);
        if (v[k].unit < d->line_len && hk_unit_parse(d, d->line + v[k].unit, &u) &&
            hk_unit_run(d, &u, &addr, out, NULL, NULL) &&
            out->file)
            return true;
    }
    return false;
}
