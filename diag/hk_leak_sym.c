/* Function names for the leak report, and what a frame is (hk_leak_frame_info). Names are
 * read from the modules' own files: the ELF symbol table (.symtab, which also names static
 * and non-exported functions that dladdr cannot see), else the dynamic one; a module without
 * a line table gets it (and a missing .symtab) from its separate debug file. The file is
 * mapped read-only, so a library that was unloaded before exit is still named as long as
 * its file exists. Each table is indexed by address on its first lookup (sorted, searched by
 * halves), and what a frame is named is kept per frame id until hk_leak_sym_release, so a
 * check looks each distinct frame up once however many stacks and suppressions it meets.
 * Report time only; no malloc; the leak lock held. */
#include "hk_emit.h"
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_line.h"
#include "hk_leak_run.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_sort.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if HK_HAVE_ZLIB
#include <zlib.h>
#endif

#if __ELF_NATIVE_CLASS == 64
#define HK_ELFCLASS ELFCLASS64
#define HK_ST_TYPE ELF64_ST_TYPE
#else
#define HK_ELFCLASS ELFCLASS32
#define HK_ST_TYPE ELF32_ST_TYPE
#endif

/* A function symbol of the index: [lo, end) with the name's offset; maxend: the largest end
 * of this entry and every one before it, so a lookup knows when to stop looking back. */
struct hk_sym_ent {
    uint64_t lo, end, maxend;
    uint32_t name;
    uint32_t idx;             /* in the table: of two that hold an address, the first wins */
};

struct hk_symtab {
    const ElfW(Sym) *syms;
    size_t nsyms;
    const char *str;
    size_t strsz;
    struct hk_sym_ent *ix;    /* by address, then table order; built on the first lookup */
    size_t nix, ix_len;
    bool ix_built;
};

/* A mapped ELF file: the module's own, or the separate file of its debug information. */
struct hk_elf {
    const unsigned char *map;
    size_t len;
};

/* A section inflated from its compressed form, mapped until hk_leak_sym_release. */
struct hk_inflated {
    void *map;
    size_t len;
};

struct hk_symfile {
    uint32_t module;
    bool ok;
    struct hk_elf file, debug;
    struct hk_inflated inflated[3];   /* the DWARF sections that were compressed */
    const struct hk_elf *line_elf;    /* the file (file or debug) whose line table is read,
                                         its sections taken at the first line lookup */
    bool exec;               /* ET_EXEC: symbol values are absolute addresses */
    struct hk_symtab tab[2]; /* .symtab, .dynsym (from the debug file when the module lacks one) */
    struct hk_dwarf dwarf;   /* .debug_line and its string sections, for file:line */
};

#define HK_SYMFILES 64
static struct hk_symfile hk_symfiles[HK_SYMFILES];
static unsigned hk_nsymfiles;

static bool hk_in(const struct hk_elf *e, uint64_t off, uint64_t size)
{
    return off <= e->len && size <= e->len - off;
}

/* The section headers of a well-formed file of this machine's class, and the table of their
 * names; NULL otherwise. */
static const ElfW(Shdr) *hk_elf_sections(const struct hk_elf *e, unsigned *n, const char **names,
                                         size_t *names_len)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)e->map;
    if (e->len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != HK_ELFCLASS || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
        !hk_in(e, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr))) ||
        eh->e_shstrndx >= eh->e_shnum)
        return NULL;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(e->map + eh->e_shoff);
    if (!hk_in(e, sh[eh->e_shstrndx].sh_offset, sh[eh->e_shstrndx].sh_size))
        return NULL;
    *n = eh->e_shnum;
    *names = (const char *)(e->map + sh[eh->e_shstrndx].sh_offset);
    *names_len = sh[eh->e_shstrndx].sh_size;
    return sh;
}

/* The section called name (not empty), or NULL; *flags: its sh_flags. */
static const unsigned char *hk_elf_section_raw(const struct hk_elf *e, const char *name,
                                               size_t *len, uint64_t *flags)
{
    unsigned n;
    const char *str;
    size_t str_len;
    const ElfW(Shdr) *sh = hk_elf_sections(e, &n, &str, &str_len);
    for (unsigned i = 0; sh && i < n; i++) {
        if (sh[i].sh_name >= str_len || sh[i].sh_type == SHT_NOBITS ||
            !hk_in(e, sh[i].sh_offset, sh[i].sh_size) ||
            !memchr(str + sh[i].sh_name, '\0', str_len - sh[i].sh_name) ||
            strcmp(str + sh[i].sh_name, name) != 0)
            continue;
        *len = sh[i].sh_size;
        *flags = sh[i].sh_flags;
        return e->map + sh[i].sh_offset;
    }
    return NULL;
}

/* The bytes of the section called name, not compressed; NULL otherwise. */
static const unsigned char *hk_elf_section(const struct hk_elf *e, const char *name, size_t *len)
{
    uint64_t flags = 0;
    const unsigned char *p = hk_elf_section_raw(e, name, len, &flags);
    return p && !(flags & SHF_COMPRESSED) ? p : NULL;
}

#if HK_HAVE_ZLIB
/* zlib's memory, from one mapping the inflate owns (inflate frees nothing until its end). */
struct hk_zpool {
    char *base;
    size_t len, used;
};

static voidpf hk_zalloc(voidpf opaque, uInt items, uInt size)
{
    struct hk_zpool *p = opaque;
    size_t n = hk_align_up((size_t)items * size, 16);
    if (!items || n / items < size || n > p->len - p->used)
        return Z_NULL;
    p->used += n;
    return p->base + p->used - n;
}

static void hk_zfree(voidpf opaque, voidpf addr)
{
    (void)opaque;
    (void)addr;
}

/* A compressed section (Elf_Chdr, ELFCOMPRESS_ZLIB) inflated into a new mapping; NULL when
 * it is of another kind, damaged, or memory is short. */
static const unsigned char *hk_inflate(const unsigned char *raw, size_t raw_len,
                                       struct hk_inflated *out, size_t *len)
{
    const ElfW(Chdr) *ch = (const ElfW(Chdr) *)raw;
    if (raw_len < sizeof *ch || ch->ch_type != ELFCOMPRESS_ZLIB || !ch->ch_size ||
        ch->ch_size > ((size_t)1 << 30))
        return NULL;
    struct hk_zpool pool = {hk_os_map_meta((size_t)256 << 10), (size_t)256 << 10, 0};
    void *dst = hk_os_map_meta(ch->ch_size);
    bool ok = false;
    if (pool.base && dst) {
        z_stream z;
        memset(&z, 0, sizeof z);
        z.zalloc = hk_zalloc;
        z.zfree = hk_zfree;
        z.opaque = &pool;
        z.next_in = (Bytef *)(uintptr_t)(raw + sizeof *ch);
        z.avail_in = (uInt)(raw_len - sizeof *ch);
        z.next_out = dst;
        z.avail_out = (uInt)ch->ch_size;
        if (inflateInit(&z) == Z_OK) {
            ok = inflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out == ch->ch_size;
            inflateEnd(&z);
        }
    }
    if (pool.base)
        (void)hk_os_unmap_meta(pool.base, pool.len);
    if (!ok) {
        if (dst)
            (void)hk_os_unmap_meta(dst, ch->ch_size);
        return NULL;
    }
    out->map = dst;
    out->len = ch->ch_size;
    *len = ch->ch_size;
    return dst;
}
#endif

/* A DWARF section, inflated into slot when it is compressed. */
static const unsigned char *hk_elf_dwarf(const struct hk_elf *e, const char *name, size_t *len,
                                         struct hk_inflated *slot)
{
    uint64_t flags = 0;
    const unsigned char *p = hk_elf_section_raw(e, name, len, &flags);
    if (!p || !(flags & SHF_COMPRESSED))
        return p;
#if HK_HAVE_ZLIB
    return hk_inflate(p, *len, slot, len);
#else
    (void)slot;
    return NULL;
#endif
}

/* The line table and its strings, from the file hk_elf_read chose, inflated when compressed:
 * at the first line lookup, since most checks name frames and print no line (a check with
 * nothing to report, the suppressions' matching). */
static void hk_symfile_lines(struct hk_symfile *f)
{
    const struct hk_elf *e = f->line_elf;
    f->line_elf = NULL;
    f->dwarf.line = hk_elf_dwarf(e, ".debug_line", &f->dwarf.line_len, &f->inflated[0]);
    if (f->dwarf.line) {
        f->dwarf.line_str =
            hk_elf_dwarf(e, ".debug_line_str", &f->dwarf.line_str_len, &f->inflated[1]);
        f->dwarf.str = hk_elf_dwarf(e, ".debug_str", &f->dwarf.str_len, &f->inflated[2]);
    }
}

/* A line table the lookup can read: plain, or compressed with zlib (when built with it). */
static bool hk_dwarf_readable(const unsigned char *p, size_t len, uint64_t flags)
{
    if (!(flags & SHF_COMPRESSED))
        return true;
    ElfW(Chdr) ch;
    if (!HK_HAVE_ZLIB || len < sizeof ch)
        return false;
    memcpy(&ch, p, sizeof ch);
    return ch.ch_type == ELFCOMPRESS_ZLIB;
}

/* The file whose line table the line lookup reads (the first that has one it can read), and
 * the symbol tables, each taken from e unless an earlier file gave it. */
static void hk_elf_read(struct hk_symfile *f, const struct hk_elf *e)
{
    size_t len;
    uint64_t flags;
    const unsigned char *line = f->line_elf ? NULL : hk_elf_section_raw(e, ".debug_line", &len,
                                                                        &flags);
    if (line && hk_dwarf_readable(line, len, flags))
        f->line_elf = e;
    unsigned n;
    const char *str;
    size_t str_len;
    const ElfW(Shdr) *sh = hk_elf_sections(e, &n, &str, &str_len);
    for (unsigned i = 0; sh && i < n; i++) {
        int t = sh[i].sh_type == SHT_SYMTAB ? 0 : sh[i].sh_type == SHT_DYNSYM ? 1 : -1;
        if (t < 0 || f->tab[t].syms || sh[i].sh_link >= n ||
            sh[i].sh_entsize != sizeof(ElfW(Sym)))
            continue;
        const ElfW(Shdr) *ss = &sh[sh[i].sh_link];
        if (ss->sh_type != SHT_STRTAB || !hk_in(e, sh[i].sh_offset, sh[i].sh_size) ||
            !hk_in(e, ss->sh_offset, ss->sh_size))
            continue;
        f->tab[t].syms = (const ElfW(Sym) *)(e->map + sh[i].sh_offset);
        f->tab[t].nsyms = sh[i].sh_size / sizeof(ElfW(Sym));
        f->tab[t].str = (const char *)(e->map + ss->sh_offset);
        f->tab[t].strsz = ss->sh_size;
    }
}

/* Maps a regular file read-only; false when it cannot. */
static bool hk_elf_map(struct hk_elf *e, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    struct stat st;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size >= sizeof(ElfW(Ehdr)))
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return false;
    e->map = m;
    e->len = (size_t)st.st_size;
    return true;
}

/* The GNU build ID of a file (.note.gnu.build-id), *len bytes; NULL without one. */
static const unsigned char *hk_elf_build_id(const struct hk_elf *e, size_t *len)
{
    size_t n;
    const unsigned char *note = hk_elf_section(e, ".note.gnu.build-id", &n);
    if (!note || n < sizeof(ElfW(Nhdr)))
        return NULL;
    const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)note;
    size_t name = (nh->n_namesz + 3) & ~(size_t)3;
    if (nh->n_type != NT_GNU_BUILD_ID || nh->n_descsz == 0 || nh->n_descsz > 64 ||
        sizeof *nh + name + nh->n_descsz > n)
        return NULL;
    *len = nh->n_descsz;
    return note + sizeof *nh + name;
}

/* "a" + "b" + "c" into buf (cut to fit). */
static const char *hk_path3(char *buf, size_t cap, const char *a, const char *b, const char *c)
{
    struct hk_out o;
    hk_out_init_mem(&o, buf, cap);
    hk_out_str(&o, a);
    hk_out_str(&o, b);
    hk_out_str(&o, c);
    hk_out_flush(&o);
    return o.err ? NULL : buf;
}

/* A debug file for the module at path, whose own file has no line table: by its build ID
 * under /usr/lib/debug/.build-id (Debian's -dbgsym packages), else by its .gnu_debuglink
 * name beside it, in .debug/ beside it, or under /usr/lib/debug; as gdb looks. A file whose
 * build ID differs from the module's is not it. */
static void hk_debug_file(struct hk_symfile *f, const char *path)
{
    size_t idn = 0, link_len = 0;
    const unsigned char *id = hk_elf_build_id(&f->file, &idn);
    const unsigned char *link = hk_elf_section(&f->file, ".gnu_debuglink", &link_len);
    char dir[1024], hex[160];
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
    if (dl >= sizeof dir)
        return;
    memcpy(dir, path, dl);
    dir[dl] = '\0';
    char cand[4][1280];
    int nt = 0;
    if (id) {
        static const char digits[] = "0123456789abcdef";
        size_t k = 0;
        for (size_t i = 0; i < idn; i++) {
            hex[k++] = digits[id[i] >> 4];
            hex[k++] = digits[id[i] & 15];
            if (i == 0)
                hex[k++] = '/';
        }
        hex[k] = '\0';
        nt += hk_path3(cand[nt], sizeof cand[nt], "/usr/lib/debug/.build-id/", hex, ".debug") != NULL;
    }
    const char *name = (const char *)link;
    if (link && memchr(link, '\0', link_len) && link[0] && !strchr(name, '/')) {
        nt += hk_path3(cand[nt], sizeof cand[nt], dir, name, "") != NULL;
        nt += hk_path3(cand[nt], sizeof cand[nt], dir, ".debug/", name) != NULL;
        nt += hk_path3(cand[nt], sizeof cand[nt], "/usr/lib/debug", dir, name) != NULL;
    }
    for (int t = 0; t < nt && !f->debug.map; t++) {
        if (!strcmp(cand[t], path) || !hk_elf_map(&f->debug, cand[t]))
            continue;
        size_t dn = 0;
        const unsigned char *did = hk_elf_build_id(&f->debug, &dn);
        if (id && did && (dn != idn || memcmp(id, did, idn))) {
            munmap((void *)f->debug.map, f->debug.len);
            f->debug.map = NULL;
            f->debug.len = 0;
        }
    }
    if (f->debug.map)
        hk_elf_read(f, &f->debug);
}

static void hk_symfile_open(struct hk_symfile *f, const char *path)
{
    unsigned n;
    const char *str;
    size_t str_len;
    if (!hk_elf_map(&f->file, path) || !hk_elf_sections(&f->file, &n, &str, &str_len))
        return;
    f->exec = ((const ElfW(Ehdr) *)f->file.map)->e_type == ET_EXEC;
    hk_elf_read(f, &f->file);
    if (!f->line_elf)
        hk_debug_file(f, path);
    f->ok = true;
}

static bool hk_sym_is_func(const ElfW(Sym) *s)
{
    int type = HK_ST_TYPE(s->st_info);
    return type == STT_FUNC || type == STT_GNU_IFUNC;
}

/* Functions, and untyped symbols with a size (hand-written assembly that says `.size` but
 * not `.type`, which dladdr names too); a function is preferred where both hold an address. */
static bool hk_sym_usable(const struct hk_symtab *t, const ElfW(Sym) *s)
{
    bool code = hk_sym_is_func(s) || (HK_ST_TYPE(s->st_info) == STT_NOTYPE && s->st_size);
    return code && s->st_shndx != SHN_UNDEF && s->st_name < t->strsz && t->str[s->st_name] &&
           memchr(t->str + s->st_name, '\0', t->strsz - s->st_name);
}

static bool hk_sym_less(const void *a, const void *b)
{
    const struct hk_sym_ent *x = a, *y = b;
    return x->lo != y->lo ? x->lo < y->lo : x->idx < y->idx;
}

/* The index of a table's functions (none when it cannot be mapped: lookups find nothing). */
static void hk_symtab_index(struct hk_symtab *t)
{
    t->ix_built = true;
    size_t n = 0;
    for (size_t i = 0; i < t->nsyms; i++)
        n += hk_sym_usable(t, &t->syms[i]);
    if (!n || !(t->ix = hk_leak_run_map(n * sizeof *t->ix, &t->ix_len)))
        return;
    for (size_t i = 0; i < t->nsyms; i++) {
        const ElfW(Sym) *s = &t->syms[i];
        if (hk_sym_usable(t, s))
            t->ix[t->nix++] = (struct hk_sym_ent){s->st_value,
                                                  s->st_value + (s->st_size ? s->st_size : 1),
                                                  0, s->st_name, (uint32_t)i};
    }
    size_t tmp_len;
    void *tmp = hk_leak_run_map(t->nix * sizeof *t->ix, &tmp_len);
    if (tmp) {   /* built in table order: the stable sort keeps the first of equal starts first */
        hk_sort_by_key(t->ix, tmp, t->nix, sizeof *t->ix, offsetof(struct hk_sym_ent, lo));
        hk_leak_run_unmap(tmp, tmp_len);
    } else {
        hk_sort_array(t->ix, t->nix, sizeof *t->ix, hk_sym_less);
    }
    for (size_t i = 0; i < t->nix; i++)
        t->ix[i].maxend = i && t->ix[i - 1].maxend > t->ix[i].end ? t->ix[i - 1].maxend
                                                                  : t->ix[i].end;
}

/* The function that holds v: of those whose range holds it, the first function in the
 * table, else the first untyped symbol. */
static const char *hk_symtab_find(struct hk_symtab *t, uint64_t v)
{
    if (!t->ix_built)
        hk_symtab_index(t);
    size_t lo = 0, hi = t->nix;   /* entries [0, lo) start at or below v */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ix[mid].lo <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct hk_sym_ent *best = NULL;
    bool best_func = false;
    for (size_t j = lo; j-- > 0 && t->ix[j].maxend > v;) {
        if (t->ix[j].end <= v)
            continue;
        bool func = hk_sym_is_func(&t->syms[t->ix[j].idx]);
        if (!best || (func && !best_func) || (func == best_func && t->ix[j].idx < best->idx)) {
            best = &t->ix[j];
            best_func = func;
        }
    }
    return best ? t->str + best->name : NULL;
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
    if (f->line_elf)
        hk_symfile_lines(f);
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

/* What each frame is named, by frame id, for the check that holds the leak lock. */
struct hk_frame_memo {
    const char *func;
    const char *inl;          /* the helper's inline chain (struct hk_frame_info), or NULL */
    uint32_t ninl;
    struct hk_line src;
    uint8_t have;             /* HK_MEMO_* */
};
#define HK_MEMO_FUNC 1
#define HK_MEMO_SRC 2
#define HK_MEMO_LISTED 4      /* in a stack the report lists: asked about inlined code */
static struct hk_frame_memo *hk_memo;
static size_t hk_nmemo, hk_memo_len;

/* The memo of a frame id; NULL beyond the frames known when it was made (or without
 * memory): such a frame is looked up each time. */
static struct hk_frame_memo *hk_memo_of(uint32_t fid)
{
    if (!hk_memo) {
        size_t n = (size_t)hk_stack_frame_count() + 1;
        hk_memo = hk_leak_run_map(n * sizeof *hk_memo, &hk_memo_len);
        hk_nmemo = hk_memo ? n : 0;
    }
    return fid < hk_nmemo ? &hk_memo[fid] : NULL;
}

/* The helper's answers (hk_leak_helper_run), one run mapping per mode: the memo's
 * demangled names and inline chains point into them. */
static struct {
    char *out;
    size_t map;
} hk_answers[2];

/* A growing run mapping: a question for the helper, or the frame ids it is about. */
struct hk_sym_buf {
    char *p;
    size_t len, cap;
    bool ok;
};

static void hk_sym_put(struct hk_sym_buf *b, const void *a, size_t n)
{
    b->ok = b->ok && hk_leak_run_grow((void **)&b->p, &b->cap, b->len + n);
    if (b->ok) {
        memcpy(b->p + b->len, a, n);
        b->len += n;
    }
}

/* A C++ frame's question: its mangled name. */
static bool hk_ask_demangle(const struct hk_frame_info *fi, struct hk_sym_buf *in)
{
    if (!fi->func || strncmp(fi->func, "_Z", 2) || strchr(fi->func, '\n'))
        return false;
    hk_sym_put(in, fi->func, strlen(fi->func));
    return true;
}

static bool hk_take_demangle(struct hk_frame_memo *memo, char *answer, bool keep)
{
    if (keep && answer[0])
        memo->func = answer;
    return true;
}

/* Any frame in a file: "path<TAB>hex", its address in the file's own terms. */
static bool hk_ask_inline(const struct hk_frame_info *fi, struct hk_sym_buf *in)
{
    if (!fi->module || !fi->module[0] || strpbrk(fi->module, "\t\n") || fi->offset < 2)
        return false;
    char hex[2 * sizeof(uintptr_t) + 1];
    int n = 0;
    for (int sh = (int)(8 * sizeof(uintptr_t)) - 4; sh >= 0; sh -= 4)
        if ((fi->offset >> sh) || n)
            hex[n++] = "0123456789abcdef"[(fi->offset >> sh) & 15];
    hk_sym_put(in, fi->module, strlen(fi->module));
    hk_sym_put(in, "\t", 1);
    hk_sym_put(in, hex, (size_t)n);
    return true;
}

/* The answer is "function<TAB>file:line" pairs, tab-separated (the source may be empty), two
 * or more of them (an inlined function and the one it is in). Kept as hk_leak_inline_next
 * reads it: each tab, and the colon before a line, made a NUL. Anything else makes the whole
 * answer untrusted. */
static bool hk_take_inline(struct hk_frame_memo *memo, char *answer, bool keep)
{
    if (!answer[0])
        return true;
    uint32_t n = 0;
    for (char *p = answer; n <= 4096; n++) {
        char *tab = strchr(p, '\t');
        if (!tab || tab == p)
            return false;
        char *src = tab + 1, *end = strchr(src, '\t');
        if (!end)
            end = src + strlen(src);
        if (end > src) {            /* "file:line": a line of 1 to 9 digits, not 0 */
            char *colon = memrchr(src, ':', (size_t)(end - src));
            size_t digits = colon ? (size_t)(end - colon - 1) : 0;
            if (!colon || colon == src || !digits || digits > 9 || colon[1] == '0' ||
                strspn(colon + 1, "0123456789") < digits)
                return false;
            if (keep)
                *colon = '\0';
        }
        if (keep)
            *tab = '\0';
        if (!*end)
            break;
        if (keep)
            *end = '\0';
        p = end + 1;
    }
    if (n < 1 || n > 4096)          /* n: pairs less one */
        return false;
    if (keep) {
        memo->inl = answer;
        memo->ninl = n + 1;
    }
    return true;
}

/* One helper run over the recorded frames (those whose memo has the bits of `only`): ask
 * writes a frame's question (false: nothing to ask), take keeps its answer line; all or none
 * is taken (one line an asked frame, text). */
static void hk_sym_helper_pass(int slot, const char *mode, uint8_t only,
                               bool (*ask)(const struct hk_frame_info *, struct hk_sym_buf *),
                               bool (*take)(struct hk_frame_memo *, char *, bool keep))
{
    struct hk_sym_buf in = {NULL, 0, 0, true}, ids = {NULL, 0, 0, true};
    uint32_t nf = hk_stack_frame_count();
    for (uint32_t fid = 1; fid <= nf && in.ok && ids.ok; fid++) {
        struct hk_frame_info fi;
        hk_leak_frame_info(fid, false, &fi);
        if (fid >= hk_nmemo || (hk_memo[fid].have & only) != only || !ask(&fi, &in))
            continue;
        hk_sym_put(&in, "\n", 1);
        hk_sym_put(&ids, &fid, sizeof fid);
    }
    char *out = NULL;
    size_t out_len = 0, out_map = 0, n = ids.len / sizeof(uint32_t);
    bool ok = in.ok && ids.ok && n &&
              hk_leak_helper_run(mode, in.p, in.len, &out, &out_len, &out_map);
    if (ok) {
        size_t lines = 0;
        for (size_t i = 0; i < out_len; i++)
            lines += out[i] == '\n';
        ok = lines == n && !memchr(out, '\0', out_len) && out[out_len - 1] == '\n';
    }
    /* Checked first, kept after: a bad line leaves every frame as it was (take changes
     * nothing without keep). */
    for (int keep = 0; keep < 2 && ok; keep++) {
        char *line = out;
        for (size_t i = 0; i < n && ok; i++) {
            char *nl = strchr(line, '\n');
            *nl = '\0';
            uint32_t fid;
            memcpy(&fid, ids.p + i * sizeof fid, sizeof fid);
            ok = take(&hk_memo[fid], line, keep);
            if (!keep)
                *nl = '\n';
            line = nl + 1;
        }
    }
    if (ok) {
        hk_answers[slot].out = out;
        hk_answers[slot].map = out_map;
    } else if (out) {
        hk_leak_run_unmap(out, out_map);
    }
    if (in.p)
        hk_leak_run_unmap(in.p, in.cap);
    if (ids.p)
        hk_leak_run_unmap(ids.p, ids.cap);
}

void hk_leak_sym_demangle(void)
{
    hk_sym_helper_pass(0, "--demangle", 0, hk_ask_demangle, hk_take_demangle);
}

/* Only the frames of stacks the report lists: the helper reads the debug information of
 * each file it is asked about (a tenth of a second for libc's alone, seconds for a few
 * thousand frames), so a program with nothing to report asks nothing. The text lists the
 * kinds HAKMEM_LEAK_REPORT selects; JSON and suite reports list every kind. A stack that a
 * suppression takes by its frames' own names is not listed either (more names can only
 * match more): the blocks every process has in libc and the loader ask nothing. */
void hk_leak_sym_inline(struct hk_run *r)
{
    bool all = hk_opt.stats == HK_STATS_JSON || hk_opt.leak_suite_dir, any = false;
    for (size_t i = 0; i < r->ng; i++) {
        if ((!all && !hk_leak_kind_selected(r->g[i].kind)) || hk_leak_supp_matches(r, &r->g[i]))
            continue;
        const uint32_t *fids;
        int n = hk_stack_frame_ids(r->g[i].stack, &fids);
        for (int k = 0; k < n; k++) {
            struct hk_frame_memo *memo = hk_memo_of(fids[k]);
            if (memo) {
                memo->have |= HK_MEMO_LISTED;
                any = true;
            }
        }
    }
    if (any) {
        hk_sym_helper_pass(1, "--inline", HK_MEMO_LISTED, hk_ask_inline, hk_take_inline);
        hk_leak_supp_forget(r);
    }
}

void hk_leak_sym_release(void)
{
    for (unsigned i = 0; i < hk_nsymfiles; i++) {
        struct hk_symfile *f = &hk_symfiles[i];
        for (int t = 0; t < 2; t++)
            if (f->tab[t].ix)
                hk_leak_run_unmap(f->tab[t].ix, f->tab[t].ix_len);
        if (f->file.map)
            munmap((void *)f->file.map, f->file.len);
        if (f->debug.map)
            munmap((void *)f->debug.map, f->debug.len);
        for (int k = 0; k < 3; k++)
            if (f->inflated[k].map)
                (void)hk_os_unmap_meta(f->inflated[k].map, f->inflated[k].len);
    }
    hk_nsymfiles = 0;
    if (hk_memo)
        hk_leak_run_unmap(hk_memo, hk_memo_len);
    hk_memo = NULL;
    hk_nmemo = 0;
    for (int k = 0; k < 2; k++) {
        if (hk_answers[k].out)
            hk_leak_run_unmap(hk_answers[k].out, hk_answers[k].map);
        hk_answers[k].out = NULL;
    }
}

/* The module's file gave its dynamic symbol table: the one dladdr searches (its other names
 * are of data). */
static bool hk_sym_has_dynsym(uint32_t module)
{
    uint64_t v;
    const struct hk_symfile *f = hk_symfile_of(module, 0, &v);
    return f && f->tab[1].syms;
}

/* The function of a frame: the module file's symbols; dladdr, while the module is loaded,
 * when the file gave no dynamic symbols (the vDSO, a file deleted or unreadable). dladdr
 * searches the table linearly, for every frame a stripped program's symbols do not name. */
static const char *hk_frame_func(uintptr_t pc, uint32_t mi, const struct hk_leak_module *m)
{
    const char *func = hk_leak_sym_lookup(mi, pc - 1);
    if (!func && m->loaded && !hk_sym_has_dynsym(mi)) {
        Dl_info dli;
        if (dladdr((void *)(pc - 1), &dli) && dli.dli_sname && dli.dli_fbase &&
            (uintptr_t)dli.dli_fbase >= m->lo && (uintptr_t)dli.dli_fbase < m->hi)
            func = dli.dli_sname;
    }
    return func;
}

void hk_leak_frame_info(uint32_t fid, bool src, struct hk_frame_info *fi)
{
    fi->pc = hk_stack_frame_pc(fid);
    fi->func = NULL;
    fi->module = NULL;
    fi->offset = 0;
    fi->src = (struct hk_line){NULL, NULL, 0};
    fi->inlined = NULL;
    fi->ninlined = 0;
    uint32_t mi = hk_stack_frame_module(fid);
    if (mi == HK_MODULE_NONE || mi >= hk_stack_module_count())
        return;
    const struct hk_leak_module *m = hk_stack_module(mi);
    fi->module = m->path;
    fi->offset = fi->pc - m->base;
    struct hk_frame_memo *memo = hk_memo_of(fid), none = {NULL, NULL, 0, {NULL, NULL, 0}, 0};
    if (!memo)
        memo = &none;
    if (!(memo->have & HK_MEMO_FUNC)) {
        memo->func = hk_frame_func(fi->pc, mi, m);
        memo->have |= HK_MEMO_FUNC;
    }
    fi->func = memo->func;
    fi->inlined = memo->inl;
    fi->ninlined = memo->ninl;
    if (!src)
        return;
    if (!(memo->have & HK_MEMO_SRC)) {
        if (!hk_leak_sym_line(mi, fi->pc - 1, &memo->src))
            memo->src.file = NULL;
        memo->have |= HK_MEMO_SRC;
    }
    fi->src = memo->src;
}
