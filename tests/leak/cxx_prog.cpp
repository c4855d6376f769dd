// A C++ program that loses a std::map<int, std::string>* holding 50 entries (the case of
// valgrind's "48 bytes direct, ... indirect in 1 loss record"): the leak check must report the
// map object as the one direct leak, holding its 50 nodes and 50 strings, and hkdump must name
// store::Cache::fill(int) as where it was allocated. check_cxx.py checks both.
#include <cstdio>
#include <map>
#include <string>

#include "leak_scrub.h"

namespace store {
struct Cache {
    std::map<int, std::string> *fill(int n);
};

__attribute__((noinline)) std::map<int, std::string> *Cache::fill(int n)
{
    auto *m = new std::map<int, std::string>;
    for (int i = 0; i < n; i++)
        (*m)[i] = "a value long enough to live outside the string " + std::to_string(i);
    return m;
}
} // namespace store

int main()
{
    store::Cache c;
    volatile unsigned long lost = ~reinterpret_cast<unsigned long>(c.fill(50));
    (void)lost;
    scrub_stack();
    std::printf("cxx_prog: done\n");
    return 0;
}
