/* Clean: strings duplicated, grown with realloc and freed. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *s = strdup("hello");
    for (int i = 0; s && i < 10; i++) {
        char *t = realloc(s, strlen(s) + 3);
        if (!t)
            break;
        s = t;
        strcat(s, "ab");
    }
    free(s);
    return 0;
}
