/* hkdump's command line: options, inputs, the output on stdout (docs/hkdump.md). main.c
 * adds the exit handling; the command-line fuzz target calls it as it is. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: hkdump [--json | --folded] FILE...\n"
    "       hkdump diff [--json] A B\n"
    "       hkdump plot [--html] -o FILE TIMELINE\n"
    "       hkdump suite [--json] [--junit FILE] [--gen-suppressions FILE] [--baseline FILE] DIR\n"
    "       hkdump --demangle < NAMES\n"
    "       hkdump --inline < FRAMES\n"
    "\n"
    "Reads hakmem dump files (HAKMEM_DUMP_DIR), timelines (HAKMEM_STATS_INTERVAL_MS) and\n"
    "free-form text (stderr captures, CI logs, documents quoting hakmem lines; '-' is stdin),\n"
    "and says what happened: each finding with the numbers that show it, what it rules out,\n"
    "and what to try next. Several inputs are read as one run (e.g. its log and its dump).\n"
    "\n"
    "  --json      findings as JSON: {\"inputs\":[..], \"findings\":[..], \"unparsed\":[..]}\n"
    "  --folded    leak stacks of the dumps in folded-stack format (flamegraph.pl, speedscope)\n"
    "  diff A B    what changed between two dumps: counters, census, leak stacks\n"
    "  plot        a timeline as an SVG image (--html: a page with the findings too), panels\n"
    "              of memory, mapped by tier, the largest classes, the census; '-o -' stdout\n"
    "  suite DIR   the leak reports of a test suite run with hkrun --leak --suite DIR, merged:\n"
    "              each stack once, with the tests that leaked it; --junit FILE one testcase\n"
    "              per process; --gen-suppressions FILE a baseline of the leaks found;\n"
    "              --baseline FILE only leaks outside it. Exit 0 without leaks, 23 with\n"
    "  --demangle  each line of stdin, a C++ symbol demangled (any other line as it is):\n"
    "              the leak report's helper (HAKMEM_DEMANGLER)\n"
    "  --inline    each line of stdin \"FILE<TAB>HEX\" (a return address in FILE): the code\n"
    "              inlined there, \"function<TAB>file:line\" innermost first, tab-separated,\n"
    "              or an empty line: the leak report's helper too\n"
    "  --version   version, and whether frames are symbolized with libdw and demangled\n"
    "  --help      this text\n"
    "\n"
    "Findings: oom-event huge-request address-space-limit overcommit-refused\n"
    "  superslabs-not-returned mapped-vs-resident-gap live-heap-growth tls-parked-blocks\n"
    "  remote-queue-backlog application-leak misuse crash-signal map-count-limit\n"
    "  superslab-churn since-failure truncated-dump unparsed-lines no-hakmem-data\n"
    "  timeline-retention timeline-leak timeline-forecast timeline-event timeline-short\n"
    "  truncated-timeline\n"
    "  (docs/hkdump.md)\n"
    "\n"
    "Exit status: 0 when every input was read (whatever was found), 2 when one could not be\n"
    "read (missing, unreadable, a dump of a newer version) or the command line is wrong.\n";

static int bad_usage(const char *msg)
{
    fprintf(stderr, "hkdump: %s (see hkdump --help)\n", msg);
    return 2;
}

static int run_diff(int argc, char **argv)
{
    bool json = false;
    const char *files[2];
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return bad_usage("unknown option for diff");
        else if (n < 2)
            files[n++] = argv[i];
        else
            return bad_usage("diff takes two inputs");
    }
    if (n != 2)
        return bad_usage("diff takes two inputs");
    struct hkd_model a, b;
    hkd_model_init(&a);
    hkd_model_init(&b);
    int rc = 0;
    if (hkd_load(&a, files[0]) || hkd_load(&b, files[1]))
        rc = 2;
    else
        hkd_diff(stdout, &a, &b, json);
    hkd_model_free(&a);
    hkd_model_free(&b);
    return rc;
}

/* The leak report's helper modes: one output line per input line, so the caller pairs
 * them by order; answer gives a line's answer (NULL, or one with a newline: an empty
 * line). */
static int run_helper(char *(*answer)(char *line, size_t n))
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        size_t n = (size_t)len;
        if (n && line[n - 1] == '\n')
            line[--n] = '\0';
        char *a = answer(line, n);
        if (a && !strchr(a, '\n'))
            fputs(a, stdout);
        fputc('\n', stdout);
        free(a);
    }
    free(line);
    return ferror(stdin) ? 2 : 0;
}

/* --demangle: a NUL ends a name. */
static char *demangle_answer(char *line, size_t n)
{
    return hkd_demangle(line, strnlen(line, n));
}

/* --inline: "FILE\tHEX", exactly 1-16 lowercase hex digits after the tab (no sign, space or
 * 0x), gives the chain at HEX in FILE. */
static char *inline_answer(char *line, size_t n)
{
    char *tab = strchr(line, '\t'), *end = NULL;
    size_t digits = tab ? strspn(tab + 1, "0123456789abcdef") : 0;
    unsigned long long addr = digits ? strtoull(tab + 1, &end, 16) : 0;
    if (!digits || digits > 16 || end != tab + 1 + digits || *end || strlen(line) != n)
        return NULL;
    *tab = '\0';
    return hkd_sym_inline_at(line, addr);
}

int hkd_cli(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "diff") == 0)
        return run_diff(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "plot") == 0)
        return hkd_plot_cli(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "suite") == 0)
        return hkd_suite_cli(argc - 2, argv + 2);
    if (argc == 2 && strcmp(argv[1], "--demangle") == 0)
        return run_helper(demangle_answer);
    if (argc == 2 && strcmp(argv[1], "--inline") == 0) {
        unsetenv("DEBUGINFOD_URLS");   /* the program that asks waits at its exit */
        return run_helper(inline_answer);
    }

    bool json = false, folded = false, opts = true;
    const char **files = hkd_xcalloc((size_t)argc, sizeof *files);
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && strcmp(a, "--") == 0) {
            opts = false;
        } else if (opts && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            fputs(usage, stdout);
            free(files);
            return 0;
        } else if (opts && strcmp(a, "--version") == 0) {
            printf("hkdump %s (dump format %d, symbols: %s%s)\n", HKD_VERSION, HK_DUMP_VERSION,
                   hkd_sym_have_libdw() ? "libdw" : "module+offset only",
                   HKD_HAVE_DEMANGLE ? ", C++ names demangled" : "");
            free(files);
            return 0;
        } else if (opts && strcmp(a, "--json") == 0) {
            json = true;
        } else if (opts && strcmp(a, "--folded") == 0) {
            folded = true;
        } else if (opts && a[0] == '-' && a[1]) {
            free(files);
            return bad_usage("unknown option");
        } else {
            files[nfiles++] = a;
        }
    }
    if (!nfiles) {
        free(files);
        return bad_usage("no input given ('-' reads stdin)");
    }
    if (json && folded) {
        free(files);
        return bad_usage("--json and --folded do not go together");
    }

    struct hkd_model m;
    hkd_model_init(&m);
    int rc = 0;
    for (int i = 0; i < nfiles && !rc; i++)
        if (hkd_load(&m, files[i]))
            rc = 2;
    if (!rc) {
        hkd_model_merge_runs(&m);
        struct hkd_symbolizer *sym = hkd_sym_new(&m);
        if (folded) {
            hkd_out_folded(stdout, &m, sym);
        } else {
            struct hkd_findings fs = {0};
            hkd_rules_run(&m, sym, &fs);
            if (json)
                hkd_out_json(stdout, &m, &fs);
            else
                hkd_out_text(stdout, &m, &fs);
            hkd_findings_free(&fs);
        }
        hkd_sym_free(sym);
    }
    hkd_model_free(&m);
    free(files);
    return rc;
}
