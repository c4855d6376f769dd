/* More live large blocks than the kernel allows mappings (vm.max_map_count, 65530 by
 * default). An allocator that maps every large block separately runs the process out of
 * mappings: its own mmap calls fail, and so do thread stacks, dlopen and file mappings of
 * everything else in the process. Here max_map_count + 5000 blocks just above the mid/large
 * boundary are live at once (a few GB of address space, two pages of each touched); then
 * all must be usable, a thread must still start, and /proc/self/maps must stay well under
 * the limit. Freed, they must go back (the large cache is small). */
#include "stress_common.h"

static void *nop_thread(void *arg) { return arg; }

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static long count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

int main(void)
{
#ifdef STRESS_TSAN
    test_skip("stress_many_large maps GBs of address space; not under TSan");
#endif
    s_watchdog(300);
    long limit = read_long("/proc/sys/vm/max_map_count");
    if (limit <= 0 || limit > 300000) {
        test_skip("vm.max_map_count is %ld; the test needs a limit it can exceed", limit);
    }
    size_t n = (size_t)limit + 5000;
#if S_HAVE_STATS
    s_collect(1);
    struct hakmem_stats base = s_snap();
#endif
    char **v = S_CALLOC(n, sizeof *v);
    if (!v)
        s_die("calloc");
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        size_t sz = 65537 + (i % 9) * 4000;
        v[i] = S_MALLOC(sz);
        if (!v[i]) {
            if (got == i)
                test_fail("malloc(%zu) returned NULL after %zu live large blocks (errno %d)", sz, i, errno);
            continue;
        }
        got++;
        v[i][0] = (char)i;
        v[i][sz - 1] = (char)(i >> 8);
    }
    expect_true(got == n, "%zu of %zu large blocks allocated", got, n);
    long maps = count_maps();
    pthread_t t;
    int e = pthread_create(&t, NULL, nop_thread, NULL);
    expect_true(e == 0, "pthread_create fails (%s) with %zu large blocks live and %ld mappings: "
            "the allocator maps each large block separately", strerror(e), got, maps);
    if (e == 0)
        pthread_join(t, NULL);
    expect_true(maps >= 0 && maps < limit / 2, "%ld mappings with %zu large blocks live (limit %ld)",
            maps, got, limit);
    for (size_t i = 0; i < n; i++) {
        if (!v[i])
            continue;
        size_t sz = 65537 + (i % 9) * 4000;
        if (v[i][0] != (char)i || v[i][sz - 1] != (char)(i >> 8)) {
            test_fail("large block %zu (%p) corrupted", i, (void *)v[i]);
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        S_FREE(v[(i * 7919) % n]);
    S_FREE(v);
    s_collect(1);
#if S_HAVE_STATS
    struct hakmem_stats end = s_snap();
    s_check_consistent(&end, "end");
    expect_true(end.large.live == base.large.live, "large live %llu at start, %llu after freeing",
            S_ULL(base.large.live), S_ULL(end.large.live));
    expect_true(end.large_bytes <= base.large_bytes + (64u << 20),
            "large_bytes %llu after freeing everything and collect(1) (%llu at start)",
            S_ULL(end.large_bytes), S_ULL(base.large_bytes));
#endif
    printf("stress_many_large: %zu live large blocks, %ld mappings (limit %ld)\n", got, maps, limit);
    return hk_test_done("stress_many_large");
}
