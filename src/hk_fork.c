/* fork(): the one pthread_atfork handler. Every lock (hk_lock.h lists them) is taken before
 * the fork in rank order and released (parent) or re-initialised (child) after it, so the
 * child never inherits a lock held by a thread that does not exist there; then the heaps of
 * the parent's other threads are marked lost in the child (hk_heap.c). */
#include "hk_fork.h"
#include "hk_heap.h"
#include "hk_lock.h"

#include <pthread.h>

static void hk_fork_child(void)
{
    hk_locks_fork_child();
    hk_heap_fork_child();
}

void hk_fork_init(void)
{
    pthread_atfork(hk_locks_fork_prepare, hk_locks_fork_parent, hk_fork_child);
}
