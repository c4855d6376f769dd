/* Findings over time, from timelines: memory that grows while the program's live bytes do
 * not (retention), live bytes that grow steadily (a leak), the time left before a limit at
 * the current rate (forecast), and the events the timeline recorded. A trend is claimed only
 * when the numbers leave no doubt (thresholds below, documented in docs/hkdump.md): a line
 * fitted by least squares that explains the samples (R²), growth large in bytes and in
 * share, no large fall inside the window (a saw-tooth of grow and free is no trend), and
 * still rising in the window's later half (a start-up ramp that levels off is no trend). */
#include "hkdump.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TREND_MIN_SAMPLES 5          /* samples in a window before any trend is judged */
#define TREND_MIN_R2 0.80            /* the fitted line explains this share of the variance */
#define TREND_MIN_RISE (8ull << 20)  /* growth over the window: at least 8 MiB ... */
#define TREND_MIN_SHARE 0.25         /* ... and 25 % of the fitted value at its start */
#define TREND_MAX_FALL 0.25          /* the largest fall inside the window / the growth */
#define TREND_END_SLOPE 0.50         /* later half's slope / the window's: still growing */
#define FLAT_MAX_SHARE 0.25          /* live "stays flat": its growth / mapped's at most */
#define ALONG_MIN_BLOCKS 1024        /* queued or parked blocks grow alongside: by this ... */
#define ALONG_MIN_SHARE 0.25         /* ... and this share of their count at the start */
#define ALONG_MIN_R2 0.50
#define FORECAST_MAX_S (7 * 86400.0) /* a limit further than a week away is not forecast */
#define FORECAST_WARN_S 3600.0       /* within the hour: a warning */
#define FORECAST_MIN_SPAN_S 1.0      /* a window shorter than this forecasts nothing ... */
#define FORECAST_MAX_REACH 100.0     /* ... nor one further ahead than this many windows */

/* A series of one timeline: the value of each point that has it, in time order. */
struct series {
    double *t, *y;    /* t in seconds */
    size_t *idx;      /* the point's position in the timeline (samples or census) */
    size_t n;
};

/* A least-squares line over a window of a series, and what the growth tests read. */
struct fit {
    size_t a, b;      /* the window: series positions a..b */
    size_t n;
    double slope;     /* per second */
    double r2;
    double start, end;/* the line's values at the window's first and last time */
    double rise;      /* end - start */
    double fall;      /* the largest fall from a value to a later one */
    double mean, first, last;
};

struct tctx {
    const struct hkd_model *m;
    const struct hkd_timeline *tl;
    struct hkd_findings *out;
    bool oom;         /* an OOM in this input or another: growth findings are errors */
};

struct hkd_where_tl {
    char s[200];
};

static struct hkd_where_tl at_line(const struct tctx *c, unsigned line)
{
    struct hkd_where_tl w;
    snprintf(w.s, sizeof w.s, "  [%s:%u]", hkd_loc_name(c->m, (struct hkd_loc){c->tl->input, 0}),
             line);
    return w;
}

static void series_free(struct series *s)
{
    free(s->t);
    free(s->y);
    free(s->idx);
    memset(s, 0, sizeof *s);
}

static void series_init(struct series *s, size_t cap)
{
    s->t = hkd_xcalloc(cap, sizeof *s->t);
    s->y = hkd_xcalloc(cap, sizeof *s->y);
    s->idx = hkd_xcalloc(cap, sizeof *s->idx);
    s->n = 0;
}

/* A sample key as bytes (the kB keys times 1024). */
static void sample_series(const struct tctx *c, int key, double scale, struct series *s)
{
    const struct hkd_timeline *tl = c->tl;
    series_init(s, tl->nsamples);
    for (size_t i = 0; i < tl->nsamples; i++) {
        const struct hkd_tl_point *p = &tl->samples[i];
        if (!hkd_tl_has(p, key))
            continue;
        s->t[s->n] = (double)p->v[HKD_TS_t_ms] / 1000.0;
        s->y[s->n] = (double)p->v[key] * scale;
        s->idx[s->n++] = i;
    }
}

/* Blocks parked in the census: fast caches, TLS lists and remote queues together. */
static void parked_series(const struct tctx *c, struct series *s)
{
    const struct hkd_timeline *tl = c->tl;
    static const int keys[] = {HKD_TC_fast_cache, HKD_TC_tls_list, HKD_TC_remote_queue};
    series_init(s, tl->ncensus);
    for (size_t i = 0; i < tl->ncensus; i++) {
        const struct hkd_tl_point *p = &tl->census[i];
        double y = 0;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            y += hkd_tl_has(p, keys[k]) ? (double)p->v[keys[k]] : 0;
        s->t[s->n] = (double)p->v[HKD_TC_t_ms] / 1000.0;
        s->y[s->n] = y;
        s->idx[s->n++] = i;
    }
}

/* Least squares over positions a..b; false when the times do not spread (one instant). */
static bool fit_line(const struct series *s, size_t a, size_t b, struct fit *f)
{
    memset(f, 0, sizeof *f);
    f->a = a, f->b = b, f->n = b - a + 1;
    double mt = 0, my = 0, sxx = 0, sxy = 0, syy = 0;
    for (size_t i = a; i <= b; i++)
        mt += s->t[i], my += s->y[i];
    mt /= (double)f->n, my /= (double)f->n;
    for (size_t i = a; i <= b; i++) {
        double dt = s->t[i] - mt, dy = s->y[i] - my;
        sxx += dt * dt, sxy += dt * dy, syy += dy * dy;
    }
    if (!(sxx > 0) || !isfinite(sxx) || !isfinite(sxy) || !isfinite(syy))
        return false;
    f->slope = sxy / sxx;
    f->r2 = syy > 0 ? sxy * sxy / (sxx * syy) : 0;
    f->start = my + f->slope * (s->t[a] - mt);
    f->end = my + f->slope * (s->t[b] - mt);
    f->rise = f->end - f->start;
    f->mean = my, f->first = s->y[a], f->last = s->y[b];
    double peak = s->y[a];
    for (size_t i = a; i <= b; i++) {
        peak = s->y[i] > peak ? s->y[i] : peak;
        f->fall = peak - s->y[i] > f->fall ? peak - s->y[i] : f->fall;
    }
    return true;
}

/* Does the series grow over a..b, without doubt (the tests at the top)? */
static bool grows(const struct series *s, size_t a, size_t b, struct fit *f)
{
    struct fit late;
    if (b < a || b - a + 1 < TREND_MIN_SAMPLES || !fit_line(s, a, b, f))
        return false;
    if (!(f->rise >= (double)TREND_MIN_RISE && f->r2 >= TREND_MIN_R2 &&
          f->rise >= TREND_MIN_SHARE * (f->start > 0 ? f->start : 0) &&
          f->fall <= TREND_MAX_FALL * f->rise))
        return false;
    return fit_line(s, a + (b - a) / 2, b, &late) && late.slope >= TREND_END_SLOPE * f->slope;
}

/* The first window over which the series grows: the whole run, else its later half. */
static bool grows_somewhere(const struct series *s, struct fit *f)
{
    if (s->n < TREND_MIN_SAMPLES)
        return false;
    return grows(s, 0, s->n - 1, f) || grows(s, s->n / 2, s->n - 1, f);
}

/* The same series over the window (in time) of another fit. */
static bool fit_over(const struct series *s, const struct series *w, const struct fit *wf,
                     struct fit *f)
{
    double t0 = w->t[wf->a], t1 = w->t[wf->b];
    size_t a = 0, b;
    while (a < s->n && s->t[a] < t0)
        a++;
    for (b = a; b + 1 < s->n && s->t[b + 1] <= t1;)
        b++;
    return a < s->n && s->t[a] <= t1 && b > a && fit_line(s, a, b, f);
}

/* "t_ms=A..B, samples i..j": where a window lies. */
static char *window_text(const struct tctx *c, const struct series *s, const struct fit *f)
{
    const struct hkd_tl_point *p = &c->tl->samples[s->idx[f->a]];
    const struct hkd_tl_point *q = &c->tl->samples[s->idx[f->b]];
    return hkd_xasprintf("t_ms=%llu..%llu, samples %zu..%zu",
                         (unsigned long long)p->v[HKD_TS_t_ms],
                         (unsigned long long)q->v[HKD_TS_t_ms], s->idx[f->a], s->idx[f->b]);
}

static void window_ev(const struct tctx *c, struct hkd_finding *x, const struct series *s,
                      const struct fit *f)
{
    hkd_ev_uint(x, "window_first_t_ms", c->tl->samples[s->idx[f->a]].v[HKD_TS_t_ms]);
    hkd_ev_uint(x, "window_last_t_ms", c->tl->samples[s->idx[f->b]].v[HKD_TS_t_ms]);
    hkd_ev_uint(x, "window_first_sample", s->idx[f->a]);
    hkd_ev_uint(x, "window_last_sample", s->idx[f->b]);
}

static unsigned sample_line(const struct tctx *c, const struct series *s, size_t pos)
{
    return c->tl->samples[s->idx[pos]].line;
}

/* "38.2 MiB/s", "-1.5 MiB/s". */
static char *rate_text(double bytes_per_s)
{
    return hkd_xasprintf("%s%s/s", bytes_per_s < 0 ? "-" : "",
                         hkd_ibytes(hkd_u64_of(fabs(bytes_per_s))).s);
}

/* The evidence line of one fitted series: "NAME A → B over WINDOW (least squares:
 * R MiB/s, R² 0.990)". */
static void fit_evidence(const struct tctx *c, struct hkd_finding *x, const char *name,
                         const struct series *s, const struct fit *f)
{
    char *win = window_text(c, s, f), *rate = rate_text(f->slope);
    hkd_strv_addf(&x->evidence, "%s %s \u2192 %s over %s (least squares: %s, R\u00b2 %.3f)%s",
                  name, hkd_ibytes(hkd_u64_of(f->first)).s, hkd_ibytes(hkd_u64_of(f->last)).s,
                  win, rate, f->r2, at_line(c, sample_line(c, s, f->b)).s);
    free(win);
    free(rate);
}

static double weight_of(double part, double whole)
{
    return hkd_cause_weight(whole > 0 ? part / whole : 0.5);
}

/* ---- retention: mapped grows, live does not ---- */

/* What holds retained memory, when it grows alongside: blocks queued for their owners' slabs,
 * or parked in the census's caches and lists. */
enum held_by { HELD_UNKNOWN = -1, HELD_REMOTE, HELD_PARKED };

/* Blocks that grow alongside over the window: the first explanation found (evidence for
 * each), or HELD_UNKNOWN. */
static enum held_by retention_why(const struct tctx *c, struct hkd_finding *x,
                                 const struct series *mapped, const struct fit *mf)
{
    struct series s[2];
    struct fit f;
    enum held_by why = HELD_UNKNOWN;
    sample_series(c, HKD_TS_remote_queue, 1, &s[0]);
    parked_series(c, &s[1]);
    static const char *const what[2] = {
        "remote_queue (blocks freed by other threads, waiting for their owner)",
        "census fast_cache + tls_list + remote_queue (freed blocks parked outside the slabs)"};
    static const char *const key[2] = {"remote_queue_growth", "parked_growth"};
    for (int k = 0; k < 2; k++) {
        if (!fit_over(&s[k], mapped, mf, &f) || f.rise < ALONG_MIN_BLOCKS || f.r2 < ALONG_MIN_R2 ||
            f.rise < ALONG_MIN_SHARE * f.start)
            continue;
        hkd_ev_uint(x, key[k], hkd_u64_of(f.last - f.first));
        hkd_strv_addf(&x->evidence, "%s %s \u2192 %s blocks over the same window (R\u00b2 "
                      "%.3f): the memory is held by freed blocks that never went back%s",
                      what[k], hkd_count(hkd_u64_of(f.first)).s,
                      hkd_count(hkd_u64_of(f.last)).s, f.r2,
                      at_line(c, k == 0 ? c->tl->samples[s[k].idx[f.b]].line
                                        : c->tl->census[s[k].idx[f.b]].line).s);
        why = why == HELD_UNKNOWN ? (enum held_by)k : why;
    }
    series_free(&s[0]);
    series_free(&s[1]);
    return why;
}

static void retention_advice(struct hkd_finding *x, enum held_by why, bool census)
{
    if (why == HELD_REMOTE)
        hkd_strv_add(&x->next, "remote queues drain when the owning thread refills that class: "
                               "an owner that stopped allocating it never drains them; the "
                               "exit dump's census_thread rows name the owners "
                               "(HAKMEM_DUMP_DIR, HAKMEM_SHADOW=1)");
    else if (why == HELD_PARKED)
        hkd_strv_add(&x->next, "blocks parked in thread caches and lists go back on spill and "
                               "at thread exit: check HAKMEM_TINY_TLS_LIST_SPILL and long-lived "
                               "threads that free but no longer allocate");
    if (!census)
        hkd_strv_add(&x->next, "HAKMEM_SHADOW=1 adds a sample_census to each sample: where the "
                               "freed blocks sit (fast cache, TLS list, remote queue)");
    hkd_strv_add(&x->next, "hkdump plot TIMELINE -o t.svg: mapped, resident and live bytes over "
                           "time, by tier and by class");
}

static void rule_retention(struct tctx *c)
{
    struct series mapped, live;
    struct fit mf, lf;
    sample_series(c, HKD_TS_bytes_mapped, 1, &mapped);
    sample_series(c, HKD_TS_live_bytes, 1, &live);
    if (grows_somewhere(&mapped, &mf) && fit_over(&live, &mapped, &mf, &lf) &&
        lf.rise <= FLAT_MAX_SHARE * mf.rise) {
        double kept = mf.rise - (lf.rise > 0 ? lf.rise : 0);
        char *rate = rate_text(mf.slope);
        struct hkd_finding *x = hkd_finding_new(
            c->out, "timeline-retention", c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
            "mapped grows %s while live bytes stay at %s: retention", rate,
            hkd_ibytes(hkd_u64_of(lf.mean)).s);
        free(rate);
        x->weight = weight_of(kept, mf.end);
        hkd_ev_real(x, "mapped_bytes_per_s", mf.slope);
        hkd_ev_real(x, "r2", mf.r2);
        hkd_ev_uint(x, "mapped_growth_bytes", hkd_u64_of(mf.rise));
        hkd_ev_uint(x, "live_mean_bytes", hkd_u64_of(lf.mean));
        window_ev(c, x, &mapped, &mf);
        fit_evidence(c, x, "bytes_mapped", &mapped, &mf);
        fit_evidence(c, x, "live_bytes", &live, &lf);
        hkd_strv_addf(&x->evidence, "%s mapped and not live: grown by %s while live bytes grew "
                      "%s", hkd_ibytes(hkd_u64_of(kept)).s, hkd_ibytes(hkd_u64_of(mf.rise)).s,
                      lf.rise > 0 ? hkd_ibytes(hkd_u64_of(lf.rise)).s : "none");
        static const char *const phrase[] = {"remote queues grow alongside",
                                             "parked blocks grow alongside"};
        enum held_by why = retention_why(c, x, &mapped, &mf);
        if (why != HELD_UNKNOWN) {
            char *t = hkd_xasprintf("%s (%s)", x->title, phrase[why]);
            free(x->title);
            x->title = t;
        }
        hkd_strv_add(&x->rules_out, "a leak in the program: its live bytes do not grow with the "
                                    "mapped memory");
        retention_advice(x, why, c->tl->ncensus > 0);
    }
    series_free(&mapped);
    series_free(&live);
}

/* ---- leak: live bytes grow steadily ---- */

static void rule_leak(struct tctx *c)
{
    struct series live, mapped;
    struct fit lf, mf;
    sample_series(c, HKD_TS_live_bytes, 1, &live);
    sample_series(c, HKD_TS_bytes_mapped, 1, &mapped);
    if (grows_somewhere(&live, &lf)) {
        char *rate = rate_text(lf.slope), *win = window_text(c, &live, &lf);
        struct hkd_finding *x = hkd_finding_new(
            c->out, "timeline-leak", c->oom ? HKD_SEV_ERROR : HKD_SEV_WARNING,
            "live bytes grow %s, steadily (R\u00b2 %.2f), from %s to %s: a leak or unbounded "
            "demand", rate, lf.r2, hkd_ibytes(hkd_u64_of(lf.first)).s,
            hkd_ibytes(hkd_u64_of(lf.last)).s);
        bool have_mapped = fit_over(&mapped, &live, &lf, &mf);
        x->weight = weight_of(lf.rise, have_mapped ? mf.end : 0);
        hkd_ev_real(x, "live_bytes_per_s", lf.slope);
        hkd_ev_real(x, "r2", lf.r2);
        hkd_ev_uint(x, "live_growth_bytes", hkd_u64_of(lf.rise));
        window_ev(c, x, &live, &lf);
        fit_evidence(c, x, "live_bytes", &live, &lf);
        if (have_mapped) {
            fit_evidence(c, x, "bytes_mapped", &mapped, &mf);
            hkd_strv_addf(&x->rules_out, "memory kept by the allocator: the live bytes account "
                          "for %s of the mapped growth", hkd_pct(lf.rise, mf.rise).s);
        }
        hkd_strv_add(&x->next, "HAKMEM_LEAK_CHECK=1: at exit, the live blocks grouped by "
                               "allocation stack (HAKMEM_LEAK_REPORT=all includes reachable "
                               "ones)");
        hkd_strv_add(&x->next, "hkdump plot TIMELINE -o t.svg: the classes whose live bytes grow");
        free(rate);
        free(win);
    }
    series_free(&live);
    series_free(&mapped);
}

/* ---- forecast: the time left before a limit ---- */

struct limit {
    const char *name;      /* "RLIMIT_AS" */
    const char *series;    /* "VmSize" */
    double limit, now, rate, eta;
    struct fit f;
    struct series s;
    bool ok;
};

/* The rate at the window's end (its later half's line) toward the limit. */
static void limit_eta(struct limit *l)
{
    struct fit late;
    l->ok = false;
    if (!grows_somewhere(&l->s, &l->f) || !fit_line(&l->s, l->f.a + (l->f.b - l->f.a) / 2,
                                                     l->f.b, &late) || !(late.slope > 0))
        return;
    l->rate = late.slope;
    l->now = l->s.y[l->s.n - 1];
    if (l->now >= l->limit)
        return;   /* reached already: the event or the dump says what happened */
    l->eta = (l->limit - l->now) / l->rate;
    /* A start-up burst of a fraction of a second says little about the minutes after it. */
    double span = l->s.t[l->f.b] - l->s.t[l->f.a];
    l->ok = l->eta <= FORECAST_MAX_S && span >= FORECAST_MIN_SPAN_S &&
            l->eta <= FORECAST_MAX_REACH * span;
}

static bool has_event(const struct hkd_timeline *tl, const char *kind)
{
    for (size_t i = 0; i < tl->nevents; i++)
        if (strcmp(tl->events[i].kind, kind) == 0)
            return true;
    return false;
}

static void limit_evidence(const struct tctx *c, struct hkd_finding *x, const struct limit *l)
{
    char *rate = rate_text(l->rate);
    hkd_strv_addf(&x->evidence, "%s %s of %s %s, growing %s at the end of the window: %s left "
                  "at that rate%s", l->series, hkd_ibytes(hkd_u64_of(l->now)).s, l->name,
                  hkd_ibytes(hkd_u64_of(l->limit)).s, rate, hkd_duration(l->eta).s,
                  at_line(c, sample_line(c, &l->s, l->s.n - 1)).s);
    free(rate);
    fit_evidence(c, x, l->series, &l->s, &l->f);
}

static void rule_forecast(struct tctx *c)
{
    const struct hkd_timeline *tl = c->tl;
    const struct hkd_num *as = &tl->h[HKD_TH_rlimit_as_cur], *mem = &tl->h[HKD_TH_mem_total_kb];
    struct limit l[2] = {{.name = "RLIMIT_AS", .series = "VmSize"},
                         {.name = "physical memory (MemTotal)", .series = "VmRSS"}};
    sample_series(c, HKD_TS_vm_size_kb, 1024, &l[0].s);
    sample_series(c, HKD_TS_vm_rss_kb, 1024, &l[1].s);
    l[0].limit = as->set && !as->inf ? (double)as->v : 0;
    l[1].limit = mem->set && !mem->inf ? (double)mem->v * 1024 : 0;
    /* After the process ran out or died, the forecast is history: the event says it. */
    bool over = has_event(tl, "oom") || has_event(tl, "signal");
    for (int i = 0; i < 2; i++)
        if (!over && l[i].limit > 0)
            limit_eta(&l[i]);
    int first = l[0].ok && (!l[1].ok || l[0].eta <= l[1].eta) ? 0 : l[1].ok ? 1 : -1;
    if (first >= 0) {
        const struct limit *p = &l[first];
        struct hkd_finding *x = hkd_finding_new(
            c->out, "timeline-forecast", p->eta <= FORECAST_WARN_S ? HKD_SEV_WARNING
                                                                    : HKD_SEV_NOTICE,
            "at this rate %s is reached in %s (%s grows %s/s)", p->name,
            hkd_duration(p->eta).s, p->series, hkd_ibytes(hkd_u64_of(p->rate)).s);
        hkd_ev_str(x, "limit", first == 0 ? "rlimit_as_cur" : "mem_total_kb");
        hkd_ev_real(x, "seconds_left", p->eta);
        hkd_ev_real(x, "bytes_per_s", p->rate);
        hkd_ev_uint(x, "limit_bytes", hkd_u64_of(p->limit));
        window_ev(c, x, &p->s, &p->f);
        for (int i = 0; i < 2; i++)
            if (l[i].ok)
                limit_evidence(c, x, &l[i]);
        hkd_strv_add(&x->rules_out, "a limit reached already: the last sample is below it");
        hkd_strv_add(&x->next, "the growth findings above say what grows; HAKMEM_DUMP_DIR=DIR "
                               "writes a dump when it runs out");
    }
    series_free(&l[0].s);
    series_free(&l[1].s);
}

/* ---- what the timeline says happened ---- */

/* The last sample at or before t: its position, or SIZE_MAX. */
static size_t sample_before(const struct hkd_timeline *tl, uint64_t t)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < tl->nsamples && tl->samples[i].v[HKD_TS_t_ms] <= t; i++)
        best = i;
    return best;
}

static void event_sample(const struct tctx *c, struct hkd_finding *x, uint64_t t)
{
    size_t i = sample_before(c->tl, t);
    if (i == SIZE_MAX)
        return;
    const struct hkd_tl_point *p = &c->tl->samples[i];
    hkd_strv_addf(&x->evidence, "the last sample by then, t_ms=%llu (sample %zu): mapped %s, "
                  "resident %s, live %s%s", (unsigned long long)p->v[HKD_TS_t_ms], i,
                  hkd_ibytes(p->v[HKD_TS_bytes_mapped]).s,
                  hkd_ibytes(hkd_mul_sat(p->v[HKD_TS_vm_rss_kb], 1024)).s,
                  hkd_ibytes(p->v[HKD_TS_live_bytes]).s, at_line(c, p->line).s);
}

static void rule_events(struct tctx *c)
{
    struct hkd_findings *out = c->out;
    const struct hkd_timeline *tl = c->tl;
    static const char *const kinds[] = {"oom", "signal"};
    for (size_t k = 0; k < 2; k++) {
        const struct hkd_tl_event *e = NULL;
        size_t n = 0;
        for (size_t i = 0; i < tl->nevents; i++)
            if (strcmp(tl->events[i].kind, kinds[k]) == 0)
                e = e ? e : &tl->events[i], n++;
        if (!e)
            continue;
        struct hkd_finding *x = hkd_finding_new(
            out, "timeline-event", HKD_SEV_INFO, "%s at %.1f s into the run (timeline)%s",
            k == 0 ? "out of memory" : "a fatal signal", (double)e->t_ms / 1000.0,
            n > 1 ? " and later again" : "");
        x->weight = -1;   /* context: the cause comes first, the event it led to last */
        if (!out->event)
            out->event = hkd_xstrdup(x->title);
        hkd_ev_str(x, "kind", e->kind);
        hkd_ev_uint(x, "t_ms", e->t_ms);
        hkd_ev_uint(x, "events", n);
        hkd_ev_str(x, "dump", e->dump);
        hkd_strv_addf(&x->evidence, "event t_ms=%llu kind=%s dump=%s%s",
                      (unsigned long long)e->t_ms, e->kind, e->dump, at_line(c, e->line).s);
        event_sample(c, x, e->t_ms);
        if (strcmp(e->dump, "none") != 0)
            hkd_strv_addf(&x->next, "hkdump %s %s: the timeline with the dump written at the "
                          "event (counters, census, limits)",
                          hkd_loc_name(c->m, (struct hkd_loc){tl->input, 0}), e->dump);
    }
}

static void rule_short(struct tctx *c)
{
    if (c->tl->nsamples >= TREND_MIN_SAMPLES)
        return;
    struct hkd_finding *x = hkd_finding_new(
        c->out, "timeline-short", HKD_SEV_INFO, "%zu sample%s: too few to judge a trend "
        "(at least %d)", c->tl->nsamples, c->tl->nsamples == 1 ? "" : "s", TREND_MIN_SAMPLES);
    hkd_ev_uint(x, "samples", c->tl->nsamples);
    hkd_strv_add(&x->next, "a smaller HAKMEM_STATS_INTERVAL_MS, or a longer run");
}

void hkd_trend_rules(const struct hkd_model *m, struct hkd_findings *out, bool *oom)
{
    for (size_t i = 0; i < m->ntimelines; i++) {
        struct tctx c = {.m = m, .tl = &m->timelines[i], .out = out};
        *oom |= has_event(c.tl, "oom");
        c.oom = *oom;
        rule_events(&c);
        rule_retention(&c);
        rule_leak(&c);
        rule_forecast(&c);
        rule_short(&c);
    }
}
