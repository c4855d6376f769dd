/* The emitter: one set of calls writes either the text report or JSON, into a fixed buffer
 * flushed with write(2). It never allocates, so it is safe in signal handlers, on OOM, and
 * while the allocator's own locks are held.
 *
 * Text layout: every line starts with "hakmem: ". An object becomes one line of key=value
 * pairs ("hakmem: superslabs mapped=3 unmapped=1 ..."); a table becomes a header line and
 * one right-aligned row per element. JSON layout: nested objects and arrays, keys as given. */
#ifndef HK_EMIT_H
#define HK_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Buffered output to a file descriptor (or to memory when fd < 0 and mem is set). A full
 * buffer is written up to its last line end; only a line longer than buf is cut. */
struct hk_out {
    int fd;
    char *mem;            /* optional: write into mem (cap bytes) instead of fd */
    size_t mem_cap, mem_len;
    size_t len;
    int err;              /* first failed write's errno (ENOSPC when mem was too small);
                           * nothing more is written after it, so the reader sees a cut */
    char buf[2048];
};

void hk_out_init_fd(struct hk_out *o, int fd);
void hk_out_init_mem(struct hk_out *o, char *mem, size_t cap);
void hk_out_flush(struct hk_out *o);
void hk_out_str(struct hk_out *o, const char *s);
void hk_out_mem(struct hk_out *o, const char *s, size_t n);
void hk_out_char(struct hk_out *o, char c);
void hk_out_u64(struct hk_out *o, uint64_t v);
void hk_out_i64(struct hk_out *o, int64_t v);
void hk_out_hex(struct hk_out *o, uint64_t v);          /* 0x... */
void hk_out_pad_u64(struct hk_out *o, uint64_t v, int width);
void hk_out_pad_str(struct hk_out *o, const char *s, int width);
/* Fixed-point: v / scale with `decimals` digits ("99.1"). */
void hk_out_fixed(struct hk_out *o, uint64_t num, uint64_t den, int decimals);
/* A string value of a record line (dumps, the text report): always quoted ("..."), or bare
 * when it is not empty and holds no space, '"', '\\', '=' or control byte. Inside quotes
 * \" \\ \n \t \r, and \xHH for every other control byte, so no value can end the line or
 * start a field of its own (docs/dump-format.md). */
void hk_out_quote(struct hk_out *o, const char *v);
void hk_out_value(struct hk_out *o, const char *v);
/* One line on stderr about a file: "hakmem: <head><path>: <why> (errno N, ENAME)<tail>";
 * err 0 leaves out the parenthesis. */
void hk_out_file_problem(const char *head, const char *path, const char *why, int err,
                         const char *tail);
/* A JSON string, quoted and escaped; and the escaped body alone. */
void hk_out_json_str(struct hk_out *o, const char *s);
void hk_out_json_str_body(struct hk_out *o, const char *s);

/* RECORDS: the text layout without the "hakmem: " prefix, one record per line: the body of
 * a dump file (docs/dump-format.md). */
enum hk_emit_format { HK_EMIT_TEXT = 0, HK_EMIT_JSON = 1, HK_EMIT_RECORDS = 2 };

#define HK_EMIT_MAX_DEPTH 8

struct hk_emit {
    struct hk_out *out;
    int format;
    int depth;
    bool first[HK_EMIT_MAX_DEPTH];   /* JSON: no comma before the first member */
    bool in_table;                   /* text: inside a table */
    bool lock;                       /* walks may take allocator locks (not in handlers) */
    int flat_open;                   /* JSON: open objects with no name (no nesting inside) */
    bool in_array[HK_EMIT_MAX_DEPTH];/* JSON: members at this depth are array elements */
};

void hk_emit_init(struct hk_emit *e, struct hk_out *out, int format);
/* The whole report: JSON "{...}\n"; text nothing. */
void hk_emit_begin(struct hk_emit *e);
void hk_emit_end(struct hk_emit *e);
/* An object: text "hakmem: <label>" + pairs on one line; JSON "name":{...}. label may
 * differ from name so that text lines read naturally ("tier tiny" vs "tiny"). */
void hk_emit_obj_begin(struct hk_emit *e, const char *name, const char *label);
void hk_emit_obj_end(struct hk_emit *e);
/* name == NULL: the pairs go to the enclosing JSON object (text: still one labelled line). */
/* A JSON-only grouping ("tiers":{...}); text lines are not affected. */
void hk_emit_group_begin(struct hk_emit *e, const char *name);
void hk_emit_group_end(struct hk_emit *e);
/* An array of objects: JSON "name":[{...},...] (objects inside take name NULL); text: each
 * object is its own labelled line. */
void hk_emit_array_begin(struct hk_emit *e, const char *name);
void hk_emit_array_end(struct hk_emit *e);
void hk_emit_u64(struct hk_emit *e, const char *key, uint64_t v);
void hk_emit_str(struct hk_emit *e, const char *key, const char *v);
/* An address: text 0x..., JSON a "0x..." string (JSON numbers lose 64-bit precision). */
void hk_emit_hex(struct hk_emit *e, const char *key, uint64_t v);
/* A value that is emitted only in JSON (text reports keep their lines short). */
void hk_emit_json_u64(struct hk_emit *e, const char *key, uint64_t v);
/* JSON: the comma and "key": of a member of the current object (key NULL: an element of the
 * current array), for values the calls above do not write (arrays of strings). */
void hk_emit_json_key(struct hk_emit *e, const char *key);
/* A table: JSON "name":[{...},...]; text a header line and rows. */
void hk_emit_table_begin(struct hk_emit *e, const char *name, const char *const *cols,
                         const int *widths, int ncols);
void hk_emit_row_begin(struct hk_emit *e);
void hk_emit_cell_u64(struct hk_emit *e, const char *key, int width, uint64_t v);
/* A percentage cell: text "99.1", JSON omitted (derivable from the other keys). */
void hk_emit_cell_pct(struct hk_emit *e, int width, uint64_t num, uint64_t den);
void hk_emit_row_end(struct hk_emit *e);
void hk_emit_table_end(struct hk_emit *e);

#endif
