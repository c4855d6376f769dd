/* Initialisation: options, per-process keys, mode flags, then the hooks that may allocate.
 *
 * Phase 1 (options, keys, size-class caches, thread key) calls nothing that allocates.
 * Phase 2 (atfork, the diagnostics' exit and signal hooks) may call malloc, which then finds
 * us ready. Every entry point that can be the process's first call runs hk_ensure_init(). */
#include "hk_block.h"
#include "hk_checked.h"
#include "hk_fork.h"
#include "hk_heap.h"
#include "hk_hooks.h"
#include "hk_init.h"
#include "hk_options.h"
#include "hk_os.h"

atomic_int hk_init_state;
bool hk_diag_on;
bool hk_shadow_on;
bool hk_leak_on;

HK_COLD void hk_init_slow(void)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&hk_init_state, &expected, 1)) {
        hk_options_init();
        hk_free_key = hk_os_random64();
        hk_link_key = (uintptr_t)hk_os_random64();
        hk_shadow_on = hk_config_full && hk_opt.shadow;
        hk_leak_on = hk_config_full && hk_opt.leak_check && hk_leak_prepare();
        hk_diag_on = hk_shadow_on || hk_leak_on;
        hk_shadow_poison = hk_opt.shadow_poison;
        hk_heap_global_init();
        atomic_store(&hk_init_state, 2);
        hk_fork_init();
        hk_diag_start();
        return;
    }
    while (atomic_load(&hk_init_state) != 2)
        ;   /* another thread is in phase 1, which takes microseconds */
}

__attribute__((constructor(101))) static void hk_constructor(void) { hk_ensure_init(); }
