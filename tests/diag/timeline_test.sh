#!/usr/bin/env bash
# The timeline (HAKMEM_STATS_INTERVAL_MS): its file against the format header, bounded by
# decimation, its end at exit and on a crash, nothing from a forked child, hostile values,
# a missing or unusable directory, and the diagnostic modes beside it.
set -uo pipefail
lib=$1
prog=$2
check=$3      # check_timeline.py
format=$4     # diag/hk_dump_format.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
run() { env LD_PRELOAD="$lib" HAKMEM_DUMP_DIR="$tmp/d" "$@"; }
fresh() { rm -rf "$tmp/d"; mkdir "$tmp/d"; }
# One value of the checker's summary of the only timeline in $tmp/d.
summary() {
    local files
    files=$(ls "$tmp"/d/*.timeline 2>/dev/null)
    [ "$(echo "$files" | wc -w)" -eq 1 ] || { fail "$1: timelines '$files', expected one"; return 1; }
    python3 "$check" "$format" "$files" >"$tmp/sum" || fail "$1: the file breaks the format"
}
val() { python3 -c "import json,sys; v=json.load(open('$tmp/sum')); print(eval(sys.argv[1], {}, v))" "$1"; }
expect() {   # label, python expression over the summary
    [ "$(val "$2")" = True ] || fail "$1: $2 is false in $(cat "$tmp/sum")"
}

# 1. A plain run: a sample every 20 ms, the exit event and end; the file hakmem-PID.timeline,
# 0600, with the program's pid.
fresh
run HAKMEM_STATS_INTERVAL_MS=20 "$prog" run 300 >/dev/null 2>"$tmp/err" || fail "run: status $?"
if summary run; then
    expect run "samples >= 5 and last_t >= 250 and end and events == {'exit': 1}"
    expect run "every_ms == 20 and decimations == 0 and classes > 0 and max_bytes_mapped > 0"
    expect run "timeline_bytes > 0 and diag_bytes >= timeline_bytes"
    pid=$(val pid)
    [ -f "$tmp/d/hakmem-$pid.timeline" ] || fail "run: no file hakmem-$pid.timeline"
    [ "$(stat -c %a "$tmp/d/hakmem-$pid.timeline")" = 600 ] || fail "run: the file is not 0600"
fi

# 2. Bounded: 1100 dump requests each add a sample; the file keeps at most max_samples by
# decimation (every other one dropped, the step doubled, the file written anew).
fresh
run HAKMEM_STATS_INTERVAL_MS=1000 "$prog" requests 1100 >/dev/null 2>&1 || fail "requests: status $?"
if summary requests; then
    expect requests "decimations >= 1 and every_ms == interval_ms << decimations"
    expect requests "samples <= max_samples and samples > max_samples // 2 and end"
    expect requests "events.get('request', 0) >= 32 and events.get('exit') == 1"
fi

# 3. A forked child writes nothing: one timeline, the parent's, ended once.
fresh
run HAKMEM_STATS_INTERVAL_MS=20 "$prog" fork >/dev/null 2>&1 || fail "fork: status $?"
if summary fork; then
    expect fork "end and events == {'exit': 1}"
fi

# 4. A crash ends the timeline with the signal event.
fresh
run HAKMEM_STATS_INTERVAL_MS=20 "$prog" crash >/dev/null 2>&1
status=$?
[ $status -ge 128 ] || fail "crash: status $status, expected death by signal"
summary crash && expect crash "end and events == {'signal': 1} and samples >= 2"

# 5. Hostile values: a clear line each, no timeline, the program runs.
for v in 5 abc 86400001 -1 99999999999999999999999 ""; do
    fresh
    run HAKMEM_STATS_INTERVAL_MS="$v" "$prog" run 30 >/dev/null 2>"$tmp/err" || fail "'$v': status $?"
    [ -z "$(ls "$tmp"/d/*.timeline 2>/dev/null)" ] || fail "'$v': a timeline was written"
    [ -z "$v" ] && continue
    grep -q "^hakmem: HAKMEM_STATS_INTERVAL_MS=$v ignored" "$tmp/err" ||
        fail "'$v': no message, stderr: $(head -2 "$tmp/err")"
done

# 6. Without HAKMEM_DUMP_DIR, or with one that cannot be used: one line, the program runs.
env LD_PRELOAD="$lib" HAKMEM_STATS_INTERVAL_MS=20 "$prog" run 30 >"$tmp/out" 2>"$tmp/err" ||
    fail "no dir: status $?"
grep -q '^hakmem: timeline: HAKMEM_STATS_INTERVAL_MS needs HAKMEM_DUMP_DIR' "$tmp/err" ||
    fail "no dir: no message: $(head -2 "$tmp/err")"
ln -s "$tmp" "$tmp/link"
env LD_PRELOAD="$lib" HAKMEM_STATS_INTERVAL_MS=20 HAKMEM_DUMP_DIR="$tmp/link" "$prog" run 30 \
    >"$tmp/out" 2>"$tmp/err" || fail "symlink dir: status $?"
grep -q '^hakmem: cannot create the timeline in .*; no timeline$' "$tmp/err" ||
    fail "symlink dir: no refusal: $(head -2 "$tmp/err")"
[ -z "$(ls "$tmp"/*.timeline 2>/dev/null)" ] || fail "symlink dir: written through the link"

# 7. Shadow mode adds the census totals; the leak check finds no leak of the timeline's.
fresh
run HAKMEM_STATS_INTERVAL_MS=20 HAKMEM_SHADOW=1 "$prog" run 200 >/dev/null 2>&1 ||
    fail "shadow: status $?"
summary shadow && expect shadow "census >= 1 and end"
fresh
run HAKMEM_STATS_INTERVAL_MS=20 HAKMEM_LEAK_CHECK=1 "$prog" run 200 >/dev/null 2>"$tmp/err"
status=$?
[ $status -eq 0 ] || fail "leak check: status $status: $(grep -m3 leak "$tmp/err")"
summary leak && expect leak "end"

# 8. A program that closes every descriptor: the timeline stops, the program does not.
fresh
run HAKMEM_STATS_INTERVAL_MS=20 "$prog" closefds >"$tmp/out" 2>/dev/null || fail "closefds: status $?"
grep -q done "$tmp/out" || fail "closefds: the program did not finish"

[ $failures -eq 0 ] && echo "timeline: ok"
exit $((failures > 0))
