#!/usr/bin/env bash
# Smoke test of the README's demo (suite 'integration'): demo.sh runs through and shows
# what the README promises: counters, the leak report with file:line, and hkdump's findings.
set -uo pipefail
out=$("$1" "$2" 2>&1)
rc=$?
fail=0
expect() {
    grep -Eq -- "$1" <<<"$out" || { echo "FAIL: the demo output has no line matching: $1"; fail=1; }
}
[ $rc -eq 0 ] || { echo "FAIL: demo.sh exited with $rc"; fail=1; }
expect '^hakmem: +class +size'                          # the per-class counter table
expect '^hakmem: leak report: '                         # the leak report
expect '^hakmem:     #0 .* forget_audit_record .*demo\.c:[0-9]+$'   # its site, with file:line
expect '^\[warning\] application-leak: '                # hkdump on the leak log
expect '^\[error\] tls-parked-blocks: '                 # hkdump on the dump (census)
expect '^\[warning\] timeline-retention: mapped grows '   # hkdump on the timeline
expect '^the picture: .*demo-timeline\.svg'               # hkdump plot
[ $fail -eq 0 ] && echo "demo: ok"
exit $fail
