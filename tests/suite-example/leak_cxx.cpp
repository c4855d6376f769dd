// Leaks in C++: a vector allocated with new and lost (a direct leak holding its buffer).
#include <cstdio>
#include <vector>

#include "scrub.h"

namespace sx {
__attribute__((noinline)) std::vector<int> *make_table(int n)
{
    auto *v = new std::vector<int>;
    for (int i = 0; i < n; i++)
        v->push_back(i);
    return v;
}
} // namespace sx

int main()
{
    volatile unsigned long lost = ~reinterpret_cast<unsigned long>(sx::make_table(100));
    (void)lost;
    sx_scrub_stack();
    std::printf("leak_cxx: done\n");
    return 0;
}
