/* A finding: id, severity, title, evidence (for machines and for people), what it rules out,
 * what to do next. */
#include "hkdump.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const hkd_severity_names[4] = {"info", "notice", "warning", "error"};

struct hkd_finding *hkd_finding_new(struct hkd_findings *fs, const char *id, enum hkd_severity sev,
                                    const char *title_fmt, ...)
{
    hkd_grow((void **)&fs->v, &fs->cap, fs->n, sizeof *fs->v);
    struct hkd_finding *f = &fs->v[fs->n];
    memset(f, 0, sizeof *f);
    f->id = id;
    f->sev = sev;
    f->order = (int)fs->n++;
    va_list ap;
    va_start(ap, title_fmt);
    if (vasprintf(&f->title, title_fmt, ap) < 0)
        f->title = hkd_xstrdup(id);
    va_end(ap);
    return f;
}

static struct hkd_ev *ev_add(struct hkd_finding *f, const char *key, enum hkd_ev_type type)
{
    hkd_grow((void **)&f->ev, &f->cap_ev, f->nev, sizeof *f->ev);
    struct hkd_ev *e = &f->ev[f->nev++];
    memset(e, 0, sizeof *e);
    e->key = hkd_xstrdup(key);
    e->type = type;
    return e;
}

void hkd_ev_uint(struct hkd_finding *f, const char *key, uint64_t v)
{
    ev_add(f, key, HKD_EV_UINT)->u = v;
}


void hkd_ev_real(struct hkd_finding *f, const char *key, double v)
{
    /* Three decimals are plenty for ratios and keep golden files stable. */
    ev_add(f, key, HKD_EV_REAL)->d = round(v * 1000.0) / 1000.0;
}

void hkd_ev_ratio(struct hkd_finding *f, const char *key, double num, double den)
{
    if (den <= 0)
        ev_add(f, key, HKD_EV_INF);
    else
        hkd_ev_real(f, key, num / den);
}

void hkd_ev_str(struct hkd_finding *f, const char *key, const char *v)
{
    ev_add(f, key, HKD_EV_STR)->s = hkd_xstrdup(v);
}

double hkd_cause_weight(double share)
{
    return HKD_CAUSE_BASE + HKD_CAUSE_SPAN * (share < 0 ? 0 : share > 1 ? 1 : share);
}

static int cmp(const void *a, const void *b)
{
    const struct hkd_finding *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    if (x->sev != y->sev)
        return x->sev > y->sev ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

struct hkd_finding *hkd_findings_find(struct hkd_findings *fs, const char *id)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->v[i].id, id) == 0)
            return &fs->v[i];
    return NULL;
}

static void finding_free(struct hkd_finding *f)
{
    free(f->title);
    for (size_t j = 0; j < f->nev; j++) {
        free(f->ev[j].key);
        free(f->ev[j].s);
    }
    free(f->ev);
    hkd_strv_free(&f->evidence);
    hkd_strv_free(&f->rules_out);
    hkd_strv_free(&f->next);
}

void hkd_findings_drop(struct hkd_findings *fs, size_t i)
{
    finding_free(&fs->v[i]);
    memmove(&fs->v[i], &fs->v[i + 1], (fs->n - i - 1) * sizeof *fs->v);
    fs->n--;
}

void hkd_findings_sort(struct hkd_findings *fs)
{
    if (fs->n)
        qsort(fs->v, fs->n, sizeof *fs->v, cmp);
}

void hkd_findings_free(struct hkd_findings *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        finding_free(&fs->v[i]);
    free(fs->v);
    free(fs->event);
    memset(fs, 0, sizeof *fs);
}
