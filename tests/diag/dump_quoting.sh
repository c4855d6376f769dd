#!/usr/bin/env bash
# The dump writer quotes every control byte: an environment value (or a program path) with a
# TAB, CR or other control character stays one value and cannot add fields that hkdump would
# believe (a fake pid=, a fake record on a line of its own).
#   dump_quoting.sh LIBHAKMEM.so PROG
set -uo pipefail
lib=$1 prog=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
value=$'a\tpid=666\rrecord x=1\x01 "q" \\e'
env LD_PRELOAD="$lib" HAKMEM_DUMP_DIR="$tmp" HAKMEM_ZZ_TEST="$value" "$prog" plain \
    >/dev/null 2>"$tmp/err" || { echo "FAIL: program failed"; cat "$tmp/err"; exit 1; }
dump=$(ls "$tmp"/hakmem-*.dump 2>/dev/null | head -1)
[ -n "$dump" ] || { echo "FAIL: no dump written"; cat "$tmp/err"; exit 1; }
fail=0
if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$dump"; then
    echo "FAIL: a control byte in the dump:"; LC_ALL=C grep -n $'[\x01-\x09\x0b-\x1f\x7f]' "$dump" | cat -A
    fail=1
fi
want='option name=HAKMEM_ZZ_TEST value="a\tpid=666\rrecord x=1\x01 \"q\" \\e"'
grep -qxF "$want" "$dump" || { echo "FAIL: expected line: $want"; grep ZZ_TEST "$dump"; fail=1; }
exit $fail
