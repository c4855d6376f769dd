#!/usr/bin/env bash
# Where reports go in real programs and test runners (LD_PRELOAD): a stderr the program
# closed or reused, HAKMEM_LOG_PATH, the exit status under the leak check.
set -uo pipefail
lib=$1
prog=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
run() { env LD_PRELOAD="$lib" "$@"; }

# 1. A program that closes fd 2 before exit (sort, xz) still gets its report on the stderr
# it was started with; one that then opens a data file (fd 2 again) keeps its data clean.
for var in HAKMEM_STATS HAKMEM_TINY_FAST_STATS; do
    run $var=1 "$prog" reusefd2 >/dev/null 2>"$tmp/err" || fail "$var: reusefd2 failed"
    grep -q '^hakmem: tier tiny ' "$tmp/err" || fail "$var: report lost after close(2)"
    run $var=1 "$prog" reusefd2 "$tmp/data" >/dev/null 2>"$tmp/err" || fail "$var: reusefd2 FILE failed"
    [ "$(cat "$tmp/data")" = data ] || fail "$var: report written into the data file: $(head -3 "$tmp/data")"
    grep -q '^hakmem: tier tiny ' "$tmp/err" || fail "$var: report lost after fd 2 was reused"
done
run HAKMEM_LEAK_CHECK=1 "$prog" reusefd2 "$tmp/data" >/dev/null 2>"$tmp/err"
[ "$(cat "$tmp/data")" = data ] || fail "leak check: data file written into"

echo "log tests: $failures failed"
[ $failures -eq 0 ]
