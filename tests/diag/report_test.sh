#!/usr/bin/env bash
# Exit, crash, fork, signal and file behaviour of the stats report (LD_PRELOAD).
set -uo pipefail
lib=$1
prog=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
run() { env LD_PRELOAD="$lib" "$@"; }

# 1. A normal exit: the table, exact counts, the program's stdout intact.
run HAKMEM_TINY_FAST_STATS=1 "$prog" plain >"$tmp/out" 2>"$tmp/err"
grep -q '^plain: 1000 allocated, 600 freed$' "$tmp/out" || fail "stdout lost: $(cat "$tmp/out")"
row=$(grep -E '^hakmem: +3 +64 ' "$tmp/err")
read -r _ _ _ allocs frees live _ <<<"$row"
[ "${allocs:-0}" -ge 1000 ] && [ "${frees:-0}" -ge 600 ] && [ $((allocs - frees)) -eq "${live:--1}" ] ||
    fail "class 3 row wrong: '$row'"
grep -q '^hakmem: tier tiny allocs=' "$tmp/err" || fail "no tiny total line"

# 2. A crash: the report on stderr, and the exit status still the signal's.
run HAKMEM_TINY_FAST_STATS=1 "$prog" crash >"$tmp/out" 2>"$tmp/err"
status=$?
[ $status -eq $((128 + 11)) ] || fail "crash exit status $status, expected 139 (SIGSEGV)"
grep -q 'hakmem: fatal signal 11 (SIGSEGV)' "$tmp/err" || fail "no fatal-signal line"
grep -q '^hakmem: tier tiny allocs=' "$tmp/err" || fail "no counters after the crash"
grep -q '^about to crash$' "$tmp/out" || fail "stdout before the crash lost"

# 3. fork: the parent and the exit() child report, each with its own pid; _exit() does not.
run HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/stats.%p" "$prog" fork 2>"$tmp/err" ||
    fail "fork program failed: $(cat "$tmp/err")"
n=$(ls "$tmp"/stats.* 2>/dev/null | wc -l)
[ "$n" -eq 2 ] || fail "$n report files after fork, expected 2 (parent and exit() child)"
for f in "$tmp"/stats.*; do
    pid=${f##*.}
    grep -q "^hakmem: stats version=2 pid=$pid " "$f" || fail "$f does not carry its own pid"
done
rm -f "$tmp"/stats.*

# 4. The report file is never written through a symlink.
echo precious >"$tmp/target"
ln -s "$tmp/target" "$tmp/link"
run HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/link" "$prog" plain >/dev/null 2>"$tmp/err"
[ "$(cat "$tmp/target")" = precious ] || fail "report written through a symlink"
grep -q 'cannot write the stats report' "$tmp/err" || fail "no message about the symlink"
grep -q '^hakmem: totals ' "$tmp/err" || fail "report not on stderr after refusing the file"
# An existing regular file is replaced, with mode 0600 for a new one.
echo old >"$tmp/existing"
run HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/existing" "$prog" plain >/dev/null 2>&1
grep -q '^hakmem: totals ' "$tmp/existing" && ! grep -q '^old$' "$tmp/existing" ||
    fail "existing file not replaced"
run HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/new" "$prog" plain >/dev/null 2>&1
[ "$(stat -c %a "$tmp/new")" = 600 ] || fail "new report file mode $(stat -c %a "$tmp/new")"

# 5. JSON at exit parses, and agrees with the program.
run HAKMEM_STATS=json "$prog" plain >/dev/null 2>"$tmp/err"
python3 - "$tmp/err" <<'PY' || fail "JSON report"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["classes"][3]
assert c["size"] == 64 and c["allocs"] >= 1000 and c["frees"] >= 600, c
assert c["live"] == c["allocs"] - c["frees"], c
t = d["totals"]
assert t["live"] == t["allocs"] - t["frees"], t
for key in ("version", "pid", "threads_seen", "threads_exited", "tiers", "superslabs"):
    assert key in d, key
PY

# 6. The live-report signal prints a report while the program runs.
run HAKMEM_STATS_SIGNAL=SIGUSR2 "$prog" signal >/dev/null 2>"$tmp/err"
[ "$(grep -c '^hakmem: totals ' "$tmp/err")" -eq 1 ] || fail "SIGUSR2 report: $(cat "$tmp/err")"

echo "report tests: $failures failed"
[ $failures -eq 0 ]
