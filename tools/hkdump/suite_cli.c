/* hkdump suite [--json] [--junit FILE] [--gen-suppressions FILE] [--baseline FILE] DIR:
 * reads every hakmem-leak.*.json of DIR (the temporary names of reports still being
 * written are not), skips with one line what is not a report, and prints the merged report.
 * Exit status 0 without leaks (outside the baseline), 23 with, 2 when DIR or an option's
 * file cannot be used, or when nothing leaked but a process's check could not run. */
#include "hkdump.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* As LeakSanitizer's and hakmem's default leak exit status, so CI treats both alike. */
#define HKD_SUITE_LEAK_STATUS 23

struct hkd_suite_opts {
    bool json;
    const char *junit, *gen_supp, *baseline, *dir;
};

/* An option: its name, whether it takes a value, and what it sets. */
struct hkd_suite_opt {
    const char *name;
    const char **value;   /* NULL: a flag */
    bool *flag;
};

static int hkd_suite_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "hkdump suite: %s%s%s (see hkdump --help)\n", msg, arg ? " " : "",
            arg ? arg : "");
    return 2;
}

static int hkd_suite_args(int argc, char **argv, struct hkd_suite_opts *o)
{
    const struct hkd_suite_opt opts[] = {
        {"--json", NULL, &o->json},           {"--junit", &o->junit, NULL},
        {"--gen-suppressions", &o->gen_supp, NULL}, {"--baseline", &o->baseline, NULL},
    };
    for (int i = 0; i < argc; i++) {
        const struct hkd_suite_opt *hit = NULL;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0] && !hit; k++)
            if (!strcmp(argv[i], opts[k].name))
                hit = &opts[k];
        if (hit && hit->flag) {
            *hit->flag = true;
        } else if (hit) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return hkd_suite_usage("missing the file after", argv[i]);
            *hit->value = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return hkd_suite_usage("unknown option", argv[i]);
        } else if (o->dir) {
            return hkd_suite_usage("takes one directory; also given", argv[i]);
        } else {
            o->dir = argv[i];
        }
    }
    return o->dir ? 0 : hkd_suite_usage("no directory given", NULL);
}

static bool hkd_suite_report_name(const char *n)
{
    size_t len = strlen(n);
    return !strncmp(n, "hakmem-leak.", 12) && len > 17 && !strcmp(n + len - 5, ".json");
}

static int hkd_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One file of DIR into s; a bad one is said and counted as skipped. Only regular files, not
 * followed through a symlink: the library writes nothing else there, and a FIFO would block. */
static void hkd_suite_read(struct hkd_suite *s, const char *dir, const char *name)
{
    char *path = hkd_xasprintf("%s/%s", dir, name);
    struct hkd_input in;
    char err[200];
    struct stat st;
    int e = lstat(path, &st) ? errno : S_ISREG(st.st_mode) ? 0 : HKD_INPUT_NOT_FILE;
    if (!e)
        e = hkd_input_read(&in, path);
    if (e) {
        fprintf(stderr, "hkdump: %s: skipped: %s\n", path,
                e == HKD_INPUT_NOT_FILE ? "not a regular file" : strerror(e));
        s->skipped++;
    } else {
        if (hkd_suite_add(s, name, in.data, in.len, err, sizeof err)) {
            fprintf(stderr, "hkdump: %s: skipped: %s\n", path, err);
            s->skipped++;
        }
        hkd_input_free(&in);
    }
    free(path);
}

static int hkd_suite_load_dir(struct hkd_suite *s, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "hkdump: %s: cannot read the directory: %s\n", dir, strerror(errno));
        return 2;
    }
    struct hkd_strv names = {0};
    for (struct dirent *de; (de = readdir(d));)
        if (hkd_suite_report_name(de->d_name))
            hkd_strv_add(&names, de->d_name);
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof *names.v, hkd_name_cmp);
    for (size_t i = 0; i < names.n; i++)
        hkd_suite_read(s, dir, names.v[i]);
    hkd_strv_free(&names);
    if (!s->nprocs) {
        fprintf(stderr, "hkdump: %s: no leak reports (hakmem-leak.*.json) to read%s\n", dir,
                s->skipped ? "" : "; was the suite run with hkrun --leak --suite?");
        return 2;
    }
    return 0;
}

static int hkd_suite_load_baseline(struct hkd_suite *s, const char *file)
{
    struct hkd_input in;
    char err[200];
    int e = hkd_input_read(&in, file);
    if (e) {
        fprintf(stderr, "hkdump: %s: cannot read the baseline: %s\n", file,
                e == HKD_INPUT_NOT_FILE ? "not a regular file" : strerror(e));
        return 2;
    }
    bool ok = hkd_suite_baseline(s, in.data, in.len, err, sizeof err);
    hkd_input_free(&in);
    if (!ok)
        fprintf(stderr, "hkdump: %s: refused as a baseline: %s\n", file, err);
    return ok ? 0 : 2;
}

/* Writes one of the file outputs; 2 (said) when the file cannot be written. Not through a
 * symlink (a link planted in a shared directory would redirect the write). */
static int hkd_suite_write(const char *file, const struct hkd_suite *s,
                           void (*out)(FILE *f, const struct hkd_suite *s))
{
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "hkdump: %s: cannot write: %s\n", file,
                errno == ELOOP ? "a symlink (not followed)" : strerror(errno));
        if (fd >= 0)
            close(fd);
        return 2;
    }
    out(f, s);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "hkdump: %s: cannot write: %s\n", file, strerror(errno));
        return 2;
    }
    return 0;
}

int hkd_suite_cli(int argc, char **argv)
{
    struct hkd_suite_opts o = {0};
    int rc = hkd_suite_args(argc, argv, &o);
    if (rc)
        return rc;
    struct hkd_suite s;
    hkd_suite_init(&s);
    rc = o.baseline ? hkd_suite_load_baseline(&s, o.baseline) : 0;
    if (!rc)
        rc = hkd_suite_load_dir(&s, o.dir);
    if (!rc) {
        hkd_suite_finish(&s);
        if (o.json)
            hkd_suite_out_json(stdout, &s, o.dir);
        else
            hkd_suite_out_text(stdout, &s, o.dir);
        if (o.junit)
            rc = hkd_suite_write(o.junit, &s, hkd_suite_out_junit);
        if (!rc && o.gen_supp)
            rc = hkd_suite_write(o.gen_supp, &s, hkd_suite_out_supp);
        if (!rc && hkd_suite_count(&s))
            rc = HKD_SUITE_LEAK_STATUS;
        else if (!rc && hkd_suite_errors(&s))
            rc = 2;   /* nothing leaked, but some process could not be checked */
    }
    hkd_suite_free(&s);
    return rc;
}
