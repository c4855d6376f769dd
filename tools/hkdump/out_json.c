/* The report for machines: {"inputs":[…], "findings":[…], "unparsed":[…]} (docs/hkdump.md).
 * Always valid JSON, whatever bytes the inputs held. */
#include "hkdump.h"
#include "hk_utf8.h"

#include <string.h>


void hkd_json_string(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
            i++;
        } else if (c == '\n') {
            fputs("\\n", f);
            i++;
        } else if (c == '\t') {
            fputs("\\t", f);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, f);
            i++;
        } else {
            size_t len = hk_utf8_len(p + i, n - i);
            if (len) {
                fwrite(p + i, 1, len, f);
                i += len;
            } else {
                fputs("\\ufffd", f);
                i++;
            }
        }
    }
    fputc('"', f);
}

static void str(FILE *f, const char *s)
{
    hkd_json_string(f, s, strlen(s));
}

static void strv(FILE *f, const struct hkd_strv *sv)
{
    fputc('[', f);
    for (size_t i = 0; i < sv->n; i++) {
        if (i)
            fputs(", ", f);
        str(f, sv->v[i]);
    }
    fputc(']', f);
}

static void evidence(FILE *f, const struct hkd_finding *x)
{
    fputc('{', f);
    for (size_t i = 0; i < x->nev; i++) {
        const struct hkd_ev *e = &x->ev[i];
        fputs(i ? ", " : "", f);
        str(f, e->key);
        fputs(": ", f);
        switch (e->type) {
        case HKD_EV_UINT: fprintf(f, "%llu", (unsigned long long)e->u); break;
        case HKD_EV_INT: fprintf(f, "%lld", (long long)e->i); break;
        case HKD_EV_REAL: fprintf(f, "%.15g", e->d); break;
        case HKD_EV_STR: str(f, e->s); break;
        case HKD_EV_INF: str(f, "inf"); break;
        }
    }
    fputc('}', f);
}

void hkd_out_json(FILE *f, const struct hkd_model *m, const struct hkd_findings *fs)
{
    fputs("{\"inputs\": [", f);
    for (size_t i = 0; i < m->ninputs; i++) {
        const struct hkd_input_info *ii = &m->inputs[i];
        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
        str(f, ii->name);
        const struct hkd_timeline *tl = hkd_model_timeline(m, (int)i);
        fprintf(f, ", \"kind\": \"%s\"", ii->is_dump ? "dump" : tl ? "timeline" : "text");
        if (ii->is_dump || tl)
            fprintf(f, ", \"version\": %u, \"truncated\": %s", ii->version,
                    ii->truncated ? "true" : "false");
        if (tl)
            fprintf(f, ", \"samples\": %zu, \"events\": %zu", tl->nsamples, tl->nevents);
        fprintf(f, ", \"lines\": %u, \"records\": %u}", ii->lines, ii->records);
    }
    fputs("],\n\"event\": ", f);
    if (fs->event)
        str(f, fs->event);
    else
        fputs("null", f);
    const struct hkd_finding *cause = hkd_findings_cause(fs);
    fputs(", \"cause\": ", f);
    if (cause)
        str(f, cause->id);
    else
        fputs("null", f);
    fputs(",\n\"findings\": [", f);
    for (size_t i = 0; i < fs->n; i++) {
        const struct hkd_finding *x = &fs->v[i];
        fputs(i ? ",\n  {\"id\": " : "\n  {\"id\": ", f);
        str(f, x->id);
        fprintf(f, ", \"severity\": \"%s\", \"title\": ", hkd_severity_names[x->sev]);
        str(f, x->title);
        fputs(",\n   \"evidence\": ", f);
        evidence(f, x);
        fputs(",\n   \"evidence_text\": ", f);
        strv(f, &x->evidence);
        fputs(",\n   \"rules_out\": ", f);
        strv(f, &x->rules_out);
        fputs(",\n   \"next\": ", f);
        strv(f, &x->next);
        fputc('}', f);
    }
    fputs("],\n\"unparsed\": [", f);
    for (size_t i = 0; i < m->nunparsed; i++) {
        const struct hkd_unparsed *u = &m->unparsed[i];
        fputs(i ? ",\n  {\"input\": " : "\n  {\"input\": ", f);
        str(f, hkd_loc_name(m, u->at));
        fprintf(f, ", \"line\": %u, \"reason\": ", u->at.line);
        str(f, u->reason);
        fputs(", \"text\": ", f);
        str(f, u->text);
        fputc('}', f);
    }
    fprintf(f, "],\n\"unparsed_total\": %zu}\n", m->unparsed_total);
}

/* ---- hkdump suite --json ---- */

static void hkd_suite_json_leak(FILE *f, const struct hkd_suite *s, size_t idx)
{
    const struct hkd_sleak *l = &s->leaks[idx];
    fputs("{\"kind\": ", f);
    str(f, l->kind);
    fprintf(f, ", \"blocks\": %llu, \"bytes\": %llu, \"processes\": %zu, \"suppressed_by\": ",
            (unsigned long long)l->blocks, (unsigned long long)l->bytes, l->nprocs);
    if (l->supp)
        str(f, l->supp);
    else
        fputs("null", f);
    fputs(",\n   \"tests\": [", f);
    size_t n = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        for (size_t k = 0; k < s->procs[i].nleaks; k++)
            if (s->procs[i].leaks[k].leak == idx) {
                fputs(n++ ? ", " : "", f);
                str(f, s->procs[i].name);
            }
    fputs("],\n   \"frames\": [", f);
    for (size_t i = 0; i < l->nframes; i++) {
        const struct hkd_sframe *fr = &l->frames[i];
        fputs(i ? ", {\"function\": " : "{\"function\": ", f);
        str(f, fr->func);
        fputs(", \"module\": ", f);
        str(f, fr->module);
        fprintf(f, ", \"offset\": %llu, \"source\": ", (unsigned long long)fr->offset);
        str(f, fr->source);
        fputs(", \"inlined\": [", f);
        for (size_t k = 0; k < fr->ninl; k++) {
            fputs(k ? ", {\"function\": " : "{\"function\": ", f);
            str(f, fr->inl[2 * k]);
            fputs(", \"source\": ", f);
            str(f, fr->inl[2 * k + 1]);
            fputc('}', f);
        }
        fputs("]}", f);
    }
    fputs("]}", f);
}

static void hkd_suite_json_proc(FILE *f, const struct hkd_sproc *p)
{
    fputs("{\"name\": ", f);
    str(f, p->name);
    fprintf(f, ", \"pid\": %llu, \"ppid\": %llu, \"exe\": ", (unsigned long long)p->pid,
            (unsigned long long)p->ppid);
    str(f, p->exe);
    fputs(", \"file\": ", f);
    str(f, p->file);
    fputs(", \"exit_status\": ", f);
    if (p->exit_status >= 0)
        fprintf(f, "%d", p->exit_status);
    else
        fputs("null", f);
    fputs(", \"error\": ", f);
    if (p->error)
        str(f, p->error);
    else
        fputs("null", f);
    fprintf(f, ", \"leaked\": %s, \"blocks\": %llu, \"bytes\": %llu}", p->blocks ? "true" : "false",
            (unsigned long long)p->blocks, (unsigned long long)p->bytes);
}

void hkd_suite_out_json(FILE *f, const struct hkd_suite *s, const char *dir)
{
    fputs("{\"suite\": ", f);
    str(f, dir);
    fprintf(f, ", \"processes\": %zu, \"skipped_files\": %zu, \"reachable_records\": %zu,"
               " \"new_leaks\": %zu,\n\"leaks\": [", s->nprocs, s->skipped, s->reachable,
            hkd_suite_count(s));
    for (size_t k = 0; k < s->nleaks; k++) {
        fputs(k ? ",\n  " : "\n  ", f);
        hkd_suite_json_leak(f, s, s->order[k]);
    }
    fputs("],\n\"tests\": [", f);
    for (size_t i = 0; i < s->nprocs; i++) {
        fputs(i ? ",\n  " : "\n  ", f);
        hkd_suite_json_proc(f, &s->procs[i]);
    }
    fputs("]}\n", f);
}
