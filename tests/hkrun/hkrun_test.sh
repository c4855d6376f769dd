#!/usr/bin/env bash
# hkrun end to end: options, the exit status passed through, the leak check and dumps it
# turns on, the summary it prints, clear errors.
#   hkrun_test.sh HKRUN LEAKING_PROG
set -uo pipefail
hkrun=$1 prog=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
clean_env() { env -u LD_PRELOAD $(env | sed -n 's/^\(HAKMEM_[A-Z_]*\)=.*/-u \1/p') "$@"; }

# --help lists every option; an unknown one is refused with status 2.
"$hkrun" --help >"$tmp/help" || fail "--help exited $?"
for o in --leak --shadow --stats --dump-dir --log --suppressions --suite --only --fail-on-leak \
         --lib --help; do
    grep -q -- "$o" "$tmp/help" || fail "--help does not document $o"
done
"$hkrun" --frobnicate true 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'unknown option --frobnicate' "$tmp/err" || fail "unknown option not refused: $(cat "$tmp/err")"
"$hkrun" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'no command given' "$tmp/err" || fail "no command: $(cat "$tmp/err")"
"$hkrun" --fail-on-leak true 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- '--fail-on-leak goes with --suite' "$tmp/err" || fail "--fail-on-leak without --suite: $(cat "$tmp/err")"
"$hkrun" --stats=xml true 2>"$tmp/err"
[ $? -eq 2 ] || fail "--stats=xml accepted"

# The command's status passes through; the library is preloaded.
clean_env "$hkrun" sh -c 'exit 3' 2>"$tmp/err"
[ $? -eq 3 ] || fail "exit status not passed through"
grep -q 'exited with status 3' "$tmp/err" || fail "no summary line: $(cat "$tmp/err")"
out=$(clean_env "$hkrun" sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
case $out in */libhakmem.so*) ;; *) fail "LD_PRELOAD not set: '$out'" ;; esac

# --leak: the leak report and its exit status (23); --dump-dir: the exit dump, and the
# hkdump command that reads it.
clean_env "$hkrun" --leak --dump-dir "$tmp/d" "$prog" >/dev/null 2>"$tmp/err"
st=$?
[ $st -eq 23 ] || fail "--leak: status $st, expected 23"
grep -q '^hakmem: leak report: ' "$tmp/err" || fail "--leak: no leak report"
ls "$tmp"/d/hakmem-*-exit.dump >/dev/null 2>&1 || fail "--dump-dir: no exit dump"
grep -q "read them with: .*hkdump $tmp/d/hakmem-\*.dump" "$tmp/err" ||
    fail "no hkdump command for the dumps: $(tail -3 "$tmp/err")"
# --stats=json with --log: the report in the log file, not on stderr.
clean_env "$hkrun" --stats=json --log "$tmp/run.log" true 2>"$tmp/err"
ls "$tmp"/run.log.* >/dev/null 2>&1 || fail "--log: no log file"
grep -q '"version"' "$tmp"/run.log.* 2>/dev/null || fail "--stats=json: no JSON report in the log"
if [ $failures -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "hkrun: all checks passed"
