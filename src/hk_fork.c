#include "hk_fork.h"
#include "hk_heap.h"
#include "hk_large.h"
#include "hk_registry.h"
#include "hk_superslab.h"

#include <pthread.h>

/* Lock order: heaps (list, dead heap) -> SuperSlabs -> large cache -> registry. The slow
 * paths only ever nest in this order (the dead heap lock is held while slabs are taken). */
static void hk_fork_prepare(void)
{
    hk_heap_fork_prepare();
    hk_superslab_fork_prepare();
    hk_large_fork_prepare();
    hk_registry_fork_prepare();
}

static void hk_fork_parent(void)
{
    hk_registry_fork_parent();
    hk_large_fork_parent();
    hk_superslab_fork_parent();
    hk_heap_fork_parent();
}

static void hk_fork_child(void)
{
    hk_registry_fork_child();
    hk_large_fork_child();
    hk_superslab_fork_child();
    hk_heap_fork_child();
}

void hk_fork_init(void) { pthread_atfork(hk_fork_prepare, hk_fork_parent, hk_fork_child); }
