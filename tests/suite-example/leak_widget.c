/* Leaks: three widgets made and lost (direct leaks), each holding a name (indirect). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scrub.h"

struct widget {
    char *name;
    int id;
};

__attribute__((noinline)) static struct widget *sx_make_widget(int id)
{
    struct widget *w = malloc(sizeof *w);
    if (w) {
        w->id = id;
        w->name = strdup("a widget nobody frees");
    }
    return w;
}

int main(void)
{
    for (int i = 0; i < 3; i++) {
        volatile unsigned long lost = ~(unsigned long)sx_make_widget(i);
        (void)lost;
    }
    sx_scrub_stack();
    printf("leak_widget: done\n");
    return 0;
}
