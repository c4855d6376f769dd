#!/bin/bash
# Inputs that are awkward to keep in the tree: a 4 MiB line, NUL bytes, a dump cut at every
# length, empty input, an unreadable file. hkdump must exit 0 (or 2 with one line) and never
# crash (any exit status above 2 is a failure).
set -u
hkdump=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # expected-rc description command...
    local want=$1 what=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $what: exit $rc, expected $want"; head -c 2000 "$tmp/err"; fail=1
    fi
}

head -c 4194304 /dev/zero | tr '\0' 'x' >"$tmp/huge.txt"
printf ' [SS OOM] mmap failed: err=12 alloc=5 freed=0 bytes=10485760\n' >>"$tmp/huge.txt"
check 0 "4 MiB line" "$hkdump" "$tmp/huge.txt"
grep -q 'oom-event' "$tmp/out" || { echo "FAIL: record after a 4 MiB line not found"; fail=1; }

printf 'hakmem: stats pid=1\0\0\0 threads_seen=2\n\0[SS OOM]\0err=12\n' >"$tmp/nul.txt"
check 0 "NUL bytes" "$hkdump" "$tmp/nul.txt"

: >"$tmp/empty.txt"
check 0 "empty input" "$hkdump" "$tmp/empty.txt"
grep -q 'no-hakmem-data' "$tmp/out" || { echo "FAIL: empty input not reported"; fail=1; }

printf 'hakmem-dump' >"$tmp/magic-only.dump"
check 0 "magic without version (read as text)" "$hkdump" "$tmp/magic-only.dump"

printf 'hakmem-dump 1' >"$tmp/first-line-cut.dump"
check 2 "first line cut" "$hkdump" "$tmp/first-line-cut.dump"

printf 'hakmem-dump 99999999999999999999999\n' >"$tmp/big-version.dump"
check 2 "absurd version" "$hkdump" "$tmp/big-version.dump"

# Every prefix of a real dump: truncated dumps of any length are read.
dump=$(dirname "$0")/inputs/example.dump
size=$(wc -c <"$dump")
for ((n = 15; n <= size; n += 37)); do
    head -c "$n" "$dump" >"$tmp/cut.dump"
    check 0 "dump cut at $n bytes" "$hkdump" "$tmp/cut.dump"
    check 0 "dump cut at $n bytes (json)" "$hkdump" --json "$tmp/cut.dump"
done

if [ "$(id -u)" != 0 ]; then
    echo secret >"$tmp/unreadable.txt"
    chmod 000 "$tmp/unreadable.txt"
    check 2 "unreadable file" "$hkdump" "$tmp/unreadable.txt"
    grep -qx "hkdump: $tmp/unreadable.txt: Permission denied" "$tmp/err" ||
        { echo "FAIL: unreadable file message"; cat "$tmp/err"; fail=1; }
fi
check 2 "no arguments" "$hkdump"
check 0 "help" "$hkdump" --help
exit $fail
