/* The outputs of hkdump suite: the merged report for people, JUnit XML (one testcase per
 * test process), and a baseline of LeakSanitizer leak: lines for the leaks found now. The
 * JSON output is hkd_suite_out_json in out_json.c. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

/* Names of the tests (processes) that leaked l, at most max of them, ", "-separated. */
static void hkd_suite_tests(FILE *f, const struct hkd_suite *s, size_t leak, size_t max)
{
    size_t shown = 0, more = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct hkd_sproc *p = &s->procs[i];
        for (size_t k = 0; k < p->nleaks; k++) {
            if (p->leaks[k].leak != leak)
                continue;
            if (shown < max)
                fprintf(f, "%s%s", shown++ ? ", " : "", p->name);
            else
                more++;
        }
    }
    if (more)
        fprintf(f, " and %zu more", more);
}

static void hkd_suite_frame_line(FILE *f, const char *indent, size_t n, const char *func,
                                 const char *source, const struct hkd_sframe *fr, bool inlined)
{
    const char *base = strrchr(fr->module, '/');
    fprintf(f, "%s#%zu %s", indent, n, func);
    if (source[0])
        fprintf(f, " %s", source);
    fprintf(f, " (%s+0x%llx)%s\n", base ? base + 1 : fr->module, (unsigned long long)fr->offset,
            inlined ? " (inlined)" : "");
}

/* The frames of a stack, up to main (what runs before it is the same for every test); the
 * code inlined at a frame a line of its own before it, as the process printed it. */
static void hkd_suite_frames_out(FILE *f, const struct hkd_sleak *l, const char *indent)
{
    size_t line = 0;
    for (size_t i = 0; i < l->nframes; i++) {
        const struct hkd_sframe *fr = &l->frames[i];
        for (size_t k = 0; k < fr->ninl; k++)
            hkd_suite_frame_line(f, indent, line++, fr->inl[2 * k], fr->inl[2 * k + 1], fr, true);
        hkd_suite_frame_line(f, indent, line++, fr->func, fr->source, fr, false);
        if (!strcmp(fr->func, "main"))
            break;
    }
}

static size_t hkd_suite_leakers(const struct hkd_suite *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        n += s->procs[i].blocks != 0;
    return n;
}

static void hkd_suite_head(FILE *f, const struct hkd_suite *s, const char *dir)
{
    uint64_t blocks = 0, bytes = 0;
    size_t direct = 0, n = hkd_suite_count(s);
    for (size_t i = 0; i < s->nleaks; i++) {
        if (s->leaks[i].supp)
            continue;
        blocks = hkd_add_sat(blocks, s->leaks[i].blocks);
        bytes = hkd_add_sat(bytes, s->leaks[i].bytes);
        direct += !strcmp(s->leaks[i].kind, "direct");
    }
    size_t leakers = hkd_suite_leakers(s), errors = hkd_suite_errors(s);
    fprintf(f, "hkdump suite %s: %zu process report%s, %zu without leaks", dir, s->nprocs,
            s->nprocs == 1 ? "" : "s", s->nprocs - leakers - errors);
    if (errors)
        fprintf(f, ", %zu not checked", errors);
    if (!n) {
        fprintf(f, ": no leaks\n");
        return;
    }
    fprintf(f, ", %zu leaked: %zu stack%s (%zu direct, %zu indirect), %s block%s, %s lost\n",
            leakers, n, n == 1 ? "" : "s", direct, n - direct, hkd_count(blocks).s,
            blocks == 1 ? "" : "s", hkd_ibytes(bytes).s);
}

void hkd_suite_out_text(FILE *f, const struct hkd_suite *s, const char *dir)
{
    hkd_suite_head(f, s, dir);
    size_t shown = 0, supp = 0;
    for (size_t k = 0; k < s->nleaks; k++) {
        const struct hkd_sleak *l = &s->leaks[s->order[k]];
        if (l->supp) {
            supp++;
            continue;
        }
        fprintf(f, "leak %zu: %s, %s block%s, %s bytes, in %zu process%s: ", ++shown, l->kind,
                hkd_count(l->blocks).s, l->blocks == 1 ? "" : "s", hkd_count(l->bytes).s,
                l->nprocs, l->nprocs == 1 ? "" : "es");
        hkd_suite_tests(f, s, s->order[k], 8);
        fputc('\n', f);
        hkd_suite_frames_out(f, l, "    ");
    }
    if (supp)
        fprintf(f, "%zu stack%s in the baseline not listed\n", supp, supp == 1 ? "" : "s");
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct hkd_sproc *p = &s->procs[i];
        if (!p->blocks)
            continue;
        fprintf(f, "leaked: %s (pid %llu, %s block%s, %s)", p->name, (unsigned long long)p->pid,
                hkd_count(p->blocks).s, p->blocks == 1 ? "" : "s", hkd_ibytes(p->bytes).s);
        if (p->exit_status >= 0)
            fprintf(f, ", exit status %d", p->exit_status);
        fprintf(f, ", %s\n", p->file);
    }
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct hkd_sproc *p = &s->procs[i];
        if (p->error)
            fprintf(f, "not checked: %s (pid %llu): %s, %s\n", p->name,
                    (unsigned long long)p->pid, p->error, p->file);
    }
    if (s->reachable)
        fprintf(f, "%zu still-reachable record%s not counted as leaks\n", s->reachable,
                s->reachable == 1 ? "" : "s");
    if (s->skipped)
        fprintf(f, "%zu file%s skipped (said on stderr)\n", s->skipped,
                s->skipped == 1 ? "" : "s");
}

/* ---- JUnit ---- */

/* The failure text of a process: each of its leaks, with the stack. */
static void hkd_junit_failure(FILE *f, const struct hkd_suite *s, const struct hkd_sproc *p)
{
    char *msg = hkd_xasprintf("%s blocks, %s bytes lost", hkd_count(p->blocks).s,
                              hkd_count(p->bytes).s);
    fputs("      <failure type=\"leak\" message=\"", f);
    hkd_xml_string(f, msg);
    fputs("\">", f);
    free(msg);
    for (size_t k = 0; k < p->nleaks; k++) {
        const struct hkd_sleak *l = &s->leaks[p->leaks[k].leak];
        if (l->supp)
            continue;
        char *head = hkd_xasprintf("%s leak: %s blocks, %s bytes, allocated at:\n", l->kind,
                                   hkd_count(p->leaks[k].blocks).s,
                                   hkd_count(p->leaks[k].bytes).s);
        hkd_xml_string(f, head);
        free(head);
        char *buf = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&buf, &len);
        if (!mf)
            hkd_oom();
        hkd_suite_frames_out(mf, l, "    ");
        fclose(mf);
        hkd_xml_string(f, buf);
        free(buf);
    }
    fputs("</failure>\n", f);
}

void hkd_suite_out_junit(FILE *f, const struct hkd_suite *s)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites>\n  <testsuite name=\"hakmem-leaks\" tests=\"%zu\" failures=\"%zu\""
               " errors=\"%zu\">\n", s->nprocs, hkd_suite_leakers(s), hkd_suite_errors(s));
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct hkd_sproc *p = &s->procs[i];
        fputs("    <testcase classname=\"hakmem.leak\" name=\"", f);
        hkd_xml_string(f, p->name);
        fprintf(f, " (pid %llu)\" file=\"", (unsigned long long)p->pid);
        hkd_xml_string(f, p->exe);
        fputs("\">\n", f);
        if (p->blocks)
            hkd_junit_failure(f, s, p);
        if (p->error) {
            fputs("      <error message=\"the leak check could not run\">", f);
            hkd_xml_string(f, p->error);
            fputs("</error>\n", f);
        }
        fputs("    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
}

/* ---- a baseline ---- */

/* The frame that names a leak: the first past the allocator's own entry points (malloc,
 * operator new, ...) and the standard library's containers, as the code that allocated. */
static const struct hkd_sframe *hkd_supp_frame(const struct hkd_sleak *l)
{
    static const char *const alloc_fns[] = {"malloc", "calloc", "realloc", "reallocarray",
        "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc", "strdup",
        "strndup", "__", "operator new", "_Znwm", "_Znam", "hakmem_", "std::", "void std::",
        NULL};
    for (size_t i = 0; i < l->nframes; i++) {
        const char *fn = l->frames[i].func;
        bool alloc = !strcmp(fn, "?");
        for (int k = 0; alloc_fns[k] && !alloc; k++)
            alloc = !strncmp(fn, alloc_fns[k], strlen(alloc_fns[k]));
        if (!alloc)
            return &l->frames[i];
    }
    return l->nframes ? &l->frames[0] : NULL;
}

void hkd_suite_out_supp(FILE *f, const struct hkd_suite *s)
{
    fputs("# hakmem leak baseline (LeakSanitizer syntax), from hkdump suite: each line\n"
          "# suppresses the stacks with a frame of that function; hkdump suite --baseline\n"
          "# reports only leaks outside it.\n", f);
    struct hkd_strv done = {0};
    for (size_t k = 0; k < s->nleaks; k++) {
        const struct hkd_sleak *l = &s->leaks[s->order[k]];
        const struct hkd_sframe *fr = hkd_supp_frame(l);
        if (l->supp || !fr)
            continue;
        const char *name = fr->func, *base = strrchr(fr->module, '/');
        if (!strcmp(name, "?"))
            name = base ? base + 1 : fr->module;
        char *line = hkd_xasprintf("leak:^%s$", name);
        for (char *c = line; *c; c++)   /* a name with a newline cannot end the line */
            if (*c == '\n' || *c == '\r')
                *c = '?';
        bool seen = false;
        for (size_t i = 0; i < done.n && !seen; i++)
            seen = !strcmp(done.v[i], line);
        if (!seen) {
            fprintf(f, "# %s, %s block%s, %s bytes: ", l->kind, hkd_count(l->blocks).s,
                    l->blocks == 1 ? "" : "s", hkd_count(l->bytes).s);
            hkd_suite_tests(f, s, s->order[k], 4);
            fprintf(f, "\n%s\n", line);
            hkd_strv_add(&done, line);
        }
        free(line);
    }
    hkd_strv_free(&done);
}
