/* The report for people: what was read, then each finding, most severe first, as a title line
 * and its evidence, what it rules out and what to try next. */
#include "hkdump.h"

#include <string.h>

static void section(FILE *f, const char *label, const struct hkd_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        fprintf(f, "  %-10s %s\n", i ? "" : label, sv->v[i]);
}

static void inputs(FILE *f, const struct hkd_model *m)
{
    fprintf(f, "hkdump: %zu input%s\n", m->ninputs, m->ninputs == 1 ? "" : "s");
    for (size_t i = 0; i < m->ninputs; i++) {
        const struct hkd_input_info *ii = &m->inputs[i];
        const char *name = strcmp(ii->name, "-") ? ii->name : "<stdin>";
        const struct hkd_timeline *tl = hkd_model_timeline(m, (int)i);
        if (ii->is_dump)
            fprintf(f, "  %s: dump version %u, %u lines, %u records%s\n", name, ii->version,
                    ii->lines, ii->records, ii->truncated ? ", truncated" : "");
        else if (tl)
            fprintf(f, "  %s: timeline version %u, %u lines, %u records, %zu sample%s%s\n",
                    name, ii->version, ii->lines, ii->records, tl->nsamples,
                    tl->nsamples == 1 ? "" : "s", ii->truncated ? ", truncated" : "");
        else
            fprintf(f, "  %s: text, %u lines, %u hakmem record%s\n", name, ii->lines,
                    ii->records, ii->records == 1 ? "" : "s");
    }
}

/* The first finding that is a warning or an error and explains something: the cause. */
const struct hkd_finding *hkd_findings_cause(const struct hkd_findings *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        if (fs->v[i].sev >= HKD_SEV_WARNING && fs->v[i].weight > 0)
            return &fs->v[i];
    return NULL;
}

void hkd_out_text(FILE *f, const struct hkd_model *m, const struct hkd_findings *fs)
{
    inputs(f, m);
    const struct hkd_finding *cause = hkd_findings_cause(fs);
    if (fs->event)
        fprintf(f, "\n%s\n  cause: %s%s%s\n", fs->event, cause ? cause->id : "",
                cause ? ": " : "", cause ? cause->title : "not found in this input");
    for (size_t i = 0; i < fs->n; i++) {
        const struct hkd_finding *x = &fs->v[i];
        fprintf(f, "\n[%s] %s: %s\n", hkd_severity_names[x->sev], x->id, x->title);
        section(f, "evidence:", &x->evidence);
        section(f, "rules out:", &x->rules_out);
        section(f, "next:", &x->next);
    }
    size_t count[4] = {0};
    for (size_t i = 0; i < fs->n; i++)
        count[fs->v[i].sev]++;
    if (!fs->n) {
        fprintf(f, "\nno findings: the numbers read show nothing abnormal\n");
        return;
    }
    fprintf(f, "\n%zu finding%s:", fs->n, fs->n == 1 ? "" : "s");
    const char *sep = " ";
    for (int s = HKD_SEV_ERROR; s >= HKD_SEV_INFO; s--)
        if (count[s]) {
            fprintf(f, "%s%zu %s%s", sep, count[s], hkd_severity_names[s],
                    count[s] == 1 ? "" : s == HKD_SEV_INFO ? "" : "s");
            sep = ", ";
        }
    fputc('\n', f);
}
