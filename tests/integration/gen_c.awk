# A C file of n (-v n=N, default 1500) functions and structs, about 9 lines each, for the
# compilers of the integration tests and the benchmarks: awk -v n=1500 -f gen_c.awk >gen.c
BEGIN {
    if (!n)
        n = 1500
    print "#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>"
    for (i = 0; i < n; i++) {
        printf "struct s%d { int a[%d]; double d; char name[%d]; };\n", i, i % 17 + 1, i % 29 + 3
        printf "int f%d(struct s%d *p, int x) { int r = x;\n", i, i
        printf "  for (int j = 0; j < %d; j++) { switch ((x + j) %% 5) {\n", i % 17 + 1
        printf "    case 0: r += p->a[j] * %d; break;\n    case 1: r ^= (int)(p->d * j); break;\n", i
        printf "    case 2: r -= (int)strlen(p->name); break;\n    default: r = r * 31 + j; } }\n"
        printf "  if (r > %d) r = f%d((struct s%d *)p, r - 1);\n", 100000 + i, (i > 0 ? i - 1 : 0), (i > 0 ? i - 1 : 0)
        printf "  return r; }\n"
    }
    print "int main(void) { return 0; }"
}
