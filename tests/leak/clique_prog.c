/* Lost blocks that hold other lost blocks, for the direct/indirect split of the leak check
 * (check_cliques.py runs it under HAKMEM_LEAK_CHECK=1 and checks each record). What it loses,
 * by the function that allocated it (each name is the innermost frame of its record):
 *   cache_new        1 block, 48 B: a cache whose nodes are a linked list      direct
 *   cache_add_node  50 blocks, 32 B each: the list's nodes                     indirect
 *   node_set_name   50 blocks, 100 B each: a string in each node               indirect
 *                   (so cache_new holds 100 blocks, 6,600 B)
 *   tree_node       a binary tree of 31 blocks of 40 B, the root allocated first:
 *                   1 direct (the root, holding 30 blocks, 1,200 B), 30 indirect
 *   ring_link        3 blocks of 64 B pointing at each other in a ring, nothing
 *                   outside it: 1 direct (holding 2 blocks, 128 B), 2 indirect
 *   kept_cache      a second cache, held by a global: its nodes and names are still
 *                   reachable, none lost
 * Usage: clique_prog   (under LD_PRELOAD=libhakmem.so HAKMEM_LEAK_CHECK=1) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leak_scrub.h"

struct node {
    struct node *next;
    char *name;
    uint64_t key, pad;
};

struct cache {
    struct node *head;
    uint64_t count, pad[4];
};

struct tree {
    struct tree *left, *right;
    uint64_t key, pad[2];
};

struct ring {
    struct ring *next;
    uint64_t pad[7];
};

static struct cache *kept;   /* a root: what it holds is reachable */

/* Each allocating function below is external and not inlined, so that it is the innermost
 * frame of its record under its own name (a static one may be cloned: "f.isra.0"). */
struct cache *cache_new(void);
char *node_set_name(struct node *n, int i);
void cache_add_node(struct cache *c, int i);
struct cache *cache_fill(int n);
struct tree *tree_node(uint64_t key);
struct ring *ring_link(struct ring *next);

static inline __attribute__((always_inline)) void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        perror("malloc");
        exit(2);
    }
    memset(p, 0, n);
    return p;
}

__attribute__((noinline)) struct cache *cache_new(void)
{
    return xmalloc(sizeof(struct cache));
}

__attribute__((noinline)) char *node_set_name(struct node *n, int i)
{
    n->name = xmalloc(100);
    snprintf(n->name, 100, "entry number %d", i);
    return n->name;
}

__attribute__((noinline)) void cache_add_node(struct cache *c, int i)
{
    struct node *n = xmalloc(sizeof *n);
    n->key = (uint64_t)i;
    node_set_name(n, i);
    n->next = c->head;
    c->head = n;
    c->count++;
}

__attribute__((noinline)) struct cache *cache_fill(int n)
{
    struct cache *c = cache_new();
    for (int i = 0; i < n; i++)
        cache_add_node(c, i);
    return c;
}

__attribute__((noinline)) struct tree *tree_node(uint64_t key)
{
    struct tree *t = xmalloc(sizeof *t);
    t->key = key;
    return t;
}

/* A complete binary tree of n nodes, the root allocated first: in a fresh slab it has the
 * lowest address, so the scan's second pass meets it first and floods the tree from it. */
static struct tree *tree_build(int n)
{
    struct tree *t[64];
    for (int i = 0; i < n; i++)
        t[i] = tree_node((uint64_t)i);
    for (int i = 0; 2 * i + 2 < n; i++) {
        t[i]->left = t[2 * i + 1];
        t[i]->right = t[2 * i + 2];
    }
    return t[0];
}

__attribute__((noinline)) struct ring *ring_link(struct ring *next)
{
    struct ring *r = xmalloc(sizeof *r);
    r->next = next;
    return r;
}

__attribute__((noinline)) static void lose_all(void)
{
    volatile uintptr_t lost[3];
    lost[0] = ~(uintptr_t)cache_fill(50);
    lost[1] = ~(uintptr_t)tree_build(31);
    struct ring *first = NULL, *r = NULL;
    for (int i = 0; i < 3; i++) {
        r = ring_link(r);
        first = first ? first : r;
    }
    first->next = r;
    lost[2] = ~(uintptr_t)r;
    (void)lost;
    kept = cache_fill(20);
}

int main(void)
{
    lose_all();
    scrub_stack();
    printf("clique_prog: %lu entries kept\n", (unsigned long)kept->count);
    return 0;
}
