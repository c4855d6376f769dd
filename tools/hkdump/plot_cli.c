/* hkdump plot [--html] -o FILE TIMELINE: the picture of a timeline (plot.c) with the
 * findings of the same input. The document is made whole in memory first, so nothing is
 * written for an input that cannot be plotted; a file is written under a temporary name in
 * its directory and renamed over FILE, so a reader never sees half of it, and a symlink
 * named FILE is replaced, not written through. "-o -" writes to stdout. */
#include "hkdump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int plot_usage(const char *msg)
{
    fprintf(stderr, "hkdump: %s (usage: hkdump plot [--html] -o FILE TIMELINE)\n", msg);
    return 2;
}

/* data into a new file beside path, then renamed over it; 0 or an errno value. */
static int write_replace(const char *path, const char *data, size_t len)
{
    char *tmp = hkd_xasprintf("%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp), e = 0;
    if (fd < 0) {
        e = errno;
        free(tmp);
        return e;
    }
    mode_t mask = umask(0);
    umask(mask);
    for (size_t off = 0; off < len && !e;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno != EINTR)
            e = errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (!e && fchmod(fd, 0666 & ~mask) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e)
        unlink(tmp);
    free(tmp);
    return e;
}

/* The model's timeline, or NULL after saying why it cannot be plotted. */
static const struct hkd_timeline *plottable(const struct hkd_model *m, const char *name)
{
    const char *shown = strcmp(name, "-") ? name : "<stdin>";
    if (!m->ntimelines) {
        fprintf(stderr, "hkdump: %s: not a timeline (line 1 is not '%s %d'): plot reads the "
                "files of HAKMEM_STATS_INTERVAL_MS\n", shown, HK_TIMELINE_MAGIC,
                HK_TIMELINE_VERSION);
        return NULL;
    }
    if (!m->timelines[0].nsamples) {
        fprintf(stderr, "hkdump: %s: no sample in this timeline: nothing to plot\n", shown);
        return NULL;
    }
    return &m->timelines[0];
}

/* The document for the timeline of m, in memory. */
static char *render(struct hkd_model *m, const struct hkd_timeline *tl, bool html, size_t *len)
{
    struct hkd_symbolizer *sym = hkd_sym_new(m);
    struct hkd_findings fs = {0};
    hkd_rules_run(m, sym, &fs);
    char *doc = NULL;
    FILE *mem = open_memstream(&doc, len);
    if (!mem)
        hkd_oom();
    if (html)
        hkd_plot_html(mem, m, tl, &fs);
    else
        hkd_plot_svg(mem, m, tl, &fs);
    if (fclose(mem) != 0)
        hkd_oom();
    hkd_findings_free(&fs);
    hkd_sym_free(sym);
    return doc;
}

static int plot_out(const char *out, const char *doc, size_t len)
{
    if (strcmp(out, "-") == 0)
        return fwrite(doc, 1, len, stdout) == len ? 0 : 2;   /* main reports a write error */
    int e = write_replace(out, doc, len);
    if (!e)
        return 0;
    fprintf(stderr, "hkdump: %s: cannot write the plot: %s\n", out, strerror(e));
    return 2;
}

int hkd_plot_cli(int argc, char **argv)
{
    bool html = false;
    const char *out = NULL, *in = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--html") == 0)
            html = true;
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return plot_usage("unknown option for plot, or -o without a file");
        else if (!in)
            in = argv[i];
        else
            return plot_usage("plot takes one timeline");
    }
    if (!in)
        return plot_usage("plot takes one timeline");
    if (!out || !out[0])
        return plot_usage("plot needs -o FILE ('-': stdout)");
    struct hkd_model m;
    hkd_model_init(&m);
    int rc = 2;
    if (hkd_load(&m, in) == 0) {
        const struct hkd_timeline *tl = plottable(&m, in);
        if (tl) {
            size_t len = 0;
            char *doc = render(&m, tl, html, &len);
            rc = plot_out(out, doc, len);
            free(doc);
        }
    }
    hkd_model_free(&m);
    return rc;
}
