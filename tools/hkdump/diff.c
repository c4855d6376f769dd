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

static void num_text(char *buf, size_t len, const struct hkd_num *n)
{
    if (!n->set)
        snprintf(buf, len, "-");
    else if (n->inf)
        snprintf(buf, len, "inf");
    else
        snprintf(buf, len, "%s", hkd_count(n->v).s);
}

static void json_num(FILE *f, const struct hkd_num *n)
{
    if (!n->set)
        fputs("null", f);
    else if (n->inf)
        fputs("\"inf\"", f);
    else
        fprintf(f, "%llu", (unsigned long long)n->v);
}

static void field(struct out *o, const char *name, const struct hkd_num *a,
                  const struct hkd_num *b)
{
    if (a->set == b->set && a->inf == b->inf && a->v == b->v)
        return;
    if (o->json) {
        fputs(o->n++ ? ",\n  {\"name\": " : "\n  {\"name\": ", o->f);
        hkd_json_string(o->f, name, strlen(name));
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
            snprintf(d, sizeof d, "  (+%s, \u00d7%s)", hkd_count(b->v - a->v).s,
                     hkd_ratio((double)b->v, (double)a->v).s);
        else
            snprintf(d, sizeof d, "  (-%s, \u00d7%.2f)", hkd_count(a->v - b->v).s,
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

static void classes(struct out *o, const struct hkd_snapshot *a, const struct hkd_snapshot *b)
{
    static const struct hkd_class_row none;
    for (int pass = 0; pass < 2; pass++) {
        const struct hkd_snapshot *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < x->nclasses; i++) {
            unsigned id = x->classes[i].id;
            if (pass && hkd_snap_find_class(y, id))
                continue; /* already compared in the first pass */
            const struct hkd_class_row *ra = pass ? &none : &x->classes[i];
            const struct hkd_class_row *rb = pass ? &x->classes[i] : hkd_snap_find_class(y, id);
            if (!rb)
                rb = &none;
            for (int k = 0; k < HKD_C_COUNT; k++) {
                char name[64];
                snprintf(name, sizeof name, "class %u %s", id, hkd_class_field_names[k]);
                field(o, name, &ra->f[k], &rb->f[k]);
            }
        }
    }
}

static void census(struct out *o, const char *what, const struct hkd_snapshot *a,
                   const struct hkd_snapshot *b, bool thread)
{
    static const struct hkd_census_row none;
    for (int pass = 0; pass < 2; pass++) {
        const struct hkd_snapshot *xs = pass ? b : a, *ys = pass ? a : b;
        const struct hkd_census_row *rows = thread ? xs->census_threads : xs->census;
        size_t nx = thread ? xs->ncensus_threads : xs->ncensus;
        for (size_t i = 0; i < nx; i++) {
            unsigned id = rows[i].id;
            const struct hkd_census_row *other = hkd_snap_find_census(ys, id, thread);
            if (pass && other)
                continue; /* already compared in the first pass */
            const struct hkd_census_row *x = pass ? &none : &rows[i];
            const struct hkd_census_row *y = pass ? &rows[i] : other ? other : &none;
            for (int k = 0; k < HKD_Z_COUNT; k++) {
                if (k == HKD_Z_tid)
                    continue;
                char name[64];
                snprintf(name, sizeof name, "census %s %u %s", what, id,
                         hkd_census_field_names[k]);
                field(o, name, &x->f[k], &y->f[k]);
            }
        }
    }
}

struct keyed {
    char *key;
    const struct hkd_stack *s;
    size_t order; /* position in the input: the first of equal keys is the match */
};

/* "kind;module+0x..;..." in one buffer: linear in the number of frames. */
static char *stack_key(struct hkd_symbolizer *sym, const struct hkd_stack *s)
{
    char *k = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&k, &len);
    if (!f)
        hkd_oom();
    fputs(s->kind, f);
    for (size_t j = 0; j < s->nframes; j++) {
        char *fr = hkd_sym_key(sym, s->frames[j]);
        fprintf(f, ";%s", fr);
        free(fr);
    }
    if (fclose(f) != 0 || !k)
        hkd_oom();
    return k;
}

static void stack_keys(const struct hkd_model *m, struct keyed *out)
{
    struct hkd_symbolizer *sym = hkd_sym_new(m);
    for (size_t i = 0; i < m->nstacks; i++)
        out[i] = (struct keyed){stack_key(sym, &m->stacks[i]), &m->stacks[i], i};
    hkd_sym_free(sym);
}

static int by_key(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int r = strcmp(x->key, y->key);
    return r ? r : (x->order > y->order) - (x->order < y->order);
}

/* v sorted by_key: the first stack with that key, or NULL (binary search). */
static const struct hkd_stack *match(const struct keyed *v, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(v[lo].key, key) == 0 ? v[lo].s : NULL;
}

static void stack_line(struct out *o, const char *change, const struct hkd_stack *a,
                       const struct hkd_stack *b, const char *key)
{
    uint64_t ab = a ? a->bytes : 0, bb = b ? b->bytes : 0;
    if (o->json) {
        fputs(o->n++ ? ",\n  {\"change\": " : "\n  {\"change\": ", o->f);
        hkd_json_string(o->f, change, strlen(change));
        fprintf(o->f, ", \"a_bytes\": %llu, \"b_bytes\": %llu, \"a_blocks\": %llu, "
                      "\"b_blocks\": %llu, \"frames\": ",
                (unsigned long long)ab, (unsigned long long)bb,
                (unsigned long long)(a ? a->blocks : 0), (unsigned long long)(b ? b->blocks : 0));
        hkd_json_string(o->f, key, strlen(key));
        fputc('}', o->f);
        return;
    }
    fprintf(o->f, "  %-6s %s \u2192 %s, %s \u2192 %s blocks: %s\n", change, hkd_ibytes(ab).s,
            hkd_ibytes(bb).s, hkd_count(a ? a->blocks : 0).s, hkd_count(b ? b->blocks : 0).s, key);
    o->changed++;
}

static void stacks(struct out *o, const struct hkd_model *a, const struct hkd_model *b)
{
    struct keyed *ka = hkd_xcalloc(a->nstacks + 1, sizeof *ka);
    struct keyed *kb = hkd_xcalloc(b->nstacks + 1, sizeof *kb);
    stack_keys(a, ka);
    stack_keys(b, kb);
    /* Sorted copies to match against; the report keeps the inputs' order. */
    struct keyed *sa_sorted = hkd_xcalloc(a->nstacks + 1, sizeof *ka);
    struct keyed *sb_sorted = hkd_xcalloc(b->nstacks + 1, sizeof *kb);
    memcpy(sa_sorted, ka, a->nstacks * sizeof *ka);
    memcpy(sb_sorted, kb, b->nstacks * sizeof *kb);
    qsort(sa_sorted, a->nstacks, sizeof *ka, by_key);
    qsort(sb_sorted, b->nstacks, sizeof *kb, by_key);
    for (size_t i = 0; i < b->nstacks; i++) {
        const struct hkd_stack *sa = match(sa_sorted, a->nstacks, kb[i].key), *sb = kb[i].s;
        const char *change = !sa                   ? "new"
                             : sb->bytes > sa->bytes ? "grown"
                             : sb->bytes < sa->bytes ? "shrunk"
                                                     : NULL;
        if (change)
            stack_line(o, change, sa, sb, kb[i].key);
    }
    for (size_t i = 0; i < a->nstacks; i++)
        if (!match(sb_sorted, b->nstacks, ka[i].key))
            stack_line(o, "gone", ka[i].s, NULL, ka[i].key);
    for (size_t i = 0; i < a->nstacks; i++)
        free(ka[i].key);
    for (size_t i = 0; i < b->nstacks; i++)
        free(kb[i].key);
    free(sa_sorted);
    free(sb_sorted);
    free(ka);
    free(kb);
}

void hkd_diff(FILE *f, const struct hkd_model *a, const struct hkd_model *b, bool json)
{
    struct hkd_snapshot va, vb;
    hkd_model_view(a, &va);
    hkd_model_view(b, &vb);
    struct out o = {.f = f, .json = json};
    const char *na = a->ninputs ? a->inputs[0].name : "A";
    const char *nb = b->ninputs ? b->inputs[0].name : "B";

    if (json) {
        fputs("{\"a\": ", f);
        hkd_json_string(f, na, strlen(na));
        fputs(", \"b\": ", f);
        hkd_json_string(f, nb, strlen(nb));
        fputs(",\n\"fields\": [", f);
    } else {
        fprintf(f, "hkdump diff: A = %s, B = %s\n", na, nb);
    }
    section_start(&o, "process and limits");
    for (int k = 0; k < HKD_F_COUNT; k++)
        if (k != HKD_F_pid && k != HKD_F_time_ns)
            field(&o, hkd_field_names[k], &va.f[k], &vb.f[k]);
    for (int t = 0; t < HKD_TIER_COUNT; t++)
        for (int k = 0; k < HKD_T_COUNT; k++) {
            char name[64];
            snprintf(name, sizeof name, "tier %s %s", hkd_tier_names[t], hkd_tier_field_names[k]);
            field(&o, name, &va.tier[t][k], &vb.tier[t][k]);
        }
    section_end(&o);
    section_start(&o, "classes");
    classes(&o, &va, &vb);
    section_end(&o);
    section_start(&o, "census");
    census(&o, "class", &va, &vb, false);
    census(&o, "thread", &va, &vb, true);
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
    hkd_view_free(&va);
    hkd_view_free(&vb);
}
