/* A module that test_dlopen loads and unloads 100 times. It allocates in its constructor
 * and destructor, has dynamic TLS (glibc allocates it with malloc on first touch), starts a
 * thread, and exchanges blocks with the program in both directions. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void *mod_alloc(size_t n, unsigned seed);
int mod_check_free(void *p, size_t n, unsigned seed);
void mod_keep(void *p);
int mod_thread_work(int n);
int mod_tls_touch(int v);

static void **table;
static int kept;
static __thread char tls_block[8192];
enum { TABLE = 4096 };

static unsigned char pat(size_t i, unsigned seed) { return (unsigned char)(seed * 31u + i * 7u); }

void *mod_alloc(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n);
    if (p)
        for (size_t i = 0; i < n; i++)
            p[i] = pat(i, seed);
    return p;
}

int mod_check_free(void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    int ok = c != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = c[i] == pat(i, seed);
    free(p);
    return ok;
}

void mod_keep(void *p)
{
    if (kept < TABLE)
        table[kept++] = p;
    else
        free(p);
}

int mod_tls_touch(int v)
{
    memset(tls_block, v, sizeof tls_block);
    return tls_block[sizeof tls_block - 1];
}

static void *worker(void *arg)
{
    int n = (int)(long)arg, ok = 1;
    void **v = calloc((size_t)n, sizeof *v);
    mod_tls_touch(3);
    for (int i = 0; i < n; i++)
        v[i] = mod_alloc((size_t)(i * 131) % 20000 + 1, (unsigned)i);
    for (int i = 0; i < n; i++)
        ok &= mod_check_free(v[i], (size_t)(i * 131) % 20000 + 1, (unsigned)i);
    free(v);
    return (void *)(long)ok;
}

int mod_thread_work(int n)
{
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, worker, (void *)(long)n) != 0)
        return 0;
    pthread_join(t, &ret);
    return ret != NULL;
}

__attribute__((constructor)) static void mod_init(void)
{
    table = calloc(TABLE, sizeof *table);
    for (int i = 0; i < 16; i++)
        mod_keep(mod_alloc((size_t)i * 1000 + 1, 5));
}

__attribute__((destructor)) static void mod_fini(void)
{
    for (int i = 0; i < kept; i++)
        free(table[i]);
    free(table);
    table = NULL;
    kept = 0;
}
