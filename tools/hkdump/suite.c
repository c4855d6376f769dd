/* hkdump suite DIR: the leak reports that the processes of a test suite wrote in suite mode
 * (HAKMEM_LEAK_SUITE_DIR, docs/leaks.md "Suite mode") read into one model: a process per
 * report, and each leak stack once over all of them, with what it cost in all and which
 * tests leaked it. A file that is not such a report is said in one line and skipped. The
 * outputs are in suite_out.c and out_json.c. */
#include "hkdump.h"
#include "hakmem.h"
#include "hk_glob.h"

#include <stdlib.h>
#include <string.h>

void hkd_suite_init(struct hkd_suite *s) { memset(s, 0, sizeof *s); }

size_t hkd_suite_errors(const struct hkd_suite *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        n += s->procs[i].error != NULL && !s->procs[i].blocks;
    return n;
}

static void hkd_sframes_free(struct hkd_sframe *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].func);
        free(f[i].module);
        free(f[i].source);
        for (size_t k = 0; k < 2 * f[i].ninl; k++)
            free(f[i].inl[k]);
        free(f[i].inl);
    }
    free(f);
}

void hkd_suite_free(struct hkd_suite *s)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        struct hkd_sproc *p = &s->procs[i];
        free(p->file);
        free(p->exe);
        free(p->name);
        free(p->leaks);
        free(p->error);
    }
    for (size_t i = 0; i < s->nleaks; i++) {
        free(s->leaks[i].key);
        hkd_sframes_free(s->leaks[i].frames, s->leaks[i].nframes);
    }
    free(s->procs);
    free(s->leaks);
    free(s->index);
    free(s->order);
    hkd_strv_free(&s->baseline);
    memset(s, 0, sizeof *s);
}

static const char *hkd_base(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* ---- one report ---- */

/* A string of a report, copied with every control byte as '?': names, paths and argv go to a
 * terminal, a baseline file and XML, where a newline or an escape sequence must not pass. */
static char *hkd_suite_scrub(char *c)
{
    for (unsigned char *q = (unsigned char *)c; *q; q++)
        if (*q < 0x20 || *q == 0x7f)
            *q = '?';
    return c;
}

static char *hkd_suite_str(const char *v)
{
    return hkd_suite_scrub(hkd_xstrdup(v));
}

/* Element i of a parallel array of strings, or dflt. */
static const char *hkd_sarr_str(const struct hkd_json *a, size_t i, const char *dflt)
{
    return a && i < a->n && a->v[i].type == HKD_J_STR ? a->v[i].s : dflt;
}

static uint64_t hkd_sarr_u64(const struct hkd_json *a, size_t i)
{
    return a && i < a->n && a->v[i].type == HKD_J_NUM ? a->v[i].u : 0;
}

/* The inlined functions of frame i (the record's "inlined"; entries that are not
 * {"function": string, ...} are left out). */
static void hkd_suite_inlined(struct hkd_sframe *f, const struct hkd_json *in, size_t i)
{
    const struct hkd_json *a = in && i < in->n && in->v[i].type == HKD_J_ARR ? &in->v[i] : NULL;
    size_t n = a ? a->n : 0;
    if (n > HKD_SUITE_MAX_FRAMES)
        n = HKD_SUITE_MAX_FRAMES;
    f->inl = n ? hkd_xcalloc(2 * n, sizeof *f->inl) : NULL;
    for (size_t k = 0; k < n; k++) {
        const struct hkd_json *fn = hkd_json_get(&a->v[k], "function", HKD_J_STR);
        const struct hkd_json *so = hkd_json_get(&a->v[k], "source", HKD_J_STR);
        if (!fn)
            continue;
        f->inl[2 * f->ninl] = hkd_suite_str(fn->s);
        f->inl[2 * f->ninl + 1] = hkd_suite_str(so ? so->s : "");
        f->ninl++;
    }
}

/* The frames of a record (parallel arrays frames, modules, offsets, sources, inlined), and
 * the key that merges equal stacks. */
static struct hkd_sframe *hkd_suite_frames(const struct hkd_json *rec, size_t *n, char **key)
{
    const struct hkd_json *fr = hkd_json_get(rec, "frames", HKD_J_ARR);
    const struct hkd_json *mo = hkd_json_get(rec, "modules", HKD_J_ARR);
    const struct hkd_json *of = hkd_json_get(rec, "offsets", HKD_J_ARR);
    const struct hkd_json *so = hkd_json_get(rec, "sources", HKD_J_ARR);
    const struct hkd_json *in = hkd_json_get(rec, "inlined", HKD_J_ARR);
    size_t nf = fr ? fr->n : 0;
    if (mo && mo->n > nf)
        nf = mo->n;
    if (nf > HKD_SUITE_MAX_FRAMES)
        nf = HKD_SUITE_MAX_FRAMES;
    struct hkd_sframe *f = hkd_xcalloc(nf ? nf : 1, sizeof *f);
    struct hkd_strv parts = {0};
    for (size_t i = 0; i < nf; i++) {
        f[i].func = hkd_suite_str(hkd_sarr_str(fr, i, "?"));
        f[i].module = hkd_suite_str(hkd_sarr_str(mo, i, "?"));
        f[i].source = hkd_suite_str(hkd_sarr_str(so, i, ""));
        f[i].offset = hkd_sarr_u64(of, i);
        hkd_suite_inlined(&f[i], in, i);
        if (strcmp(f[i].module, "?"))
            hkd_strv_addf(&parts, "%s+%llx", hkd_base(f[i].module),
                          (unsigned long long)f[i].offset);
        else
            hkd_strv_addf(&parts, "?%s", f[i].func);
    }
    size_t len = 1;
    for (size_t i = 0; i < parts.n; i++)
        len += strlen(parts.v[i]) + 1;
    char *k = *key = hkd_xcalloc(len, 1);
    for (size_t i = 0; i < parts.n; i++) {
        size_t l = strlen(parts.v[i]);
        memcpy(k, parts.v[i], l);
        k[l] = ';';
        k += l + 1;
    }
    hkd_strv_free(&parts);
    *n = nf;
    return f;
}

/* ---- the merged leaks, found by (kind, key) in an open-addressing table of indices ---- */

static uint64_t hkd_suite_hash(const char *kind, const char *key)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (const char *p = kind; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* The slot of (kind, key): the leak's index + 1 there, or 0 where it would go. */
static size_t *hkd_suite_slot(struct hkd_suite *s, const char *kind, const char *key)
{
    size_t mask = s->cap_index - 1;
    for (size_t i = hkd_suite_hash(kind, key) & mask;; i = (i + 1) & mask) {
        size_t *slot = &s->index[i];
        if (!*slot || (!strcmp(s->leaks[*slot - 1].kind, kind) &&
                       !strcmp(s->leaks[*slot - 1].key, key)))
            return slot;
    }
}

/* Keeps the table at most half full (rebuilt twice as large). */
static void hkd_suite_index_grow(struct hkd_suite *s)
{
    if (2 * (s->nleaks + 1) <= s->cap_index)
        return;
    free(s->index);
    s->cap_index = s->cap_index ? 2 * s->cap_index : 64;
    s->index = hkd_xcalloc(s->cap_index, sizeof *s->index);
    for (size_t i = 0; i < s->nleaks; i++)
        *hkd_suite_slot(s, s->leaks[i].kind, s->leaks[i].key) = i + 1;
}

/* The merged leak of that kind and key, made when new; its index. */
static size_t hkd_suite_leak(struct hkd_suite *s, const char *kind, const struct hkd_json *rec)
{
    size_t nf;
    char *key;
    struct hkd_sframe *f = hkd_suite_frames(rec, &nf, &key);
    hkd_suite_index_grow(s);
    size_t *slot = hkd_suite_slot(s, kind, key);
    if (*slot) {
        free(key);
        hkd_sframes_free(f, nf);
        return *slot - 1;
    }
    hkd_grow((void **)&s->leaks, &s->cap_leaks, s->nleaks, sizeof *s->leaks);
    struct hkd_sleak *l = &s->leaks[s->nleaks];
    memset(l, 0, sizeof *l);
    l->key = key;
    snprintf(l->kind, sizeof l->kind, "%s", kind);
    l->frames = f;
    l->nframes = nf;
    *slot = s->nleaks + 1;
    return s->nleaks++;
}

static void hkd_suite_record(struct hkd_suite *s, struct hkd_sproc *p, const struct hkd_json *rec)
{
    const char *kind = hkd_json_str(rec, "kind", "");
    if (!strcmp(kind, "reachable")) {
        s->reachable++;
        return;
    }
    if (strcmp(kind, "direct") && strcmp(kind, "indirect"))
        kind = "direct";   /* "lost" (version 2): a leak all the same */
    struct hkd_sprocleak pl = {hkd_suite_leak(s, kind, rec), 0, 0};
    hkd_json_u64(rec, "blocks", &pl.blocks);
    hkd_json_u64(rec, "bytes", &pl.bytes);
    struct hkd_sleak *l = &s->leaks[pl.leak];
    if (l->last_proc == s->nprocs) {   /* the same stack twice in one report */
        struct hkd_sprocleak *q = &p->leaks[l->last_entry];
        q->blocks = hkd_add_sat(q->blocks, pl.blocks);
        q->bytes = hkd_add_sat(q->bytes, pl.bytes);
        return;
    }
    l->last_proc = s->nprocs;
    l->last_entry = p->nleaks;
    hkd_grow((void **)&p->leaks, &p->cap_leaks, p->nleaks, sizeof *p->leaks);
    p->leaks[p->nleaks++] = pl;
}

/* "test arg ...": argv with argv[0]'s directory left out; the executable's name without. */
static char *hkd_suite_name(const struct hkd_json *argv, const char *exe)
{
    struct hkd_strv w = {0};
    for (size_t i = 0; argv && i < argv->n && i < 16; i++)
        if (argv->v[i].type == HKD_J_STR)
            hkd_strv_add(&w, w.n ? argv->v[i].s : hkd_base(argv->v[i].s));
    if (!w.n)
        hkd_strv_add(&w, hkd_base(exe));
    size_t len = 1;
    for (size_t i = 0; i < w.n; i++)
        len += strlen(w.v[i]) + 1;
    char *name = hkd_xcalloc(len, 1);
    for (size_t i = 0; i < w.n; i++) {
        if (i)
            strcat(name, " ");
        strcat(name, w.v[i]);
    }
    hkd_strv_free(&w);
    return hkd_suite_scrub(name);
}

static int hkd_status_of(const struct hkd_json *root, const char *key)
{
    uint64_t v;
    return hkd_json_u64(root, key, &v) && v <= 255 ? (int)v : -1;
}

/* Whether root is a leak report hkdump can read; why not in err. */
static bool hkd_suite_valid(const struct hkd_json *root, char *err, size_t errlen)
{
    uint64_t version = 0;
    if (root->type != HKD_J_OBJ)
        snprintf(err, errlen, "not a JSON object");
    else if (strcmp(hkd_json_str(root, "report", ""), "leak"))
        snprintf(err, errlen, "not a hakmem leak report (no \"report\": \"leak\")");
    else if (!hkd_json_u64(root, "version", &version) || !version)
        snprintf(err, errlen, "no version");
    else if (version > HAKMEM_JSON_VERSION)
        snprintf(err, errlen, "version %llu, newer than this hkdump reads (%d)",
                 (unsigned long long)version, HAKMEM_JSON_VERSION);
    else if (!hkd_json_get(root, "leaks", HKD_J_ARR) && !hkd_json_get(root, "error", HKD_J_STR))
        snprintf(err, errlen, "no \"leaks\" array");
    else
        return true;
    return false;
}

int hkd_suite_add(struct hkd_suite *s, const char *file, const char *data, size_t len,
                  char *err, size_t errlen)
{
    struct hkd_json root;
    if (hkd_json_parse(data, len, &root, err, errlen))
        return -1;
    if (!hkd_suite_valid(&root, err, errlen)) {
        hkd_json_free(&root);
        return -1;
    }
    hkd_grow((void **)&s->procs, &s->cap_procs, s->nprocs, sizeof *s->procs);
    struct hkd_sproc *p = &s->procs[s->nprocs++];
    memset(p, 0, sizeof *p);
    p->file = hkd_xstrdup(file);
    hkd_json_u64(&root, "pid", &p->pid);
    hkd_json_u64(&root, "ppid", &p->ppid);
    p->exe = hkd_suite_str(hkd_json_str(&root, "exe", "?"));
    const char *error = hkd_json_str(&root, "error", NULL);
    p->error = error ? hkd_suite_str(error) : NULL;
    p->name = hkd_suite_name(hkd_json_get(&root, "argv", HKD_J_ARR), p->exe);
    p->exit_status = hkd_status_of(&root, "exit_status");
    p->leak_exit_status = hkd_status_of(&root, "leak_exit_status");
    const struct hkd_json *leaks = hkd_json_get(&root, "leaks", HKD_J_ARR);
    for (size_t i = 0; leaks && i < leaks->n; i++)
        if (leaks->v[i].type == HKD_J_OBJ)
            hkd_suite_record(s, p, &leaks->v[i]);
    hkd_json_free(&root);
    return 0;
}

/* ---- the baseline: LeakSanitizer's suppression syntax, matched as hakmem matches it ---- */

/* The first baseline pattern that matches a frame's function (or one inlined there) or
 * module, or NULL. */
static const char *hkd_supp_match(const struct hkd_suite *s, const struct hkd_sleak *l)
{
    for (size_t k = 0; k < s->baseline.n; k++) {
        const char *pat = s->baseline.v[k];
        for (size_t i = 0; i < l->nframes; i++) {
            const struct hkd_sframe *f = &l->frames[i];
            if ((strcmp(f->func, "?") && hk_glob_lsan(pat, f->func)) ||
                (strcmp(f->module, "?") && (hk_glob_lsan(pat, f->module) ||
                                            hk_glob_lsan(pat, hkd_base(f->module)))))
                return pat;
            for (size_t j = 0; j < f->ninl; j++)   /* inlined functions, as the process */
                if (hk_glob_lsan(pat, f->inl[2 * j]))
                    return pat;
        }
    }
    return NULL;
}

bool hkd_suite_baseline(struct hkd_suite *s, const char *text, size_t len, char *err,
                        size_t errlen)
{
    struct hkd_input in;
    hkd_input_from_memory(&in, "baseline", text, len);
    struct hkd_lines it;
    hkd_lines_init(&it, &in);
    struct hkd_span line;
    bool complete = true;
    while (hkd_lines_next(&it, &line, &complete)) {
        struct hkd_span t = hkd_span_trim(line);
        if (t.n > 4095) {
            snprintf(err, errlen, "line %u is longer than 4095 bytes", it.lineno);
            hkd_input_free(&in);
            return false;
        }
        if (hkd_span_starts(t, "leak:") && t.n > 5) {
            struct hkd_span pat = hkd_span_trim((struct hkd_span){t.p + 5, t.n - 5});
            if (pat.n && !memchr(pat.p, '\0', pat.n)) {
                char *copy = hkd_xstrndup(pat.p, pat.n);
                hkd_strv_add(&s->baseline, copy);
                free(copy);
            }
        }
    }
    hkd_input_free(&in);
    return true;
}

/* ---- totals and order ---- */

static const struct hkd_suite *hkd_sort_suite;

static int hkd_leak_cmp(const void *a, const void *b)
{
    const struct hkd_sleak *x = &hkd_sort_suite->leaks[*(const size_t *)a];
    const struct hkd_sleak *y = &hkd_sort_suite->leaks[*(const size_t *)b];
    int dx = !strcmp(x->kind, "direct"), dy = !strcmp(y->kind, "direct");
    if (dx != dy)
        return dy - dx;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->blocks != y->blocks)
        return x->blocks < y->blocks ? 1 : -1;
    return strcmp(x->key, y->key);
}

void hkd_suite_finish(struct hkd_suite *s)
{
    for (size_t i = 0; i < s->nleaks; i++)
        s->leaks[i].supp = (char *)hkd_supp_match(s, &s->leaks[i]);
    for (size_t i = 0; i < s->nprocs; i++) {
        struct hkd_sproc *p = &s->procs[i];
        for (size_t k = 0; k < p->nleaks; k++) {
            struct hkd_sleak *l = &s->leaks[p->leaks[k].leak];
            l->blocks = hkd_add_sat(l->blocks, p->leaks[k].blocks);
            l->bytes = hkd_add_sat(l->bytes, p->leaks[k].bytes);
            l->nprocs++;
            if (!l->supp) {
                p->blocks = hkd_add_sat(p->blocks, p->leaks[k].blocks);
                p->bytes = hkd_add_sat(p->bytes, p->leaks[k].bytes);
            }
        }
    }
    s->order = hkd_xcalloc(s->nleaks ? s->nleaks : 1, sizeof *s->order);
    for (size_t i = 0; i < s->nleaks; i++)
        s->order[i] = i;
    hkd_sort_suite = s;
    qsort(s->order, s->nleaks, sizeof *s->order, hkd_leak_cmp);
    hkd_sort_suite = NULL;
}

size_t hkd_suite_count(const struct hkd_suite *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nleaks; i++)
        n += !s->leaks[i].supp;
    return n;
}
