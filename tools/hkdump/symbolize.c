/* Raw addresses from a dump → something a person can read. The dump's module map says which
 * file was mapped where; with elfutils' libdwfl the file's symbols and line tables give the
 * function and source line (offline: the files must exist on this machine). Without libdw,
 * or when a file is missing, frames print as module+offset, which is stable across runs. */
#include "hkdump.h"

#include <stdlib.h>
#include <string.h>

#if HKD_HAVE_LIBDW
#include <elfutils/libdwfl.h>
#endif

struct hkd_symbolizer {
    const struct hkd_model *m;
#if HKD_HAVE_LIBDW
    Dwfl *dwfl;
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

struct hkd_symbolizer *hkd_sym_new(const struct hkd_model *m)
{
    struct hkd_symbolizer *s = hkd_xcalloc(1, sizeof *s);
    s->m = m;
#if HKD_HAVE_LIBDW
    if (!m->nmodules)
        return s;
    s->dwfl = dwfl_begin(&offline_callbacks);
    if (!s->dwfl)
        return s;
    dwfl_report_begin(s->dwfl);
    for (size_t i = 0; i < m->nmodules; i++) {
        const struct hkd_module *mod = &m->modules[i];
        /* ET_DYN files are placed at the module's base; a missing file just stays unknown. */
        dwfl_report_elf(s->dwfl, mod->path, mod->path, -1, mod->base, false);
    }
    dwfl_report_end(s->dwfl, NULL, NULL);
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
#endif
    free(s);
}

static const struct hkd_module *find_module(const struct hkd_model *m, uint64_t addr)
{
    for (size_t i = 0; i < m->nmodules; i++)
        if (addr >= m->modules[i].base && addr < m->modules[i].end)
            return &m->modules[i];
    return NULL;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

char *hkd_sym_key(struct hkd_symbolizer *s, uint64_t addr)
{
    const struct hkd_module *mod = s ? find_module(s->m, addr) : NULL;
    if (!mod)
        return hkd_xasprintf("0x%llx", (unsigned long long)addr);
    return hkd_xasprintf("%s+0x%llx", base_name(mod->path),
                         (unsigned long long)(addr - mod->base));
}

char *hkd_sym_name(struct hkd_symbolizer *s, uint64_t addr, bool is_return)
{
#if HKD_HAVE_LIBDW
    if (s && s->dwfl && find_module(s->m, addr)) {
        /* A return address points after the call; the call itself is one byte earlier. */
        Dwarf_Addr pc = is_return && addr ? addr - 1 : addr;
        Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
        const char *fn = mod ? dwfl_module_addrname(mod, pc) : NULL;
        if (fn) {
            Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
            int lineno = 0;
            const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
                                    : NULL;
            if (file && lineno > 0)
                return hkd_xasprintf("%s (%s:%d)", fn, base_name(file), lineno);
            return hkd_xstrdup(fn);
        }
    }
#else
    (void)is_return;
#endif
    return hkd_sym_key(s, addr);
}
