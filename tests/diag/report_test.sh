#!/usr/bin/env bash
# Exit, crash, fork, signal and file behaviour of the stats report (LD_PRELOAD).
set -uo pipefail
lib=$1
prog=$2
hkdump=${3:-}
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

# 2b. A real fault: the faulting instruction and the stack on the log and in the dump, which
# hkdump symbolizes (the function that faulted names the finding). The shell's own
# "Segmentation fault" line lands in the log too: hkdump must prefer hakmem's.
mkdir "$tmp/dumps"
run HAKMEM_DUMP_DIR="$tmp/dumps" "$prog" fault >"$tmp/out" 2>"$tmp/err"
status=$?
[ $status -eq $((128 + 11)) ] || fail "fault exit status $status, expected 139 (SIGSEGV)"
grep -q '^hakmem: fatal signal 11 (SIGSEGV) at address 0x10 in pid ' "$tmp/err" ||
    fail "no fatal-signal line with the address: $(head -3 "$tmp/err")"
grep -q '^hakmem:   crashed at pc 0x[0-9a-f]* (SEGV_MAPERR: address not mapped):$' "$tmp/err" ||
    fail "no crash line with pc and si_code: $(head -3 "$tmp/err")"
grep -q "^hakmem:     #0 0x[0-9a-f]* ? ($prog+0x[0-9a-f]*)\$" "$tmp/err" ||
    fail "frame #0 is not in the program: $(grep -m2 '#[01] ' "$tmp/err")"
dump=$(ls "$tmp"/dumps/*-signal.dump 2>/dev/null | head -1)
if [ -z "$dump" ]; then
    fail "no signal dump"
else
    grep -q '^event kind=signal signo=11 name=SIGSEGV addr=0x10 code=1 pc=0x[0-9a-f]* frames=0x' "$dump" ||
        fail "the dump's event has no pc and frames: $(grep '^event' "$dump")"
    grep -q "^module id=[0-9]* base=0x[0-9a-f]* end=0x[0-9a-f]* loaded=1 path=\"$prog\"\$" "$dump" ||
        fail "the dump has no module record for the program"
    if [ -n "$hkdump" ]; then
        echo "$0: line 11: 4242 Segmentation fault      env LD_PRELOAD=\"\$lib\" \"\$@\"" >>"$tmp/err"
        for input in "$dump" "$tmp/err"; do
            "$hkdump" "$input" >"$tmp/hk" 2>&1
            grep -q '^\[error\] crash-signal: the process died of SIGSEGV (signal 11) in fault_here' "$tmp/hk" ||
                fail "hkdump on ${input##*/} does not name fault_here: $(grep -m1 crash-signal "$tmp/hk")"
            grep -q 'rules out: a fault inside the allocator' "$tmp/hk" ||
                fail "hkdump on ${input##*/} does not rule out the allocator"
        done
    fi
fi

# 2c. HAKMEM_ABORT_ON_ERROR=1 at an out-of-memory event: the event's lines, then the abort
# (a core at the failure); hkdump reads every line of it.
run HAKMEM_FAULT_MMAP_FAIL_AFTER=1 HAKMEM_ABORT_ON_ERROR=1 "$prog" plain >/dev/null 2>"$tmp/err"
status=$?
[ $status -eq $((128 + 6)) ] || fail "OOM with HAKMEM_ABORT_ON_ERROR=1: exit status $status, expected 134 (SIGABRT)"
grep -q '^hakmem: \[SS OOM\] mmap failed: err=12 ' "$tmp/err" || fail "no [SS OOM] line before the abort"
grep -q '^hakmem: aborting at this out-of-memory event (HAKMEM_ABORT_ON_ERROR=1)$' "$tmp/err" ||
    fail "no line saying why it aborts: $(cat "$tmp/err")"
if [ -n "$hkdump" ]; then
    "$hkdump" "$tmp/err" >"$tmp/hk" 2>&1
    grep -q 'unparsed-lines' "$tmp/hk" && fail "hkdump could not read the abort's lines: $(cat "$tmp/hk")"
    grep -q '^out of memory: ' "$tmp/hk" || fail "hkdump did not open with the OOM event"
fi

# 2d. The diagnostics' own memory, reported apart: diag_bytes with the shadow census (its side
# tables), none without.
run HAKMEM_STATS=json HAKMEM_SHADOW=1 HAKMEM_STATS_FILE="$tmp/shadow.json" "$prog" plain >/dev/null 2>&1
grep -q '"diag_bytes":[1-9]' "$tmp/shadow.json" || fail "no diag_bytes with HAKMEM_SHADOW=1"
run HAKMEM_STATS=json HAKMEM_STATS_FILE="$tmp/plain.json" "$prog" plain >/dev/null 2>&1
grep -q '"diag_bytes"' "$tmp/plain.json" && fail "diag_bytes without any diagnostic mode"

# 3. fork: the parent and the exit() child report, each with its own pid; _exit() does not.
run HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/stats.%p" "$prog" fork 2>"$tmp/err" ||
    fail "fork program failed: $(cat "$tmp/err")"
n=$(ls "$tmp"/stats.* 2>/dev/null | wc -l)
[ "$n" -eq 2 ] || fail "$n report files after fork, expected 2 (parent and exit() child)"
for f in "$tmp"/stats.*; do
    pid=${f##*.}
    grep -q "^hakmem: stats version=3 pid=$pid " "$f" || fail "$f does not carry its own pid"
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

# 7. HAKMEM_STATS_SIGNAL takes names and numbers, and refuses the signals that would turn a
# crash into a loop of reports (11, 8) or keep SIGTERM from ending the program.
for sig in SIGUSR2 USR2 12; do
    run HAKMEM_STATS_SIGNAL=$sig "$prog" signal >/dev/null 2>"$tmp/err"
    [ "$(grep -c '^hakmem: totals ' "$tmp/err")" -eq 1 ] || fail "HAKMEM_STATS_SIGNAL=$sig: no report"
done
for sig in 11 8 SIGSEGV; do
    timeout 20 env LD_PRELOAD="$lib" HAKMEM_TINY_FAST_STATS=1 HAKMEM_STATS_SIGNAL=$sig \
        "$prog" crash >/dev/null 2>"$tmp/err"
    status=$?
    [ $status -eq 139 ] || fail "HAKMEM_STATS_SIGNAL=$sig: crash exit status $status, expected 139"
    grep -q "^hakmem: HAKMEM_STATS_SIGNAL=$sig ignored: expected a signal" "$tmp/err" ||
        fail "HAKMEM_STATS_SIGNAL=$sig accepted silently"
done
for sig in 15 SIGTERM TERM 2 9; do
    timeout 20 env LD_PRELOAD="$lib" HAKMEM_STATS_SIGNAL=$sig "$prog" term >/dev/null 2>"$tmp/err"
    status=$?
    [ $status -eq 143 ] || fail "HAKMEM_STATS_SIGNAL=$sig: SIGTERM exit status $status, expected 143"
    grep -q "^hakmem: HAKMEM_STATS_SIGNAL=$sig ignored" "$tmp/err" || fail "HAKMEM_STATS_SIGNAL=$sig: no message"
done

# 8. Out-of-range values are refused with a message naming the range, never reinterpreted:
# an exit status of 256 was 0 (leaks hidden), a depth of 0 became 1.
run HAKMEM_LEAK_CHECK=1 HAKMEM_LEAK_EXITCODE=256 "$prog" leak >/dev/null 2>"$tmp/err"
status=$?
[ $status -eq 23 ] || fail "HAKMEM_LEAK_EXITCODE=256 with leaks: exit status $status, expected 23"
grep -q '^hakmem: HAKMEM_LEAK_EXITCODE=256 ignored: expected 0-255; using 23$' "$tmp/err" ||
    fail "HAKMEM_LEAK_EXITCODE=256: no message: $(head -3 "$tmp/err")"
run HAKMEM_LEAK_CHECK=1 HAKMEM_LEAK_EXITCODE=7 "$prog" leak >/dev/null 2>&1
[ $? -eq 7 ] || fail "HAKMEM_LEAK_EXITCODE=7 not used"
for bad in HAKMEM_STACK_DEPTH=0 HAKMEM_STACK_DEPTH=65 HAKMEM_STATS=yes HAKMEM_LEAK_REPORT=some \
           HAKMEM_SHADOW=2 HAKMEM_FAULT_MMAP_FAIL_AFTER=12x HAKMEM_SHADOW_POISON=100; do
    run "$bad" "$prog" plain >/dev/null 2>"$tmp/err"
    grep -q "^hakmem: $bad ignored: expected " "$tmp/err" || fail "$bad accepted silently"
done
# Names that are not options (a typo, an option renamed) are said, never silently dropped;
# known names are not.
run HAKMEM_LEAK_CHEK=1 HAKMEM_STACK_FP=0 HAKMEM_STATS=0 "$prog" plain >/dev/null 2>"$tmp/err"
grep -qx 'hakmem: HAKMEM_LEAK_CHEK is not an option of hakmem: ignored' "$tmp/err" ||
    fail "HAKMEM_LEAK_CHEK accepted silently: $(head -3 "$tmp/err")"
grep -qx 'hakmem: HAKMEM_STACK_FP is not an option of hakmem: ignored (now HAKMEM_STACK_WALK)' \
    "$tmp/err" || fail "HAKMEM_STACK_FP not said to be renamed: $(head -3 "$tmp/err")"
! grep -q 'HAKMEM_STATS ' "$tmp/err" || fail "HAKMEM_STATS called unknown"
long=$tmp/$(printf 'd%.0s' $(seq 4100))
run HAKMEM_STATS=1 HAKMEM_STATS_FILE="$long" "$prog" plain >/dev/null 2>"$tmp/err"
grep -q '^hakmem: HAKMEM_STATS_FILE=.*ignored: expected a path of 1-4095 bytes' "$tmp/err" ||
    fail "a path of 4,100 bytes was not refused"
grep -q '^hakmem: totals ' "$tmp/err" || fail "no report on stderr after refusing the long path"

# 9. %% in HAKMEM_STATS_FILE is a literal %, %p the pid.
run HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/a%%p.%p" "$prog" plain >/dev/null 2>&1
n=$(ls "$tmp"/a%p.[0-9]* 2>/dev/null | wc -l)
[ "$n" -eq 1 ] || fail "%% not a literal %: $(ls "$tmp")"

# 10. Only a regular file of ours with one name, reached without a symlink, receives a report;
# anything else is refused with one line and the report goes to stderr. A FIFO hung the
# program at exit and at a crash.
refused() {   # refused NAME PATH MODE: the report refused PATH, stayed on stderr, and the program ended
    timeout 20 env LD_PRELOAD="$lib" HAKMEM_STATS=1 HAKMEM_STATS_FILE="$2" "$prog" "$3" \
        >/dev/null 2>"$tmp/err"
    local status=$?
    [ $status -ne 124 ] || fail "$1: the program hung"
    grep -q "^hakmem: cannot write the stats report to $2: " "$tmp/err" || fail "$1: no refusal line"
    grep -q '^hakmem: totals ' "$tmp/err" || fail "$1: report not on stderr"
}
mkfifo "$tmp/fifo"
refused fifo "$tmp/fifo" plain
refused "fifo at a crash" "$tmp/fifo" crash
mkdir "$tmp/realdir"
ln -s "$tmp/realdir" "$tmp/linkdir"
refused "symlinked directory" "$tmp/linkdir/report" plain
[ ! -e "$tmp/realdir/report" ] || fail "report written through a symlinked directory"
echo precious >"$tmp/hard-target"
ln "$tmp/hard-target" "$tmp/hard"
refused "hard link" "$tmp/hard" plain
[ "$(cat "$tmp/hard-target")" = precious ] || fail "report written through a hard link"
if [ "$(id -u)" = 0 ]; then   # a file another user made (in /tmp, say): root can make one
    echo theirs >"$tmp/theirs"
    chown 65534 "$tmp/theirs"
    chmod 666 "$tmp/theirs"
    refused "another user's file" "$tmp/theirs" plain
    [ "$(cat "$tmp/theirs")" = theirs ] || fail "report written into another user's file"
fi
refused "/dev/full" /dev/full plain
# An existing file of ours is replaced and made private.
echo old >"$tmp/open"
chmod 644 "$tmp/open"
run HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/open" "$prog" plain >/dev/null 2>&1
[ "$(stat -c %a "$tmp/open")" = 600 ] || fail "existing report file kept mode $(stat -c %a "$tmp/open")"
# A write that fails (here EFBIG past RLIMIT_FSIZE) is said, never silent.
# (stderr through a pipe: the limit applies to regular files only, the test's too)
( trap '' XFSZ; ulimit -f 0; exec env LD_PRELOAD="$lib" HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/big" \
    "$prog" plain ) 2>&1 >/dev/null | cat >"$tmp/err"
grep -q "^hakmem: incomplete stats report in $tmp/big: a write failed (errno 27, EFBIG)" "$tmp/err" ||
    fail "a failed write was silent: $(cat "$tmp/err")"

# 11. Dump files: the same checks; a symlinked directory or a FIFO is not written into.
run HAKMEM_DUMP_DIR="$tmp/linkdir" "$prog" plain >/dev/null 2>"$tmp/err"
grep -q "^hakmem: cannot create a dump file in $tmp/linkdir: a directory in the path is a symlink" \
    "$tmp/err" || fail "dump through a symlinked directory: $(cat "$tmp/err")"
[ -z "$(ls "$tmp/realdir")" ] || fail "dump written through a symlinked directory"
run HAKMEM_DUMP_DIR="$tmp/realdir" "$prog" plain >/dev/null 2>"$tmp/err"
f=$(ls "$tmp"/realdir/hakmem-*-exit.dump 2>/dev/null | head -1)
[ -n "$f" ] && [ "$(stat -c %a "$f")" = 600 ] || fail "no private dump file: $(cat "$tmp/err")"

# 12. Live reports raised on four threads at once are written one at a time, each whole:
# every line is one JSON object (a report, or a count of skipped ones), and no more than
# the 800 signals and the exit report are counted. They interleaved mid-line before.
run HAKMEM_STATS=json HAKMEM_STATS_SIGNAL=SIGUSR2 "$prog" storm >/dev/null 2>"$tmp/err"
python3 - "$tmp/err" <<'PY' || fail "concurrent live reports interleaved"
import json, sys
reports = skipped = bad = 0
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        bad += 1
        continue
    if "live_reports_skipped" in d:
        skipped += d["live_reports_skipped"]
    else:
        reports += 1
print("live reports: %d whole, %d skipped, %d invalid lines" % (reports, skipped, bad))
sys.exit(1 if bad or reports < 2 or reports + skipped > 801 else 0)
PY

echo "report tests: $failures failed"
[ $failures -eq 0 ]
