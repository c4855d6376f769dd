/* The intrusive doubly linked list of the allocator's metadata: SuperSlabs (partial lists,
 * empty cache, all mapped), slabs (a heap's per-class list, the orphans), large blocks
 * (cache, live list) and thread heaps (live list, free list). Not the free-block lists: those are hk_block.h's encoded singly linked lists.
 *
 * A struct that can be on a list embeds one struct hk_dlink per list it can be on; the list
 * is a struct hk_dlist, the address of its first link. Both ends are NULL-terminated, so a
 * zeroed list is empty and a zeroed link is unlinked: static lists and freshly mapped or
 * memset structs need no initialisation. No link points back at the list, so a whole list
 * moves by copying its struct hk_dlist. Nothing here locks: the owner of each list names
 * the lock that guards it.
 *
 * Invariants (HK_ASSERT in a debug build):
 * - list->first is NULL or a link whose prev is NULL;
 * - for a link l on a list: l->next is NULL or l->next->prev == l, and l->prev is NULL
 *   (l is the first) or l->prev->next == l;
 * - a link on no list has next == prev == NULL (hk_dlist_remove leaves it so), and a link
 *   is on at most one list. */
#ifndef HK_DLIST_H
#define HK_DLIST_H

#include "hk_internal.h"

struct hk_dlink {
    struct hk_dlink *next, *prev;
};

struct hk_dlist {
    struct hk_dlink *first;
};

static inline void hk_dlist_init(struct hk_dlist *list) { list->first = NULL; }

static inline void hk_dlink_init(struct hk_dlink *l) { l->next = l->prev = NULL; }

static inline bool hk_dlist_empty(const struct hk_dlist *list) { return !list->first; }

static inline struct hk_dlink *hk_dlist_first(const struct hk_dlist *list)
{
    return list->first;
}

/* The tail, by a walk from the head (lists that need it are short). */
static inline struct hk_dlink *hk_dlist_last(const struct hk_dlist *list)
{
    struct hk_dlink *l = list->first;
    while (l && l->next)
        l = l->next;
    return l;
}

/* Inserts l (on no list) at the head. */
static inline void hk_dlist_insert(struct hk_dlist *list, struct hk_dlink *l)
{
    HK_ASSERT(!l->next && !l->prev && list->first != l);
    HK_ASSERT(!list->first || !list->first->prev);
    l->next = list->first;
    if (l->next)
        l->next->prev = l;
    list->first = l;
}

/* Inserts l (on no list) right after at (on a list). */
static inline void hk_dlist_insert_after(struct hk_dlink *at, struct hk_dlink *l)
{
    HK_ASSERT(!l->next && !l->prev && at != l);
    l->prev = at;
    l->next = at->next;
    if (l->next)
        l->next->prev = l;
    at->next = l;
}

/* Unlinks l from list, which holds it. */
static inline void hk_dlist_remove(struct hk_dlist *list, struct hk_dlink *l)
{
    HK_ASSERT(l->prev ? l->prev->next == l : list->first == l);
    HK_ASSERT(!l->next || l->next->prev == l);
    if (l->prev)
        l->prev->next = l->next;
    else
        list->first = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->next = l->prev = NULL;
}

/* The struct of the given type whose member `member` is the link l; NULL for NULL. */
static inline void *hk_dlink_container(const struct hk_dlink *l, size_t offset)
{
    return l ? (char *)l - offset : NULL;
}
#define HK_DLIST_ENTRY(l, type, member) \
    ((type *)hk_dlink_container((l), offsetof(type, member)))
#define HK_DLIST_FIRST(list, type, member) HK_DLIST_ENTRY(hk_dlist_first(list), type, member)

/* for (each struct `type` on list, head first, as var): the body must not unlink var. */
#define HK_DLIST_FOREACH(var, list, type, member)                                          \
    for (type *var = HK_DLIST_FIRST(list, type, member); var;                              \
         var = HK_DLIST_ENTRY(var->member.next, type, member))

#endif
