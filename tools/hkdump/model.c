/* The model: every number the inputs gave, with where it came from, grouped in snapshots
 * (points in time), plus the lists that are not tied to a moment (misuse, modules, stacks). */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

#define HK_NAME(e, n) n,
const char *const hk_field_names[HK_F_COUNT] = {HK_FIELDS(HK_NAME)};
const char *const hk_class_field_names[HK_C_COUNT] = {HK_CLASS_FIELDS(HK_NAME)};
const char *const hk_tier_field_names[HK_T_COUNT] = {HK_TIER_FIELDS(HK_NAME)};
const char *const hk_census_field_names[HK_Z_COUNT] = {HK_CENSUS_FIELDS(HK_NAME)};
const char *const hk_event_field_names[HK_E_COUNT] = {HK_EVENT_FIELDS(HK_NAME)};
const char *const hk_tier_names[HK_TIER_COUNT] = {"tiny", "mid", "large"};

int hk_name_index(const char *const *names, int count, struct hk_span name)
{
    for (int i = 0; i < count; i++)
        if (hk_span_eq(name, names[i]))
            return i;
    return -1;
}

void hk_model_init(struct hk_model *m)
{
    memset(m, 0, sizeof *m);
}

static void snapshot_free(struct hk_snapshot *s)
{
    free(s->classes);
    free(s->census);
    free(s->census_threads);
    for (size_t i = 0; i < s->nevents; i++)
        free(s->events[i].quote);
    free(s->events);
    free(s->version);
    free(s->build);
    free(s->reason);
    free(s->exe);
    free(s->limits_quote);
}

void hk_model_free(struct hk_model *m)
{
    for (size_t i = 0; i < m->ninputs; i++)
        free(m->inputs[i].name);
    free(m->inputs);
    for (size_t i = 0; i < m->nsnaps; i++)
        snapshot_free(&m->snaps[i]);
    free(m->snaps);
    for (size_t i = 0; i < m->nmisuse; i++) {
        free(m->misuse[i].quote);
        free(m->misuse[i].alloc_site);
        free(m->misuse[i].free_site);
        free(m->misuse[i].report_site);
    }
    free(m->misuse);
    for (size_t i = 0; i < m->nmodules; i++)
        free(m->modules[i].path);
    free(m->modules);
    for (size_t i = 0; i < m->nstacks; i++) {
        if (m->stacks[i].names)
            for (size_t j = 0; j < m->stacks[i].nframes; j++)
                free(m->stacks[i].names[j]);
        free(m->stacks[i].names);
        free(m->stacks[i].frames);
    }
    free(m->stacks);
    for (size_t i = 0; i < m->noptions; i++) {
        free(m->options[i].name);
        free(m->options[i].value);
    }
    free(m->options);
    for (size_t i = 0; i < m->nunparsed; i++) {
        free(m->unparsed[i].text);
        free(m->unparsed[i].reason);
    }
    free(m->unparsed);
    memset(m, 0, sizeof *m);
}

int hk_model_add_input(struct hk_model *m, const char *name, bool is_dump)
{
    hk_grow((void **)&m->inputs, &m->cap_inputs, m->ninputs, sizeof *m->inputs);
    struct hk_input_info *ii = &m->inputs[m->ninputs];
    ii->name = hk_xstrdup(name);
    ii->is_dump = is_dump;
    return (int)m->ninputs++;
}

struct hk_snapshot *hk_model_new_snapshot(struct hk_model *m, struct hk_loc at)
{
    hk_grow((void **)&m->snaps, &m->cap_snaps, m->nsnaps, sizeof *m->snaps);
    struct hk_snapshot *s = &m->snaps[m->nsnaps++];
    s->at = at;
    return s;
}

struct hk_snapshot *hk_model_cur(struct hk_model *m, struct hk_loc at)
{
    if (m->nsnaps && m->snaps[m->nsnaps - 1].at.input == at.input)
        return &m->snaps[m->nsnaps - 1];
    return hk_model_new_snapshot(m, at);
}

struct hk_class_row *hk_snap_class(struct hk_snapshot *s, unsigned id)
{
    for (size_t i = 0; i < s->nclasses; i++)
        if (s->classes[i].id == id)
            return &s->classes[i];
    hk_grow((void **)&s->classes, &s->cap_classes, s->nclasses, sizeof *s->classes);
    struct hk_class_row *r = &s->classes[s->nclasses++];
    r->id = id;
    r->fast_pct = -1;
    return r;
}

struct hk_census_row *hk_snap_census(struct hk_snapshot *s, unsigned id, bool thread)
{
    struct hk_census_row **v = thread ? &s->census_threads : &s->census;
    size_t *n = thread ? &s->ncensus_threads : &s->ncensus;
    size_t *cap = thread ? &s->cap_census_threads : &s->cap_census;
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i].id == id)
            return &(*v)[i];
    hk_grow((void **)v, cap, *n, sizeof **v);
    struct hk_census_row *r = &(*v)[(*n)++];
    r->id = id;
    return r;
}

struct hk_event *hk_snap_event(struct hk_snapshot *s, const char *kind, struct hk_loc at)
{
    hk_grow((void **)&s->events, &s->cap_events, s->nevents, sizeof *s->events);
    struct hk_event *e = &s->events[s->nevents++];
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    e->at = at;
    return e;
}

struct hk_misuse *hk_model_misuse(struct hk_model *m, struct hk_loc at)
{
    hk_grow((void **)&m->misuse, &m->cap_misuse, m->nmisuse, sizeof *m->misuse);
    struct hk_misuse *x = &m->misuse[m->nmisuse++];
    x->at = at;
    return x;
}

struct hk_stack *hk_model_stack(struct hk_model *m, struct hk_loc at)
{
    hk_grow((void **)&m->stacks, &m->cap_stacks, m->nstacks, sizeof *m->stacks);
    struct hk_stack *x = &m->stacks[m->nstacks++];
    x->at = at;
    return x;
}

void hk_model_unparsed(struct hk_model *m, struct hk_loc at, struct hk_span line,
                       const char *reason)
{
    m->unparsed_total++;
    if (m->nunparsed >= HK_UNPARSED_KEEP)
        return;
    hk_grow((void **)&m->unparsed, &m->cap_unparsed, m->nunparsed, sizeof *m->unparsed);
    struct hk_unparsed *u = &m->unparsed[m->nunparsed++];
    u->at = at;
    u->text = hk_span_printable(hk_span_trim(line), 160);
    u->reason = hk_xstrdup(reason);
}

void hk_num_set(struct hk_num *n, uint64_t v, bool inf, struct hk_loc at)
{
    n->v = v;
    n->inf = inf;
    n->set = true;
    n->at = at;
}

bool hk_num_parse(struct hk_num *n, struct hk_span text, struct hk_loc at)
{
    uint64_t v;
    bool inf;
    if (!hk_parse_u64(text, &v, &inf))
        return false;
    hk_num_set(n, v, inf, at);
    return true;
}

static void merge_nums(struct hk_num *dst, const struct hk_num *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (src[i].set)
            dst[i] = src[i];
}

void hk_model_view(const struct hk_model *m, struct hk_snapshot *view)
{
    memset(view, 0, sizeof *view);
    for (size_t i = 0; i < m->nsnaps; i++) {
        const struct hk_snapshot *s = &m->snaps[i];
        merge_nums(view->f, s->f, HK_F_COUNT);
        for (int t = 0; t < HK_TIER_COUNT; t++)
            merge_nums(view->tier[t], s->tier[t], HK_T_COUNT);
        if (s->nclasses)
            view->classes = s->classes, view->nclasses = s->nclasses;
        if (s->ncensus)
            view->census = s->census, view->ncensus = s->ncensus;
        if (s->ncensus_threads)
            view->census_threads = s->census_threads,
            view->ncensus_threads = s->ncensus_threads;
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
}

void hk_view_free(struct hk_snapshot *view)
{
    memset(view, 0, sizeof *view); /* everything is borrowed */
}

const char *hk_loc_name(const struct hk_model *m, struct hk_loc at)
{
    if (at.input < 0 || (size_t)at.input >= m->ninputs)
        return "?";
    const char *n = m->inputs[at.input].name;
    return strcmp(n, "-") == 0 ? "<stdin>" : n;
}
