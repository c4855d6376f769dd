/* Raw addresses from a dump → something a person can read. The dump's module map says which
 * file was mapped where; with elfutils' libdwfl the file's symbols and line tables give the
 * function and source line (offline: the files must exist on this machine). Without libdw,
 * or when a file is missing, frames print as module+offset, which is stable across runs. */
#include "hkdump.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if HKD_HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#endif

struct hkd_symbolizer {
    const struct hkd_model *m;
    const struct hkd_module **by_base; /* the module map sorted by base, for lookups */
#if HKD_HAVE_LIBDW
    Dwfl *dwfl;
    unsigned char *state;              /* per module (model order): enum module_state */
#endif
};

bool hkd_sym_have_libdw(void)
{
    return HKD_HAVE_LIBDW;
}

#if HKD_HAVE_LIBDW
/* libdwfl wants a pointer to the search path; NULL = the default (/usr/lib/debug). */
static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};
#endif

static int by_base(const void *a, const void *b)
{
    const struct hkd_module *const *x = a, *const *y = b;
    return ((*x)->base > (*y)->base) - ((*x)->base < (*y)->base);
}

struct hkd_symbolizer *hkd_sym_new(const struct hkd_model *m)
{
    struct hkd_symbolizer *s = hkd_xcalloc(1, sizeof *s);
    s->m = m;
    s->by_base = hkd_xcalloc(m->nmodules + 1, sizeof *s->by_base);
    for (size_t i = 0; i < m->nmodules; i++)
        s->by_base[i] = &m->modules[i];
    qsort(s->by_base, m->nmodules, sizeof *s->by_base, by_base);
#if HKD_HAVE_LIBDW
    /* Files are opened when a frame needs them (module_ready), not here: a dump may name
     * thousands of modules, or paths that are not files at all. */
    s->state = hkd_xcalloc(m->nmodules + 1, 1);
    if (m->nmodules)
        s->dwfl = dwfl_begin(&offline_callbacks);
#endif
    return s;
}

void hkd_sym_free(struct hkd_symbolizer *s)
{
    if (!s)
        return;
#if HKD_HAVE_LIBDW
    if (s->dwfl)
        dwfl_end(s->dwfl);
    free(s->state);
#endif
    free(s->by_base);
    free(s);
}

/* The module holding addr: the one with the highest base at or below it (binary search). */
static const struct hkd_module *find_module(const struct hkd_symbolizer *s, uint64_t addr)
{
    size_t lo = 0, hi = s->m->nmodules;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->by_base[mid]->base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && addr < s->by_base[lo - 1]->end ? s->by_base[lo - 1] : NULL;
}

#if HKD_HAVE_LIBDW
enum module_state { MOD_UNTRIED, MOD_REPORTED, MOD_UNUSABLE };

/* Opens the module's file and reports it to libdwfl, once. Only a regular file is used: the
 * path is looked at before it is opened (a device named in a dump is never opened: opening
 * some acts), and opened without blocking (a FIFO swapped in meanwhile must not hang). */
static bool module_ready(struct hkd_symbolizer *s, const struct hkd_module *mod)
{
    unsigned char *st = &s->state[mod - s->m->modules];
    if (*st == MOD_UNTRIED) {
        *st = MOD_UNUSABLE;
        struct stat sb;
        int fd = stat(mod->path, &sb) == 0 && S_ISREG(sb.st_mode)
                     ? open(mod->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
                     : -1;
        if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
            dwfl_report_begin_add(s->dwfl);
            /* ET_DYN files are placed at the module's base; fd is consumed on success. */
            if (dwfl_report_elf(s->dwfl, mod->path, mod->path, fd, mod->base, false)) {
                *st = MOD_REPORTED;
                fd = -1;
            }
            dwfl_report_end(s->dwfl, NULL, NULL);
        }
        if (fd >= 0)
            close(fd);
    }
    return *st == MOD_REPORTED;
}
#endif

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

char *hkd_sym_key(struct hkd_symbolizer *s, uint64_t addr)
{
    const struct hkd_module *mod = s ? find_module(s, addr) : NULL;
    if (!mod)
        return hkd_xasprintf("0x%llx", (unsigned long long)addr);
    return hkd_xasprintf("%s+0x%llx", base_name(mod->path),
                         (unsigned long long)(addr - mod->base));
}

#if HKD_HAVE_LIBDW
/* The entry that declares die: its abstract origin's or specification's, followed. */
static Dwarf_Die declaration_of(Dwarf_Die *die, Dwarf_Die *buf)
{
    Dwarf_Die d = *die;
    for (int hops = 0; hops < 8; hops++) {
        Dwarf_Attribute a;
        Dwarf_Attribute *r = dwarf_attr(&d, DW_AT_abstract_origin, &a);
        if (!r)
            r = dwarf_attr(&d, DW_AT_specification, &a);
        if (!r || !dwarf_formref_die(r, buf))
            break;
        d = *buf;
    }
    return d;
}

/* A function's name from its DWARF entry: the linkage name demangled, else the plain name
 * under the namespaces and classes that hold its declaration ("store::make_node", as
 * llvm-symbolizer names a static inline function, which has no linkage name). */
static char *die_name(Dwarf_Die *die)
{
    Dwarf_Attribute a;
    const char *ln = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
    if (!ln)
        ln = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
    if (ln)
        return hkd_demangle(ln, strlen(ln));
    const char *n = dwarf_diename(die);
    char *name = hkd_xstrdup(n ? n : "?");
    Dwarf_Die buf, decl = declaration_of(die, &buf), *scopes = NULL;
    int ns = dwarf_getscopes_die(&decl, &scopes);
    for (int i = 1; i < ns; i++) {    /* scopes[0] is decl itself */
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_namespace && tag != DW_TAG_class_type &&
            tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
            continue;
        const char *outer = dwarf_diename(&scopes[i]);
        char *t = hkd_xasprintf("%s::%s", outer ? outer : "(anonymous namespace)", name);
        free(name);
        name = t;
    }
    free(scopes);
    return name;
}

/* "name (file:line)"; just the name without a line. */
static char *with_line(char *name, const char *file, int line)
{
    if (!file || line <= 0)
        return name;
    char *t = hkd_xasprintf("%s (%s:%d)", name, base_name(file), line);
    free(name);
    return t;
}

/* The compile unit that holds pc (its address less *bias). libdw finds it through
 * .debug_aranges, which clang does not emit: then each unit's own ranges are asked. */
static Dwarf_Die *cu_of(Dwfl_Module *mod, Dwarf_Addr pc, Dwarf_Die *buf, Dwarf_Addr *bias)
{
    Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, bias);
    if (cu)
        return cu;
    Dwarf *dw = dwfl_module_getdwarf(mod, bias);
    Dwarf_Off off = 0, next;
    size_t hsize;
    while (dw && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        if (dwarf_offdie(dw, off + hsize, buf) && dwarf_haspc(buf, pc - *bias) > 0)
            return buf;
        off = next;
    }
    return NULL;
}

/* One entry of a chain: "name (file:line)" after "prev, inlined into "; with tabs (the
 * leak report's helper) "name\tfile:line" after "prev\t", the path as the debug
 * information has it. The helper's answer is all or nothing for the report, so one odd
 * entry must not spoil it: a tab or newline in a name becomes '?', an empty name "?", and a
 * source that cannot be written so is left out. */
static char *chain_add(char *prev, char *name, const char *file, int line, bool tabs)
{
    char *t;
    if (tabs) {
        for (char *c = name; *c; c++)
            if (*c == '\t' || *c == '\n')
                *c = '?';
        bool src = file && file[0] && !strpbrk(file, "\t\n") && line > 0 && line <= 999999999;
        char *entry = src ? hkd_xasprintf("%s\t%s:%d", name[0] ? name : "?", file, line)
                          : hkd_xasprintf("%s\t", name[0] ? name : "?");
        t = prev ? hkd_xasprintf("%s\t%s", prev, entry) : hkd_xstrdup(entry);
        free(entry);
    } else {
        name = with_line(name, file, line);
        t = prev ? hkd_xasprintf("%s, inlined into %s", prev, name) : hkd_xstrdup(name);
    }
    free(prev);
    free(name);
    return t;
}

/* The inline chain at pc, as eu-addr2line -i gives it: "inner (file:line), inlined into
 * outer (file:line)" up to the function the code is in, whose name is fn (the symbol
 * table's); NULL when no inlined code is at pc. */
static char *inline_chain(Dwfl_Module *mod, Dwarf_Addr pc, const char *fn, const char *file,
                          int line, bool tabs)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die cubuf, *cu = cu_of(mod, pc, &cubuf, &bias), *scopes = NULL;
    int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0, in = 0;
    /* The innermost function scope (blocks of it may be inside): inlined, or no chain. */
    while (in < n && dwarf_tag(&scopes[in]) != DW_TAG_inlined_subroutine &&
           dwarf_tag(&scopes[in]) != DW_TAG_subprogram)
        in++;
    if (in >= n || dwarf_tag(&scopes[in]) != DW_TAG_inlined_subroutine) {
        free(scopes);
        return NULL;
    }
    /* Those are the abstract scopes; the concrete ones, up to the function the inlined code
     * sits in, contain the innermost inlined instance. */
    Dwarf_Die inner = scopes[in], *chain = NULL;
    free(scopes);
    scopes = NULL;
    n = dwarf_getscopes_die(&inner, &chain);
    if (n <= 0) {
        free(chain);
        return NULL;
    }
    scopes = chain;
    Dwarf_Files *files = NULL;
    size_t nfiles = 0;
    if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
        files = NULL;
    char *out = NULL;
    for (int i = 0; i < n; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
            continue;
        char *name = tag == DW_TAG_subprogram && fn ? hkd_demangle(fn, strlen(fn))
                                                    : die_name(&scopes[i]);
        out = chain_add(out, name, file, line, tabs);
        if (tag == DW_TAG_subprogram)
            break;
        /* Where this inlined code was called: the caller's file and line. */
        Dwarf_Attribute a;
        Dwarf_Word cf = 0, cl = 0;
        file = NULL;
        line = 0;
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a), &cf) == 0 && files &&
            cf < nfiles)
            file = dwarf_filesrc(files, cf, NULL, NULL);
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a), &cl) == 0)
            line = cl <= INT_MAX ? (int)cl : 0;
    }
    free(scopes);
    return out;
}
#endif

#if HKD_HAVE_LIBDW
/* The source line of pc (file NULL, *lineno 0 when unknown). */
static const char *source_of(Dwfl_Module *mod, Dwarf_Addr pc, int *lineno)
{
    Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
    *lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, lineno, NULL, NULL, NULL) : NULL;
    if (!line) {   /* no .debug_aranges: the unit's own line table */
        Dwarf_Addr bias = 0;
        Dwarf_Die cubuf, *cu = cu_of(mod, pc, &cubuf, &bias);
        Dwarf_Line *dl = cu ? dwarf_getsrc_die(cu, pc - bias) : NULL;
        if (dl && dwarf_lineno(dl, lineno) == 0)
            file = dwarf_linesrc(dl, NULL, NULL);
        else
            *lineno = 0;
    }
    return file;
}
#endif

char *hkd_sym_name(struct hkd_symbolizer *s, uint64_t addr, bool is_return)
{
#if HKD_HAVE_LIBDW
    const struct hkd_module *m = s && s->dwfl ? find_module(s, addr) : NULL;
    if (m && module_ready(s, m)) {
        /* A return address points after the call; the call itself is one byte earlier. */
        Dwarf_Addr pc = is_return && addr ? addr - 1 : addr;
        Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
        const char *fn = mod ? dwfl_module_addrname(mod, pc) : NULL;
        if (fn) {
            int lineno = 0;
            const char *file = source_of(mod, pc, &lineno);
            char *chain = inline_chain(mod, pc, fn, file, lineno, false);
            if (chain)
                return chain;
            char *name = hkd_demangle(fn, strlen(fn));
            if (file && lineno > 0) {
                char *t = hkd_xasprintf("%s (%s:%d)", name, base_name(file), lineno);
                free(name);
                return t;
            }
            return name;
        }
    }
#else
    (void)is_return;
#endif
    return hkd_sym_key(s, addr);
}

#if HKD_HAVE_LIBDW
/* The files hkd_sym_inline_at has looked at (those it could not use too, so that each is
 * looked at once), each reported alone at its own addresses; a file past the first
 * INLINE_FILES gets no chains. */
#define INLINE_FILES 1024
static struct {
    char *path;
    Dwfl *dwfl;      /* NULL: the file could not be used */
} inline_files[INLINE_FILES];
static unsigned inline_nfiles;

static Dwfl *inline_dwfl(const char *path)
{
    for (unsigned i = 0; i < inline_nfiles; i++)
        if (strcmp(inline_files[i].path, path) == 0)
            return inline_files[i].dwfl;
    if (inline_nfiles == INLINE_FILES)
        return NULL;
    Dwfl *d = NULL;
    struct stat sb;
    int fd = stat(path, &sb) == 0 && S_ISREG(sb.st_mode)
                 ? open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
                 : -1;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
        (d = dwfl_begin(&offline_callbacks))) {
        dwfl_report_begin(d);
        /* Placed at its own virtual addresses (bias 0): the report sends those. */
        if (dwfl_report_elf(d, path, path, fd, 0, true))
            fd = -1;           /* consumed */
        else {
            dwfl_end(d);
            d = NULL;
        }
        if (d)
            dwfl_report_end(d, NULL, NULL);
    }
    if (fd >= 0)
        close(fd);
    inline_files[inline_nfiles].path = hkd_xstrdup(path);
    inline_files[inline_nfiles++].dwfl = d;
    return d;
}
#endif

char *hkd_sym_inline_at(const char *path, uint64_t vaddr)
{
#if HKD_HAVE_LIBDW
    Dwfl *d = vaddr ? inline_dwfl(path) : NULL;
    Dwarf_Addr pc = vaddr - 1;   /* a return address: the call is one byte earlier */
    Dwfl_Module *mod = d ? dwfl_addrmodule(d, pc) : NULL;
    const char *fn = mod ? dwfl_module_addrname(mod, pc) : NULL;
    if (!fn)
        return NULL;
    int lineno = 0;
    const char *file = source_of(mod, pc, &lineno);
    return inline_chain(mod, pc, fn, file, lineno, true);
#else
    (void)path;
    (void)vaddr;
    return NULL;
#endif
}
