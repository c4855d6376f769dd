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

# 2. HAKMEM_LOG_PATH: every report goes to PATH.PID (or PATH with %p replaced), stderr stays
# empty for the test runner that reads it; a forked child writes its own file.
run HAKMEM_LEAK_CHECK=1 HAKMEM_LOG_PATH="$tmp/leak" "$prog" leak >/dev/null 2>"$tmp/err"
status=$?
[ $status -eq 23 ] || fail "HAKMEM_LOG_PATH: leak exit status $status, expected 23"
[ ! -s "$tmp/err" ] || fail "HAKMEM_LOG_PATH: stderr not empty: $(head -3 "$tmp/err")"
f=$(ls "$tmp"/leak.* 2>/dev/null)
[ "$(echo "$f" | wc -w)" -eq 1 ] || fail "HAKMEM_LOG_PATH: files '$f', expected one leak.PID"
grep -q 'leaked block' "$f" 2>/dev/null || fail "HAKMEM_LOG_PATH: no leak report in '$f'"
grep -q 'exiting with status 23' "$f" 2>/dev/null || fail "HAKMEM_LOG_PATH: no exit-status line"
run HAKMEM_STATS=1 HAKMEM_LOG_PATH="$tmp/st-%p.log" "$prog" fork 2>"$tmp/err" ||
    fail "HAKMEM_LOG_PATH fork program failed"
[ ! -s "$tmp/err" ] || fail "HAKMEM_LOG_PATH fork: stderr not empty: $(head -3 "$tmp/err")"
n=$(ls "$tmp"/st-*.log 2>/dev/null | wc -l)
[ "$n" -eq 2 ] || fail "HAKMEM_LOG_PATH fork: $n files, expected 2 (parent, exit() child)"
for f in "$tmp"/st-*.log; do
    pid=${f##*/st-}; pid=${pid%.log}
    grep -q "^hakmem: stats version=3 pid=$pid " "$f" || fail "$f does not carry its own pid"
done
# A refused log file is said on stderr, and the reports go there instead.
mkdir "$tmp/real"
ln -s "$tmp/real" "$tmp/lnk"
run HAKMEM_STATS=1 HAKMEM_LOG_PATH="$tmp/lnk/log" "$prog" plain >/dev/null 2>"$tmp/err"
grep -q 'cannot write reports to' "$tmp/err" || fail "refused log file not said"
grep -q '^hakmem: totals ' "$tmp/err" || fail "report not on stderr after refusing the log file"
[ -z "$(ls "$tmp/real")" ] || fail "log file written through a symlinked directory"

# 3. The leak exit status replaces only a clean exit: a program that fails on its own keeps
# its status (a runner must see the program's failure, not a leak in its error path).
run HAKMEM_LEAK_CHECK=1 "$prog" leakexit 2 >/dev/null 2>"$tmp/err"
status=$?
[ $status -eq 2 ] || fail "leak + exit(2): exit status $status, expected 2"
grep -q 'leaked block' "$tmp/err" || fail "leak + exit(2): no leak report"
run HAKMEM_LEAK_CHECK=1 "$prog" leakexit 0 >/dev/null 2>"$tmp/err"
status=$?
[ $status -eq 23 ] || fail "leak + exit(0): exit status $status, expected 23"
run HAKMEM_LEAK_CHECK=1 "$prog" leak >/dev/null 2>"$tmp/err"
status=$?
[ $status -eq 23 ] || fail "leak + return 0 from main: exit status $status, expected 23"

echo "log tests: $failures failed"
[ $failures -eq 0 ]
