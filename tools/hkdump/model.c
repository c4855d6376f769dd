/* The model: every number the inputs gave, with where it came from, grouped in snapshots
 * (points in time), plus the lists that are not tied to a moment (misuse, modules, stacks). */
#include "hkdump.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HKD_NAME(k) #k,
#define HKD_NAME_C(k, width, doc) #k,
const char *const hkd_field_names[HKD_F_COUNT] = {HKD_FIELDS(HKD_NAME, HKD_NAME_C)};
const char *const hkd_class_field_names[HKD_C_COUNT] = {HKD_CLASS_FIELDS(HKD_NAME, HKD_NAME_C)};
const char *const hkd_tier_field_names[HKD_T_COUNT] = {HKD_TIER_FIELDS(HKD_NAME)};
const char *const hkd_census_field_names[HKD_Z_COUNT] = {HKD_CENSUS_FIELDS(HKD_NAME)};
const char *const hkd_event_field_names[HKD_E_COUNT] = {HKD_EVENT_FIELDS(HKD_NAME)};
const char *const hkd_tier_names[HKD_TIER_COUNT] = {"tiny", "mid", "large"};

int hkd_name_index(const char *const *names, int count, struct hkd_span name)
{
    for (int i = 0; i < count; i++)
        if (hkd_span_eq(name, names[i]))
            return i;
    return -1;
}

void hkd_model_init(struct hkd_model *m)
{
    memset(m, 0, sizeof *m);
}

static void snapshot_free(struct hkd_snapshot *s)
{
    free(s->classes);
    free(s->census);
    free(s->census_threads);
    hkd_idmap_free(&s->class_ids);
    hkd_idmap_free(&s->census_ids);
    hkd_idmap_free(&s->thread_ids);
    for (size_t i = 0; i < s->nevents; i++) {
        free(s->events[i].quote);
        free(s->events[i].code_name);
        free(s->events[i].frames);
    }
    free(s->events);
    free(s->version);
    free(s->build);
    free(s->reason);
    free(s->exe);
    free(s->limits_quote);
}

static void stack_free(struct hkd_stack *st)
{
    if (st->names)
        for (size_t j = 0; j < st->nframes; j++)
            free(st->names[j]);
    free(st->names);
    free(st->frames);
}

static void misuse_free(struct hkd_misuse *x)
{
    free(x->quote);
    free(x->alloc_site);
    free(x->free_site);
    free(x->report_site);
}

static bool num_same(const struct hkd_num *a, const struct hkd_num *b)
{
    return a->set == b->set && (!a->set || (a->v == b->v && a->inf == b->inf));
}

/* One record given twice: the same stack's kind, counts and return addresses (ASLR makes
 * them differ between runs), or the same misuse report (kind, address, class, thread). */
static bool stack_same(const void *va, const void *vb)
{
    const struct hkd_stack *a = va, *b = vb;
    return !strcmp(a->kind, b->kind) && a->blocks == b->blocks && a->bytes == b->bytes &&
           a->nframes == b->nframes && a->nframes &&
           !memcmp(a->frames, b->frames, a->nframes * sizeof *a->frames);
}

static bool misuse_same(const void *va, const void *vb)
{
    const struct hkd_misuse *a = va, *b = vb;
    return !strcmp(a->kind, b->kind) && num_same(&a->addr, &b->addr) &&
           num_same(&a->cls, &b->cls) && num_same(&a->thread, &b->thread);
}

/* Marks in drop each record that repeats one of an earlier input (each earlier record
 * matched at most once, so a report repeated within one input still counts every time). */
static void mark_repeats(const void *v, size_t n, size_t size,
                         bool (*same)(const void *, const void *),
                         const struct hkd_loc *(*loc)(const void *), bool *drop)
{
    bool *used = hkd_xcalloc(n + 1, sizeof *used);
    for (size_t j = 0; j < n; j++) {
        const void *b = (const char *)v + j * size;
        for (size_t i = 0; i < j; i++) {
            const void *a = (const char *)v + i * size;
            if (!used[i] && !drop[i] && loc(a)->input != loc(b)->input && same(a, b)) {
                used[i] = drop[j] = true;
                break;
            }
        }
    }
    free(used);
}

static const struct hkd_loc *stack_loc(const void *a)
{
    return &((const struct hkd_stack *)a)->at;
}

static const struct hkd_loc *misuse_loc(const void *a)
{
    return &((const struct hkd_misuse *)a)->at;
}

void hkd_model_merge_runs(struct hkd_model *m)
{
    bool *drop = hkd_xcalloc(m->nstacks + 1, sizeof *drop);
    mark_repeats(m->stacks, m->nstacks, sizeof *m->stacks, stack_same, stack_loc, drop);
    size_t k = 0;
    for (size_t i = 0; i < m->nstacks; i++) {
        if (drop[i])
            stack_free(&m->stacks[i]);
        else
            m->stacks[k++] = m->stacks[i];
    }
    m->nstacks = k;
    free(drop);
    drop = hkd_xcalloc(m->nmisuse + 1, sizeof *drop);
    mark_repeats(m->misuse, m->nmisuse, sizeof *m->misuse, misuse_same, misuse_loc, drop);
    k = 0;
    for (size_t i = 0; i < m->nmisuse; i++) {
        if (drop[i])
            misuse_free(&m->misuse[i]);
        else
            m->misuse[k++] = m->misuse[i];
    }
    m->nmisuse = k;
    free(drop);
}

void hkd_model_free(struct hkd_model *m)
{
    for (size_t i = 0; i < m->ninputs; i++)
        free(m->inputs[i].name);
    free(m->inputs);
    for (size_t i = 0; i < m->nsnaps; i++)
        snapshot_free(&m->snaps[i]);
    free(m->snaps);
    for (size_t i = 0; i < m->nmisuse; i++)
        misuse_free(&m->misuse[i]);
    free(m->misuse);
    for (size_t i = 0; i < m->nmodules; i++)
        free(m->modules[i].path);
    free(m->modules);
    for (size_t i = 0; i < m->nstacks; i++)
        stack_free(&m->stacks[i]);
    free(m->stacks);
    for (size_t i = 0; i < m->noptions; i++) {
        free(m->options[i].name);
        free(m->options[i].value);
    }
    free(m->options);
    for (size_t i = 0; i < m->ntimelines; i++)
        hkd_timeline_free(&m->timelines[i]);
    free(m->timelines);
    for (size_t i = 0; i < m->nunparsed; i++) {
        free(m->unparsed[i].text);
        free(m->unparsed[i].reason);
    }
    free(m->unparsed);
    memset(m, 0, sizeof *m);
}

int hkd_model_add_input(struct hkd_model *m, const char *name, bool is_dump)
{
    hkd_grow((void **)&m->inputs, &m->cap_inputs, m->ninputs, sizeof *m->inputs);
    struct hkd_input_info *ii = &m->inputs[m->ninputs];
    ii->name = hkd_xstrdup(name);
    ii->is_dump = is_dump;
    return (int)m->ninputs++;
}

void hkd_model_option(struct hkd_model *m, char *name, char *value)
{
    hkd_grow((void **)&m->options, &m->cap_options, m->noptions, sizeof *m->options);
    m->options[m->noptions++] = (struct hkd_option){name, value};
}

struct hkd_snapshot *hkd_model_new_snapshot(struct hkd_model *m, struct hkd_loc at)
{
    hkd_grow((void **)&m->snaps, &m->cap_snaps, m->nsnaps, sizeof *m->snaps);
    struct hkd_snapshot *s = &m->snaps[m->nsnaps++];
    s->at = at;
    return s;
}

struct hkd_snapshot *hkd_model_cur(struct hkd_model *m, struct hkd_loc at)
{
    if (m->nsnaps && m->snaps[m->nsnaps - 1].at.input == at.input)
        return &m->snaps[m->nsnaps - 1];
    return hkd_model_new_snapshot(m, at);
}

struct hkd_class_row *hkd_snap_class(struct hkd_snapshot *s, unsigned id)
{
    size_t i = hkd_idmap_get(&s->class_ids, id);
    if (i != SIZE_MAX)
        return &s->classes[i];
    hkd_grow((void **)&s->classes, &s->cap_classes, s->nclasses, sizeof *s->classes);
    hkd_idmap_put(&s->class_ids, id, s->nclasses);
    struct hkd_class_row *r = &s->classes[s->nclasses++];
    r->id = id;
    r->fast_pct = -1;
    return r;
}

struct hkd_census_row *hkd_snap_census(struct hkd_snapshot *s, unsigned id, bool thread)
{
    struct hkd_census_row **v = thread ? &s->census_threads : &s->census;
    size_t *n = thread ? &s->ncensus_threads : &s->ncensus;
    size_t *cap = thread ? &s->cap_census_threads : &s->cap_census;
    struct hkd_idmap *ids = thread ? &s->thread_ids : &s->census_ids;
    size_t i = hkd_idmap_get(ids, id);
    if (i != SIZE_MAX)
        return &(*v)[i];
    hkd_grow((void **)v, cap, *n, sizeof **v);
    hkd_idmap_put(ids, id, *n);
    struct hkd_census_row *r = &(*v)[(*n)++];
    r->id = id;
    return r;
}

const struct hkd_class_row *hkd_snap_find_class(const struct hkd_snapshot *s, unsigned id)
{
    size_t i = hkd_idmap_get(&s->class_ids, id);
    return i == SIZE_MAX ? NULL : &s->classes[i];
}

const struct hkd_census_row *hkd_snap_find_census(const struct hkd_snapshot *s, unsigned id,
                                                  bool thread)
{
    size_t i = hkd_idmap_get(thread ? &s->thread_ids : &s->census_ids, id);
    return i == SIZE_MAX ? NULL : thread ? &s->census_threads[i] : &s->census[i];
}

struct hkd_event *hkd_snap_event(struct hkd_snapshot *s, const char *kind, struct hkd_loc at)
{
    hkd_grow((void **)&s->events, &s->cap_events, s->nevents, sizeof *s->events);
    struct hkd_event *e = &s->events[s->nevents++];
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    e->at = at;
    return e;
}

void hkd_event_add_frame(struct hkd_event *e, uint64_t pc)
{
    hkd_grow((void **)&e->frames, &e->cap_frames, e->nframes, sizeof *e->frames);
    e->frames[e->nframes++] = pc;
}

void hkd_model_module_span(struct hkd_model *m, uint64_t base, uint64_t addr,
                           struct hkd_span path)
{
    for (size_t i = 0; i < m->nmodules; i++) {
        struct hkd_module *x = &m->modules[i];
        if (x->base == base && strlen(x->path) == path.n && !memcmp(x->path, path.p, path.n)) {
            if (addr >= x->end)
                x->end = addr + 1;
            return;
        }
    }
    hkd_grow((void **)&m->modules, &m->cap_modules, m->nmodules, sizeof *m->modules);
    m->modules[m->nmodules++] =
        (struct hkd_module){(unsigned)m->nmodules, base, addr + 1, hkd_xstrndup(path.p, path.n)};
}

struct hkd_misuse *hkd_model_misuse(struct hkd_model *m, struct hkd_loc at)
{
    hkd_grow((void **)&m->misuse, &m->cap_misuse, m->nmisuse, sizeof *m->misuse);
    struct hkd_misuse *x = &m->misuse[m->nmisuse++];
    x->at = at;
    return x;
}

struct hkd_stack *hkd_model_stack(struct hkd_model *m, struct hkd_loc at)
{
    hkd_grow((void **)&m->stacks, &m->cap_stacks, m->nstacks, sizeof *m->stacks);
    struct hkd_stack *x = &m->stacks[m->nstacks++];
    x->at = at;
    return x;
}

void hkd_model_unparsed(struct hkd_model *m, struct hkd_loc at, struct hkd_span line,
                        const char *reason)
{
    m->unparsed_total++;
    if (m->nunparsed >= HKD_UNPARSED_KEEP)
        return;
    hkd_grow((void **)&m->unparsed, &m->cap_unparsed, m->nunparsed, sizeof *m->unparsed);
    struct hkd_unparsed *u = &m->unparsed[m->nunparsed++];
    u->at = at;
    u->text = hkd_span_printable(hkd_span_trim(line), 160);
    u->reason = hkd_xstrdup(reason);
}

void hkd_num_set(struct hkd_num *n, uint64_t v, bool inf, struct hkd_loc at)
{
    n->v = v;
    n->inf = inf;
    n->set = true;
    n->at = at;
}

bool hkd_num_parse(struct hkd_num *n, struct hkd_span text, struct hkd_loc at)
{
    uint64_t v;
    bool inf;
    if (!hkd_parse_u64(text, &v, &inf))
        return false;
    hkd_num_set(n, v, inf, at);
    return true;
}

static void merge_nums(struct hkd_num *dst, const struct hkd_num *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (src[i].set)
            dst[i] = src[i];
}

size_t hkd_model_failure(const struct hkd_model *m)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < m->nsnaps; i++) {
        const struct hkd_snapshot *s = &m->snaps[i];
        if (!s->nevents)
            continue;
        if (best == SIZE_MAX || s->nclasses || s->ncensus || !m->snaps[best].nclasses)
            best = i;
    }
    return best;
}

static void view_merge(struct hkd_snapshot *view, const struct hkd_snapshot *s)
{
    merge_nums(view->f, s->f, HKD_F_COUNT);
    for (int t = 0; t < HKD_TIER_COUNT; t++)
        merge_nums(view->tier[t], s->tier[t], HKD_T_COUNT);
    /* Tables come whole from one snapshot, with their indexes. */
    if (s->nclasses)
        view->classes = s->classes, view->nclasses = s->nclasses,
        view->class_ids = s->class_ids;
    if (s->ncensus)
        view->census = s->census, view->ncensus = s->ncensus,
        view->census_ids = s->census_ids;
    if (s->ncensus_threads)
        view->census_threads = s->census_threads,
        view->ncensus_threads = s->ncensus_threads, view->thread_ids = s->thread_ids;
    if (s->nevents)
        view->events = s->events, view->nevents = s->nevents;
    if (s->version)
        view->version = s->version;
    if (s->build)
        view->build = s->build;
    if (s->reason)
        view->reason = s->reason;
    if (s->exe)
        view->exe = s->exe;
    if (s->limits_quote)
        view->limits_quote = s->limits_quote;
    view->has_report |= s->has_report;
    view->has_oom |= s->has_oom;
    view->has_limits |= s->has_limits;
    view->has_refill |= s->has_refill;
}

void hkd_model_view(const struct hkd_model *m, struct hkd_snapshot *view)
{
    memset(view, 0, sizeof *view);
    for (size_t i = 0; i < m->nsnaps; i++)
        view_merge(view, &m->snaps[i]);
    /* One run, several moments: the failure is judged on the state at the failure, so its
     * snapshot wins over what was written later (at exit, after queues drained). */
    size_t f = hkd_model_failure(m);
    if (f != SIZE_MAX)
        view_merge(view, &m->snaps[f]);
}

void hkd_view_free(struct hkd_snapshot *view)
{
    memset(view, 0, sizeof *view); /* everything is borrowed */
}

const char *hkd_loc_name(const struct hkd_model *m, struct hkd_loc at)
{
    if (at.input < 0 || (size_t)at.input >= m->ninputs)
        return "?";
    const char *n = m->inputs[at.input].name;
    return strcmp(n, "-") == 0 ? "<stdin>" : n;
}
