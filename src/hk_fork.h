/* fork(): every allocator lock is taken before the fork, in one fixed order, and released
 * (parent) or re-initialised (child) after it, so the child never inherits a lock held by a
 * thread that does not exist there. */
#ifndef HK_FORK_H
#define HK_FORK_H

void hk_fork_init(void);

#endif
