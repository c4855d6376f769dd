// Leaks made inside inlined code (built -O2 -g): the allocation's return address is in
// store::Cache::fill, in code inlined from two levels of always_inline functions. The report
// must show each inlined function as its own frame line, with its own file:line, and the
// containing function with the line of the call; check_inline.py finds the lines by the
// markers at their ends.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "leak_scrub.h"

namespace store {
struct Node {
    Node *next;
    char name[40];
};

static inline __attribute__((always_inline)) Node *make_node(const char *name)
{
    Node *n = static_cast<Node *>(std::malloc(sizeof(Node)));   // MARK make_node
    if (n)
        std::strncpy(n->name, name, sizeof n->name - 1);
    return n;
}

static inline __attribute__((always_inline)) Node *make_entry(const char *name, Node *next)
{
    Node *n = make_node(name);   // MARK make_entry
    if (n)
        n->next = next;
    return n;
}

// Only its inlined name tells this leak apart: the suppression "scratch_area" takes it.
static inline __attribute__((always_inline)) void *scratch_area(size_t n)
{
    void *p = std::malloc(n);   // MARK scratch_area
    if (p)                      // (not a tail call, and no calloc: the frame stays)
        std::memset(p, 0x5a, n);
    return p;
}

struct Cache {
    Node *fill(int n);
    void *scratch(size_t n);
};

__attribute__((noinline)) Node *Cache::fill(int n)
{
    Node *head = nullptr;
    for (int i = 0; i < n; i++)
        head = make_entry("entry", head);   // MARK fill
    return head;
}

__attribute__((noinline)) void *Cache::scratch(size_t n)
{
    return scratch_area(n);   // MARK scratch
}
} // namespace store

int main()
{
    store::Cache c;
    volatile unsigned long lost = ~reinterpret_cast<unsigned long>(c.fill(5));
    volatile unsigned long lost2 = ~reinterpret_cast<unsigned long>(c.scratch(300));
    (void)lost;
    (void)lost2;
    scrub_stack();
    std::printf("inline_prog: done\n");
    return 0;
}
