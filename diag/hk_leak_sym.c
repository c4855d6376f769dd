/* Function names for the leak report, and what a frame is (hk_leak_frame_info). Names are
 * read from the modules' own files: the ELF symbol table (.symtab, which also names static
 * and non-exported functions that dladdr cannot see), else the dynamic one. The file is
 * mapped read-only, so a library that was unloaded before exit is still named as long as
 * its file exists. Report time only; no malloc. */
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_line.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if __ELF_NATIVE_CLASS == 64
#define HK_ELFCLASS ELFCLASS64
#define HK_ST_TYPE ELF64_ST_TYPE
#else
#define HK_ELFCLASS ELFCLASS32
#define HK_ST_TYPE ELF32_ST_TYPE
#endif

struct hk_symtab {
    const ElfW(Sym) *syms;
    size_t nsyms;
    const char *str;
    size_t strsz;
};

struct hk_symfile {
    uint32_t module;
    bool ok;
    const unsigned char *map;
    size_t len;
    bool exec;               /* ET_EXEC: symbol values are absolute addresses */
    struct hk_symtab tab[2]; /* .symtab, .dynsym */
    struct hk_dwarf dwarf;   /* .debug_line and its string sections, for file:line */
};

#define HK_SYMFILES 64
static struct hk_symfile hk_symfiles[HK_SYMFILES];
static unsigned hk_nsymfiles;

static bool hk_in_file(const struct hk_symfile *f, uint64_t off, uint64_t size)
{
    return off <= f->len && size <= f->len - off;
}

/* The DWARF sections the line lookup reads, found by name (compressed ones are skipped). */
static void hk_dwarf_sections(struct hk_symfile *f, const ElfW(Ehdr) *eh, const ElfW(Shdr) *sh)
{
    if (eh->e_shstrndx >= eh->e_shnum)
        return;
    const ElfW(Shdr) *names = &sh[eh->e_shstrndx];
    if (!hk_in_file(f, names->sh_offset, names->sh_size))
        return;
    const char *str = (const char *)(f->map + names->sh_offset);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_name >= names->sh_size || sh[i].sh_type == SHT_NOBITS ||
            (sh[i].sh_flags & SHF_COMPRESSED) || !hk_in_file(f, sh[i].sh_offset, sh[i].sh_size) ||
            !memchr(str + sh[i].sh_name, '\0', names->sh_size - sh[i].sh_name))
            continue;
        const char *name = str + sh[i].sh_name;
        const unsigned char *at = f->map + sh[i].sh_offset;
        if (strcmp(name, ".debug_line") == 0) {
            f->dwarf.line = at;
            f->dwarf.line_len = sh[i].sh_size;
        } else if (strcmp(name, ".debug_line_str") == 0) {
            f->dwarf.line_str = at;
            f->dwarf.line_str_len = sh[i].sh_size;
        } else if (strcmp(name, ".debug_str") == 0) {
            f->dwarf.str = at;
            f->dwarf.str_len = sh[i].sh_size;
        }
    }
}

static void hk_symfile_open(struct hk_symfile *f, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size < sizeof(ElfW(Ehdr))) {
        close(fd);
        return;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return;
    f->map = m;
    f->len = (size_t)st.st_size;
    const ElfW(Ehdr) *eh = m;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != HK_ELFCLASS ||
        eh->e_shentsize != sizeof(ElfW(Shdr)) ||
        !hk_in_file(f, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr))))
        return;
    f->exec = eh->e_type == ET_EXEC;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(f->map + eh->e_shoff);
    hk_dwarf_sections(f, eh, sh);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        int t = sh[i].sh_type == SHT_SYMTAB ? 0 : sh[i].sh_type == SHT_DYNSYM ? 1 : -1;
        if (t < 0 || sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(ElfW(Sym)))
            continue;
        const ElfW(Shdr) *ss = &sh[sh[i].sh_link];
        if (sh[i].sh_type == SHT_NOBITS || ss->sh_type != SHT_STRTAB ||
            !hk_in_file(f, sh[i].sh_offset, sh[i].sh_size) ||
            !hk_in_file(f, ss->sh_offset, ss->sh_size))
            continue;
        f->tab[t].syms = (const ElfW(Sym) *)(f->map + sh[i].sh_offset);
        f->tab[t].nsyms = sh[i].sh_size / sizeof(ElfW(Sym));
        f->tab[t].str = (const char *)(f->map + ss->sh_offset);
        f->tab[t].strsz = ss->sh_size;
    }
    f->ok = true;
}

static const char *hk_symtab_find(const struct hk_symtab *t, uint64_t v)
{
    for (size_t i = 0; i < t->nsyms; i++) {
        const ElfW(Sym) *s = &t->syms[i];
        int type = HK_ST_TYPE(s->st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF)
            continue;
        if (v >= s->st_value && v - s->st_value < (s->st_size ? s->st_size : 1) &&
            s->st_name < t->strsz && t->str[s->st_name] &&
            memchr(t->str + s->st_name, '\0', t->strsz - s->st_name))
            return t->str + s->st_name;
    }
    return NULL;
}

/* The mapped file of a module (opened on first use); NULL when it cannot be read. *v: addr
 * in the file's own terms (ELF virtual addresses). */
static struct hk_symfile *hk_symfile_of(uint32_t module, uintptr_t addr, uint64_t *v)
{
    if (module == HK_MODULE_NONE || module >= hk_stack_module_count())
        return NULL;
    const struct hk_leak_module *m = hk_stack_module(module);
    struct hk_symfile *f = NULL;
    for (unsigned i = 0; i < hk_nsymfiles; i++)
        if (hk_symfiles[i].module == module)
            f = &hk_symfiles[i];
    if (!f) {
        if (hk_nsymfiles == HK_SYMFILES)
            return NULL;
        f = &hk_symfiles[hk_nsymfiles++];
        memset(f, 0, sizeof *f);
        f->module = module;
        if (m->path && m->path[0] == '/')
            hk_symfile_open(f, m->path);
    }
    if (!f->ok)
        return NULL;
    *v = f->exec ? addr : addr - m->base;
    return f;
}

/* Each module's line index, built once and kept when its file is unmapped after a check
 * (the arena never frees: rebuilding it at every on-demand check would grow it). */
static struct {
    const void *ranges;
    size_t n;
    bool built;
} hk_line_index[HK_MODULES_MAX];

bool hk_leak_sym_line(uint32_t module, uintptr_t addr, struct hk_line *out)
{
    uint64_t v;
    struct hk_symfile *f = hk_symfile_of(module, addr, &v);
    if (!f)
        return false;
    if (!f->dwarf.ranges_built && hk_line_index[module].built) {
        f->dwarf.ranges = hk_line_index[module].ranges;
        f->dwarf.nranges = hk_line_index[module].n;
        f->dwarf.ranges_built = true;
    }
    bool found = hk_leak_line_find(&f->dwarf, v, out);
    hk_line_index[module].ranges = f->dwarf.ranges;
    hk_line_index[module].n = f->dwarf.nranges;
    hk_line_index[module].built = f->dwarf.ranges_built;
    return found;
}

const char *hk_leak_sym_lookup(uint32_t module, uintptr_t addr)
{
    uint64_t v;
    struct hk_symfile *f = hk_symfile_of(module, addr, &v);
    if (!f)
        return NULL;
    for (int t = 0; t < 2; t++) {
        const char *name = hk_symtab_find(&f->tab[t], v);
        if (name)
            return name;
    }
    return NULL;
}

void hk_leak_sym_release(void)
{
    for (unsigned i = 0; i < hk_nsymfiles; i++)
        if (hk_symfiles[i].map)
            munmap((void *)hk_symfiles[i].map, hk_symfiles[i].len);
    hk_nsymfiles = 0;
}

/* A frame: the module map, then the module file's symbols and lines; dladdr for a function
 * the file does not name, while the module is loaded. */
void hk_leak_frame_info(uint32_t stack, int i, struct hk_frame_info *fi)
{
    const uintptr_t *frames;
    const uint16_t *mods;
    hk_stack_frames(stack, &frames);
    hk_stack_frame_modules(stack, &mods);
    fi->pc = frames[i];
    fi->func = NULL;
    fi->module = NULL;
    fi->offset = 0;
    fi->src = (struct hk_line){NULL, NULL, 0};
    uint32_t mi = mods[i];
    if (mi == HK_MODULE_NONE)
        return;
    if (!hk_leak_sym_line(mi, fi->pc - 1, &fi->src))
        fi->src.file = NULL;
    const struct hk_leak_module *m = hk_stack_module(mi);
    fi->module = m->path;
    fi->offset = fi->pc - m->base;
    fi->func = hk_leak_sym_lookup(mi, fi->pc - 1);
    if (!fi->func && m->loaded) {
        Dl_info dli;
        if (dladdr((void *)(fi->pc - 1), &dli) && dli.dli_sname && dli.dli_fbase &&
            (uintptr_t)dli.dli_fbase >= m->lo && (uintptr_t)dli.dli_fbase < m->hi)
            fi->func = dli.dli_sname;
    }
}
