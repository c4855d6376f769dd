#!/bin/bash
# Driver: invalid_free under LD_PRELOAD survives, and hakmem reports each bad pointer on
# stderr in a line that starts with "hakmem:" and names the address. The wording of the
# message may change; the prefix and the address may not.
# Usage: invalid_free.sh PROGRAM LIBHAKMEM
set -euo pipefail
prog=$1 lib=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-invalid-free.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0

rc=0
LD_PRELOAD=$lib "$prog" >"$tmp/out" 2>"$tmp/err" || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "FAIL: invalid_free exited with status $rc" >&2
    fail=1
fi
if ! grep -q '^survived' "$tmp/out"; then
    echo "FAIL: invalid_free did not get to the end" >&2
    fail=1
fi
naddr=0
while read -r tag addr what; do
    [[ $tag == ADDR ]] || continue
    naddr=$((naddr + 1))
    addr=${addr,,}
    # "hakmem: ... 0x<addr>" (any case, any zero padding), on a line of its own
    if ! grep -Eiq "^hakmem:.*0x0*${addr}([^0-9a-f]|\$)" "$tmp/err"; then
        echo "FAIL: no 'hakmem:' report naming 0x$addr ($what) on stderr" >&2
        fail=1
    fi
done <"$tmp/out"
if [[ $naddr -lt 8 ]]; then
    echo "FAIL: expected 8 ADDR lines, got $naddr" >&2
    fail=1
fi
if ! grep -Eiq '^hakmem:.*invalid' "$tmp/err"; then
    echo "note: no report line says 'invalid'" >&2
fi

# With HAKMEM_ABORT_ON_ERROR=1 the first bad free aborts.
rc=0
(ulimit -c 0; HAKMEM_ABORT_ON_ERROR=1 LD_PRELOAD=$lib exec "$prog" abort) \
    >"$tmp/out2" 2>"$tmp/err2" || rc=$?
if [[ $rc -ne 134 ]]; then
    echo "FAIL: with HAKMEM_ABORT_ON_ERROR=1 a bad free should abort (status 134), got $rc" >&2
    fail=1
fi

if [[ $fail -ne 0 ]]; then
    echo "---- stdout ----" >&2; cat "$tmp/out" >&2
    echo "---- stderr (first 40 lines) ----" >&2; head -n 40 "$tmp/err" >&2
    echo "---- abort run stderr ----" >&2; head -n 10 "$tmp/err2" >&2
    exit 1
fi
echo "invalid_free: $naddr bad frees reported and survived; abort mode aborts"
