#!/bin/bash
# Driver: invalid_free under LD_PRELOAD survives bad frees, and hakmem reports each bad
# pointer on stderr in a line that starts with "hakmem:" and names the address. The wording
# of the message may change; the prefix and the address may not.
# Usage: invalid_free.sh PROGRAM LIBHAKMEM
set -euo pipefail
prog=$1 lib=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-invalid-free.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset HAKMEM_ABORT_ON_ERROR HAKMEM_SHADOW HAKMEM_STATS
fail=0

# check_run NAME EXPECTED_ADDRS [ENV=VALUE...] -- ARGS...
check_run() {
    local name=$1 want=$2
    shift 2
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    local rc=0
    env "${envs[@]}" LD_PRELOAD="$lib" "$prog" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
    local ok=1
    if [[ $rc -ne 0 ]]; then
        echo "FAIL [$name]: exited with status $rc" >&2
        ok=0
    fi
    if ! grep -q '^survived' "$tmp/$name.out"; then
        echo "FAIL [$name]: did not get to the end" >&2
        ok=0
    fi
    local n=0 tag addr what
    while read -r tag addr what; do
        [[ $tag == ADDR ]] || continue
        n=$((n + 1))
        addr=${addr,,}
        # "hakmem: ... 0x<addr>" (any case, any zero padding), on a line of its own
        if ! grep -Eiq "^hakmem:.*0x0*${addr}([^0-9a-f]|\$)" "$tmp/$name.err"; then
            echo "FAIL [$name]: no 'hakmem:' report naming 0x$addr ($what) on stderr" >&2
            ok=0
        fi
    done <"$tmp/$name.out"
    if [[ $n -ne $want ]]; then
        echo "FAIL [$name]: expected $want ADDR lines, got $n" >&2
        ok=0
    fi
    if [[ $ok -eq 0 ]]; then
        echo "---- [$name] stdout ----" >&2; cat "$tmp/$name.out" >&2
        echo "---- [$name] stderr (first 40 lines) ----" >&2; head -n 40 "$tmp/$name.err" >&2
        fail=1
    fi
    return 0
}

# Foreign and interior pointers: stack, .data, .bss, inside blocks of each tier, mmap.
check_run foreign 8 -- 
# Double frees, with the shadow census on.
check_run double 3 HAKMEM_SHADOW=1 -- double

# With HAKMEM_ABORT_ON_ERROR=1 the first bad free aborts.
rc=0
(ulimit -c 0; HAKMEM_ABORT_ON_ERROR=1 LD_PRELOAD=$lib exec "$prog" abort) \
    >"$tmp/abort.out" 2>"$tmp/abort.err" || rc=$?
if [[ $rc -ne 134 ]]; then
    echo "FAIL [abort]: with HAKMEM_ABORT_ON_ERROR=1 a bad free should abort (status 134), got $rc" >&2
    head -n 10 "$tmp/abort.err" >&2
    fail=1
fi

[[ $fail -eq 0 ]] || exit 1
echo "invalid_free: foreign, interior and double frees reported and survived; abort mode aborts"
