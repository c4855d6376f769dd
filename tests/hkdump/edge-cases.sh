#!/bin/bash
# Inputs that are awkward to keep in the tree: a 4 MiB line, NUL bytes, a dump cut at every
# length, empty input, an unreadable file. hkdump must exit 0 (or 2 with one line) and never
# crash (any exit status above 2 is a failure), and say what the case expects.
set -u
hkdump=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# check expected-rc description text command...: the exit status, and the text (a fixed
# string) in what the command said: on stdout for status 0; for status 2, in the one line
# on stderr.
check() {
    local want=$1 what=$2 text=$3
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? said=$tmp/out
    [ "$want" = 2 ] && said=$tmp/err
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $what: exit $rc, expected $want"; head -c 2000 "$tmp/err"; fail=1
    elif [ "$want" = 2 ] && [ "$(wc -l <"$tmp/err")" != 1 ]; then
        echo "FAIL: $what: $(wc -l <"$tmp/err") lines on stderr, expected one"; head -c 2000 "$tmp/err"
        fail=1
    elif ! grep -qF -- "$text" "$said"; then
        echo "FAIL: $what: '$text' not in its output"; head -c 2000 "$said"; fail=1
    fi
}

head -c 4194304 /dev/zero | tr '\0' 'x' >"$tmp/huge.txt"
printf ' [SS OOM] mmap failed: err=12 alloc=5 freed=0 bytes=10485760\n' >>"$tmp/huge.txt"
check 0 "4 MiB line (the record after it is read)" 'oom-event' "$hkdump" "$tmp/huge.txt"

printf 'hakmem: stats pid=1\0\0\0 threads_seen=2\n\0[SS OOM]\0err=12\n' >"$tmp/nul.txt"
check 0 "NUL bytes" 'text, 2 lines, 2 hakmem records' "$hkdump" "$tmp/nul.txt"
grep -q '^\[info\] oom-event: ' "$tmp/out" || { echo "FAIL: NUL bytes: no oom-event"; fail=1; }

: >"$tmp/empty.txt"
check 0 "empty input" 'no-hakmem-data' "$hkdump" "$tmp/empty.txt"

printf 'hakmem-dump' >"$tmp/magic-only.dump"
check 0 "magic without version (read as text)" 'magic-only.dump: text, 1 lines, 0 hakmem records' \
    "$hkdump" "$tmp/magic-only.dump"

printf 'hakmem-dump 1' >"$tmp/first-line-cut.dump"
check 2 "first line cut" \
    "hkdump: $tmp/first-line-cut.dump: not a valid dump: bad first line (expected 'hakmem-dump 1')" \
    "$hkdump" "$tmp/first-line-cut.dump"

printf 'hakmem-dump 99999999999999999999999\n' >"$tmp/big-version.dump"
check 2 "absurd version" \
    "hkdump: $tmp/big-version.dump: not a valid dump: bad first line (expected 'hakmem-dump 1')" \
    "$hkdump" "$tmp/big-version.dump"

# Every prefix of a real dump: truncated dumps of any length are read.
dump=$(dirname "$0")/inputs/example.dump
size=$(wc -c <"$dump")
for ((n = 15; n <= size; n += 37)); do
    head -c "$n" "$dump" >"$tmp/cut.dump"
    check 0 "dump cut at $n bytes" '[warning] truncated-dump: ' "$hkdump" "$tmp/cut.dump"
    check 0 "dump cut at $n bytes (json)" '"truncated": true' "$hkdump" --json "$tmp/cut.dump"
done

if [ "$(id -u)" != 0 ]; then
    echo secret >"$tmp/unreadable.txt"
    chmod 000 "$tmp/unreadable.txt"
    check 2 "unreadable file" "hkdump: $tmp/unreadable.txt: Permission denied" \
        "$hkdump" "$tmp/unreadable.txt"
fi
# Run time is linear in the records: 200,000 distinct classes, census rows and threads, 50,000
# modules and stacks
# (once 11 s for 80,000 classes, minutes for 200,000). The limit is generous, not a timing.
awk 'BEGIN { print "hakmem-dump 1"
    for (i = 0; i < 200000; i++) {
        printf "class id=%d size=64 allocs=10 frees=5 live=5\n", i
        printf "census class=%d in_use=1 fast_cache=1 tls_list=1 slab_free=1\n", i
        printf "census_thread thread=%d tid=%d state=live in_use=1\n", i, i
        if (i % 4) continue
        printf "module id=%d base=0x%x end=0x%x path=/nonexistent/m%d\n", i, i * 4096 + 4096, i * 4096 + 8192, i
        printf "stack id=%d blocks=1 bytes=64 kind=lost frames=0x%x\n", i, i * 4096 + 4100 }
    print "end" }' >"$tmp/many.dump"
check 0 "200,000 distinct records" 'dump version 1, 700002 lines, 700000 records' \
    timeout 60 "$hkdump" "$tmp/many.dump"
grep -qF 'leak check: 3.1 MiB in 50,000 blocks lost, from 50000 allocation stacks' "$tmp/out" ||
    { echo "FAIL: 200,000 distinct records: leak finding"; head -5 "$tmp/out"; fail=1; }
check 0 "diff of 200,000 distinct records" 'leak stacks (matched by module+offset):' \
    timeout 60 "$hkdump" diff "$tmp/many.dump" "$tmp/many.dump"
[ "$(grep -c '^  (no change)$' "$tmp/out")" = 4 ] ||
    { echo "FAIL: diff of a dump with itself shows a change"; head -20 "$tmp/out"; fail=1; }

# A module path that is a FIFO: opening it would block; only regular files are opened, and
# only for the modules a stack needs.
mkfifo "$tmp/fifo"
printf 'hakmem-dump 1\nmodule id=0 base=0x1000 end=0x2000 path=%s\nstack id=1 blocks=1 bytes=8 kind=lost frames=0x1010\nend\n' \
    "$tmp/fifo" >"$tmp/fifo.dump"
check 0 "FIFO as a module path" 'stack 1: 8 B in 1 block: fifo+0x10' \
    timeout 20 "$hkdump" "$tmp/fifo.dump"
check 0 "FIFO as a module path (folded)" 'lost;fifo+0x10 8' \
    timeout 20 "$hkdump" --folded "$tmp/fifo.dump"

# Inputs that are no files: a device (also through a symlink) and a socket are refused with
# one line, never opened; a FIFO nobody writes to reads as empty at once (its open would
# wait for a writer); a pipe with a writer is read (process substitution).
check 2 "device input" "hkdump: /dev/zero: a device or socket, not a file or pipe (not read)" \
    "$hkdump" /dev/zero
ln -s /dev/zero "$tmp/zero-link"
check 2 "symlink to a device" "a device or socket, not a file or pipe (not read)" \
    "$hkdump" "$tmp/zero-link"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/sock"
check 2 "socket input" "a device or socket, not a file or pipe (not read)" "$hkdump" "$tmp/sock"
check 0 "FIFO input without a writer" 'fifo: text, 0 lines' timeout 20 "$hkdump" "$tmp/fifo"
check 0 "pipe input" 'dump version 1' timeout 20 "$hkdump" <(cat "$dump")

# A regular file past 256 MiB: refused by its size with one line, not read.
truncate -s 257M "$tmp/big"
check 2 "input too large" "hkdump: $tmp/big: input larger than 256 MiB (not read)" \
    "$hkdump" "$tmp/big"

# Huge numbers (an ordinary request: one huge request would explain it all): products saturate instead of wrapping into false evidence (2^40 SuperSlabs of
# 1 GiB once printed "= 0 B"); a live sum beyond 2^64 prints saturated, not converted out of
# range (undefined behaviour).
printf 'hakmem-dump 1\nprocess superslabs_mapped=1099511627776 superslabs_unmapped=0 superslab_bytes=18446744073709551615\nevent kind=oom errno=12 size=4096 ss_size=1073741824 map_size=2147483648\nlimits rlimit_as_cur=18446744073709551614 vm_size_kb=18446744073709551615 vm_rss_kb=18446744073709551615\nend\n' >"$tmp/huge.dump"
check 0 "huge numbers: SuperSlab bytes saturated" \
    '1,099,511,627,776 × 1 GiB = 18,446,744,073,709,551,615 B' "$hkdump" "$tmp/huge.dump"
printf 'hakmem-dump 1\nlimits vm_rss_kb=100000\nclass id=1 size=64 live=1000\nend\n' >"$tmp/g1.dump"
printf 'hakmem-dump 1\nlimits vm_rss_kb=10000000\nclass id=1 size=64 live=18446744073709551615\nend\n' >"$tmp/g2.dump"
check 0 "live beyond 2^64: growth saturated" 'live 62.5 KiB → 16 EiB' \
    "$hkdump" "$tmp/g1.dump" "$tmp/g2.dump"

# A key given twice on one line was injected (an unquoted TAB in an old writer's value): the
# record is ignored with a note, neither value is believed.
printf 'hakmem-dump 1\nheader pid=7 exe=/bin/x\tpid=666 reason=exit\nend\n' >"$tmp/dup.dump"
check 0 "duplicate key" "key 'pid' given twice (record ignored)" "$hkdump" --json "$tmp/dup.dump"

# Output that cannot be written: one line, status 2.
( "$hkdump" "$dump" >/dev/full 2>"$tmp/err" ); rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q '^hkdump: cannot write the output: ' "$tmp/err" ||
    { echo "FAIL: /dev/full: exit $rc"; cat "$tmp/err"; fail=1; }
( "$hkdump" "$dump" >&- 2>"$tmp/err" ); rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] ||
    { echo "FAIL: closed stdout: exit $rc"; cat "$tmp/err"; fail=1; }

# A byte order mark, CRLF and CR-only line ends: the same findings as the plain file.
# line_end_forms FILE EXT KIND: FILE rewritten in each form as FORM.EXT, read as "KIND version 1".
line_end_forms() {
    local file=$1 ext=$2 kind=$3 form
    "$hkdump" "$file" | tail -n +3 >"$tmp/plain.out"
    for form in bom crlf cr; do
        case $form in
        bom) { printf '\xef\xbb\xbf'; cat "$file"; } >"$tmp/$form.$ext" ;;
        crlf) sed 's/$/\r/' "$file" >"$tmp/$form.$ext" ;;
        cr) tr '\n' '\r' <"$file" >"$tmp/$form.$ext" ;;
        esac
        check 0 "$kind $form" "$tmp/$form.$ext: $kind version 1" "$hkdump" "$tmp/$form.$ext"
        tail -n +3 "$tmp/out" | sed "s|$tmp/$form.$ext|$file|g" |
            diff -u "$tmp/plain.out" - >/dev/null ||
            { echo "FAIL: $kind $form: findings differ"; head -5 "$tmp/out"; fail=1; }
    done
}
line_end_forms "$dump" dump dump

# Timelines: the same grammar, with the same care. Cut at every length: every complete line
# read, reported cut off; the first line alone or without a version; BOM, CRLF, CR; a
# hostile file of 1,200,000 tiny samples is bounded (1,000,000 kept) and quick.
tl=$(dirname "$0")/inputs/tl-census.timeline
size=$(wc -c <"$tl")
for ((n = 18; n < size; n += 211)); do
    head -c "$n" "$tl" >"$tmp/cut.timeline"
    check 0 "timeline cut at $n bytes" '[warning] truncated-timeline: ' \
        "$hkdump" "$tmp/cut.timeline"
done
printf 'hakmem-timeline' >"$tmp/tl-magic-only"
check 0 "timeline magic without version (read as text)" 'tl-magic-only: text, 1 lines' \
    "$hkdump" "$tmp/tl-magic-only"
printf 'hakmem-timeline 1' >"$tmp/tl-first-line-cut"
check 2 "timeline first line cut" \
    "not a valid timeline: bad first line (expected 'hakmem-timeline 1')" \
    "$hkdump" "$tmp/tl-first-line-cut"
line_end_forms "$tl" timeline timeline
awk 'BEGIN { print "hakmem-timeline 1"; print "class id=1 size=16"
    for (i = 0; i < 1200000; i++) printf "sample t_ms=%d live=1:%d\n", 1200000 - i, i % 7
    print "end" }' >"$tmp/many.timeline"
check 0 "1,200,000 samples (1,000,000 kept)" 'samples than hkdump keeps' \
    timeout 60 "$hkdump" "$tmp/many.timeline"

check 2 "no arguments" "hkdump: no input given ('-' reads stdin) (see hkdump --help)" "$hkdump"
check 0 "help" 'usage: hkdump [--json | --folded] FILE...' "$hkdump" --help
exit $fail
