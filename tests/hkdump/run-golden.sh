#!/bin/bash
# Runs hkdump on inputs and compares what it prints (stdout, then stderr) and its exit status
# with an expected file, checked by hand when it was written.
#
#   run-golden.sh HKDUMP DIR EXPECTED RC [--stdin FILE] [--json] [--skip-unless FILE] -- ARGS...
#
# Runs in DIR with ARGS relative to it, so file names in the output do not depend on where the
# tree is. --json also checks that stdout is valid JSON (python3). --skip-unless exits 77 (meson:
# skipped) when FILE (relative to DIR) does not exist. HKDUMP_UPDATE=1 rewrites EXPECTED instead
# (review the result by hand before keeping it).
set -u
hkdump=$1 dir=$2 expected=$3 want_rc=$4
shift 4
case $hkdump in /*) ;; *) hkdump=$PWD/$hkdump ;; esac
stdin=/dev/null json=0
while [ $# -gt 0 ]; do
    case $1 in
    --stdin) stdin=$2; shift 2 ;;
    --json) json=1; shift ;;
    --skip-unless)
        if [ ! -e "$dir/$2" ]; then echo "skipped: $dir/$2 not found"; exit 77; fi
        shift 2 ;;
    --) shift; break ;;
    *) echo "run-golden.sh: bad argument $1" >&2; exit 99 ;;
    esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$dir" && "$hkdump" "$@" <"$stdin" >"$tmp/out" 2>"$tmp/err")
rc=$?
cat "$tmp/out" "$tmp/err" >"$tmp/all"
echo "exit $rc" >>"$tmp/all"
if [ "${HKDUMP_UPDATE:-0}" = 1 ]; then
    cp "$tmp/all" "$expected"
    echo "updated $expected"
    exit 0
fi
status=0
if [ "$rc" != "$want_rc" ]; then
    echo "FAIL: exit status $rc, expected $want_rc"
    status=1
fi
if ! diff -u "$expected" "$tmp/all"; then
    echo "FAIL: output differs from $expected"
    status=1
fi
if [ "$json" = 1 ]; then
    if ! command -v python3 >/dev/null; then
        echo "skipped: python3 not found (JSON check)"; exit 77
    fi
    if ! python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/out"; then
        echo "FAIL: stdout is not valid JSON"
        status=1
    fi
fi
exit $status
