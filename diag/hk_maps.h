/* /proc/self/maps read without malloc, line by line into a fixed buffer: the leak check's
 * scan of the program's own mappings (hk_leak_maps.c) and the crash report's module of each
 * frame (hk_crash.c, in a signal handler: open, read and close only). */
#ifndef HK_MAPS_H
#define HK_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_maps_reader {
    int fd;
    size_t len, pos;
    bool eof, cut;      /* cut: the rest of an over-long line is being dropped */
    char buf[4096];
};

/* One line: "lo-hi perm offset dev inode   path". */
struct hk_maps_line {
    uintptr_t lo, hi;
    char perm[4];
    uintptr_t offset;
    const char *path;   /* "" for an anonymous mapping; points into the reader's buffer */
};

/* Opens /proc/self/maps; false when it cannot be read. */
bool hk_maps_open(struct hk_maps_reader *m);
void hk_maps_close(struct hk_maps_reader *m);
/* The next line, NUL-terminated (a line longer than the buffer is cut: only its start
 * matters); NULL at the end. */
char *hk_maps_next(struct hk_maps_reader *m);
/* false for a line of another shape. */
bool hk_maps_parse(const char *s, struct hk_maps_line *l);

/* The file mapped at addr: its path (cut to fit path_len) and load bias (address minus the
 * address the file's ELF headers give, 0 for a fixed-address executable) and the end of its
 * last mapping; false when addr is in no file's mapping. Async-signal-safe. */
struct hk_maps_module {
    uintptr_t base, end;
    char path[256];
};
bool hk_maps_module_of(uintptr_t addr, struct hk_maps_module *mod);

#endif
