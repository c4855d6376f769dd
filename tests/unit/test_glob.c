/* The one glob matcher (diag/hk_glob.h) in both syntaxes: fnmatch's against glibc's fnmatch(3)
 * with no flags on every pair of a pattern and a string below (an independent oracle), and
 * LeakSanitizer's suppression rule (substring unless anchored, only '*' special) by table. */
#include <fnmatch.h>

#include "hk_glob.h"
#include "../common/hk_test.h"

static const char *const patterns[] = {
    "*", "", "a", "a*", "*a", "*a*", "a?c", "a[bc]d", "a[!bc]d", "a[^b]d", "[a-c]*", "*[0-9]",
    "a\\*b", "a\\", "a[", "a[b", "[]]x", "[!]]x", "*/bin/*", "sx_*", "*.so*", "**a**", "a*b*c",
    "?", "??", "[a-]", "*x*y*z*",
};
static const char *const strings[] = {
    "", "a", "abc", "abd", "acd", "axd", "a*b", "ab", "a[", "a[b", "]x", "xx", "/usr/bin/meson",
    "sx_leak", "libc.so.6", "9", "a9", "baaab", "aXbYc", "abcabc", "-", "xyz", "axbycz", "a\\",
};

struct lsan_case {
    const char *pat, *s;
    bool match;
};
static const struct lsan_case lsan_cases[] = {
    {"leak_widget", "sx_leak_widget_new", true},    /* a substring */
    {"^sx_", "sx_leak", true},
    {"^leak", "sx_leak", false},
    {"leak$", "sx_leak", true},
    {"leak$", "sx_leaky", false},
    {"^sx_leak$", "sx_leak", true},
    {"^sx_*$", "sx_anything", true},
    {"a*c", "xxabyyczz", true},
    {"a*c", "xxabyyzz", false},
    {"a?c", "abc", false},                          /* '?' is an ordinary byte here */
    {"a?c", "xa?cx", true},
    {"[x]", "a[x]b", true},
    {"", "anything", true},
    {"^$", "", true},
    {"^$", "a", false},
    {"libstdc++.so", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", true},
};

int main(void)
{
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        const char *p = patterns[i];
        for (size_t j = 0; j < sizeof strings / sizeof strings[0]; j++) {
            bool want = fnmatch(p, strings[j], 0) == 0;
            expect_true(hk_glob_fnmatch(p, p + strlen(p), strings[j]) == want,
                        "fnmatch syntax: '%s' against '%s': fnmatch(3) says %d", p, strings[j],
                        want);
        }
    }
    for (size_t i = 0; i < sizeof lsan_cases / sizeof lsan_cases[0]; i++) {
        const struct lsan_case *c = &lsan_cases[i];
        expect_true(hk_glob_lsan(c->pat, c->s) == c->match, "lsan syntax: '%s' against '%s'",
                    c->pat, c->s);
    }
    expect_true(hk_glob_any("meson:python3*:/bin/*sh", "/usr/bin/python3.11"), "a file name");
    expect_true(hk_glob_any("meson:/tmp/sxb/*", "/tmp/sxb/sx_clean"), "a path");
    expect_false(hk_glob_any("meson::ninja", "/usr/bin/python3"), "none of the globs");
    expect_false(hk_glob_any("", "/usr/bin/python3"), "an empty list");
    return hk_test_done("glob");
}
