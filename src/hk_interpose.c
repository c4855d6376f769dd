/* The standard names, exported by libhakmem.so only (the static library used by tests keeps
 * the system allocator). Each is the same inlined hot path as its hakmem_* twin. */
#include "hakmem.h"
#include "hk_alloc.h"
#include "hk_hooks.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <limits.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

void cfree(void *p);   /* no longer declared by glibc, still exported by it */

HK_API void *malloc(size_t size) { return hk_malloc_inline(size); }
HK_API void free(void *p) { hk_free_inline(p); }
HK_API void cfree(void *p) { hk_free_inline(p); }
HK_API void *calloc(size_t n, size_t size) { return hakmem_calloc(n, size); }
HK_API void *realloc(void *p, size_t size) { return hakmem_realloc(p, size); }
HK_API void *reallocarray(void *p, size_t n, size_t size) { return hakmem_reallocarray(p, n, size); }
HK_API int posix_memalign(void **out, size_t align, size_t size)
{
    return hakmem_posix_memalign(out, align, size);
}
HK_API void *aligned_alloc(size_t align, size_t size) { return hakmem_aligned_alloc(align, size); }
HK_API void *memalign(size_t align, size_t size) { return hakmem_memalign(align, size); }
HK_API void *valloc(size_t size) { return hakmem_valloc(size); }
HK_API void *pvalloc(size_t size) { return hakmem_pvalloc(size); }
HK_API size_t malloc_usable_size(void *p) { return hakmem_malloc_usable_size(p); }

/* dlclose, passed through: unloading code also makes leak tracking forget the unwind rules
 * it read for code addresses (diag/hk_unwind.c). */
HK_API int dlclose(void *handle)
{
    static int (*_Atomic real_dlclose)(void *);
    int (*real)(void *) = real_dlclose;
    if (!real) {
        real = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
        real_dlclose = real;
    }
    int rc = real ? real(handle) : -1;
    hk_hook_code_unloaded();
    return rc;
}

/* glibc's introspection and tuning calls, answered from hakmem's own counters (glibc's
 * versions would describe its empty arena). mallinfo2 maps hakmem's figures onto glibc's
 * fields: arena = SuperSlab bytes, hblks/hblkhd = large mappings and their bytes, uordblks =
 * bytes of live blocks (whole blocks), fordblks = the rest of the SuperSlabs. */
HK_API struct mallinfo2 mallinfo2(void)
{
    struct mallinfo2 mi;
    memset(&mi, 0, sizeof mi);
    struct hakmem_stats st;
    if (hakmem_stats_snapshot(&st, sizeof st) != 0)
        return mi;
    size_t in_use = 0;
    for (uint32_t c = 0; c < st.nclasses; c++)
        in_use += (size_t)st.classes[c].live * st.classes[c].size;
    mi.arena = st.superslab_bytes;
    mi.hblks = st.large.mappings;
    mi.hblkhd = st.large_bytes;
    mi.uordblks = in_use;
    mi.fordblks = st.superslab_bytes > in_use ? st.superslab_bytes - in_use : 0;
    mi.ordblks = st.tiny.live + st.mid.live;
    return mi;
}

static int hk_clamp_int(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

HK_API struct mallinfo mallinfo(void)
{
    struct mallinfo2 m = mallinfo2();
    struct mallinfo mi = {hk_clamp_int(m.arena), hk_clamp_int(m.ordblks), 0,
                          hk_clamp_int(m.hblks), hk_clamp_int(m.hblkhd), 0, 0,
                          hk_clamp_int(m.uordblks), hk_clamp_int(m.fordblks), 0};
    return mi;
}

/* malloc_trim: everything hakmem can give back (hakmem_collect(1)); 1 when memory went back
 * to the OS, as glibc. */
HK_API int malloc_trim(size_t pad)
{
    (void)pad;
    struct hakmem_stats before, after;
    hakmem_stats_snapshot(&before, sizeof before);
    hakmem_collect(1);
    hakmem_stats_snapshot(&after, sizeof after);
    return after.bytes_mapped < before.bytes_mapped;
}

HK_API void malloc_stats(void) { hakmem_stats_print(STDERR_FILENO); }

/* hakmem has no mallopt parameters: every request is accepted and has no effect
 * (docs/reliability.md), so programs that tune glibc run unchanged. */
HK_API int mallopt(int param, int value)
{
    (void)param;
    (void)value;
    return 1;
}
