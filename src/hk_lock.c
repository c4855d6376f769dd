/* Lock ranks in debug builds, and the fork handling of every lock (hk_lock.h). */
#include "hk_lock.h"
#include "hk_os.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The linker's bounds of the hk_locks section: one pointer per HK_LOCK_DEFINE. */
extern hk_lock_t *const __start_hk_locks[];
extern hk_lock_t *const __stop_hk_locks[];

static void hk_say(const char *s) { hk_os_write_all(STDERR_FILENO, s, strlen(s)); }

void hk_assert_failed(const char *what, const char *file, int line)
{
    char num[16];
    int n = 0;
    char digits[16];
    do {
        digits[n++] = (char)('0' + line % 10);
        line /= 10;
    } while (line && n < 15);
    for (int i = 0; i < n; i++)
        num[i] = digits[n - 1 - i];
    num[n] = 0;
    hk_say("hakmem: assertion failed: ");
    hk_say(what);
    hk_say(" (");
    hk_say(file);
    hk_say(":");
    hk_say(num);
    hk_say(")\n");
    abort();
}

#if HK_DEBUG
/* The locks this thread holds, by rank (bit r: a lock of rank r). */
static HK_TLS uint32_t hk_held;
static HK_TLS const char *hk_held_name[HK_RANKS];

void hk_lock_acquired(hk_lock_t *l, bool ordered)
{
    uint32_t above = hk_held & ~((2u << l->rank) - 1);
    if (ordered && (above || (hk_held >> l->rank & 1))) {
        unsigned r = above ? 31 - (unsigned)__builtin_clz(above) : l->rank;
        hk_say("hakmem: lock order violated: ");
        hk_say(l->name);
        hk_say(" taken while holding ");
        hk_say(hk_held_name[r] ? hk_held_name[r] : "?");
        hk_say("\n");
        abort();
    }
    hk_held |= 1u << l->rank;
    hk_held_name[l->rank] = l->name;
}

void hk_lock_released(hk_lock_t *l)
{
    HK_ASSERT(hk_held >> l->rank & 1);
    hk_held &= ~(1u << l->rank);
}
#endif

/* The defined locks sorted by rank (insertion sort of a handful; ranks are unique per lock
 * in practice, ties keep section order). */
static unsigned hk_locks_sorted(hk_lock_t **out, unsigned cap)
{
    unsigned n = 0;
    for (hk_lock_t *const *p = __start_hk_locks; p < __stop_hk_locks && n < cap; p++) {
        unsigned i = n++;
        while (i > 0 && out[i - 1]->rank > (*p)->rank) {
            out[i] = out[i - 1];
            i--;
        }
        out[i] = *p;
    }
    return n;
}

#define HK_LOCKS_MAX 32
static hk_lock_t *hk_fork_locks[HK_LOCKS_MAX];
static unsigned hk_fork_nlocks;

void hk_locks_fork_prepare(void)
{
    hk_fork_nlocks = hk_locks_sorted(hk_fork_locks, HK_LOCKS_MAX);
    for (unsigned i = 0; i < hk_fork_nlocks; i++)
        hk_lock(hk_fork_locks[i]);
}

void hk_locks_fork_parent(void)
{
    for (unsigned i = hk_fork_nlocks; i-- > 0;)
        hk_unlock(hk_fork_locks[i]);
}

/* The child has one thread: locks held by the parent's others are re-initialised. */
void hk_locks_fork_child(void)
{
    for (unsigned i = hk_fork_nlocks; i-- > 0;) {
        hk_lock_released(hk_fork_locks[i]);
        pthread_mutex_init(&hk_fork_locks[i]->mutex, NULL);
    }
}
