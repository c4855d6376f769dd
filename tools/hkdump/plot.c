/* A timeline as a picture: hand-written SVG, self-contained (no script, no external file),
 * panels stacked over one time axis in seconds. Memory (mapped, resident, live: lines,
 * each named at its end), mapped by tier and the five classes of most live bytes (stacked
 * areas, named at their right), the census's parked blocks when the timeline has them, and
 * the events as red (OOM, signal) or grey (exit, request) vertical lines over every panel.
 * Every string from the input goes through hkd_xml_string; numbers are printed by hkdump,
 * so whatever the file holds, the output is well-formed XML. */
#include "hkdump.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_W 1000.0
#define PLOT_LEFT 90.0            /* room for the y axis labels */
#define PLOT_RIGHT 170.0          /* room for the names at the lines' ends */
#define PLOT_TOP 96.0             /* title, subtitle, the event labels */
#define PANEL_H 190.0
#define PANEL_GAP 46.0            /* a panel's title above it */
#define PLOT_BOTTOM 46.0          /* the time axis's labels */
#define PLOT_MAX_POINTS 2000      /* points drawn per series at most (samples are spread) */
#define LABEL_GAP 14.0            /* vertical space between two names at the right */
#define TOP_CLASSES 5
#define EVENT_RED "#d62728"       /* red is for events only: no series uses it */

static const char *const palette[] = {"#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                      "#17becf", "#bcbd22", "#7f7f7f"};

/* One series: a value per drawn sample (NAN: the sample does not give it). */
struct plot_series {
    char *name;
    const char *color;
    double *y;
};

enum plot_unit { UNIT_BYTES, UNIT_BLOCKS };

struct plot_panel {
    const char *title;
    enum plot_unit unit;
    bool stacked;
    struct plot_series s[TOP_CLASSES + 3];
    size_t ns;
    const char *empty;            /* said inside the panel when it has no series */
};

struct plot {
    FILE *f;
    const struct hkd_timeline *tl;
    size_t *sel;                  /* the samples drawn (positions in tl->samples) */
    size_t nsel;
    double *t;                    /* their times, ms */
    double t0, t1;                /* the time axis, ms */
    double top;                   /* y of the current panel's top */
    double bottom;                /* y of the last panel's bottom */
};

/* ---- numbers and scales ---- */

static double nice_step(double range, int target)
{
    double raw = range / target, mag = pow(10, floor(log10(raw))), norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

struct plot_scale {
    double div;                   /* a unit in bytes or blocks */
    const char *unit;
    double step, max;             /* in units */
};

static struct plot_scale scale_for(double max, enum plot_unit unit)
{
    static const char *const bytes[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    static const char *const blocks[] = {"", "k", "M", "G", "T", "P", "E"};
    struct plot_scale s = {1, unit == UNIT_BYTES ? "B" : "", 1, 1};
    double base = unit == UNIT_BYTES ? 1024 : 1000;
    for (int k = 1; k < 7 && max >= s.div * base; k++) {
        s.div *= base;
        s.unit = unit == UNIT_BYTES ? bytes[k] : blocks[k];
    }
    double m = max / s.div;
    s.step = nice_step(m > 0 ? m : 1, 4);
    s.max = ceil((m > 0 ? m : 1) / s.step) * s.step;
    return s;
}

static double x_of(const struct plot *p, double t_ms)
{
    return PLOT_LEFT + (t_ms - p->t0) / (p->t1 - p->t0) * (PLOT_W - PLOT_LEFT - PLOT_RIGHT);
}

static double y_of(const struct plot *p, const struct plot_scale *s, double v)
{
    double r = v / s->div / s->max;
    return p->top + PANEL_H * (1 - (r < 0 ? 0 : r > 1 ? 1 : r));
}

/* ---- the samples drawn, and their series ---- */

static void select_samples(struct plot *p)
{
    const struct hkd_timeline *tl = p->tl;
    size_t stride = (tl->nsamples + PLOT_MAX_POINTS - 1) / PLOT_MAX_POINTS;
    p->sel = hkd_xcalloc(PLOT_MAX_POINTS + 1, sizeof *p->sel);
    p->t = hkd_xcalloc(PLOT_MAX_POINTS + 1, sizeof *p->t);
    for (size_t i = 0; i < tl->nsamples; i += stride)
        p->sel[p->nsel++] = i;
    if (p->sel[p->nsel - 1] != tl->nsamples - 1)
        p->sel[p->nsel++] = tl->nsamples - 1;   /* the last sample is always drawn */
    for (size_t i = 0; i < p->nsel; i++)
        p->t[i] = (double)tl->samples[p->sel[i]].v[HKD_TS_t_ms];
    p->t0 = p->t[0], p->t1 = p->t[p->nsel - 1];
    for (size_t i = 0; i < tl->nevents; i++) {
        double t = (double)tl->events[i].t_ms;
        p->t0 = t < p->t0 ? t : p->t0;
        p->t1 = t > p->t1 ? t : p->t1;
    }
    if (!(p->t1 > p->t0))
        p->t1 = p->t0 + 1000;   /* one instant: a second of axis around it */
}

static struct plot_series *add_series(struct plot_panel *pn, const struct plot *p,
                                      const char *name)
{
    struct plot_series *s = &pn->s[pn->ns];
    s->name = hkd_xstrdup(name);
    s->color = palette[pn->ns % (sizeof palette / sizeof palette[0])];
    s->y = hkd_xcalloc(p->nsel, sizeof *s->y);
    pn->ns++;
    return s;
}

static void sample_key(struct plot_panel *pn, const struct plot *p, const char *name,
                       int key, double scale)
{
    struct plot_series *s = add_series(pn, p, name);
    for (size_t i = 0; i < p->nsel; i++) {
        const struct hkd_tl_point *q = &p->tl->samples[p->sel[i]];
        s->y[i] = hkd_tl_has(q, key) ? (double)q->v[key] * scale : NAN;
    }
}

static void panel_free(struct plot_panel *pn)
{
    for (size_t i = 0; i < pn->ns; i++) {
        free(pn->s[i].name);
        free(pn->s[i].y);
    }
}

/* The classes of most live bytes at their peak, most first. */
static size_t top_classes(const struct hkd_timeline *tl, size_t *top)
{
    double *peak = hkd_xcalloc(tl->nclasses + 1, sizeof *peak);
    for (size_t i = 0; i < tl->nsamples; i++)
        for (size_t k = 0; k < tl->samples[i].nlive; k++) {
            const struct hkd_tl_live *l = &tl->live[tl->samples[i].live_at + k];
            double b = (double)l->blocks * (double)tl->classes[l->cls].size;
            peak[l->cls] = b > peak[l->cls] ? b : peak[l->cls];
        }
    size_t n = 0;
    for (size_t k = 0; k < TOP_CLASSES; k++) {
        size_t best = SIZE_MAX;
        for (size_t c = 0; c < tl->nclasses; c++)
            if (peak[c] > 0 && (best == SIZE_MAX || peak[c] > peak[best]))
                best = c;
        if (best == SIZE_MAX)
            break;
        top[n++] = best;
        peak[best] = 0;
    }
    free(peak);
    return n;
}

static void class_panel(struct plot_panel *pn, const struct plot *p)
{
    const struct hkd_timeline *tl = p->tl;
    size_t top[TOP_CLASSES];
    size_t n = top_classes(tl, top);
    for (size_t k = 0; k < n; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s", hkd_ibytes(tl->classes[top[k]].size).s);
        struct plot_series *s = add_series(pn, p, name);
        for (size_t i = 0; i < p->nsel; i++)
            s->y[i] = (double)hkd_tl_class_bytes(tl, &tl->samples[p->sel[i]], top[k]);
    }
}

/* The census point of a drawn sample: the last at or before its time, or NULL. */
static const struct hkd_tl_point *census_at(const struct hkd_timeline *tl, double t, size_t *j)
{
    while (*j + 1 < tl->ncensus && (double)tl->census[*j + 1].v[HKD_TC_t_ms] <= t)
        ++*j;
    return (double)tl->census[*j].v[HKD_TC_t_ms] <= t ? &tl->census[*j] : NULL;
}

static void census_panel(struct plot_panel *pn, const struct plot *p)
{
    static const struct {
        const char *name;
        int key;
    } states[] = {{"fast cache", HKD_TC_fast_cache},
                  {"TLS lists", HKD_TC_tls_list},
                  {"remote queues", HKD_TC_remote_queue}};
    for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
        struct plot_series *s = add_series(pn, p, states[k].name);
        size_t j = 0;
        for (size_t i = 0; i < p->nsel; i++) {
            const struct hkd_tl_point *c = census_at(p->tl, p->t[i], &j);
            s->y[i] = c && hkd_tl_has(c, states[k].key) ? (double)c->v[states[k].key] : 0;
        }
    }
}

/* ---- drawing ---- */

static void text(const struct plot *p, double x, double y, const char *attrs, const char *s)
{
    fprintf(p->f, "<text x=\"%.1f\" y=\"%.1f\"%s%s>", x, y, attrs[0] ? " " : "", attrs);
    hkd_xml_string(p->f, s);
    fputs("</text>\n", p->f);
}

static void time_axis(const struct plot *p, bool labels)
{
    double range = (p->t1 - p->t0) / 1000, step = nice_step(range, 8);
    for (double v = ceil(p->t0 / 1000 / step) * step; v <= p->t1 / 1000 + step * 1e-9;
         v += step) {
        double x = x_of(p, v * 1000);
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#e4e4e4\"/>\n",
                x, p->top, x, p->top + PANEL_H);
        if (!labels)
            continue;
        char s[48];
        snprintf(s, sizeof s, "%g", fabs(v) < step * 1e-6 ? 0 : v);
        text(p, x, p->top + PANEL_H + 16, "text-anchor=\"middle\"", s);
    }
    if (labels)
        text(p, PLOT_LEFT + (PLOT_W - PLOT_LEFT - PLOT_RIGHT) / 2, p->top + PANEL_H + 36,
             "text-anchor=\"middle\"", "time (s)");
}

static void value_axis(const struct plot *p, const struct plot_scale *s)
{
    for (double v = 0; v <= s->max + s->step * 1e-9; v += s->step) {
        double y = y_of(p, s, v * s->div);
        char label[48];
        snprintf(label, sizeof label, "%g%s%s", v, s->unit[0] && v ? " " : "", v ? s->unit : "");
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#e4e4e4\"/>\n",
                PLOT_LEFT, y, PLOT_W - PLOT_RIGHT, y);
        text(p, PLOT_LEFT - 8, y + 4, "text-anchor=\"end\"", label);
    }
}

/* Names at the right of the plot, at the heights asked, moved apart so none overlap. */
struct plot_label {
    double y;
    const char *name, *color;
    char value[48];
};

static int by_y(const void *a, const void *b)
{
    const struct plot_label *x = a, *y = b;
    return (x->y > y->y) - (x->y < y->y);
}

static void labels(const struct plot *p, struct plot_label *l, size_t n)
{
    qsort(l, n, sizeof *l, by_y);
    for (size_t i = 1; i < n; i++)
        if (l[i].y < l[i - 1].y + LABEL_GAP)
            l[i].y = l[i - 1].y + LABEL_GAP;
    double over = n ? l[n - 1].y - (p->top + PANEL_H) : 0;
    for (size_t i = 0; over > 0 && i < n; i++)
        l[i].y -= over;   /* pushed below the panel: the whole column moves up */
    for (size_t i = 0; i < n; i++) {
        char attrs[96], s[160];
        snprintf(attrs, sizeof attrs, "fill=\"%s\" font-weight=\"bold\"", l[i].color);
        snprintf(s, sizeof s, "%s%s%s", l[i].name, l[i].value[0] ? ": " : "", l[i].value);
        fprintf(p->f, "<text x=\"%.1f\" y=\"%.1f\" %s>", PLOT_W - PLOT_RIGHT + 8, l[i].y + 4,
                attrs);
        hkd_xml_string(p->f, s);
        fputs("</text>\n", p->f);
    }
}

static void value_text(char *dst, size_t cap, double v, enum plot_unit unit)
{
    if (!isfinite(v))
        dst[0] = '\0';
    else
        snprintf(dst, cap, "%s", unit == UNIT_BYTES ? hkd_ibytes(hkd_u64_of(v)).s
                                                    : hkd_count(hkd_u64_of(v)).s);
}

static void lines(const struct plot *p, const struct plot_panel *pn, const struct plot_scale *s,
                  struct plot_label *l)
{
    for (size_t k = 0; k < pn->ns; k++) {
        const struct plot_series *q = &pn->s[k];
        fprintf(p->f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                "points=\"", q->color);
        size_t last = SIZE_MAX;
        for (size_t i = 0; i < p->nsel; i++)
            if (isfinite(q->y[i])) {
                fprintf(p->f, "%s%.1f,%.1f", last == SIZE_MAX ? "" : " ", x_of(p, p->t[i]),
                        y_of(p, s, q->y[i]));
                last = i;
            }
        fputs("\"/>\n", p->f);
        l[k] = (struct plot_label){.name = q->name, .color = q->color};
        if (last == SIZE_MAX) {
            l[k].y = p->top + PANEL_H;
            continue;
        }
        l[k].y = y_of(p, s, q->y[last]);
        value_text(l[k].value, sizeof l[k].value, q->y[last], pn->unit);
        fprintf(p->f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                x_of(p, p->t[last]), l[k].y, q->color);
    }
}

static double stack_below(const struct plot_panel *pn, size_t k, size_t i)
{
    double v = 0;
    for (size_t j = 0; j < k; j++)
        v += isfinite(pn->s[j].y[i]) ? pn->s[j].y[i] : 0;
    return v;
}

static void areas(const struct plot *p, const struct plot_panel *pn, const struct plot_scale *s,
                  struct plot_label *l)
{
    size_t n = p->nsel;
    for (size_t k = 0; k < pn->ns; k++) {
        const struct plot_series *q = &pn->s[k];
        fprintf(p->f, "<polygon class=\"series\" fill=\"%s\" fill-opacity=\"0.75\" stroke=\"%s\" "
                "points=\"", q->color, q->color);
        for (size_t i = 0; i < n; i++)
            fprintf(p->f, "%s%.1f,%.1f", i ? " " : "", x_of(p, p->t[i]),
                    y_of(p, s, stack_below(pn, k + 1, i)));
        for (size_t i = n; i-- > 0;)
            fprintf(p->f, " %.1f,%.1f", x_of(p, p->t[i]), y_of(p, s, stack_below(pn, k, i)));
        fputs("\"/>\n", p->f);
        double lo = stack_below(pn, k, n - 1), hi = stack_below(pn, k + 1, n - 1);
        l[k] = (struct plot_label){.y = (y_of(p, s, lo) + y_of(p, s, hi)) / 2, .name = q->name,
                                   .color = q->color};
        value_text(l[k].value, sizeof l[k].value, hi - lo, pn->unit);
    }
}

static double panel_max(const struct plot *p, const struct plot_panel *pn)
{
    double max = 0;
    for (size_t i = 0; i < p->nsel; i++)
        for (size_t k = 0; k < pn->ns; k++) {
            double v = pn->stacked ? stack_below(pn, k + 1, i) : pn->s[k].y[i];
            max = isfinite(v) && v > max ? v : max;
        }
    return max;
}

static void panel(struct plot *p, const struct plot_panel *pn, bool last)
{
    struct plot_scale s = scale_for(panel_max(p, pn), pn->unit);
    text(p, PLOT_LEFT, p->top - 10, "font-size=\"14\" font-weight=\"bold\"", pn->title);
    fprintf(p->f, "<g class=\"panel\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"#fafafa\" stroke=\"#bbbbbb\"/>\n", PLOT_LEFT, p->top,
            PLOT_W - PLOT_LEFT - PLOT_RIGHT, PANEL_H);
    time_axis(p, last);
    value_axis(p, &s);
    struct plot_label l[TOP_CLASSES + 3];
    if (pn->stacked)
        areas(p, pn, &s, l);
    else
        lines(p, pn, &s, l);
    labels(p, l, pn->ns);
    if (!pn->ns && pn->empty)
        text(p, PLOT_LEFT + 12, p->top + 24, "fill=\"#666666\"", pn->empty);
    fputs("</g>\n", p->f);
    p->bottom = p->top + PANEL_H;
    p->top += PANEL_H + PANEL_GAP;
}

/* A vertical line over every panel and its name above the first; red for a failure. */
static void events(const struct plot *p, double first_top)
{
    for (size_t i = 0; i < p->tl->nevents; i++) {
        const struct hkd_tl_event *e = &p->tl->events[i];
        bool bad = !strcmp(e->kind, "oom") || !strcmp(e->kind, "signal");
        const char *color = bad ? EVENT_RED : "#888888";
        double x = x_of(p, (double)e->t_ms);
        fprintf(p->f, "<g class=\"event\">\n<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-width=\"%s\"%s/>\n", x, first_top - 24, x, p->bottom, color,
                bad ? "3" : "1.5", bad ? "" : " stroke-dasharray=\"6,4\"");
        char attrs[96], s[64];
        snprintf(attrs, sizeof attrs, "fill=\"%s\" font-weight=\"bold\" text-anchor=\"middle\"",
                 color);
        snprintf(s, sizeof s, "%s %.1f s", !strcmp(e->kind, "oom") ? "OOM" : e->kind,
                 (double)e->t_ms / 1000);
        text(p, x, first_top - 28 - (double)(i % 2) * 13, attrs, s);
        fputs("</g>\n", p->f);
    }
}

static void title(const struct plot *p, const struct hkd_model *m,
                  const struct hkd_findings *fs)
{
    const struct hkd_timeline *tl = p->tl;
    const struct hkd_num *pid = &tl->h[HKD_TH_pid], *every = &tl->h[HKD_TH_every_ms];
    const struct hkd_num *dec = &tl->h[HKD_TH_decimations], *iv = &tl->h[HKD_TH_interval_ms];
    char *head = hkd_xasprintf("hakmem timeline: %s (pid %llu)",
                               tl->exe ? tl->exe : hkd_loc_name(m, (struct hkd_loc){tl->input, 0}),
                               pid->set ? (unsigned long long)pid->v : 0ull);
    char *step = hkd_xasprintf("one sample every %llu ms (interval %llu ms, %llu decimation%s), "
                               "%zu samples over %.1f s",
                               every->set ? (unsigned long long)every->v : 0ull,
                               iv->set ? (unsigned long long)iv->v : 0ull,
                               dec->set ? (unsigned long long)dec->v : 0ull,
                               dec->set && dec->v == 1 ? "" : "s", tl->nsamples,
                               (p->t[p->nsel - 1] - p->t[0]) / 1000);
    char *sub = fs->n ? hkd_xasprintf("[%s] %s: %s", hkd_severity_names[fs->v[0].sev],
                                      fs->v[0].id, fs->v[0].title)
                      : hkd_xstrdup("no findings: the numbers read show nothing abnormal");
    text(p, 16, 24, "font-size=\"17\" font-weight=\"bold\"", head);
    text(p, 16, 44, "fill=\"#444444\"", step);
    text(p, 16, 62, fs->n && fs->v[0].sev >= HKD_SEV_WARNING ? "fill=\"#8a4b00\"" : "", sub);
    free(head);
    free(step);
    free(sub);
}

void hkd_plot_svg(FILE *f, const struct hkd_model *m, const struct hkd_timeline *tl,
                  const struct hkd_findings *fs)
{
    struct plot p = {.f = f, .tl = tl};
    select_samples(&p);
    struct plot_panel pn[4] = {
        {.title = "Memory"},
        {.title = "Mapped by tier", .stacked = true},
        {.title = "Live bytes of the 5 largest classes", .stacked = true,
         .empty = "no live= lists in this timeline"},
        {.title = "Census: freed blocks parked outside the slabs", .unit = UNIT_BLOCKS,
         .stacked = true}};
    sample_key(&pn[0], &p, "mapped", HKD_TS_bytes_mapped, 1);
    sample_key(&pn[0], &p, "resident", HKD_TS_vm_rss_kb, 1024);
    sample_key(&pn[0], &p, "live", HKD_TS_live_bytes, 1);
    sample_key(&pn[1], &p, "SuperSlabs", HKD_TS_superslab_bytes, 1);
    sample_key(&pn[1], &p, "large", HKD_TS_large_bytes, 1);
    class_panel(&pn[2], &p);
    size_t npanels = 3;
    if (tl->ncensus)
        census_panel(&pn[npanels++], &p);
    double h = PLOT_TOP + (double)npanels * (PANEL_H + PANEL_GAP) + PLOT_BOTTOM;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\" "
            "font-size=\"12\">\n<title>", PLOT_W, h, PLOT_W, h);
    hkd_xml_string(f, tl->exe ? tl->exe : "hakmem timeline");
    fprintf(f, "</title>\n<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", PLOT_W, h);
    title(&p, m, fs);
    p.top = PLOT_TOP + PANEL_GAP;
    double first_top = p.top;
    for (size_t i = 0; i < npanels; i++)
        panel(&p, &pn[i], i + 1 == npanels);
    events(&p, first_top);
    fputs("</svg>\n", f);
    for (size_t i = 0; i < 4; i++)
        panel_free(&pn[i]);
    free(p.sel);
    free(p.t);
}

void hkd_plot_html(FILE *f, const struct hkd_model *m, const struct hkd_timeline *tl,
                   const struct hkd_findings *fs)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>", f);
    hkd_xml_string(f, tl->exe ? tl->exe : "hakmem timeline");
    fputs(" \u2014 hkdump plot</title>\n<style>body{font-family:\"DejaVu Sans\",Arial,sans-serif;"
          "margin:16px;color:#222}pre{font-size:12px;white-space:pre-wrap;"
          "background:#f6f6f6;padding:8px;border:1px solid #ddd}</style>\n</head>\n<body>\n", f);
    hkd_plot_svg(f, m, tl, fs);
    fputs("<h2>Findings</h2>\n<pre>", f);
    char *report = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&report, &len);
    if (!mem)
        hkd_oom();
    hkd_out_text(mem, m, fs);
    fclose(mem);
    hkd_xml_string(f, report);
    free(report);
    fputs("</pre>\n</body>\n</html>\n", f);
}
