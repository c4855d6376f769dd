#include "hk_options.h"
#include "hk_os.h"

#include <signal.h>
#include <string.h>

struct hk_options hk_opt = {
    .leak_exitcode = 23,
    .tls_list_spill = true,
    .stack_depth = 16,
    .stack_fp = true,
    .report_invalid = true,
    .shadow_poison = 256,
};

uint64_t hk_parse_u64(const char *s, uint64_t def)
{
    if (!s || !*s)
        return def;
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return def;
        if (v > (UINT64_MAX - d) / base)
            return def;
        v = v * base + d;
    }
    return v;
}

static bool hk_env_bool(const char *name, bool def)
{
    const char *v = hk_os_getenv(name);
    if (!v || !*v)
        return def;
    if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
        return false;
    return true;
}

static int hk_signal_by_name(const char *v)
{
    static const struct { const char *name; int sig; } names[] = {
        {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGHUP", SIGHUP},
        {"SIGCONT", SIGCONT}, {"SIGWINCH", SIGWINCH}, {"SIGPROF", SIGPROF},
    };
    if (!v || !*v)
        return 0;
    const char *bare = strncmp(v, "SIG", 3) == 0 ? v + 3 : v;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(bare, names[i].name + 3))
            return names[i].sig;
    uint64_t n = hk_parse_u64(v, 0);
    return n > 0 && n < 65 ? (int)n : 0;
}

void hk_options_init(void)
{
    struct hk_options *o = &hk_opt;
    o->tiny_fast_stats = hk_env_bool("HAKMEM_TINY_FAST_STATS", false);
    const char *st = hk_os_getenv("HAKMEM_STATS");
    if (st && !strcmp(st, "json"))
        o->stats = HK_STATS_JSON;
    else if (hk_env_bool("HAKMEM_STATS", false))
        o->stats = HK_STATS_TEXT;
    o->stats_file = hk_os_getenv("HAKMEM_STATS_FILE");
    o->shadow = hk_env_bool("HAKMEM_SHADOW", false);
    o->leak_check = hk_env_bool("HAKMEM_LEAK_CHECK", false);
    o->leak_exitcode = (int)hk_parse_u64(hk_os_getenv("HAKMEM_LEAK_EXITCODE"), 23) & 0xff;
    o->leak_suppressions = hk_os_getenv("HAKMEM_LEAK_SUPPRESSIONS");
    const char *lr = hk_os_getenv("HAKMEM_LEAK_REPORT");
    o->leak_report = !lr ? 0 : !strcmp(lr, "reachable") ? 1 : !strcmp(lr, "all") ? 2 : 0;
    o->leak_child = hk_env_bool("HAKMEM_LEAK_CHILD", false);
    o->dump_dir = hk_os_getenv("HAKMEM_DUMP_DIR");
    if (o->dump_dir && !*o->dump_dir)
        o->dump_dir = NULL;
    o->fault_mmap_fail_after = hk_parse_u64(hk_os_getenv("HAKMEM_FAULT_MMAP_FAIL_AFTER"), 0);
    o->tls_list_spill = hk_env_bool("HAKMEM_TINY_TLS_LIST_SPILL", true);
    o->stats_signal = hk_signal_by_name(hk_os_getenv("HAKMEM_STATS_SIGNAL"));
    o->abort_on_error = hk_env_bool("HAKMEM_ABORT_ON_ERROR", false);
    uint64_t depth = hk_parse_u64(hk_os_getenv("HAKMEM_STACK_DEPTH"), 16);
    o->stack_depth = depth < 1 ? 1 : depth > 64 ? 64 : (int)depth;
    o->stack_fp = hk_env_bool("HAKMEM_STACK_FP", true);
    o->report_invalid = hk_env_bool("HAKMEM_REPORT_INVALID", true);
    uint64_t poison = hk_parse_u64(hk_os_getenv("HAKMEM_SHADOW_POISON"), 256);
    /* Whole 16-byte vectors (hk_shadow.h): rounded down to a multiple of 16. */
    o->shadow_poison = (poison > 256 ? 256 : (uint32_t)poison) & ~15u;
    hk_os_set_fail_after(o->fault_mmap_fail_after);
}
