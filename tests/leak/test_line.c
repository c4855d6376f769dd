/* The DWARF line reader (diag/hk_leak_line.c) on this test's own executable, built with debug
 * information: a return address maps to the file and line of its call; then the same line
 * table with random bytes changed, thousands of times, must never be read out of bounds
 * (the reader only ever sees the mutated copy's bytes) nor crash. */
#include "hk_leak_line.h"
#include "../common/hk_test.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((noinline)) static void *return_address(void)
{
    void *ra = __builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return ra;
}

/* The sections by name in a mapped ELF file. */
static const unsigned char *section(const unsigned char *map, const char *want, size_t *len)
{
    const ElfW(Ehdr) *eh = (const void *)map;
    const ElfW(Shdr) *sh = (const void *)(map + eh->e_shoff);
    const char *names = (const char *)map + sh[eh->e_shstrndx].sh_offset;
    for (unsigned i = 0; i < eh->e_shnum; i++)
        if (strcmp(names + sh[i].sh_name, want) == 0) {
            *len = sh[i].sh_size;
            return map + sh[i].sh_offset;
        }
    *len = 0;
    return NULL;
}

/* True when s is a NUL-terminated string inside [sec, sec + len). */
static int string_in(const char *s, const unsigned char *sec, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    return sec && p >= sec && p < sec + len && memchr(p, '\0', (size_t)(sec + len - p));
}

/* A name the reader returned lies in the bytes it was given: the (mutated) line table or
 * the string sections. NULL passes (a directory may be absent). */
static int name_in_bounds(const char *s, const struct hk_dwarf *m)
{
    return !s || string_in(s, m->line, m->line_len) ||
           string_in(s, m->line_str, m->line_str_len) || string_in(s, m->str, m->str_len);
}

int main(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 1;
    const unsigned char *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return 1;
    struct hk_dwarf d = {0};
    d.line = section(map, ".debug_line", &d.line_len);
    d.line_str = section(map, ".debug_line_str", &d.line_str_len);
    d.str = section(map, ".debug_str", &d.str_len);
    expect_true(d.line != NULL, "no .debug_line in this test (built without -g?)");
    if (!d.line)
        return 1;

    /* A known call: the return address minus one is on this line. */
    int call_line = __LINE__; void *ra = return_address();
    Dl_info info;
    expect_true(dladdr(ra, &info) && info.dli_fbase, "dladdr");
    const ElfW(Ehdr) *eh = (const void *)map;
    uint64_t v = (uint64_t)(uintptr_t)ra - 1 - (eh->e_type == ET_EXEC ? 0 : (uintptr_t)info.dli_fbase);
    struct hk_line out;
    expect_true(hk_leak_line_find(&d, v, &out), "no line for the call at line %d", call_line);
    if (out.file) {
        size_t n = strlen(out.file);
        expect_true(n >= 11 && strcmp(out.file + n - 11, "test_line.c") == 0, "file %s", out.file);
        expect_true(out.line == (unsigned)call_line, "line %u, expected %d", out.line, call_line);
    }
    expect_true(!hk_leak_line_find(&d, 1, &out) || out.line, "address 1 mapped to line 0");

    /* Mutations: a private copy, a few random bytes changed each round. */
    unsigned char *copy = malloc(d.line_len);
    unsigned seed = 12345;
    const int rounds = 20000;
    for (int round = 0; round < rounds; round++) {
        memcpy(copy, d.line, d.line_len);
        int flips = 1 + (int)(rand_r(&seed) % 8);
        for (int k = 0; k < flips; k++)
            copy[rand_r(&seed) % d.line_len] = (unsigned char)rand_r(&seed);
        struct hk_dwarf m = d;
        m.line = copy;
        m.ranges = NULL;
        m.ranges_built = false;
        m.nranges = 0;
        for (int q = 0; q < 4; q++) {
            uint64_t a = q == 0 ? v : (uint64_t)rand_r(&seed) * 16;
            if (hk_leak_line_find(&m, a, &out))
                expect_true(out.file && name_in_bounds(out.file, &m) &&
                                name_in_bounds(out.dir, &m),
                            "round %d: file or directory name outside the sections read", round);
        }
    }
    free(copy);
    printf("call at line %d looked up; %d damaged line tables read\n", call_line, rounds);
    return hk_test_done("leak_line");
}
