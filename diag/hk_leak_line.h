/* File and line of a code address from a module's DWARF line table (hk_leak_line.c). */
#ifndef HK_LEAK_LINE_H
#define HK_LEAK_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The DWARF sections of a mapped module file (NULL when absent), and the index of its line
 * units' address ranges (offsets in .debug_line, so it outlives the mapping), built on the
 * first lookup; ranges_built tells an empty index from none. */
struct hk_dwarf {
    const unsigned char *line, *line_str, *str;
    size_t line_len, line_str_len, str_len;
    const void *ranges;
    size_t nranges;
    bool ranges_built;
};

struct hk_line {
    const char *dir;      /* directory to put before file, or NULL */
    const char *file;
    unsigned line;
};

/* addr: an address in the module's own terms (ELF virtual address). Strings point into the
 * mapped file. */
bool hk_leak_line_find(struct hk_dwarf *d, uint64_t addr, struct hk_line *out);

#endif
