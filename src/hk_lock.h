/* The allocator's lock: a pthread mutex (futex-backed, statically initialised, never
 * allocates). Every lock is taken in the fork prepare handler in a fixed order (hk_fork.c). */
#ifndef HK_LOCK_H
#define HK_LOCK_H

#include <pthread.h>

typedef pthread_mutex_t hk_lock_t;
#define HK_LOCK_INIT PTHREAD_MUTEX_INITIALIZER

static inline void hk_lock(hk_lock_t *l) { pthread_mutex_lock(l); }
static inline void hk_unlock(hk_lock_t *l) { pthread_mutex_unlock(l); }
static inline int hk_trylock(hk_lock_t *l) { return pthread_mutex_trylock(l) == 0; }
/* In a fork child: the lock may have been held by a thread that does not exist there. */
static inline void hk_lock_reinit(hk_lock_t *l) { pthread_mutex_init(l, NULL); }

#endif
