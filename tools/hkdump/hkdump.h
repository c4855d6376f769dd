/* hkdump — internal declarations, grouped by the file that owns them.
 *
 * Data flows one way: input.c reads bytes, the parsers (dump.c and timeline.c over the
 * record grammar of records.c, scan.c with legacy.c and report.c) turn lines into a model
 * (model.c), rules.c and trend.c (over time, from timelines) turn the model into findings,
 * and the writers (out_text.c, out_json.c, folded.c, diff.c, plot.c) print. Nothing here is
 * global: every function gets what it needs through its arguments. */
#ifndef HKDUMP_H
#define HKDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HKD_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* The dump format this reader knows: version, records and keys (docs/dump-format.md). */
#include "hk_dump_format.h"

/* ---- util.c: allocation that cannot fail (hkdump exits on OOM), string lists, spans ---- */

/* A view into input bytes: not NUL-terminated, may contain any byte. */
struct hkd_span {
    const char *p;
    size_t n;
};

/* Prints "hkdump: out of memory" and exits with status 2. */
__attribute__((noreturn)) void *hkd_oom(void);
void *hkd_xmalloc(size_t n);
void *hkd_xcalloc(size_t n, size_t size);
void *hkd_xrealloc(void *p, size_t n);
char *hkd_xstrdup(const char *s);
char *hkd_xstrndup(const char *s, size_t n);
/* A C++ symbol ("_ZN5store5Cache4fillEi") as people read it ("store::Cache::fill(int)");
 * any other name, or without a demangler, a copy. n: the name's length. */
char *hkd_demangle(const char *name, size_t n);
char *hkd_xasprintf(const char *fmt, ...) HKD_PRINTF(1, 2);
/* Grows *v (of *cap elements of size elem) so that index n fits. */
void hkd_grow(void **v, size_t *cap, size_t n, size_t elem);

/* Arithmetic on numbers from the input, which may be anything up to UINT64_MAX: saturating,
 * so a huge value prints as the largest one instead of a wrapped, false one. */
uint64_t hkd_add_sat(uint64_t a, uint64_t b);
uint64_t hkd_mul_sat(uint64_t a, uint64_t b);
/* a - b, or 0 when b > a. */
uint64_t hkd_sub_floor(uint64_t a, uint64_t b);
/* A double as uint64_t: NaN and negatives give 0, values past the range UINT64_MAX. */
uint64_t hkd_u64_of(double d);

/* Row index by id (class, thread), so that finding a row does not scan the rows. */
struct hkd_idmap_slot {
    unsigned id;
    size_t idx1; /* index + 1; 0: empty */
};
struct hkd_idmap {
    struct hkd_idmap_slot *v;
    size_t cap, n;
};
/* The index stored for id, or SIZE_MAX. */
size_t hkd_idmap_get(const struct hkd_idmap *m, unsigned id);
void hkd_idmap_put(struct hkd_idmap *m, unsigned id, size_t idx);
void hkd_idmap_free(struct hkd_idmap *m);

struct hkd_strv {
    char **v;
    size_t n, cap;
};
void hkd_strv_add(struct hkd_strv *sv, const char *s);
void hkd_strv_addf(struct hkd_strv *sv, const char *fmt, ...) HKD_PRINTF(2, 3);
void hkd_strv_free(struct hkd_strv *sv);

struct hkd_span hkd_span_of(const char *s);
bool hkd_span_eq(struct hkd_span s, const char *lit);
bool hkd_span_starts(struct hkd_span s, const char *lit);
/* Position of needle in s, or NULL. */
const char *hkd_span_find(struct hkd_span s, const char *needle);
struct hkd_span hkd_span_trim(struct hkd_span s);
/* A printable copy for messages: control and non-ASCII bytes become '?', at most max bytes. */
char *hkd_span_printable(struct hkd_span s, size_t max);
/* Text for XML and HTML (JUnit, plots): & < > " ' escaped; what XML 1.0 cannot hold
 * (control bytes, invalid UTF-8, U+FFFE and U+FFFF) becomes '?'. */
void hkd_xml_string(FILE *f, const char *s);

/* ---- fmt.c: numbers for humans. Each returns a small struct by value, so calls can be used
 * directly as printf arguments (the temporary lives until the end of the full expression). ---- */

struct hkd_nb {
    char s[48];
};
struct hkd_nb hkd_count(uint64_t v);            /* 43,658 */
struct hkd_nb hkd_ibytes(uint64_t v);           /* 1 MiB, 3.4 GiB (binary units) */
struct hkd_nb hkd_sibytes(uint64_t v);          /* 45.8 GB (decimal units) */
struct hkd_nb hkd_pct(double num, double den);  /* 2.7 % */
struct hkd_nb hkd_ratio(double num, double den);/* 363.8, or ∞ when den is 0 */
struct hkd_nb hkd_duration(double seconds);     /* 42 s, 4 min 10 s, 2 h 5 min, 3 d 4 h */

/* ---- input.c: whole inputs in memory, split into lines ---- */

struct hkd_input {
    char *name;       /* as given on the command line ("-" is stdin) */
    char *data;
    size_t len;
};
/* Inputs larger than this are refused (EFBIG): logs of a crash are small, and a device or
 * an endless pipe must not grow hkdump until the machine runs out of memory. */
#define HKD_INPUT_MAX ((size_t)256 << 20)

/* Reads a file ("-" = stdin), without a UTF-8 byte order mark at its start. A named input
 * must be a regular file or a FIFO; it is opened without blocking. Returns 0, an errno value
 * (EFBIG: larger than HKD_INPUT_MAX; EISDIR) or HKD_INPUT_NOT_FILE. */
int hkd_input_read(struct hkd_input *in, const char *name);
#define HKD_INPUT_NOT_FILE (-1)   /* a device or a socket: not opened */
/* Wraps a buffer (not copied; used by the fuzzer). */
void hkd_input_from_memory(struct hkd_input *in, const char *name, const char *data, size_t len);
void hkd_input_free(struct hkd_input *in);

struct hkd_lines {
    const char *p, *end;
    const char *nl, *cr; /* the next '\n' and '\r' at or after p (end: none), found once */
    unsigned lineno;
};
void hkd_lines_init(struct hkd_lines *it, const struct hkd_input *in);
/* Next line without its end: "\n", "\r\n" or a lone "\r" (old Mac files, some terminals'
 * logs). *complete is false for a last line that has no end. Returns false at the end. */
bool hkd_lines_next(struct hkd_lines *it, struct hkd_span *line, bool *complete);

/* ---- kv.c: tokens of "key=value" text ---- */

struct hkd_tok {
    struct hkd_span key; /* empty for a bare word */
    struct hkd_span val; /* the bare word itself when key is empty; raw (still escaped) if quoted */
    bool quoted;
};
/* Strict form (dump files): key=value or key="..." separated by single spaces. Returns false at
 * the end of s; sets *bad when a token is malformed (e.g. an unterminated quote). */
bool hkd_kv_next(struct hkd_span *s, struct hkd_tok *t, bool *bad);
/* Loose form (free text): a token is a run of non-blank bytes; "k=v" inside it is split at the
 * first '='; leading '(' on keys and trailing ")],;" on values are dropped. */
bool hkd_kv_next_loose(struct hkd_span *s, struct hkd_tok *t);
/* Unescapes a quoted value (\" \\ \n \t \r \xHH). Returns a NUL-terminated copy. */
char *hkd_kv_unescape(struct hkd_span v);

/* Number in decimal, 0x hex, "inf" (sets *inf), "(nil)" (= 0). Returns false if not a number. */
bool hkd_parse_u64(struct hkd_span s, uint64_t *out, bool *inf);

/* ---- model.c: what the inputs say, as numbers with the place they came from ---- */

struct hkd_loc {
    int input;      /* index into model.inputs */
    unsigned line;  /* 1-based; 0 = unknown */
};

struct hkd_num {
    uint64_t v;
    bool set, inf;
    struct hkd_loc at;
};

/* Field lists: X(key) for each key, bare (X stringifies or pastes it); XC(name, width, doc)
 * for the entries of hakmem's counter lists, which come through diag/hk_dump_format.h. */

/* Scalar facts about one point in time: the numbers of the dump's header, process and limits
 * records, then ss_size (the legacy OOM line's), the text report's totals, the legacy line's
 * bytes= (SuperSlabs ever mapped × their size: cumulative, not mapped now) and the kernel's
 * commit accounting (CommitLimit:, Committed_AS: of /proc/meminfo, quoted in a log). */
#define HKD_FIELDS(X, XC)                                                                \
    X(pid) X(time_ns) HK_DUMP_PROCESS_KEYS(X, XC) HK_DUMP_LIMITS_KEYS(X)                 \
    X(ss_size) X(allocs) X(frees) X(live) X(ss_bytes_ever) X(commit_limit_kb)            \
    X(committed_as_kb)

/* Per size class: every number of the class record, so every class counter. */
#define HKD_CLASS_FIELDS(X, XC) HK_DUMP_CLASS_COUNTS(X, XC)

#define HKD_TIER_FIELDS(X) HK_DUMP_TIER_COUNTS(X)

/* Shadow census: blocks per state, per class or per thread; and the thread's kernel tid. */
#define HKD_CENSUS_FIELDS(X) HK_DUMP_CENSUS_STATES(X) X(tid)

/* The numbers of an event: the dump's, those of the legacy refill line, and of a refusal
 * line (align, limit). */
#define HKD_EVENT_FIELDS(X)                                                              \
    X(errno) X(size) X(class) X(ss_size) X(map_size) X(signo) X(addr) X(prev_ss)        \
    X(active) X(used) X(cap) X(align) X(limit) X(code) X(pc)

#define HKD_ENUM_F(k) HKD_F_##k,
#define HKD_ENUM_FC(k, width, doc) HKD_F_##k,
#define HKD_ENUM_C(k) HKD_C_##k,
#define HKD_ENUM_CC(k, width, doc) HKD_C_##k,
#define HKD_ENUM_T(k) HKD_T_##k,
#define HKD_ENUM_Z(k) HKD_Z_##k,
#define HKD_ENUM_E(k) HKD_E_##k,
enum hkd_field { HKD_FIELDS(HKD_ENUM_F, HKD_ENUM_FC) HKD_F_COUNT };
enum hkd_class_field { HKD_CLASS_FIELDS(HKD_ENUM_C, HKD_ENUM_CC) HKD_C_COUNT };
enum hkd_tier_field { HKD_TIER_FIELDS(HKD_ENUM_T) HKD_T_COUNT };
enum hkd_census_field { HKD_CENSUS_FIELDS(HKD_ENUM_Z) HKD_Z_COUNT };
enum hkd_event_field { HKD_EVENT_FIELDS(HKD_ENUM_E) HKD_E_COUNT };

extern const char *const hkd_field_names[HKD_F_COUNT];
extern const char *const hkd_class_field_names[HKD_C_COUNT];
extern const char *const hkd_tier_field_names[HKD_T_COUNT];
extern const char *const hkd_census_field_names[HKD_Z_COUNT];
extern const char *const hkd_event_field_names[HKD_E_COUNT];
/* Index of name in a table, or -1. */
int hkd_name_index(const char *const *names, int count, struct hkd_span name);

enum hkd_tier { HKD_TIER_TINY, HKD_TIER_MID, HKD_TIER_LARGE, HKD_TIER_COUNT };
extern const char *const hkd_tier_names[HKD_TIER_COUNT];

struct hkd_class_row {
    unsigned id;
    struct hkd_num f[HKD_C_COUNT];
    double fast_pct; /* from the text report's fast% column; < 0 when absent */
};

struct hkd_census_row {
    unsigned id;       /* class id, or thread number */
    char state[16];    /* threads: live | exited | parked */
    struct hkd_num f[HKD_Z_COUNT];
    struct hkd_loc at;
};

struct hkd_event {
    char kind[16];     /* oom | signal | refill-null | refused */
    char tier[8];
    char name[16];     /* signal name; refused: what exceeded the limit (size, alignment) */
    struct hkd_num f[HKD_E_COUNT];
    char *quote;       /* the record as read (joined when wrapped) */
    char *code_name;   /* signal: its si_code as the log named it ("SEGV_MAPERR: ...") */
    uint64_t *frames;  /* signal: the crashing stack, pc first (then return addresses) */
    size_t nframes, cap_frames;
    struct hkd_loc at;
};

/* One point in time: a dump file, one stats report, or one group of OOM log lines. */
struct hkd_snapshot {
    struct hkd_loc at;
    struct hkd_num f[HKD_F_COUNT];
    struct hkd_num tier[HKD_TIER_COUNT][HKD_T_COUNT];
    struct hkd_class_row *classes;
    size_t nclasses, cap_classes;
    struct hkd_census_row *census, *census_threads;
    size_t ncensus, cap_census, ncensus_threads, cap_census_threads;
    struct hkd_idmap class_ids, census_ids, thread_ids; /* rows by id */
    struct hkd_event *events;
    size_t nevents, cap_events;
    char *version, *build, *reason, *exe;
    char *limits_quote;        /* the RLIMIT_AS/limits line as read */
    /* What has been seen, to decide where the next lines belong (scan.c). */
    bool has_report, has_oom, has_limits, has_refill;
};

struct hkd_misuse {
    char kind[24];     /* double-free interior-free foreign-free invalid-free use-after-free
                          overflow corrupt-freelist */
    struct hkd_num addr, cls, size, thread;
    struct hkd_num alloc_thread;   /* "allocated by thread N" under the report line */
    char state[24];
    char *quote;
    /* First named frame of the stacks under the report (leak tracking on): where the block
     * was allocated, freed, and where the misuse was found (the second free, ...). */
    char *alloc_site, *free_site, *report_site;
    struct hkd_loc at;
};

struct hkd_module {
    unsigned id;
    uint64_t base, end;
    char *path;
};

struct hkd_stack {
    unsigned id;
    uint64_t blocks, bytes;
    uint64_t held_blocks, held_bytes;   /* direct: the indirect blocks its blocks hold */
    char kind[16];     /* direct | indirect | reachable ("lost": a writer before the split) */
    uint64_t *frames;
    size_t nframes, cap_frames;
    char **names;      /* text leak reports: each frame's function as printed ("?": none);
                          NULL for dumps, whose frames are symbolized by hkdump */
    struct hkd_loc at;
};

struct hkd_option {
    char *name, *value;
};

struct hkd_unparsed {
    struct hkd_loc at;
    char *text;        /* printable excerpt */
    char *reason;
};

struct hkd_input_info {
    char *name;
    bool is_dump;
    bool is_timeline;  /* a timeline (then not is_dump): its numbers in m->timelines */
    unsigned version;  /* dump version */
    unsigned lines;
    unsigned records;  /* lines that contributed facts */
    bool truncated;    /* dump without "end" */
    size_t partial_bytes; /* bytes of an incomplete last line (no '\n') */
};

struct hkd_model {
    struct hkd_input_info *inputs;
    size_t ninputs, cap_inputs;
    struct hkd_snapshot *snaps;
    size_t nsnaps, cap_snaps;
    struct hkd_misuse *misuse;
    size_t nmisuse, cap_misuse;
    struct hkd_module *modules;
    size_t nmodules, cap_modules;
    struct hkd_stack *stacks;
    size_t nstacks, cap_stacks;
    struct hkd_option *options;
    size_t noptions, cap_options;
    struct hkd_timeline *timelines;
    size_t ntimelines, cap_timelines;
    struct hkd_unparsed *unparsed;
    size_t nunparsed, cap_unparsed;
    size_t unparsed_total; /* including those not kept */
};

/* Unparsed lines kept for the report (the total is still counted). */
#define HKD_UNPARSED_KEEP 200

void hkd_model_init(struct hkd_model *m);
void hkd_model_free(struct hkd_model *m);
/* Inputs of one run (its log and its dumps) give the same leak stacks and misuse reports:
 * each is kept once (docs/hkdump.md, "What it reads"). */
void hkd_model_merge_runs(struct hkd_model *m);
int hkd_model_add_input(struct hkd_model *m, const char *name, bool is_dump);
/* An option record: name and value are the model's from now on. */
void hkd_model_option(struct hkd_model *m, char *name, char *value);
struct hkd_snapshot *hkd_model_new_snapshot(struct hkd_model *m, struct hkd_loc at);
/* The latest snapshot, created if there is none. */
struct hkd_snapshot *hkd_model_cur(struct hkd_model *m, struct hkd_loc at);
struct hkd_class_row *hkd_snap_class(struct hkd_snapshot *s, unsigned id);
struct hkd_census_row *hkd_snap_census(struct hkd_snapshot *s, unsigned id, bool thread);
/* The row of that id, or NULL (also on a merged view). */
const struct hkd_class_row *hkd_snap_find_class(const struct hkd_snapshot *s, unsigned id);
const struct hkd_census_row *hkd_snap_find_census(const struct hkd_snapshot *s, unsigned id,
                                                  bool thread);
struct hkd_event *hkd_snap_event(struct hkd_snapshot *s, const char *kind, struct hkd_loc at);
struct hkd_misuse *hkd_model_misuse(struct hkd_model *m, struct hkd_loc at);
struct hkd_stack *hkd_model_stack(struct hkd_model *m, struct hkd_loc at);
/* A frame of a signal event's crashing stack. */
void hkd_event_add_frame(struct hkd_event *e, uint64_t pc);
/* A module known from a text frame "path+0xoff" at addr (base = addr - off): one per path
 * and base, its end grown to cover every such frame. */
void hkd_model_module_span(struct hkd_model *m, uint64_t base, uint64_t addr,
                           struct hkd_span path);
void hkd_model_unparsed(struct hkd_model *m, struct hkd_loc at, struct hkd_span line,
                        const char *reason);
void hkd_num_set(struct hkd_num *n, uint64_t v, bool inf, struct hkd_loc at);
/* Sets a number from text; false if it is not a number (nothing is changed then). */
bool hkd_num_parse(struct hkd_num *n, struct hkd_span text, struct hkd_loc at);
/* The facts of all snapshots merged, later ones winning field by field, then the failure's
 * snapshot (the last with an event, a dump's first) over them all; tables (classes,
 * census) come whole from the latest snapshot that has them. The result borrows from m. */
void hkd_model_view(const struct hkd_model *m, struct hkd_snapshot *view);
/* The snapshot taken at the failure: the last one that holds an event (an OOM, a signal, a
 * refusal), preferring one with tables (a dump) over a log's lines; SIZE_MAX when none. */
size_t hkd_model_failure(const struct hkd_model *m);
void hkd_view_free(struct hkd_snapshot *view);
const char *hkd_loc_name(const struct hkd_model *m, struct hkd_loc at);

/* ---- records.c: the line grammar of dumps and timelines (docs/dump-format.md) ---- */

/* The record being read: its line, its tokens, and the parser's own state (user). */
struct hkd_recs {
    struct hkd_model *m;
    void *user;
    struct hkd_loc at;
    struct hkd_span line;
    struct hkd_tok *tok;       /* the record's key=value tokens, after its name */
    size_t ntok, cap_tok;
    struct hkd_span *keys;     /* their keys, sorted, to find duplicates */
    size_t cap_keys;
    bool bad;                  /* the line was already reported */
    bool ended;                /* the 'end' record was read (its handler sets it) */
};
struct hkd_rec_type {
    const char *name;
    void (*fn)(struct hkd_recs *r);
};
/* A file format: line 1 is "MAGIC VERSION"; what names it in messages ("dump"). */
struct hkd_format {
    const char *magic, *what;
    unsigned version;          /* the newest this hkdump knows */
    const struct hkd_rec_type *types;
    size_t ntypes;
};
/* True if the input starts with "MAGIC ". */
bool hkd_format_detect(const struct hkd_input *in, const struct hkd_format *f);
/* Line 1: 0 and *version, or -1 with the one-line message (a bad line, a newer version). */
int hkd_format_version(const struct hkd_input *in, const struct hkd_format *f,
                       unsigned *version, char *err, size_t errlen);
/* Every line after the first, each record to its handler; unknown records, repeated keys,
 * lines after 'end' are unparsed. Sets lines, records, truncated, partial_bytes of input idx. */
void hkd_recs_read(struct hkd_recs *r, const struct hkd_input *in, const struct hkd_format *f,
                   int idx);
/* Lists the line as unparsed, once per line. */
void hkd_recs_unparsed(struct hkd_recs *r, const char *why);
void hkd_recs_bad_value(struct hkd_recs *r, struct hkd_span key);
/* The token of that key, or NULL. */
const struct hkd_tok *hkd_recs_find(const struct hkd_recs *r, const char *key);
/* Sets fields[i] from t when its key names one of the table; false if it names none. */
bool hkd_recs_num(struct hkd_recs *r, const struct hkd_tok *t, const char *const *names,
                  int count, struct hkd_num *fields);
/* The token's value as a string (unescaped when quoted). */
char *hkd_tok_dup(const struct hkd_tok *t);

/* ---- dump.c: hakmem dump files (docs/dump-format.md) ---- */

/* True if the input starts with a dump's first line. */
bool hkd_dump_detect(const struct hkd_input *in);
/* Parses a dump into m. Returns 0, or -1 with a one-line message in err (e.g. newer version). */
int hkd_dump_parse(const struct hkd_input *in, struct hkd_model *m, char *err, size_t errlen);

/* ---- timeline.c: the timeline of HAKMEM_STATS_INTERVAL_MS (docs/dump-format.md) ---- */

/* Keys of the header, of a sample and of a sample_census, by index (diag/hk_dump_format.h). */
#define HKD_ENUM_TH(k) HKD_TH_##k,
#define HKD_ENUM_TS(k) HKD_TS_##k,
#define HKD_ENUM_TC(k) HKD_TC_##k,
enum hkd_tl_header { HK_TIMELINE_HEADER_KEYS(HKD_ENUM_TH) HKD_TH_COUNT };
enum hkd_tl_sample { HK_TIMELINE_SAMPLE_KEYS(HKD_ENUM_TS) HKD_TS_COUNT };
enum hkd_tl_census { HK_TIMELINE_CENSUS_KEYS(HKD_ENUM_TC) HKD_TC_COUNT };
extern const char *const hkd_tl_header_names[HKD_TH_COUNT];
extern const char *const hkd_tl_sample_names[HKD_TS_COUNT];
extern const char *const hkd_tl_census_names[HKD_TC_COUNT];

/* Bounds on what one timeline may make hkdump hold (a hostile file is up to 256 MiB): the
 * writer keeps at most max_samples samples (1,024 by default), far below these. */
#define HKD_TL_MAX_SAMPLES 1000000
#define HKD_TL_MAX_CLASSES 4096
#define HKD_TL_MAX_LIVE ((size_t)1 << 22)  /* live=ID:BLOCKS entries, all samples */
#define HKD_TL_MAX_EVENTS 10000

/* One point in time: a sample's numbers (bit i of set: key i was given), its live classes
 * (live[live_at .. live_at + nlive) of the timeline), or a sample_census's states. */
struct hkd_tl_point {
    uint64_t v[HKD_TS_COUNT];  /* a census point uses the first HKD_TC_COUNT */
    uint32_t set;
    unsigned line;
    size_t live_at, nlive;
};
struct hkd_tl_live {
    size_t cls;        /* index into classes */
    uint64_t blocks;
};
struct hkd_tl_class {
    unsigned id;
    uint64_t size;
};
struct hkd_tl_event {
    uint64_t t_ms;
    char kind[16];     /* oom | signal | exit | request */
    char *dump;        /* printable; "none" when none was written */
    unsigned line;
};

struct hkd_timeline {
    int input;
    struct hkd_num h[HKD_TH_COUNT];
    char *version, *build, *exe;
    struct hkd_tl_class *classes;
    size_t nclasses, cap_classes;
    struct hkd_idmap class_ids;
    struct hkd_tl_point *samples, *census;   /* each sorted by t_ms once read */
    size_t nsamples, cap_samples, ncensus, cap_census;
    struct hkd_tl_live *live;
    size_t nlive, cap_live;
    struct hkd_tl_event *events;
    size_t nevents, cap_events;
    size_t over_cap;   /* records not kept: past one of the bounds above */
};

bool hkd_tl_has(const struct hkd_tl_point *p, int key);
/* The timeline holds this magic on line 1. */
bool hkd_timeline_detect(const struct hkd_input *in);
/* Parses a timeline into m->timelines. 0, or -1 with a one-line message in err. */
int hkd_timeline_parse(const struct hkd_input *in, struct hkd_model *m, char *err,
                       size_t errlen);
void hkd_timeline_free(struct hkd_timeline *tl);
/* The timeline read from input idx, or NULL. */
const struct hkd_timeline *hkd_model_timeline(const struct hkd_model *m, int idx);
/* A class's bytes in a sample: its live blocks times its size; 0 when not listed. */
uint64_t hkd_tl_class_bytes(const struct hkd_timeline *tl, const struct hkd_tl_point *p,
                            size_t cls);

/* ---- scan.c: free-form text (logs, documents): finds the hakmem lines wherever they are ---- */

void hkd_scan_text(const struct hkd_input *in, struct hkd_model *m);

/* ---- legacy.c: "[SS OOM] ...", "RLIMIT_AS(...)", "[DEBUG] superslab_refill NULL detail: ..."
 * lines, possibly prefixed and wrapped over several physical lines ---- */

enum hkd_legacy_kind { HKD_LEG_NONE, HKD_LEG_OOM, HKD_LEG_RLIMIT, HKD_LEG_REFILL };
struct hkd_legacy {
    enum hkd_legacy_kind kind;   /* the record still open for continuation lines */
    size_t snap, ev;            /* indexes (the arrays may move while the record is open) */
    bool has_ev;
    unsigned seen;              /* bit per key of the record's key table */
    unsigned cont_lines;
    struct hkd_loc at;
    char *quote;                /* logical line so far */
};
/* Position of the first legacy marker in s, or NULL; *kind says which. */
const char *hkd_legacy_find(struct hkd_span s, enum hkd_legacy_kind *kind);
/* Starts a record at a marker (s begins at the marker); ends any open one. */
void hkd_legacy_start(struct hkd_legacy *lg, struct hkd_model *m, enum hkd_legacy_kind kind,
                      struct hkd_span s, struct hkd_loc at);
/* Offers the next physical line to an open record; true if it was a continuation. */
bool hkd_legacy_continue(struct hkd_legacy *lg, struct hkd_model *m, struct hkd_span line,
                         struct hkd_loc at);
/* Closes the open record (reports it if required keys are missing). */
void hkd_legacy_end(struct hkd_legacy *lg, struct hkd_model *m);

/* ---- report.c: hakmem's own "hakmem: ..." report lines ---- */

struct hkd_report_state {
    int columns[16];   /* class table: field per column (-1 = class id, -2 = fast%, -3 = skip) */
    int ncolumns;
    /* Where "#i 0x... function (module+0x...)" frame lines go: the stack of a leak report
     * record, or one of the stacks under a misuse report (HKD_FRAMES_*), in the model's
     * latest stack or misuse. */
    int frames_for;
    bool inline_open;  /* the last leak frame line was "(inlined)": the next one joins it */
    unsigned inline_merged;   /* lines joined into the last frame */
};
#define HKD_INLINE_MAX 64
enum { HKD_FRAMES_NONE, HKD_FRAMES_LEAK, HKD_FRAMES_ALLOC, HKD_FRAMES_FREE, HKD_FRAMES_REPORT,
       HKD_FRAMES_CRASH };
void hkd_report_init(struct hkd_report_state *rs);
/* rest = the text after "hakmem: ". Returns false if the line was not understood. */
bool hkd_report_line(struct hkd_report_state *rs, struct hkd_model *m, struct hkd_span rest,
                     struct hkd_loc at, const char **why);
/* "hakmem: error: double free of 0x... (class 3, 64 B, thread 2, state slab-free)". */
bool hkd_report_misuse(struct hkd_model *m, struct hkd_span msg, struct hkd_loc at);

/* ---- findings.c: the finding record and its list ---- */

enum hkd_severity { HKD_SEV_INFO, HKD_SEV_NOTICE, HKD_SEV_WARNING, HKD_SEV_ERROR };
extern const char *const hkd_severity_names[4];

enum hkd_ev_type { HKD_EV_UINT, HKD_EV_INT, HKD_EV_REAL, HKD_EV_STR, HKD_EV_INF };
struct hkd_ev {
    char *key;
    enum hkd_ev_type type;
    uint64_t u;
    int64_t i;
    double d;
    char *s;
};

struct hkd_finding {
    const char *id;
    enum hkd_severity sev;
    int order;                 /* rule order, to keep the sort stable */
    /* How much of the failure it explains, 0..1 (rules say how in docs/hkdump.md): a cause
     * that accounts for the memory (leak, parked or queued blocks, fragmentation, one huge
     * request, an injected fault) ranks above the limit it ran into, which ranks above what
     * is only a symptom. Context (the event itself) is < 0 and printed last. */
    double weight;
    char *title;
    struct hkd_ev *ev;          /* machine evidence (JSON) */
    size_t nev, cap_ev;
    struct hkd_strv evidence;   /* the same, for people: quoted numbers and derived values */
    struct hkd_strv rules_out;
    struct hkd_strv next;
};

struct hkd_findings {
    struct hkd_finding *v;
    size_t n, cap;
    char *event;               /* the failure in one phrase (out of memory, a signal), or NULL */
};

struct hkd_finding *hkd_finding_new(struct hkd_findings *fs, const char *id, enum hkd_severity sev,
                                    const char *title_fmt, ...) HKD_PRINTF(4, 5);
void hkd_ev_uint(struct hkd_finding *f, const char *key, uint64_t v);
void hkd_ev_real(struct hkd_finding *f, const char *key, double v);
/* A ratio num/den: "inf" when den is 0. */
void hkd_ev_ratio(struct hkd_finding *f, const char *key, double num, double den);
void hkd_ev_str(struct hkd_finding *f, const char *key, const char *v);
/* The finding of that id, or NULL. */
struct hkd_finding *hkd_findings_find(struct hkd_findings *fs, const char *id);
/* Removes the finding at index i. */
void hkd_findings_drop(struct hkd_findings *fs, size_t i);
/* The weight of a cause that accounts for share (0..1) of the memory: HKD_CAUSE_BASE +
 * HKD_CAUSE_SPAN * share (docs/hkdump.md, "The first line, and the order of findings"). */
#define HKD_CAUSE_BASE 0.60
#define HKD_CAUSE_SPAN 0.30
double hkd_cause_weight(double share);
/* Most explaining first (weight), then most severe; otherwise rule order. */
void hkd_findings_sort(struct hkd_findings *fs);
void hkd_findings_free(struct hkd_findings *fs);

/* ---- rules.c: the findings engine (thresholds documented in docs/hkdump.md) ---- */

struct hkd_symbolizer;
void hkd_rules_run(const struct hkd_model *m, struct hkd_symbolizer *sym, struct hkd_findings *out);

/* ---- trend.c: findings over time, from the timelines (docs/hkdump.md) ---- */

/* Retention, leak, forecast and the timelines' events into out; *oom is raised by an OOM
 * event of a timeline and makes the growth findings errors (as it does when already set). */
void hkd_trend_rules(const struct hkd_model *m, struct hkd_findings *out, bool *oom);

/* ---- out_text.c / out_json.c ---- */

/* The cause the report opens with: the first warning or error that explains some of the
 * failure, or NULL. */
const struct hkd_finding *hkd_findings_cause(const struct hkd_findings *fs);
void hkd_out_text(FILE *f, const struct hkd_model *m, const struct hkd_findings *fs);
void hkd_out_json(FILE *f, const struct hkd_model *m, const struct hkd_findings *fs);
/* A JSON string literal, valid UTF-8 whatever the input bytes. */
void hkd_json_string(FILE *f, const char *s, size_t n);

/* ---- symbolize.c: raw addresses → module + offset (+ function, file:line with libdw) ---- */

struct hkd_symbolizer *hkd_sym_new(const struct hkd_model *m);
void hkd_sym_free(struct hkd_symbolizer *sym);
/* A frame name for people: "func (file.c:12)" or "prog+0x1234" or "0x7f..". For return
 * addresses pass is_return = true (the call site is addr - 1). Returns a new string. */
char *hkd_sym_name(struct hkd_symbolizer *sym, uint64_t addr, bool is_return);
/* Stable across runs (no absolute address when the module is known): "prog+0x1234". */
char *hkd_sym_key(struct hkd_symbolizer *sym, uint64_t addr);
bool hkd_sym_have_libdw(void);
/* The leak report's helper (hkdump --inline): the code inlined at return address vaddr of
 * the file path (its own address: the process's load bias taken off), innermost first,
 * "function\tfile:line" each, tab-separated, the function it is inlined into last; NULL
 * without inlined code there, without libdw or without the file. */
char *hkd_sym_inline_at(const char *path, uint64_t vaddr);

/* ---- plot.c, plot_cli.c: hkdump plot [--html] -o FILE TIMELINE ---- */

/* The timeline as a self-contained SVG image (no script, no external resource), with the
 * first of fs in its subtitle. tl must hold a sample. */
void hkd_plot_svg(FILE *f, const struct hkd_model *m, const struct hkd_timeline *tl,
                  const struct hkd_findings *fs);
/* One HTML page: the SVG inline, then the text report of fs (HTML-escaped). */
void hkd_plot_html(FILE *f, const struct hkd_model *m, const struct hkd_timeline *tl,
                   const struct hkd_findings *fs);
/* 0 when the plot was written, 2 (one line on stderr) when the input is no timeline with a
 * sample, or the command line or the output is wrong. */
int hkd_plot_cli(int argc, char **argv);

/* ---- folded.c: leak stacks as folded stacks for flamegraph tools ---- */

void hkd_out_folded(FILE *f, const struct hkd_model *m, struct hkd_symbolizer *sym);

/* ---- diff.c: two dumps side by side ---- */

void hkd_diff(FILE *f, const struct hkd_model *a, const struct hkd_model *b, bool json);

/* ---- load.c: reading one input into a model (dump or text) ---- */

/* Returns 0, or -1 after printing "hkdump: NAME: reason" to stderr. */
int hkd_load(struct hkd_model *m, const char *name);
/* Same for bytes in memory (no error message printed; used by the fuzzer). */
int hkd_load_memory(struct hkd_model *m, const char *name, const char *data, size_t len,
                    char *err, size_t errlen);

/* ---- json.c: a JSON text as a tree (the suite reports) ---- */

enum hkd_json_type { HKD_J_NULL, HKD_J_BOOL, HKD_J_NUM, HKD_J_STR, HKD_J_ARR, HKD_J_OBJ };
struct hkd_json {
    enum hkd_json_type type;
    bool b;
    double d;
    uint64_t u;          /* the exact value when is_uint (a non-negative integer that fits) */
    bool is_uint;
    char *s;             /* a string, NUL-terminated (UTF-8; \u0000 becomes U+FFFD) */
    struct hkd_json *v;  /* members of an array or an object */
    char **keys;         /* an object's keys, beside v */
    size_t n;
};
/* Parses all of data; 0, or -1 with a one-line reason in err ("unterminated string at byte
 * 812"). Bounded in nesting and number of values. */
int hkd_json_parse(const char *data, size_t len, struct hkd_json *out, char *err, size_t errlen);
void hkd_json_free(struct hkd_json *v);
/* The member key of an object, if it has that type; NULL otherwise. */
const struct hkd_json *hkd_json_get(const struct hkd_json *obj, const char *key,
                                    enum hkd_json_type type);
const char *hkd_json_str(const struct hkd_json *obj, const char *key, const char *dflt);
bool hkd_json_u64(const struct hkd_json *obj, const char *key, uint64_t *out);

/* ---- suite.c, suite_out.c: hkdump suite DIR (the reports of HAKMEM_LEAK_SUITE_DIR) ---- */

/* A frame of a leak stack as the process symbolized it. */
struct hkd_sframe {
    char *func;          /* "?" when unknown */
    char *module;        /* full path, "?" when unknown */
    char *source;        /* "file:line", "" without debug information */
    uint64_t offset;     /* in the module */
    /* The functions inlined at the frame's pc, innermost first (the report's "inlined"):
     * inl[2k] the function, inl[2k+1] its "file:line" or "". */
    char **inl;
    size_t ninl;
};

/* One leak record of one process: the merged leak it belongs to, and its numbers there. */
struct hkd_sprocleak {
    size_t leak;
    uint64_t blocks, bytes;
};

/* One process's report. */
struct hkd_sproc {
    char *file;          /* the report's name in DIR */
    uint64_t pid, ppid;
    char *exe, *name;    /* name: the test as people call it (argv, argv[0] without its dir) */
    int exit_status;     /* -1: not known */
    int leak_exit_status;/* -1: the leak exit code did not replace the status */
    struct hkd_sprocleak *leaks;
    size_t nleaks, cap_leaks;
    uint64_t blocks, bytes;   /* lost (direct and indirect), unsuppressed by the baseline */
    char *error;         /* the check could not run: the report's "error", else NULL */
};

/* A leak stack merged over every process: same kind and same frames (module file name and
 * offset; the function name where the module is unknown). */
struct hkd_sleak {
    char *key;
    char kind[16];       /* direct | indirect */
    struct hkd_sframe *frames;
    size_t nframes;
    uint64_t blocks, bytes;
    size_t nprocs;
    char *supp;          /* the --baseline pattern that suppresses it, or NULL */
    size_t last_proc;    /* while reading: 1 + the process that last had it, and where */
    size_t last_entry;
};

/* Frames read of a suite record at most (the library writes at most 64). */
#define HKD_SUITE_MAX_FRAMES 256

struct hkd_suite {
    struct hkd_sproc *procs;
    size_t nprocs, cap_procs;
    struct hkd_sleak *leaks;
    size_t nleaks, cap_leaks;
    size_t *index;       /* open addressing: leak index + 1, 0 empty (suite.c) */
    size_t cap_index;    /* a power of two, at least twice nleaks */
    size_t *order;       /* leaks: direct first, then most bytes */
    size_t skipped;      /* files in DIR that were not reports (each said on stderr) */
    size_t reachable;    /* still-reachable records seen (not merged: not leaks) */
    struct hkd_strv baseline;   /* --baseline patterns */
};

/* Processes whose leak check could not run (an "error" in the report): neither clean nor
 * leaking; hkdump suite exits 2 for them when nothing leaked (suite.c). */
size_t hkd_suite_errors(const struct hkd_suite *s);

void hkd_suite_init(struct hkd_suite *s);
void hkd_suite_free(struct hkd_suite *s);
/* One report's bytes; 0, or -1 with the reason in err (the file is then not counted). */
int hkd_suite_add(struct hkd_suite *s, const char *file, const char *data, size_t len,
                  char *err, size_t errlen);
/* After the last report (and the baseline): totals per process, the order of the leaks. */
void hkd_suite_finish(struct hkd_suite *s);
/* Parses a LeakSanitizer suppression file's leak: lines into s->baseline; false with a
 * reason in err when a line is too long or the file holds none. */
bool hkd_suite_baseline(struct hkd_suite *s, const char *text, size_t len, char *err,
                        size_t errlen);
/* Unsuppressed leaks (direct or indirect) found. */
size_t hkd_suite_count(const struct hkd_suite *s);
void hkd_suite_out_text(FILE *f, const struct hkd_suite *s, const char *dir);
void hkd_suite_out_json(FILE *f, const struct hkd_suite *s, const char *dir);
void hkd_suite_out_junit(FILE *f, const struct hkd_suite *s);
void hkd_suite_out_supp(FILE *f, const struct hkd_suite *s);
/* hkdump suite [OPTIONS] DIR: 0 without leaks, 23 with, 2 when DIR cannot be read. */
int hkd_suite_cli(int argc, char **argv);

/* ---- cli.c: the command line ---- */

/* Parses argv, reads the inputs it names and writes to stdout (messages to stderr); the exit
 * status (0, or 2: an input not read, a bad command line). Frees all it allocates. */
int hkd_cli(int argc, char **argv);

#endif
