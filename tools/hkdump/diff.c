/* Two dumps (or any two inputs) side by side: the counters, limits, class rows and census
 * entries that changed, and the leak stacks that appeared, grew, shrank or went away. Stacks
 * are matched by module+offset frames, so two runs of the same binary match despite ASLR. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

struct out {
    FILE *f;
    bool json;
    size_t n;       /* entries written to the current JSON array */
    size_t changed; /* text: lines written in the current section */
};

static void num_text(char *buf, size_t len, const struct hk_num *n)
{
    if (!n->set)
        snprintf(buf, len, "-");
    else if (n->inf)
        snprintf(buf, len, "inf");
    else
        snprintf(buf, len, "%s", hk_count(n->v).s);
}

static void json_num(FILE *f, const struct hk_num *n)
{
    if (!n->set)
        fputs("null", f);
    else if (n->inf)
        fputs("\"inf\"", f);
    else
        fprintf(f, "%llu", (unsigned long long)n->v);
}

static void field(struct out *o, const char *name, const struct hk_num *a,
                  const struct hk_num *b)
{
    if (a->set == b->set && a->inf == b->inf && a->v == b->v)
        return;
    if (o->json) {
        fputs(o->n++ ? ",\n  {\"name\": " : "\n  {\"name\": ", o->f);
        hk_json_string(o->f, name, strlen(name));
        fputs(", \"a\": ", o->f);
        json_num(o->f, a);
        fputs(", \"b\": ", o->f);
        json_num(o->f, b);
        fputc('}', o->f);
        return;
    }
    char x[48], y[48], d[160] = "";
    num_text(x, sizeof x, a);
    num_text(y, sizeof y, b);
    if (a->set && b->set && !a->inf && !b->inf) {
        if (b->v >= a->v)
            snprintf(d, sizeof d, "  (+%s, \u00d7%s)", hk_count(b->v - a->v).s,
                     hk_ratio((double)b->v, (double)a->v).s);
        else
            snprintf(d, sizeof d, "  (-%s, \u00d7%.2f)", hk_count(a->v - b->v).s,
                     (double)b->v / (double)a->v);
    }
    fprintf(o->f, "  %-34s %15s \u2192 %-15s%s\n", name, x, y, d);
    o->changed++;
}

static void section_start(struct out *o, const char *title)
{
    if (!o->json)
        fprintf(o->f, "%s:\n", title);
    o->changed = 0;
}

static void section_end(struct out *o)
{
    if (!o->json && !o->changed)
        fprintf(o->f, "  (no change)\n");
}

static const struct hk_class_row *find_class(const struct hk_snapshot *v, unsigned id)
{
    for (size_t i = 0; i < v->nclasses; i++)
        if (v->classes[i].id == id)
            return &v->classes[i];
    return NULL;
}

static const struct hk_census_row *find_census(const struct hk_census_row *rows, size_t n,
                                               unsigned id)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].id == id)
            return &rows[i];
    return NULL;
}

static void classes(struct out *o, const struct hk_snapshot *a, const struct hk_snapshot *b)
{
    static const struct hk_class_row none;
    for (int pass = 0; pass < 2; pass++) {
        const struct hk_snapshot *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < x->nclasses; i++) {
            unsigned id = x->classes[i].id;
            if (pass && find_class(y, id))
                continue; /* already compared in the first pass */
            const struct hk_class_row *ra = pass ? &none : &x->classes[i];
            const struct hk_class_row *rb = pass ? &x->classes[i] : find_class(y, id);
            if (!rb)
                rb = &none;
            for (int k = 0; k < HK_C_COUNT; k++) {
                char name[64];
                snprintf(name, sizeof name, "class %u %s", id, hk_class_field_names[k]);
                field(o, name, &ra->f[k], &rb->f[k]);
            }
        }
    }
}

static void census(struct out *o, const char *what, const struct hk_census_row *ra, size_t na,
                   const struct hk_census_row *rb, size_t nb)
{
    static const struct hk_census_row none;
    for (int pass = 0; pass < 2; pass++) {
        const struct hk_census_row *xs = pass ? rb : ra, *ys = pass ? ra : rb;
        size_t nx = pass ? nb : na, ny = pass ? na : nb;
        for (size_t i = 0; i < nx; i++) {
            unsigned id = xs[i].id;
            if (pass && find_census(ys, ny, id))
                continue;
            const struct hk_census_row *x = pass ? &none : &xs[i];
            const struct hk_census_row *y = pass ? &xs[i] : find_census(ys, ny, id);
            if (!y)
                y = &none;
            for (int k = 0; k < HK_Z_COUNT; k++) {
                if (k == HK_Z_TID)
                    continue;
                char name[64];
                snprintf(name, sizeof name, "census %s %u %s", what, id,
                         hk_census_field_names[k]);
                field(o, name, &x->f[k], &y->f[k]);
            }
        }
    }
}

struct keyed {
    char *key;
    const struct hk_stack *s;
};

static void stack_keys(const struct hk_model *m, struct keyed *out)
{
    struct hk_symbolizer *sym = hk_sym_new(m);
    for (size_t i = 0; i < m->nstacks; i++) {
        const struct hk_stack *s = &m->stacks[i];
        char *k = hk_xstrdup(s->kind);
        for (size_t j = 0; j < s->nframes; j++) {
            char *fr = hk_sym_key(sym, s->frames[j]);
            char *t = hk_xasprintf("%s;%s", k, fr);
            free(k);
            free(fr);
            k = t;
        }
        out[i] = (struct keyed){k, s};
    }
    hk_sym_free(sym);
}

static const struct hk_stack *match(struct keyed *v, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].key, key) == 0)
            return v[i].s;
    return NULL;
}

static void stack_line(struct out *o, const char *change, const struct hk_stack *a,
                       const struct hk_stack *b, const char *key)
{
    uint64_t ab = a ? a->bytes : 0, bb = b ? b->bytes : 0;
    if (o->json) {
        fputs(o->n++ ? ",\n  {\"change\": " : "\n  {\"change\": ", o->f);
        hk_json_string(o->f, change, strlen(change));
        fprintf(o->f, ", \"a_bytes\": %llu, \"b_bytes\": %llu, \"a_blocks\": %llu, "
                      "\"b_blocks\": %llu, \"frames\": ",
                (unsigned long long)ab, (unsigned long long)bb,
                (unsigned long long)(a ? a->blocks : 0), (unsigned long long)(b ? b->blocks : 0));
        hk_json_string(o->f, key, strlen(key));
        fputc('}', o->f);
        return;
    }
    fprintf(o->f, "  %-6s %s \u2192 %s, %s \u2192 %s blocks: %s\n", change, hk_ibytes(ab).s,
            hk_ibytes(bb).s, hk_count(a ? a->blocks : 0).s, hk_count(b ? b->blocks : 0).s, key);
    o->changed++;
}

static void stacks(struct out *o, const struct hk_model *a, const struct hk_model *b)
{
    struct keyed *ka = hk_xcalloc(a->nstacks + 1, sizeof *ka);
    struct keyed *kb = hk_xcalloc(b->nstacks + 1, sizeof *kb);
    stack_keys(a, ka);
    stack_keys(b, kb);
    for (size_t i = 0; i < b->nstacks; i++) {
        const struct hk_stack *sa = match(ka, a->nstacks, kb[i].key), *sb = kb[i].s;
        const char *change = !sa                   ? "new"
                             : sb->bytes > sa->bytes ? "grown"
                             : sb->bytes < sa->bytes ? "shrunk"
                                                     : NULL;
        if (change)
            stack_line(o, change, sa, sb, kb[i].key);
    }
    for (size_t i = 0; i < a->nstacks; i++)
        if (!match(kb, b->nstacks, ka[i].key))
            stack_line(o, "gone", ka[i].s, NULL, ka[i].key);
    for (size_t i = 0; i < a->nstacks; i++)
        free(ka[i].key);
    for (size_t i = 0; i < b->nstacks; i++)
        free(kb[i].key);
    free(ka);
    free(kb);
}

void hk_diff(FILE *f, const struct hk_model *a, const struct hk_model *b, bool json)
{
    struct hk_snapshot va, vb;
    hk_model_view(a, &va);
    hk_model_view(b, &vb);
    struct out o = {.f = f, .json = json};
    const char *na = a->ninputs ? a->inputs[0].name : "A";
    const char *nb = b->ninputs ? b->inputs[0].name : "B";

    if (json) {
        fputs("{\"a\": ", f);
        hk_json_string(f, na, strlen(na));
        fputs(", \"b\": ", f);
        hk_json_string(f, nb, strlen(nb));
        fputs(",\n\"fields\": [", f);
    } else {
        fprintf(f, "hkdump diff: A = %s, B = %s\n", na, nb);
    }
    section_start(&o, "process and limits");
    for (int k = 0; k < HK_F_COUNT; k++)
        if (k != HK_F_PID && k != HK_F_TIME_NS)
            field(&o, hk_field_names[k], &va.f[k], &vb.f[k]);
    for (int t = 0; t < HK_TIER_COUNT; t++)
        for (int k = 0; k < HK_T_COUNT; k++) {
            char name[64];
            snprintf(name, sizeof name, "tier %s %s", hk_tier_names[t], hk_tier_field_names[k]);
            field(&o, name, &va.tier[t][k], &vb.tier[t][k]);
        }
    section_end(&o);
    section_start(&o, "classes");
    classes(&o, &va, &vb);
    section_end(&o);
    section_start(&o, "census");
    census(&o, "class", va.census, va.ncensus, vb.census, vb.ncensus);
    census(&o, "thread", va.census_threads, va.ncensus_threads, vb.census_threads,
           vb.ncensus_threads);
    section_end(&o);
    if (json) {
        fputs("],\n\"stacks\": [", f);
        o.n = 0;
    }
    section_start(&o, "leak stacks (matched by module+offset)");
    stacks(&o, a, b);
    section_end(&o);
    if (json)
        fputs("]}\n", f);
    hk_view_free(&va);
    hk_view_free(&vb);
}
