/* hkdump — internal declarations, grouped by the file that owns them.
 *
 * Data flows one way: input.c reads bytes, the parsers (dump.c, scan.c with legacy.c and
 * report.c) turn lines into a model (model.c), rules.c turns the model into findings, and the
 * writers (out_text.c, out_json.c, folded.c, diff.c) print. Nothing here is global: every
 * function gets what it needs through its arguments. */
#ifndef HKDUMP_H
#define HKDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HK_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* The dump format version this reader knows (docs/dump-format.md). */
#define HK_DUMP_VERSION 1

/* ---- util.c: allocation that cannot fail (hkdump exits on OOM), string lists, spans ---- */

/* A view into input bytes: not NUL-terminated, may contain any byte. */
struct hk_span {
    const char *p;
    size_t n;
};

void *hk_xmalloc(size_t n);
void *hk_xcalloc(size_t n, size_t size);
void *hk_xrealloc(void *p, size_t n);
char *hk_xstrdup(const char *s);
char *hk_xstrndup(const char *s, size_t n);
char *hk_xasprintf(const char *fmt, ...) HK_PRINTF(1, 2);
/* Grows *v (of *cap elements of size elem) so that index n fits. */
void hk_grow(void **v, size_t *cap, size_t n, size_t elem);

struct hk_strv {
    char **v;
    size_t n, cap;
};
void hk_strv_add(struct hk_strv *sv, const char *s);
void hk_strv_addf(struct hk_strv *sv, const char *fmt, ...) HK_PRINTF(2, 3);
void hk_strv_free(struct hk_strv *sv);

struct hk_span hk_span_of(const char *s);
bool hk_span_eq(struct hk_span s, const char *lit);
bool hk_span_starts(struct hk_span s, const char *lit);
/* Position of needle in s, or NULL. */
const char *hk_span_find(struct hk_span s, const char *needle);
struct hk_span hk_span_trim(struct hk_span s);
/* A printable copy for messages: control and non-ASCII bytes become '?', at most max bytes. */
char *hk_span_printable(struct hk_span s, size_t max);

/* ---- fmt.c: numbers for humans. Each returns a small struct by value, so calls can be used
 * directly as printf arguments (the temporary lives until the end of the full expression). ---- */

struct hk_nb {
    char s[48];
};
struct hk_nb hk_count(uint64_t v);            /* 43,658 */
struct hk_nb hk_ibytes(uint64_t v);           /* 1 MiB, 3.4 GiB (binary units) */
struct hk_nb hk_sibytes(uint64_t v);          /* 45.8 GB (decimal units) */
struct hk_nb hk_pct(double num, double den);  /* 2.7 % */
struct hk_nb hk_ratio(double num, double den);/* 363.8, or ∞ when den is 0 */

/* ---- input.c: whole inputs in memory, split into lines ---- */

struct hk_input {
    char *name;       /* as given on the command line ("-" is stdin) */
    char *data;
    size_t len;
};
/* Reads a file ("-" = stdin). Returns 0 or an errno value. */
int hk_input_read(struct hk_input *in, const char *name);
/* Wraps a buffer (not copied; used by the fuzzer). */
void hk_input_from_memory(struct hk_input *in, const char *name, const char *data, size_t len);
void hk_input_free(struct hk_input *in);

struct hk_lines {
    const char *p, *end;
    unsigned lineno;
};
void hk_lines_init(struct hk_lines *it, const struct hk_input *in);
/* Next line without its '\n' (and without a '\r' before it). *complete is false for a last line
 * that has no '\n'. Returns false at the end. */
bool hk_lines_next(struct hk_lines *it, struct hk_span *line, bool *complete);

/* ---- kv.c: tokens of "key=value" text ---- */

struct hk_tok {
    struct hk_span key; /* empty for a bare word */
    struct hk_span val; /* the bare word itself when key is empty; raw (still escaped) if quoted */
    bool quoted;
};
/* Strict form (dump files): key=value or key="..." separated by single spaces. Returns false at
 * the end of s; sets *bad when a token is malformed (e.g. an unterminated quote). */
bool hk_kv_next(struct hk_span *s, struct hk_tok *t, bool *bad);
/* Loose form (free text): a token is a run of non-blank bytes; "k=v" inside it is split at the
 * first '='; leading '(' on keys and trailing ")],;" on values are dropped. */
bool hk_kv_next_loose(struct hk_span *s, struct hk_tok *t);
/* Unescapes a quoted value (\" \\ \n). Returns a NUL-terminated copy. */
char *hk_kv_unescape(struct hk_span v);

/* Number in decimal, 0x hex, "inf" (sets *inf), "(nil)" (= 0). Returns false if not a number. */
bool hk_parse_u64(struct hk_span s, uint64_t *out, bool *inf);
bool hk_parse_i64(struct hk_span s, int64_t *out);

/* ---- model.c: what the inputs say, as numbers with the place they came from ---- */

struct hk_loc {
    int input;      /* index into model.inputs */
    unsigned line;  /* 1-based; 0 = unknown */
};

struct hk_num {
    uint64_t v;
    bool set, inf;
    struct hk_loc at;
};

/* Scalar facts about one point in time. X(enum suffix, canonical name as in dump files). */
#define HK_FIELDS(X)                                                                     \
    X(PID, "pid") X(TIME_NS, "time_ns") X(THREADS_SEEN, "threads_seen")                 \
    X(THREADS_EXITED, "threads_exited") X(SS_MAPPED, "superslabs_mapped")               \
    X(SS_UNMAPPED, "superslabs_unmapped") X(SS_LIVE, "superslabs_live")                 \
    X(SS_CACHED, "superslabs_cached") X(SS_BYTES, "superslab_bytes")                    \
    X(SS_SIZE, "ss_size") X(LARGE_MAPPED, "large_mapped")                               \
    X(LARGE_UNMAPPED, "large_unmapped") X(LARGE_BYTES, "large_bytes")                   \
    X(BYTES_MAPPED, "bytes_mapped") X(OOM_EVENTS, "oom_events")                         \
    X(INVALID_FREES, "invalid_frees") X(RLIMIT_CUR, "rlimit_as_cur")                    \
    X(RLIMIT_MAX, "rlimit_as_max") X(VM_SIZE_KB, "vm_size_kb") X(VM_RSS_KB, "vm_rss_kb") \
    X(VM_PEAK_KB, "vm_peak_kb") X(OVERCOMMIT, "overcommit_memory")                      \
    X(TOTAL_ALLOCS, "allocs") X(TOTAL_FREES, "frees") X(TOTAL_LIVE, "live")

/* Per size class counters. */
#define HK_CLASS_FIELDS(X)                                                               \
    X(SIZE, "size") X(ALLOCS, "allocs") X(FREES, "frees") X(LIVE, "live")               \
    X(FAST_HITS, "fast_hits") X(REFILLS, "refills") X(REFILL_BLOCKS, "refill_blocks")   \
    X(SPILLS, "spills") X(SPILL_BLOCKS, "spill_blocks") X(REMOTE_SENT, "remote_sent")   \
    X(REMOTE_DRAINED, "remote_drained") X(BYTES_REQUESTED, "bytes_requested")

#define HK_TIER_FIELDS(X)                                                                \
    X(ALLOCS, "allocs") X(FREES, "frees") X(LIVE, "live")                               \
    X(BYTES_REQUESTED, "bytes_requested") X(MAPPINGS, "mappings") X(CACHE_HITS, "cache_hits")

/* Shadow census: blocks per state, per class or per thread. */
#define HK_CENSUS_FIELDS(X)                                                              \
    X(IN_USE, "in_use") X(FAST_CACHE, "fast_cache") X(TLS_LIST, "tls_list")             \
    X(SLAB_FREE, "slab_free") X(REMOTE_QUEUE, "remote_queue") X(UNCARVED, "uncarved")   \
    X(TID, "tid")

#define HK_EVENT_FIELDS(X)                                                               \
    X(ERRNO, "errno") X(SIZE, "size") X(CLASS, "class") X(SS_SIZE, "ss_size")           \
    X(MAP_SIZE, "map_size") X(SIGNO, "signo") X(ADDR, "addr") X(PREV_SS, "prev_ss")     \
    X(ACTIVE, "active") X(USED, "used") X(CAP, "cap")

#define HK_ENUM_F(e, n) HK_F_##e,
#define HK_ENUM_C(e, n) HK_C_##e,
#define HK_ENUM_T(e, n) HK_T_##e,
#define HK_ENUM_Z(e, n) HK_Z_##e,
#define HK_ENUM_E(e, n) HK_E_##e,
enum hk_field { HK_FIELDS(HK_ENUM_F) HK_F_COUNT };
enum hk_class_field { HK_CLASS_FIELDS(HK_ENUM_C) HK_C_COUNT };
enum hk_tier_field { HK_TIER_FIELDS(HK_ENUM_T) HK_T_COUNT };
enum hk_census_field { HK_CENSUS_FIELDS(HK_ENUM_Z) HK_Z_COUNT };
enum hk_event_field { HK_EVENT_FIELDS(HK_ENUM_E) HK_E_COUNT };

extern const char *const hk_field_names[HK_F_COUNT];
extern const char *const hk_class_field_names[HK_C_COUNT];
extern const char *const hk_tier_field_names[HK_T_COUNT];
extern const char *const hk_census_field_names[HK_Z_COUNT];
extern const char *const hk_event_field_names[HK_E_COUNT];
/* Index of name in a table, or -1. */
int hk_name_index(const char *const *names, int count, struct hk_span name);

enum hk_tier { HK_TIER_TINY, HK_TIER_MID, HK_TIER_LARGE, HK_TIER_COUNT };
extern const char *const hk_tier_names[HK_TIER_COUNT];

struct hk_class_row {
    unsigned id;
    struct hk_num f[HK_C_COUNT];
    double fast_pct; /* from the text report's fast% column; < 0 when absent */
};

struct hk_census_row {
    unsigned id;       /* class id, or thread number */
    char state[16];    /* threads: live | exited | parked */
    struct hk_num f[HK_Z_COUNT];
    struct hk_loc at;
};

struct hk_event {
    char kind[16];     /* oom | signal | refill-null */
    char tier[8];
    char name[16];     /* signal name */
    struct hk_num f[HK_E_COUNT];
    char *quote;       /* the record as read (joined when wrapped) */
    struct hk_loc at;
};

/* One point in time: a dump file, one stats report, or one group of OOM log lines. */
struct hk_snapshot {
    struct hk_loc at;
    struct hk_num f[HK_F_COUNT];
    struct hk_num tier[HK_TIER_COUNT][HK_T_COUNT];
    struct hk_class_row *classes;
    size_t nclasses, cap_classes;
    struct hk_census_row *census, *census_threads;
    size_t ncensus, cap_census, ncensus_threads, cap_census_threads;
    struct hk_event *events;
    size_t nevents, cap_events;
    char *version, *build, *reason, *exe;
    char *limits_quote;        /* the RLIMIT_AS/limits line as read */
    /* What has been seen, to decide where the next lines belong (scan.c). */
    bool has_report, has_oom, has_limits, has_refill;
};

struct hk_misuse {
    char kind[24];     /* double-free interior-free foreign-free invalid-free use-after-free
                          overflow corrupt-freelist */
    struct hk_num addr, cls, size, thread;
    struct hk_num alloc_thread;   /* "allocated by thread N" under the report line */
    char state[24];
    char *quote;
    /* First named frame of the stacks under the report (leak tracking on): where the block
     * was allocated, freed, and where the misuse was found (the second free, ...). */
    char *alloc_site, *free_site, *report_site;
    struct hk_loc at;
};

struct hk_module {
    unsigned id;
    uint64_t base, end;
    char *path;
};

struct hk_stack {
    unsigned id;
    uint64_t blocks, bytes;
    char kind[16];     /* lost | reachable */
    uint64_t *frames;
    size_t nframes;
    char **names;      /* text leak reports: each frame's function as printed ("?": none);
                          NULL for dumps, whose frames are symbolized by hkdump */
    struct hk_loc at;
};

struct hk_option {
    char *name, *value;
};

struct hk_unparsed {
    struct hk_loc at;
    char *text;        /* printable excerpt */
    char *reason;
};

struct hk_input_info {
    char *name;
    bool is_dump;
    unsigned version;  /* dump version */
    unsigned lines;
    unsigned records;  /* lines that contributed facts */
    bool truncated;    /* dump without "end" */
    size_t partial_bytes; /* bytes of an incomplete last line (no '\n') */
};

struct hk_model {
    struct hk_input_info *inputs;
    size_t ninputs, cap_inputs;
    struct hk_snapshot *snaps;
    size_t nsnaps, cap_snaps;
    struct hk_misuse *misuse;
    size_t nmisuse, cap_misuse;
    struct hk_module *modules;
    size_t nmodules, cap_modules;
    struct hk_stack *stacks;
    size_t nstacks, cap_stacks;
    struct hk_option *options;
    size_t noptions, cap_options;
    struct hk_unparsed *unparsed;
    size_t nunparsed, cap_unparsed;
    size_t unparsed_total; /* including those not kept */
};

/* Unparsed lines kept for the report (the total is still counted). */
#define HK_UNPARSED_KEEP 200

void hk_model_init(struct hk_model *m);
void hk_model_free(struct hk_model *m);
int hk_model_add_input(struct hk_model *m, const char *name, bool is_dump);
struct hk_snapshot *hk_model_new_snapshot(struct hk_model *m, struct hk_loc at);
/* The latest snapshot, created if there is none. */
struct hk_snapshot *hk_model_cur(struct hk_model *m, struct hk_loc at);
struct hk_class_row *hk_snap_class(struct hk_snapshot *s, unsigned id);
struct hk_census_row *hk_snap_census(struct hk_snapshot *s, unsigned id, bool thread);
struct hk_event *hk_snap_event(struct hk_snapshot *s, const char *kind, struct hk_loc at);
struct hk_misuse *hk_model_misuse(struct hk_model *m, struct hk_loc at);
struct hk_stack *hk_model_stack(struct hk_model *m, struct hk_loc at);
void hk_model_unparsed(struct hk_model *m, struct hk_loc at, struct hk_span line,
                       const char *reason);
void hk_num_set(struct hk_num *n, uint64_t v, bool inf, struct hk_loc at);
/* Sets a number from text; false if it is not a number (nothing is changed then). */
bool hk_num_parse(struct hk_num *n, struct hk_span text, struct hk_loc at);
/* The facts of all snapshots merged, later ones winning field by field; tables (classes,
 * census) come whole from the latest snapshot that has them. The result borrows from m. */
void hk_model_view(const struct hk_model *m, struct hk_snapshot *view);
void hk_view_free(struct hk_snapshot *view);
const char *hk_loc_name(const struct hk_model *m, struct hk_loc at);

/* ---- dump.c: hakmem dump files (docs/dump-format.md) ---- */

/* True if the input starts with a dump's first line. */
bool hk_dump_detect(const struct hk_input *in);
/* Parses a dump into m. Returns 0, or -1 with a one-line message in err (e.g. newer version). */
int hk_dump_parse(const struct hk_input *in, struct hk_model *m, char *err, size_t errlen);

/* ---- scan.c: free-form text (logs, documents): finds the hakmem lines wherever they are ---- */

void hk_scan_text(const struct hk_input *in, struct hk_model *m);

/* ---- legacy.c: "[SS OOM] ...", "RLIMIT_AS(...)", "[DEBUG] superslab_refill NULL detail: ..."
 * lines, possibly prefixed and wrapped over several physical lines ---- */

enum hk_legacy_kind { HK_LEG_NONE, HK_LEG_OOM, HK_LEG_RLIMIT, HK_LEG_REFILL };
struct hk_legacy {
    enum hk_legacy_kind kind;   /* the record still open for continuation lines */
    size_t snap, ev;            /* indexes (the arrays may move while the record is open) */
    bool has_ev;
    unsigned seen;              /* bit per key of the record's key table */
    unsigned cont_lines;
    struct hk_loc at;
    char *quote;                /* logical line so far */
};
/* Position of the first legacy marker in s, or NULL; *kind says which. */
const char *hk_legacy_find(struct hk_span s, enum hk_legacy_kind *kind);
/* Starts a record at a marker (s begins at the marker); ends any open one. */
void hk_legacy_start(struct hk_legacy *lg, struct hk_model *m, enum hk_legacy_kind kind,
                     struct hk_span s, struct hk_loc at);
/* Offers the next physical line to an open record; true if it was a continuation. */
bool hk_legacy_continue(struct hk_legacy *lg, struct hk_model *m, struct hk_span line,
                        struct hk_loc at);
/* Closes the open record (reports it if required keys are missing). */
void hk_legacy_end(struct hk_legacy *lg, struct hk_model *m);

/* ---- report.c: hakmem's own "hakmem: ..." report lines ---- */

struct hk_report_state {
    int columns[16];   /* class table: field per column (-1 = class id, -2 = fast%, -3 = skip) */
    int ncolumns;
    /* Where "#i 0x... function (module+0x...)" frame lines go: the stack of a leak report
     * record, or one of the stacks under a misuse report (HK_FRAMES_*), in the model's
     * latest stack or misuse. */
    int frames_for;
};
enum { HK_FRAMES_NONE, HK_FRAMES_LEAK, HK_FRAMES_ALLOC, HK_FRAMES_FREE, HK_FRAMES_REPORT };
void hk_report_init(struct hk_report_state *rs);
/* rest = the text after "hakmem: ". Returns false if the line was not understood. */
bool hk_report_line(struct hk_report_state *rs, struct hk_model *m, struct hk_span rest,
                    struct hk_loc at, const char **why);
/* "hakmem: error: double free of 0x... (class 3, 64 B, thread 2, state slab-free)". */
bool hk_report_misuse(struct hk_model *m, struct hk_span msg, struct hk_loc at);

/* ---- findings.c: the finding record and its list ---- */

enum hk_severity { HK_SEV_INFO, HK_SEV_NOTICE, HK_SEV_WARNING, HK_SEV_ERROR };
extern const char *const hk_severity_names[4];

enum hk_ev_type { HK_EV_UINT, HK_EV_INT, HK_EV_REAL, HK_EV_STR, HK_EV_INF };
struct hk_ev {
    char *key;
    enum hk_ev_type type;
    uint64_t u;
    int64_t i;
    double d;
    char *s;
};

struct hk_finding {
    const char *id;
    enum hk_severity sev;
    int order;                 /* rule order, to keep the sort stable */
    char *title;
    struct hk_ev *ev;          /* machine evidence (JSON) */
    size_t nev, cap_ev;
    struct hk_strv evidence;   /* the same, for people: quoted numbers and derived values */
    struct hk_strv rules_out;
    struct hk_strv next;
};

struct hk_findings {
    struct hk_finding *v;
    size_t n, cap;
};

struct hk_finding *hk_finding_new(struct hk_findings *fs, const char *id, enum hk_severity sev,
                                  const char *title_fmt, ...) HK_PRINTF(4, 5);
void hk_ev_uint(struct hk_finding *f, const char *key, uint64_t v);
void hk_ev_int(struct hk_finding *f, const char *key, int64_t v);
void hk_ev_real(struct hk_finding *f, const char *key, double v);
/* A ratio num/den: "inf" when den is 0. */
void hk_ev_ratio(struct hk_finding *f, const char *key, double num, double den);
void hk_ev_str(struct hk_finding *f, const char *key, const char *v);
/* Most severe first; equal severity keeps rule order. */
void hk_findings_sort(struct hk_findings *fs);
void hk_findings_free(struct hk_findings *fs);

/* ---- rules.c: the findings engine (thresholds documented in docs/hkdump.md) ---- */

struct hk_symbolizer;
void hk_rules_run(const struct hk_model *m, struct hk_symbolizer *sym, struct hk_findings *out);

/* ---- out_text.c / out_json.c ---- */

void hk_out_text(FILE *f, const struct hk_model *m, const struct hk_findings *fs);
void hk_out_json(FILE *f, const struct hk_model *m, const struct hk_findings *fs);
/* A JSON string literal, valid UTF-8 whatever the input bytes. */
void hk_json_string(FILE *f, const char *s, size_t n);

/* ---- symbolize.c: raw addresses → module + offset (+ function, file:line with libdw) ---- */

struct hk_symbolizer *hk_sym_new(const struct hk_model *m);
void hk_sym_free(struct hk_symbolizer *sym);
/* A frame name for people: "func (file.c:12)" or "prog+0x1234" or "0x7f..". For return
 * addresses pass is_return = true (the call site is addr - 1). Returns a new string. */
char *hk_sym_name(struct hk_symbolizer *sym, uint64_t addr, bool is_return);
/* Stable across runs (no absolute address when the module is known): "prog+0x1234". */
char *hk_sym_key(struct hk_symbolizer *sym, uint64_t addr);
bool hk_sym_have_libdw(void);

/* ---- folded.c: leak stacks as folded stacks for flamegraph tools ---- */

void hk_out_folded(FILE *f, const struct hk_model *m, struct hk_symbolizer *sym);

/* ---- diff.c: two dumps side by side ---- */

void hk_diff(FILE *f, const struct hk_model *a, const struct hk_model *b, bool json);

/* ---- load.c: reading one input into a model (dump or text) ---- */

/* Returns 0, or -1 after printing "hkdump: NAME: reason" to stderr. */
int hk_load(struct hk_model *m, const char *name);
/* Same for bytes in memory (no error message printed; used by the fuzzer). */
int hk_load_memory(struct hk_model *m, const char *name, const char *data, size_t len,
                   char *err, size_t errlen);

#endif
