#!/bin/bash
# The --html page as a person sees it: headless Chromium renders it to a PNG (console
# errors fail the test), and png-check.py checks the picture is not blank and shows the
# red OOM marker; a page without an event must show no red (the check sees the marker, not
# something else). Skipped (77) without chromium or python3.
#   plot-browser.sh HKDUMP INPUTS_DIR
set -u
hkdump=$1 inputs=$2 here=$(cd "$(dirname "$0")" && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "skipped: chromium not found"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# shot NAME TIMELINE: the page of TIMELINE rendered to $tmp/NAME.png
shot() {
    "$hkdump" plot --html "$2" -o "$tmp/$1.html" || { echo "FAIL: plot $2: exit $?"; return 1; }
    HOME=$tmp timeout 60 "$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars \
        --user-data-dir="$tmp/profile-$1" --screenshot="$tmp/$1.png" --window-size=1200,1400 \
        --enable-logging=stderr --v=0 "file://$tmp/$1.html" >"$tmp/$1.log" 2>&1
    local rc=$?
    if [ $rc != 0 ] || [ ! -s "$tmp/$1.png" ]; then
        echo "FAIL: chromium on $1.html: exit $rc, no screenshot"; tail -5 "$tmp/$1.log"
        return 1
    fi
    if grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE\(' "$tmp/$1.log"; then
        echo "FAIL: console errors on $1.html"; return 1
    fi
}
shot oom "$inputs/tl-oom.timeline" && python3 "$here/png-check.py" "$tmp/oom.png" 0.05 200 ||
    fail=1
if shot census "$inputs/tl-census.timeline"; then
    python3 "$here/png-check.py" "$tmp/census.png" 0.05 0 || fail=1
    if python3 "$here/png-check.py" "$tmp/census.png" 0.05 200 >/dev/null; then
        echo "FAIL: red pixels on a page without an event: the marker check sees other things"
        fail=1
    fi
else
    fail=1
fi
[ $fail = 0 ] && echo "plot-browser: the page renders, with its OOM marker"
exit $fail
