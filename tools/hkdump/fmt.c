/* Numbers for people: thousands separators, byte units, percentages and ratios. */
#include "hkdump.h"

#include <math.h>

struct hkd_nb hkd_count(uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    struct hkd_nb r;
    int o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            r.s[o++] = ',';
        r.s[o++] = digits[i];
    }
    r.s[o] = '\0';
    return r;
}

/* v in units of 1024^k (or 1000^k): exact multiples print without decimals ("1 MiB"). */
static struct hkd_nb scaled(uint64_t v, double base, const char *const *units)
{
    struct hkd_nb r;
    int k = 0;
    double x = (double)v;
    while (x >= base && units[k + 1]) {
        x /= base;
        k++;
    }
    if (k == 0 || x == floor(x))
        snprintf(r.s, sizeof r.s, "%.0f %s", x, units[k]);
    else
        snprintf(r.s, sizeof r.s, "%.1f %s", x, units[k]);
    return r;
}

struct hkd_nb hkd_ibytes(uint64_t v)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", NULL};
    return scaled(v, 1024.0, u);
}

struct hkd_nb hkd_sibytes(uint64_t v)
{
    static const char *const u[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", NULL};
    return scaled(v, 1000.0, u);
}

struct hkd_nb hkd_pct(double num, double den)
{
    struct hkd_nb r;
    if (den <= 0)
        snprintf(r.s, sizeof r.s, "n/a");
    else
        snprintf(r.s, sizeof r.s, "%.1f %%", 100.0 * num / den);
    return r;
}

struct hkd_nb hkd_ratio(double num, double den)
{
    struct hkd_nb r;
    if (den <= 0)
        snprintf(r.s, sizeof r.s, num > 0 ? "\u221e" : "n/a");
    else
        snprintf(r.s, sizeof r.s, "%.1f", num / den);
    return r;
}

struct hkd_nb hkd_duration(double s)
{
    struct hkd_nb r;
    double v = s > 0 ? floor(s + 0.5) : 0;
    if (!(s >= 1))
        snprintf(r.s, sizeof r.s, "less than 1 s");
    else if (v < 60)
        snprintf(r.s, sizeof r.s, "%.0f s", v);
    else if (v < 3600)
        snprintf(r.s, sizeof r.s, "%.0f min %.0f s", floor(v / 60), fmod(v, 60));
    else if (v < 86400)
        snprintf(r.s, sizeof r.s, "%.0f h %.0f min", floor(v / 3600), floor(fmod(v, 3600) / 60));
    else if (v < 1e9)
        snprintf(r.s, sizeof r.s, "%.0f d %.0f h", floor(v / 86400), floor(fmod(v, 86400) / 3600));
    else
        snprintf(r.s, sizeof r.s, "more than 30 years");
    return r;
}
