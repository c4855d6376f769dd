#!/usr/bin/env bash
# OOM as an event: NULL + ENOMEM in every thread, one OOM dump with exact counters, the
# same under a real RLIMIT_AS, a dump on SIGSEGV, and a truncated dump read back by hkdump.
set -uo pipefail
lib=$1
prog=$2
crash=$3
hkdump=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
field() { # record key file: the value of key= on the first line starting with record
    awk -v r="$1" -v k="$2" '$1 == r { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$3"
}
mid_allocs() { awk '$1 == "tier" && $2 == "name=mid" { for (i = 3; i <= NF; i++) if ($i ~ /^allocs=/) print substr($i, 8) }' "$1"; }

check_oom_run() { # label dir stdout-file
    local label=$1 dir=$2 out=$3
    grep -q '^allocated [0-9]' "$out" || fail "$label: program did not finish: $(cat "$out")"
    local n_oom n_exit
    n_oom=$(ls "$dir"/*-oom.dump 2>/dev/null | wc -l)
    n_exit=$(ls "$dir"/*-exit.dump 2>/dev/null | wc -l)
    [ "$n_oom" -eq 1 ] || fail "$label: $n_oom OOM dumps, expected 1 (first event, then rate-limited)"
    [ "$n_exit" -eq 1 ] || fail "$label: $n_exit exit dumps, expected 1"
    local oom exitd
    oom=$(ls "$dir"/*-oom.dump | head -1)
    exitd=$(ls "$dir"/*-exit.dump | head -1)
    [ "$(head -1 "$oom")" = "hakmem-dump 1" ] && [ "$(tail -1 "$oom")" = end ] || fail "$label: OOM dump not complete"
    [ "$(field event errno "$oom")" = 12 ] || fail "$label: OOM event errno $(field event errno "$oom")"
    # The SuperSlab table summary agrees with the process record.
    local ss_sum
    ss_sum=$(awk '$1 == "superslab_table" { for (i = 2; i <= NF; i++) if ($i ~ /^superslabs=/) s += substr($i, 12) } END { print s + 0 }' "$oom")
    [ "$ss_sum" = "$(field process superslabs_live "$oom")" ] ||
        fail "$label: superslab_table counts $ss_sum SuperSlabs, process says $(field process superslabs_live "$oom")"
    # Exact counters: every successful malloc of the program, nothing else.
    local want got
    want=$(awk '/^allocated/ { print $2 }' "$out")
    got=$(mid_allocs "$exitd")
    [ "$got" = "$want" ] || fail "$label: dump counts $got mid-tier allocations, the program made $want"
    [ "$(field process large_mapped "$exitd")" = 0 ] || fail "$label: the 64 TiB request reached mmap"
    [ "$(field process oom_events "$exitd")" -ge 5 ] || fail "$label: oom_events $(field process oom_events "$exitd")"
    "$hkdump" "$oom" >"$tmp/explain" || fail "$label: hkdump could not read the OOM dump"
    grep -q 'oom-event' "$tmp/explain" || fail "$label: hkdump did not name the OOM"
}

# 1. Fault injection: the 40th mapping fails.
mkdir "$tmp/fault"
HAKMEM_FAULT_MMAP_FAIL_AFTER=40 HAKMEM_DUMP_DIR="$tmp/fault" LD_PRELOAD="$lib" "$prog" \
    >"$tmp/fault.out" 2>"$tmp/fault.err" || fail "fault injection: exit $? $(tail -3 "$tmp/fault.err")"
grep -q '^hakmem: \[SS OOM\] mmap failed: err=12 .*alloc=40 freed=0' "$tmp/fault.err" ||
    fail "fault injection: no [SS OOM] line with alloc=40"
check_oom_run "fault injection" "$tmp/fault" "$tmp/fault.out"

# 2. A real address-space limit (prlimit --as): mmap itself fails.
if command -v prlimit >/dev/null; then
    mkdir "$tmp/rlimit"
    HAKMEM_DUMP_DIR="$tmp/rlimit" LD_PRELOAD="$lib" prlimit --as=$((256 << 20)) "$prog" \
        >"$tmp/rlimit.out" 2>"$tmp/rlimit.err" || fail "RLIMIT_AS: exit $? $(tail -3 "$tmp/rlimit.err")"
    check_oom_run "RLIMIT_AS" "$tmp/rlimit" "$tmp/rlimit.out"
    oom=$(ls "$tmp"/rlimit/*-oom.dump | head -1)
    [ "$(field limits rlimit_as_cur "$oom")" = $((256 << 20)) ] || fail "RLIMIT_AS not recorded"
    "$hkdump" "$oom" | grep -q 'address-space-limit' || fail "hkdump did not name the address-space limit"
else
    echo "prlimit missing: RLIMIT_AS case skipped" >&2
fi

# 3. A dump written during SIGSEGV.
mkdir "$tmp/crash"
HAKMEM_DUMP_DIR="$tmp/crash" LD_PRELOAD="$lib" "$crash" crash >/dev/null 2>&1
[ $? -eq 139 ] || fail "crash exit status changed"
sig=$(ls "$tmp"/crash/*-signal.dump 2>/dev/null | head -1)
[ -n "$sig" ] && [ "$(field event signo "$sig")" = 11 ] && [ "$(tail -1 "$sig")" = end ] ||
    fail "no complete signal dump with signo=11"

# 4. A truncated dump (process killed mid-write) is still read, up to the last full line.
exitd=$(ls "$tmp"/fault/*-exit.dump | head -1)
head -c $(($(stat -c %s "$exitd") / 2)) "$exitd" >"$tmp/truncated.dump"
"$hkdump" "$tmp/truncated.dump" >"$tmp/explain"
[ $? -eq 0 ] && grep -q 'truncated-dump' "$tmp/explain" || fail "truncated dump not read as such"

echo "oom tests: $failures failed"
[ $failures -eq 0 ]
