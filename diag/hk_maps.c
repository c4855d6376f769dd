/* /proc/self/maps without malloc (hk_maps.h). */
#include "hk_maps.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

bool hk_maps_open(struct hk_maps_reader *m)
{
    m->len = m->pos = 0;
    m->eof = m->cut = false;
    m->fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    return m->fd >= 0;
}

void hk_maps_close(struct hk_maps_reader *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

char *hk_maps_next(struct hk_maps_reader *m)
{
    for (;;) {
        char *s = m->buf + m->pos, *nl = memchr(s, '\n', m->len - m->pos);
        if (nl) {
            *nl = '\0';
            m->pos = (size_t)(nl + 1 - m->buf);
            if (!m->cut)
                return s;
            m->cut = false;
            continue;
        }
        if (m->eof)
            return NULL;
        memmove(m->buf, s, m->len - m->pos);
        m->len -= m->pos;
        m->pos = 0;
        if (m->len == sizeof m->buf - 1) {   /* a whole buffer without a newline */
            m->buf[m->len] = '\0';
            m->len = 0;
            bool was_cut = m->cut;
            m->cut = true;
            if (!was_cut)
                return m->buf;
            continue;
        }
        ssize_t k = read(m->fd, m->buf + m->len, sizeof m->buf - 1 - m->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            m->eof = true;
            if (m->len && !m->cut) {
                m->buf[m->len] = '\n';   /* a last line without its newline */
                m->len++;
            }
            continue;
        }
        m->len += (size_t)k;
    }
}

static const char *hk_parse_hex(const char *s, uintptr_t *v)
{
    *v = 0;
    const char *start = s;
    for (;; s++) {
        unsigned d = *s >= '0' && *s <= '9' ? (unsigned)(*s - '0')
                     : *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10) : 16u;
        if (d == 16)
            return s > start ? s : NULL;
        *v = *v << 4 | d;
    }
}

/* "lo-hi perm offset dev inode   path"; false for a line of another shape. */
bool hk_maps_parse(const char *s, struct hk_maps_line *l)
{
    if (!(s = hk_parse_hex(s, &l->lo)) || *s++ != '-' || !(s = hk_parse_hex(s, &l->hi)) ||
        *s++ != ' ' || strnlen(s, 4) < 4 || l->lo >= l->hi)
        return false;
    memcpy(l->perm, s, 4);
    s += 4;
    while (*s == ' ')
        s++;
    if (!(s = hk_parse_hex(s, &l->offset)))
        return false;
    for (int field = 0; field < 3; field++) {   /* dev, inode, then the path */
        while (*s == ' ')
            s++;
        if (field < 2)
            while (*s && *s != ' ')
                s++;
    }
    l->path = s;
    return true;
}

/* The load bias of the ELF file whose headers are mapped (readable) at lo: lo less the page
 * of its first PT_LOAD's address; 0 for a fixed-address executable. */
static uintptr_t hk_maps_bias(uintptr_t lo, size_t len)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)lo;
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG))
        return lo;
    if (eh->e_type == ET_EXEC)
        return 0;
    if (eh->e_phoff > len || (size_t)eh->e_phnum * sizeof(ElfW(Phdr)) > len - eh->e_phoff)
        return lo;   /* headers past the mapping: not read */
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(lo + eh->e_phoff);
    for (unsigned i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD)
            return lo - (ph[i].p_vaddr & ~(uintptr_t)4095);
    return lo;
}

bool hk_maps_module_of(uintptr_t addr, struct hk_maps_module *mod)
{
    struct hk_maps_reader m;
    if (!hk_maps_open(&m))
        return false;
    bool found = false;
    uintptr_t head = 0;   /* the current file's mapping at offset 0, readable; 0: none */
    size_t head_len = 0;
    for (char *line; (line = hk_maps_next(&m));) {
        struct hk_maps_line l;
        if (!hk_maps_parse(line, &l))
            continue;
        bool file = l.path[0] == '/';
        if (found) {   /* the file's later mappings extend it */
            if (!file || strncmp(l.path, mod->path, sizeof mod->path - 1))
                break;
            mod->end = l.hi;
            continue;
        }
        if (file && l.offset == 0) {   /* a file's first mapping: its headers */
            head = l.perm[0] == 'r' ? l.lo : 0;
            head_len = l.hi - l.lo;
            size_t n = strnlen(l.path, sizeof mod->path - 1);
            memcpy(mod->path, l.path, n);
            mod->path[n] = '\0';
        }
        if (addr < l.lo || addr >= l.hi)
            continue;
        if (!file || !head || strncmp(l.path, mod->path, sizeof mod->path - 1))
            break;
        mod->base = hk_maps_bias(head, head_len);
        mod->end = l.hi;
        found = true;
    }
    hk_maps_close(&m);
    return found;
}

