#!/usr/bin/env bash
# Suite mode end to end: tests/suite-example (six test programs: two leak, one of them C++,
# one forks a child that leaks, three clean) built and run with `meson test` under
# `hkrun --leak --suite D --only ...`; then `hkdump suite D` must name exactly the known
# leaks and the tests that made them, the JUnit file must fail exactly those test processes,
# the runner (meson, python3, ninja) must not be reported, the test statuses must be kept,
# and a generated baseline must silence today's leaks.
#   suite_test.sh HKRUN HKDUMP EXAMPLE_SOURCE_DIR
set -uo pipefail
hkrun=$1 hkdump=$2 src=$3
command -v meson >/dev/null && command -v ninja >/dev/null || { echo "no meson or ninja: skipped"; exit 77; }
command -v c++ >/dev/null || command -v g++ >/dev/null || { echo "no C++ compiler: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
clean_env() { env -u LD_PRELOAD $(env | sed -n 's/^\(HAKMEM_[A-Z_]*\)=.*/-u \1/p') "$@"; }

clean_env meson setup "$tmp/b" "$src" >"$tmp/setup.log" 2>&1 &&
    clean_env ninja -C "$tmp/b" >>"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; echo "FAIL: the example does not build"; exit 1; }

# The suite under hkrun: its own status (0: every test passes; leaks do not fail it).
clean_env "$hkrun" --leak --suite "$tmp/d" --only "$tmp/b/*" -- meson test -C "$tmp/b" \
    >"$tmp/run.log" 2>&1
st=$?
[ $st -eq 0 ] || fail "meson test under hkrun --suite exited $st: $(tail -5 "$tmp/run.log")"
grep -q "merge them with: .*hkdump suite $tmp/d" "$tmp/run.log" || fail "hkrun does not say how to merge"
n=$(ls "$tmp"/d/hakmem-leak.*.json 2>/dev/null | wc -l)
[ "$n" -eq 7 ] || fail "expected 7 reports (6 tests + 1 forked child), found $n"
ls -a "$tmp/d" | grep -q '\.tmp$' && fail "a temporary report was left behind"

# The merged report: exit 23, the three leaking tests, their functions; nothing else.
"$hkdump" suite "$tmp/d" >"$tmp/merged.txt" 2>"$tmp/merged.err"
st=$?
[ $st -eq 23 ] || fail "hkdump suite exited $st, expected 23: $(cat "$tmp/merged.err")"
grep -q '^hkdump suite .*: 7 process reports, 4 without leaks, 3 leaked: 5 stacks (3 direct, 2 indirect), 9 blocks' \
    "$tmp/merged.txt" || fail "wrong totals: $(head -1 "$tmp/merged.txt")"
for want in 'direct, 3 blocks, 48 bytes, in 1 process: sx_leak_widget' \
            'direct, 1 block, 512 bytes, in 1 process: sx_fork_leak' \
            'direct, 1 block, 24 bytes, in 1 process: sx_leak_cxx' \
            '#0 sx_make_widget .*leak_widget.c:15' '#1 sx::make_table(int) .*leak_cxx.cpp:10' \
            '#0 sx_child_work .*fork_leak.c:13'; do
    grep -q -- "$want" "$tmp/merged.txt" || fail "merged report lacks '$want'"
done
grep -Eq 'sx_clean|python|meson|ninja' "$tmp/merged.txt" && fail "a clean test or the runner is reported as leaking"
[ -s "$tmp/merged.err" ] && fail "hkdump suite complained: $(cat "$tmp/merged.err")"

# JSON: no report from the runner, one per test process.
"$hkdump" suite --json "$tmp/d" >"$tmp/merged.json"
python3 - "$tmp/merged.json" <<'PY' || fail "JSON report"
import json, os, sys
r = json.load(open(sys.argv[1]))
exes = sorted(os.path.basename(t["exe"]) for t in r["tests"])
want = sorted(["sx_clean_sum", "sx_clean_list", "sx_clean_strings", "sx_leak_widget",
               "sx_leak_cxx", "sx_fork_leak", "sx_fork_leak"])
assert exes == want, exes
leaked = sorted(t["name"] for t in r["tests"] if t["leaked"])
assert leaked == ["sx_fork_leak", "sx_leak_cxx", "sx_leak_widget"], leaked
assert r["new_leaks"] == 5 and r["leaks"][0]["kind"] == "direct", r["leaks"][0]
PY

# JUnit: one testcase per process, failed exactly where it leaked, valid XML.
"$hkdump" suite --junit "$tmp/junit.xml" "$tmp/d" >/dev/null
python3 - "$tmp/junit.xml" <<'PY' || fail "JUnit file"
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot().find("testsuite")
cases = suite.findall("testcase")
assert len(cases) == 7 and suite.get("failures") == "3", (len(cases), suite.get("failures"))
failed = sorted(c.get("name").split(" ")[0] for c in cases if c.find("failure") is not None)
assert failed == ["sx_fork_leak", "sx_leak_cxx", "sx_leak_widget"], failed
text = "".join(c.find("failure").text for c in cases if c.find("failure") is not None)
assert "sx_make_widget" in text and "sx::make_table(int)" in text, text
PY

# A baseline of today's leaks: with it, nothing new (exit 0); a suite with a new leak still fails.
"$hkdump" suite --gen-suppressions "$tmp/base.supp" "$tmp/d" >/dev/null
grep -q '^leak:^sx_make_widget\$$' "$tmp/base.supp" || fail "baseline lacks sx_make_widget: $(cat "$tmp/base.supp")"
"$hkdump" suite --baseline "$tmp/base.supp" "$tmp/d" >"$tmp/base.txt"
st=$?
[ $st -eq 0 ] || fail "with its own baseline hkdump suite exited $st: $(head -3 "$tmp/base.txt")"
grep -v sx_make_widget "$tmp/base.supp" >"$tmp/partial.supp"
"$hkdump" suite --baseline "$tmp/partial.supp" "$tmp/d" >"$tmp/partial.txt"
st=$?
[ $st -eq 23 ] && grep -q 'sx_leak_widget' "$tmp/partial.txt" ||
    fail "a leak outside the baseline is not reported (status $st)"

# --fail-on-leak: the leaking test fails.
clean_env "$hkrun" --leak --suite "$tmp/d2" --only "$tmp/b/*" --fail-on-leak -- \
    meson test -C "$tmp/b" sx_leak_widget >"$tmp/run2.log" 2>&1
[ $? -ne 0 ] || fail "--fail-on-leak: the leaking test passed"

# A damaged report is skipped with one line, never a crash.
head -c 100 "$(ls "$tmp"/d/hakmem-leak.*.json | head -1)" >"$tmp/d/hakmem-leak.1.0.json"
"$hkdump" suite "$tmp/d" >/dev/null 2>"$tmp/bad.err"
st=$?
[ $st -eq 23 ] && grep -q 'hakmem-leak.1.0.json: skipped: ' "$tmp/bad.err" ||
    fail "a truncated report: status $st, $(cat "$tmp/bad.err")"

# A report whose check could not run is "not checked": exit 2 when nothing leaked.
mkdir -p "$tmp/de"
python3 - "$tmp/d" "$tmp/de/hakmem-leak.1.0.json" <<'PY'
import glob, json, sys
def parse(f):
    try:
        return json.load(open(f))
    except ValueError:      # the truncated report made above
        return None
r = next(r for r in map(parse, sorted(glob.glob(sys.argv[1] + "/hakmem-leak.*.json"))) if r)
r.pop("leaks", None); r.pop("leak_summary", None); r["error"] = "no memory for the check"
json.dump(r, open(sys.argv[2], "w"))
PY
"$hkdump" suite --junit "$tmp/de.xml" "$tmp/de" >"$tmp/de.txt" 2>&1
st=$?
[ $st -eq 2 ] && grep -q '^not checked: .*: no memory for the check' "$tmp/de.txt" &&
    grep -q '<error message=' "$tmp/de.xml" || fail "a report with an error: status $st, $(cat "$tmp/de.txt")"

# Bytes that are not UTF-8 in argv: the report stays JSON that a strict parser reads.
clean_env "$hkrun" --suite "$tmp/du" -- "$tmp/b/sx_leak_widget" $'\xff\xfe' >/dev/null 2>&1
python3 -c 'import glob, json, sys; fs = glob.glob(sys.argv[1] + "/*.json"); assert fs; [json.load(open(f)) for f in fs]' \
    "$tmp/du" || fail "a report with non-UTF-8 argv is not strict JSON"

# The same suite under CTest, where cmake is installed: the same seven reports, the same leaks.
if command -v cmake >/dev/null && command -v ctest >/dev/null; then
    clean_env cmake -S "$src" -B "$tmp/c" >"$tmp/cmake.log" 2>&1 &&
        clean_env cmake --build "$tmp/c" >>"$tmp/cmake.log" 2>&1 ||
        fail "the example does not build with cmake: $(tail -5 "$tmp/cmake.log")"
    clean_env "$hkrun" --leak --suite "$tmp/dc" --only "$tmp/c/*" -- ctest --test-dir "$tmp/c" \
        >"$tmp/ctest.log" 2>&1 || fail "ctest under hkrun --suite: $(tail -5 "$tmp/ctest.log")"
    "$hkdump" suite "$tmp/dc" >"$tmp/ctest.txt"
    st=$?
    [ $st -eq 23 ] && grep -q ': 7 process reports, 4 without leaks, 3 leaked: 5 stacks' "$tmp/ctest.txt" ||
        fail "CTest suite: status $st, $(head -1 "$tmp/ctest.txt")"
    grep -Eq 'sx_clean|ctest|cmake' "$tmp/ctest.txt" && fail "CTest: a clean test or the runner is reported"
else
    echo "no cmake: the CTest pass is left out"
fi

if [ $failures -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "suite mode: all checks passed"
