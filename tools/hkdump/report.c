/* hakmem's own report lines ("hakmem: stats …", the class table, tiers, census, misuse
 * errors). The class table is read by its header row, so a column added or moved on the
 * allocator side is still read correctly. */
#include "hkdump.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum { COL_CLASS = -1, COL_FASTPCT = -2, COL_SKIP = -3 };

void hkd_report_init(struct hkd_report_state *rs)
{
    /* The columns of docs/dump-format.md, used until a header row says otherwise. */
    static const int def[] = {COL_CLASS,  HKD_C_size,    HKD_C_allocs,      HKD_C_frees,
                              HKD_C_live,  COL_FASTPCT,  HKD_C_refills,     HKD_C_spills,
                              HKD_C_remote_sent,         HKD_C_remote_drained};
    memcpy(rs->columns, def, sizeof def);
    rs->ncolumns = (int)(sizeof def / sizeof def[0]);
    rs->frames_for = HKD_FRAMES_NONE;
    rs->inline_open = false;
    rs->inline_merged = 0;
}

static struct hkd_span word(struct hkd_span *s)
{
    struct hkd_tok t;
    if (!hkd_kv_next_loose(s, &t))
        return (struct hkd_span){s->p, 0};
    return t.key.n ? (struct hkd_span){t.key.p, (size_t)(t.val.p + t.val.n - t.key.p)} : t.val;
}

static void header_row(struct hkd_report_state *rs, struct hkd_span s)
{
    rs->ncolumns = 0;
    struct hkd_span w;
    while ((w = word(&s)).n && rs->ncolumns < 16) {
        int c = hkd_span_eq(w, "class")   ? COL_CLASS
                : hkd_span_eq(w, "fast%") ? COL_FASTPCT
                                         : hkd_name_index(hkd_class_field_names, HKD_C_COUNT, w);
        rs->columns[rs->ncolumns++] = c < COL_FASTPCT ? COL_SKIP : c;
    }
}

static bool class_row(struct hkd_report_state *rs, struct hkd_snapshot *s, struct hkd_span line,
                      struct hkd_loc at)
{
    struct hkd_span vals[16];
    int n = 0;
    struct hkd_span w;
    while ((w = word(&line)).n && n < 16)
        vals[n++] = w;
    if (n < 2)
        return false;
    struct hkd_class_row *row = NULL;
    for (int i = 0; i < n && i < rs->ncolumns; i++)
        if (rs->columns[i] == COL_CLASS) {
            uint64_t id;
            bool inf;
            if (!hkd_parse_u64(vals[i], &id, &inf) || inf || id > 4096)
                return false;
            row = hkd_snap_class(s, (unsigned)id);
        }
    if (!row)
        return false;
    for (int i = 0; i < n && i < rs->ncolumns; i++) {
        int c = rs->columns[i];
        if (c >= 0) {
            hkd_num_parse(&row->f[c], vals[i], at);
        } else if (c == COL_FASTPCT) {
            char buf[32];
            size_t k = vals[i].n < sizeof buf - 1 ? vals[i].n : sizeof buf - 1;
            memcpy(buf, vals[i].p, k);
            buf[k] = '\0';
            char *end;
            double d = strtod(buf, &end);
            if (end != buf && d >= 0 && d <= 100)
                row->fast_pct = d;
        }
    }
    return true;
}

/* key=value pairs of a line into fields named in a table, with optional renames. */
static unsigned kv_fields(struct hkd_span s, struct hkd_num *f, const char *const *names,
                          int count, const char *const (*renames)[2], struct hkd_loc at)
{
    struct hkd_tok t;
    unsigned n = 0;
    while (hkd_kv_next_loose(&s, &t)) {
        if (!t.key.n)
            continue;
        int i = hkd_name_index(names, count, t.key);
        for (int r = 0; i < 0 && renames && renames[r][0]; r++)
            if (hkd_span_eq(t.key, renames[r][0]))
                i = hkd_name_index(names, count, hkd_span_of(renames[r][1]));
        if (i >= 0 && hkd_num_parse(&f[i], t.val, at))
            n++;
    }
    return n;
}

static bool census_line(struct hkd_snapshot *s, struct hkd_span rest, struct hkd_loc at)
{
    struct hkd_span it = rest;
    struct hkd_tok t;
    while (hkd_kv_next_loose(&it, &t)) {
        bool thr = hkd_span_eq(t.key, "thread");
        if (!thr && !hkd_span_eq(t.key, "class"))
            continue;
        uint64_t id;
        bool inf;
        if (!hkd_parse_u64(t.val, &id, &inf) || inf || id > 1u << 20)
            return false;
        struct hkd_census_row *r = hkd_snap_census(s, (unsigned)id, thr);
        r->at = at;
        kv_fields(rest, r->f, hkd_census_field_names, HKD_Z_COUNT, NULL, at);
        it = rest;
        while (hkd_kv_next_loose(&it, &t))
            if (hkd_span_eq(t.key, "state")) {
                size_t n = t.val.n < sizeof r->state - 1 ? t.val.n : sizeof r->state - 1;
                memcpy(r->state, t.val.p, n);
                r->state[n] = '\0';
            }
        return true;
    }
    return false;
}

/* The signal event the crash lines belong to: the last one of the last snapshot (the
 * fatal-signal line before them made it). */
static struct hkd_event *crash_event(struct hkd_model *m)
{
    if (!m->nsnaps)
        return NULL;
    struct hkd_snapshot *s = &m->snaps[m->nsnaps - 1];
    for (size_t i = s->nevents; i-- > 0;)
        if (!strcmp(s->events[i].kind, "signal"))
            return &s->events[i];
    return NULL;
}

/* A number at the start of s, into n (hex: "0x.." too); s moves past it. */
static bool take_number(struct hkd_span *s, struct hkd_num *n, struct hkd_loc at, bool hex)
{
    struct hkd_span d = {s->p, 0};
    while (d.n < s->n && (hex ? isxdigit((unsigned char)d.p[d.n]) || d.p[d.n] == 'x'
                              : d.p[d.n] >= '0' && d.p[d.n] <= '9'))
        d.n++;
    if (!d.n || !hkd_num_parse(n, d, at))
        return false;
    s->p += d.n;
    s->n -= d.n;
    return true;
}

static bool take_addr(struct hkd_span *s, struct hkd_num *n, struct hkd_loc at)
{
    return take_number(s, n, at, true);
}

/* HK_LOG_PREFIX_CRASH's line, under the fatal-signal line: the faulting instruction and
 * the si_code's name; the crashing stack's frames follow. */
static bool crash_line(struct hkd_report_state *rs, struct hkd_model *m, struct hkd_span rest,
                       struct hkd_loc at)
{
    struct hkd_event *e = crash_event(m);
    struct hkd_span s = rest;
    struct hkd_num pc = {0};
    if (!e || !hkd_span_starts(s, HK_LOG_PREFIX_CRASH))
        return false;
    s.p += strlen(HK_LOG_PREFIX_CRASH);
    s.n -= strlen(HK_LOG_PREFIX_CRASH);
    if (!take_addr(&s, &pc, at))
        return false;
    e->f[HKD_E_pc] = pc;
    if (s.n > 4 && s.p[0] == ' ' && s.p[1] == '(' && s.p[s.n - 2] == ')' && s.p[s.n - 1] == ':') {
        free(e->code_name);
        e->code_name = hkd_span_printable((struct hkd_span){s.p + 2, s.n - 4}, 80);
    }
    rs->frames_for = HKD_FRAMES_CRASH;
    return true;
}

/* "#0 0x.. ? (path+0x..)": a frame of the crashing stack; its module known from its text. */
static bool crash_frame(struct hkd_model *m, uint64_t pc, struct hkd_span tail)
{
    struct hkd_event *e = crash_event(m);
    if (!e)
        return false;
    hkd_event_add_frame(e, pc);
    if (tail.n < 4 || tail.p[0] != '(' || tail.p[tail.n - 1] != ')')
        return true;
    struct hkd_span in = {tail.p + 1, tail.n - 2};
    const char *plus = memrchr(in.p, '+', in.n);
    uint64_t off;
    bool inf;
    if (plus && hkd_parse_u64((struct hkd_span){plus + 1, (size_t)(in.p + in.n - plus - 1)},
                              &off, &inf) && !inf && off <= pc)
        hkd_model_module_span(m, pc - off, pc, (struct hkd_span){in.p, (size_t)(plus - in.p)});
    return true;
}

/* "#3 0x7f... function (module+0x1f)" under a leak record or a misuse report: the address
 * and function go to the stack that rs->frames_for names. */
/* "#3 0x7f... FUNCTION (module+0x1f) dir/file.c:12": the function may hold spaces and
 * parentheses (a demangled C++ name, "operator new(unsigned long)"), so the line is read from
 * both ends: the address from the left; from the right the source (a last word
 * "file:LINE") and the module part (the last " (" whose text holds "+0x"). */
struct frame_parts {
    uint64_t pc;
    struct hkd_span fn, module, src;   /* module: "(path+0x..)"; src: "file.c:LINE" */
    bool inlined;                      /* " (inlined)" at the end: into the next line's */
};

static bool frame_parse(struct hkd_span rest, struct frame_parts *f)
{
    struct hkd_span after = rest;
    word(&after);                                  /* "#3" */
    struct hkd_span pc = word(&after);
    bool inf;
    if (!hkd_parse_u64(pc, &f->pc, &inf) || inf)
        return false;
    struct hkd_span r = hkd_span_trim(after);
    f->src = (struct hkd_span){NULL, 0};
    f->module = (struct hkd_span){NULL, 0};
    static const char mark[] = " (inlined)";
    f->inlined = r.n > sizeof mark - 1 &&
                 memcmp(r.p + r.n - (sizeof mark - 1), mark, sizeof mark - 1) == 0;
    if (f->inlined)
        r.n -= sizeof mark - 1;
    const char *sp = memrchr(r.p, ' ', r.n);
    if (sp) {
        struct hkd_span last = {sp + 1, (size_t)(r.p + r.n - sp - 1)};
        size_t colon = last.n;
        while (colon && last.p[colon - 1] >= '0' && last.p[colon - 1] <= '9')
            colon--;
        if (last.n && last.p[last.n - 1] != ')' && colon > 1 && colon < last.n &&
            last.p[colon - 1] == ':') {
            const char *slash = memrchr(last.p, '/', colon);
            f->src = slash ? (struct hkd_span){slash + 1, (size_t)(last.p + last.n - slash - 1)}
                           : last;
            r.n = (size_t)(sp - r.p);
            r = hkd_span_trim(r);
        }
    }
    if (r.n && r.p[r.n - 1] == ')') {
        for (const char *o = r.p + r.n; o > r.p;) {
            o = memrchr(r.p, '(', (size_t)(o - r.p));
            if (!o)
                break;
            struct hkd_span in = {o, (size_t)(r.p + r.n - o)};
            if ((o == r.p || o[-1] == ' ') && hkd_span_find(in, "+0x")) {
                f->module = in;
                r.n = (size_t)(o - r.p);
                r = hkd_span_trim(r);
                break;
            }
        }
    }
    f->fn = r;
    return true;
}

static bool frame_line(struct hkd_report_state *rs, struct hkd_model *m, struct hkd_span rest)
{
    struct frame_parts fp;
    if (!frame_parse(rest, &fp))
        return false;
    uint64_t v = fp.pc;
    struct hkd_span fn = fp.fn, src = fp.src;
    bool named = fn.n && !(fn.n == 1 && fn.p[0] == '?');
    bool has_src = src.n != 0;
    struct hkd_span tail = fp.module;
    if (rs->frames_for == HKD_FRAMES_CRASH)
        return crash_frame(m, v, tail);
    if (rs->frames_for == HKD_FRAMES_LEAK) {
        if (!m->nstacks)
            return false;
        struct hkd_stack *st = &m->stacks[m->nstacks - 1];
        /* Capacities grow by doubling; both arrays share the count. */
        size_t cap_frames = st->cap_frames, cap_names = st->cap_frames;
        hkd_grow((void **)&st->frames, &cap_frames, st->nframes, sizeof *st->frames);
        hkd_grow((void **)&st->names, &cap_names, st->nframes, sizeof *st->names);
        st->cap_frames = cap_frames;
        char *name = named ? hkd_demangle(fn.p, fn.n) : hkd_xstrdup("?");
        if (has_src) {
            char *t = hkd_xasprintf("%s (%.*s)", name, (int)src.n, src.p);
            free(name);
            name = t;
        }
        /* The lines of an inline chain are one frame, named as hkdump names one itself. */
        if (rs->inline_open && st->nframes && st->frames[st->nframes - 1] == v) {
            /* At most HKD_INLINE_MAX functions a frame: a hostile log cannot make each
             * line copy an ever longer name. */
            if (rs->inline_merged++ < HKD_INLINE_MAX) {
                char **prev = &st->names[st->nframes - 1];
                char *t = hkd_xasprintf("%s, inlined into %s", *prev, name);
                free(*prev);
                *prev = t;
            }
            free(name);
        } else {
            rs->inline_merged = 0;
            st->frames[st->nframes] = v;
            st->names[st->nframes++] = name;
        }
        rs->inline_open = fp.inlined;
        return true;
    }
    if (!m->nmisuse)
        return false;
    struct hkd_misuse *x = &m->misuse[m->nmisuse - 1];
    char **site = rs->frames_for == HKD_FRAMES_ALLOC  ? &x->alloc_site
                  : rs->frames_for == HKD_FRAMES_FREE ? &x->free_site
                                                     : &x->report_site;
    if (!*site && named)
        *site = hkd_demangle(fn.p, fn.n);
    return true;
}

/* "leak 3: 2 blocks, 64 bytes lost directly (sizes 32), holding 5 blocks, 320 bytes lost
 * indirectly, allocated at:" (or "lost indirectly", "still reachable", and "lost" from a
 * writer before the split): a stack of the model, whose frames follow. */
static bool leak_record(struct hkd_model *m, struct hkd_span rest, struct hkd_loc at)
{
    char line[256];
    size_t n = rest.n < sizeof line - 1 ? rest.n : sizeof line - 1;
    memcpy(line, rest.p, n);
    line[n] = '\0';
    unsigned id;
    unsigned long long blocks, bytes;
    int used = 0;
    if (sscanf(line, "leak %u: %llu block%*[s], %llu bytes %n", &id, &blocks, &bytes, &used) < 3 &&
        sscanf(line, "leak %u: %llu block, %llu bytes %n", &id, &blocks, &bytes, &used) < 3)
        return false;
    struct hkd_stack *st = hkd_model_stack(m, at);
    st->id = id;
    st->blocks = blocks;
    st->bytes = bytes;
    const char *k = line + used;
    snprintf(st->kind, sizeof st->kind, "%s",
             strncmp(k, "lost directly", 13) == 0     ? "direct"
             : strncmp(k, "lost indirectly", 15) == 0 ? "indirect"
             : strncmp(k, "lost", 4) == 0             ? "lost"
                                                      : "reachable");
    const char *h = strstr(k, ", holding ");
    if (h && (sscanf(h, ", holding %llu blocks, %llu bytes", &blocks, &bytes) == 2 ||
              sscanf(h, ", holding %llu block, %llu bytes", &blocks, &bytes) == 2)) {
        st->held_blocks = blocks;
        st->held_bytes = bytes;
    }
    return true;
}

/* The lines around the records: under a misuse report (the block's stacks) and in a leak
 * report. Returns false when the line is none of them. */
static bool context_line(struct hkd_report_state *rs, struct hkd_model *m, struct hkd_span rest,
                         struct hkd_loc at, int frames_for)
{
    struct hkd_span after = rest, w = word(&after);
    if (w.n > 1 && w.p[0] == '#' && frames_for != HKD_FRAMES_NONE) {
        rs->frames_for = frames_for;
        return frame_line(rs, m, rest);
    }
    if (hkd_span_starts(rest, HK_LOG_PREFIX_CRASH))
        return crash_line(rs, m, rest, at);
    if (hkd_span_starts(rest, "allocated by thread ") && m->nmisuse) {
        struct hkd_span a = rest;
        word(&a), word(&a), word(&a);
        hkd_num_parse(&m->misuse[m->nmisuse - 1].alloc_thread, word(&a), at);
        rs->frames_for = hkd_span_find(rest, " at:") ? HKD_FRAMES_ALLOC : HKD_FRAMES_NONE;
        return true;
    }
    if (m->nmisuse && (hkd_span_eq(rest, "freed at:") || hkd_span_eq(rest, "freed again at:") ||
                       hkd_span_eq(rest, "found at:"))) {
        rs->frames_for = hkd_span_eq(rest, "freed at:") ? HKD_FRAMES_FREE : HKD_FRAMES_REPORT;
        return true;
    }
    if (hkd_span_eq(w, "leak")) {
        if (hkd_span_starts(rest, "leak report"))
            return true;                          /* the summary; the records follow */
        if (!leak_record(m, rest, at))
            return false;
        rs->frames_for = HKD_FRAMES_LEAK;
        rs->inline_open = false;
        return true;
    }
    return hkd_span_starts(rest, "suppressed ") || hkd_span_starts(rest, "... and ") ||
           hkd_span_starts(rest, "still reachable blocks are not listed") ||
           hkd_span_starts(rest, "not checked: ") ||
           hkd_span_starts(rest, "exiting with status ") ||
           hkd_span_starts(rest, "cannot read HAKMEM_LEAK_SUPPRESSIONS");
}

/* s starts with lit: s moves past it. */
static bool take(struct hkd_span *s, const char *lit)
{
    if (!hkd_span_starts(*s, lit))
        return false;
    size_t n = strlen(lit);
    s->p += n;
    s->n -= n;
    return true;
}

/* A number in decimal at the start of s, into n; s moves past it. */
static bool take_num(struct hkd_span *s, struct hkd_num *n, struct hkd_loc at)
{
    return take_number(s, n, at, false);
}

/* "refused an allocation of N bytes aligned to A bytes: the size is more than physical
 * memory and swap (L bytes); ..." (or "the alignment"; before the alignment was named:
 * "of N bytes: more than ..."): a request refused before any mapping, an event of kind
 * "refused" with size, align and limit. */
static bool refused_line(struct hkd_model *m, struct hkd_span line, struct hkd_loc at)
{
    struct hkd_event e = {.at = at};
    struct hkd_span s = line;
    if (!take(&s, "refused an allocation of ") || !take_num(&s, &e.f[HKD_E_size], at) ||
        !take(&s, " bytes"))
        return false;
    if (take(&s, " aligned to ") &&
        !(take_num(&s, &e.f[HKD_E_align], at) && take(&s, " bytes")))
        return false;
    if (!take(&s, ": "))
        return false;
    const char *what = take(&s, "the alignment is ") ? "alignment"
                       : take(&s, "the size is ")    ? "size"
                                                      : NULL;
    if (!take(&s, "more than physical memory and swap (") ||
        !take_num(&s, &e.f[HKD_E_limit], at) || !take(&s, " bytes)"))
        return false;
    if (!what)   /* the older line: a size within the limit means the alignment was over it */
        what = e.f[HKD_E_size].v <= e.f[HKD_E_limit].v ? "alignment" : "size";
    snprintf(e.name, sizeof e.name, "%s", what);
    struct hkd_event *x = hkd_snap_event(hkd_model_cur(m, at), "refused", at);
    memcpy(x->f, e.f, sizeof e.f);
    memcpy(x->name, e.name, sizeof e.name);
    snprintf(x->tier, sizeof x->tier, "large");
    x->quote = hkd_span_printable(line, 300);
    return true;
}

/* HK_LOG_PREFIX_FATAL's line: a signal event, with the faulting address when it has one. */
static bool fatal_line(struct hkd_model *m, struct hkd_span line, struct hkd_loc at)
{
    struct hkd_span s = line;
    struct hkd_num signo = {0}, addr = {0};
    if (!take(&s, HK_LOG_PREFIX_FATAL) || !take_num(&s, &signo, at) || !take(&s, " ("))
        return false;
    const char *close = memchr(s.p, ')', s.n);
    if (!close)
        return false;
    struct hkd_span name = {s.p, (size_t)(close - s.p)};
    s.n -= (size_t)(close + 1 - s.p);
    s.p = close + 1;
    if (take(&s, " at address ") && !take_addr(&s, &addr, at))
        return false;
    struct hkd_event *e = hkd_snap_event(hkd_model_cur(m, at), "signal", at);
    e->f[HKD_E_signo] = signo;
    if (addr.set)
        e->f[HKD_E_addr] = addr;
    snprintf(e->name, sizeof e->name, "%.*s", (int)(name.n < 15 ? name.n : 15), name.p);
    free(e->quote);
    e->quote = hkd_span_printable(line, 300);
    return true;
}

/* A line of hakmem's that says what it did (a dump written, a leak check skipped) and
 * holds no number the rules use: known, so it is never "unparsed". */
static bool note_line(struct hkd_span rest)
{
#define HKD_NOTE(name, prefix) prefix,
    static const char *const notes[] = {HK_LOG_NOTES(HKD_NOTE)};
#undef HKD_NOTE
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
        if (hkd_span_starts(rest, notes[i]))
            return true;
    return false;
}

bool hkd_report_line(struct hkd_report_state *rs, struct hkd_model *m, struct hkd_span rest,
                     struct hkd_loc at, const char **why)
{
    static const char *const ss_renames[][2] = {{"mapped", "superslabs_mapped"},
                                                {"unmapped", "superslabs_unmapped"},
                                                {"live", "superslabs_live"},
                                                {"cached", "superslabs_cached"},
                                                {"bytes", "superslab_bytes"},
                                                {NULL, NULL}};
    rest = hkd_span_trim(rest);
    int frames_for = rs->frames_for;
    rs->frames_for = HKD_FRAMES_NONE;
    if (context_line(rs, m, rest, at, frames_for))
        return true;
    struct hkd_span after = rest;
    struct hkd_span w = word(&after);
    struct hkd_snapshot *s = hkd_model_cur(m, at);
    *why = "unknown hakmem: line";
    if (note_line(rest))
        return true;
    if (hkd_span_starts(rest, HK_LOG_PREFIX_FATAL))
        return fatal_line(m, rest, at) || (*why = "fatal signal line without its number", false);

    if (hkd_span_eq(w, "stats")) {
        if (s->has_report)
            s = hkd_model_new_snapshot(m, at);
        s->has_report = true;
        kv_fields(after, s->f, hkd_field_names, HKD_F_COUNT, NULL, at);
        struct hkd_tok t;
        while (hkd_kv_next_loose(&after, &t))
            if (hkd_span_eq(t.key, "version")) {
                free(s->version);
                s->version = hkd_xstrndup(t.val.p, t.val.n);
            }
        return true;
    }
    if (hkd_span_eq(w, "error:"))
        return hkd_report_misuse(m, after, at) || (*why = "unknown misuse report", false);
    if (hkd_span_eq(w, "refused"))
        return refused_line(m, rest, at) ||
               (*why = "refusal line without size, alignment and limit", false);

    bool ok = true;
    if (hkd_span_eq(w, "class")) {
        header_row(rs, rest);
    } else if (w.n && w.p[0] >= '0' && w.p[0] <= '9') {
        ok = class_row(rs, s, rest, at);
        *why = "class table row that does not match the table's header";
    } else if (hkd_span_eq(w, "tier")) {
        struct hkd_span name = word(&after);
        int t = hkd_name_index(hkd_tier_names, HKD_TIER_COUNT, name);
        ok = t >= 0 && kv_fields(after, s->tier[t], hkd_tier_field_names, HKD_T_COUNT, NULL, at);
        *why = "tier line without a known tier name or numbers";
    } else if (hkd_span_eq(w, "superslabs")) {
        ok = kv_fields(after, s->f, hkd_field_names, HKD_F_COUNT, ss_renames, at) > 0;
    } else if (hkd_span_eq(w, "totals")) {
        ok = kv_fields(after, s->f, hkd_field_names, HKD_F_COUNT, NULL, at) > 0;
    } else if (hkd_span_eq(w, "process") || hkd_span_eq(w, "limits")) {
        ok = kv_fields(after, s->f, hkd_field_names, HKD_F_COUNT, NULL, at) > 0;
    } else if (hkd_span_eq(w, "census")) {
        ok = census_line(s, after, at);
        *why = "census line without class= or thread=";
    } else {
        return false;
    }
    if (ok)
        s->has_report = true;
    return ok;
}

struct kind_name {
    const char *text, *kind;
};
/* Other writers' words, and a kind's id written where its words go. */
static const struct kind_name misuse_kinds[] = {
    {"invalid free", "invalid-free"},     {"interior free", "interior-free"},
    {"foreign free", "foreign-free"},     {"overflow", "overflow"},
    {"underflow", "underflow"},           {"double-free", "double-free"},
    {"interior-free", "interior-free"},   {"foreign-free", "foreign-free"},
    {"use-after-free", "use-after-free"}, {"corrupt-freelist", "corrupt-freelist"},
    {NULL, NULL}};

/* The kind of a misuse line: hakmem's own words first (HK_MISUSE_TEXTS: WHAT, and the
 * DETAIL that tells the invalid frees apart), then misuse_kinds. */
static const char *misuse_kind(struct hkd_span msg)
{
#define HKD_TEXT(id, what, detail) {id, what, detail},
    static const struct {
        const char *id, *what, *detail;
    } texts[] = {HK_MISUSE_TEXTS(HKD_TEXT)};
#undef HKD_TEXT
    /* Without its detail (another writer's line), WHAT alone names the kind when only one
     * kind has it. */
    const char *plain = NULL;
    int with_what = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (!hkd_span_starts(msg, texts[i].what))
            continue;
        with_what++;
        plain = plain ? plain : texts[i].id;
        if (!texts[i].detail)
            continue;
        char key[160];
        snprintf(key, sizeof key, ": %s", texts[i].detail);
        if (hkd_span_find(msg, key))
            return texts[i].id;
    }
    if (with_what == 1)
        return plain;
    for (int i = 0; misuse_kinds[i].text; i++)
        if (hkd_span_starts(msg, misuse_kinds[i].text))
            return misuse_kinds[i].kind;
    return NULL;
}

bool hkd_report_misuse(struct hkd_model *m, struct hkd_span msg, struct hkd_loc at)
{
    msg = hkd_span_trim(msg);
    const char *kind = misuse_kind(msg);
    if (!kind)
        return false;
    struct hkd_misuse *x = hkd_model_misuse(m, at);
    snprintf(x->kind, sizeof x->kind, "%s", kind);
    x->quote = hkd_span_printable(msg, 300);

    const char *of = hkd_span_find(msg, " of 0x");
    if (of) {
        struct hkd_span a = {of + 4, 0};
        while (a.p + a.n < msg.p + msg.n && a.p[a.n] != ' ' && a.p[a.n] != '(' &&
               a.p[a.n] != ',' && a.p[a.n] != ':')
            a.n++;
        hkd_num_parse(&x->addr, a, at);
    }
    /* "(class 3, 64 B, thread 2, state slab-free)" and "interior pointer"/"foreign pointer" */
    const char *open = hkd_span_find(msg, "(");
    if (!open)
        return true;
    struct hkd_span d = {open + 1, (size_t)(msg.p + msg.n - open - 1)};
    const char *close = memchr(d.p, ')', d.n);   /* "...); ignored": the items end there */
    if (close)
        d.n = (size_t)(close - d.p);
    while (d.n) {
        const char *sep = memchr(d.p, ',', d.n);
        struct hkd_span item = {d.p, sep ? (size_t)(sep - d.p) : d.n};
        item = hkd_span_trim(item);
        if (item.n && item.p[item.n - 1] == ')')
            item.n--;
        struct hkd_span rest = item, w = word(&rest), v = word(&rest);
        if (hkd_span_eq(w, "class"))
            hkd_num_parse(&x->cls, v, at);
        else if (hkd_span_eq(w, "thread"))
            hkd_num_parse(&x->thread, v, at);
        else if (hkd_span_eq(w, "state"))
            snprintf(x->state, sizeof x->state, "%.*s", (int)(v.n < 23 ? v.n : 23), v.p);
        else if (hkd_span_eq(v, "B"))
            hkd_num_parse(&x->size, w, at);
        else if (hkd_span_eq(w, "interior"))
            snprintf(x->kind, sizeof x->kind, "interior-free");
        else if (hkd_span_eq(w, "foreign"))
            snprintf(x->kind, sizeof x->kind, "foreign-free");
        if (!sep)
            break;
        d.n -= (size_t)(sep + 1 - d.p);
        d.p = sep + 1;
    }
    return true;
}
