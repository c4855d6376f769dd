/* The standard names, exported by libhakmem.so only (the static library used by tests keeps
 * the system allocator). Each is the same inlined hot path as its hakmem_* twin. */
#include "hakmem.h"
#include "hk_alloc.h"
#include "hk_hooks.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <malloc.h>

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

/* dlclose, passed through: unloading code also makes leak tracking forget what its
 * frame-pointer walk learned about code addresses (diag/hk_stack.c). */
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
