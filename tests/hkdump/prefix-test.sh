#!/bin/bash
# hkdump's own names carry the hkd_ prefix and the library keeps hk_: a tool that links or
# is read next to the library must not define a symbol the library defines (hk_parse_u64 and
# hk_report_init once existed in both). Checks the global symbols of the two static libraries.
#   prefix-test.sh LIBHKDUMP_CORE.a LIBHAKMEM_INTERNAL.a
set -u
command -v nm >/dev/null || { echo "skipped: nm not found"; exit 77; }
syms() { nm --defined-only -g "$1" | awk 'NF == 3 { print $3 }' | sort -u; }
tool=$(syms "$1") lib=$(syms "$2")
[ -n "$tool" ] && [ -n "$lib" ] || { echo "FAIL: no symbols read"; exit 1; }
fail=0
both=$(comm -12 <(echo "$tool") <(echo "$lib"))
if [ -n "$both" ]; then
    echo "FAIL: defined by hkdump and by the library:"; echo "$both"; fail=1
fi
odd=$(echo "$tool" | grep -v '^hkd_')
if [ -n "$odd" ]; then
    echo "FAIL: hkdump symbols without the hkd_ prefix:"; echo "$odd"; fail=1
fi
exit $fail
