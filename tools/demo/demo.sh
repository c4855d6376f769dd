#!/usr/bin/env bash
# The quick-start demo: runs tools/demo under hakmem and shows what hakmem reports.
set -euo pipefail
build=${1:?usage: demo.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
lib=$build/libhakmem.so
demo=$build/tools/demo/hakmem-demo
hkdump=$build/tools/hkdump/hkdump
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. hakmem-demo under LD_PRELOAD with HAKMEM_TINY_FAST_STATS=1 (per-class tiny counters, all threads merged)"
echo "\$ HAKMEM_TINY_FAST_STATS=1 LD_PRELOAD=$lib $demo"
HAKMEM_TINY_FAST_STATS=1 LD_PRELOAD="$lib" "$demo"

say "2. every tier and process counter (HAKMEM_STATS=1): SuperSlabs mapped vs returned"
echo "\$ HAKMEM_STATS=1 LD_PRELOAD=$lib $demo"
HAKMEM_STATS=1 LD_PRELOAD="$lib" "$demo"

say "3. the reference failure on purpose: HAKMEM_TINY_TLS_LIST_SPILL=0 (TLS lists never spill back)"
echo "\$ HAKMEM_STATS=1 HAKMEM_STATS_FILE=$out/spill0.txt HAKMEM_TINY_TLS_LIST_SPILL=0 LD_PRELOAD=$lib $demo"
HAKMEM_STATS=1 HAKMEM_STATS_FILE="$out/spill0.txt" HAKMEM_TINY_TLS_LIST_SPILL=0 \
    LD_PRELOAD="$lib" "$demo"
grep -E 'superslabs|totals' "$out/spill0.txt"

say "4. leak check (HAKMEM_LEAK_CHECK=1): the demo drops audit records on purpose (lost); its session cache stays reachable"
echo "\$ HAKMEM_LEAK_CHECK=1 LD_PRELOAD=$lib $demo 2>$out/leaks.log; cat $out/leaks.log"
status=0
HAKMEM_LEAK_CHECK=1 LD_PRELOAD="$lib" "$demo" 2>"$out/leaks.log" || status=$?
cat "$out/leaks.log"
echo "(exit status $status: 23 means leaks were found, as LeakSanitizer does)"

say "5. run 3 again with the shadow census and a dump file at exit (HAKMEM_DUMP_DIR)"
echo "\$ HAKMEM_SHADOW=1 HAKMEM_TINY_TLS_LIST_SPILL=0 HAKMEM_DUMP_DIR=$out LD_PRELOAD=$lib $demo"
HAKMEM_SHADOW=1 HAKMEM_TINY_TLS_LIST_SPILL=0 HAKMEM_DUMP_DIR="$out" LD_PRELOAD="$lib" "$demo"

if [ -x "$hkdump" ]; then
    ref=$src/../shared/reference/phase6-3-regression-analysis.txt
    [ -f "$ref" ] || ref=$src/tests/hkdump/inputs/ref-excerpt.txt
    if [ -f "$ref" ]; then
        say "6. hkdump explains a crash log: the legacy allocator's OOM report"
        echo "\$ hkdump $ref"
        "$hkdump" "$ref" || true
    fi
    say "7. hkdump on the dump of run 5 (census included)"
    echo "\$ hkdump $out/*.dump"
    "$hkdump" "$out"/*.dump || true
    say "8. hkdump on the leak report of run 4, as a test log would keep it"
    echo "\$ hkdump $out/leaks.log"
    "$hkdump" "$out/leaks.log" || true
fi

say "9. memory over time: run 3's failure with short-lived workers, a sample every 10 ms (HAKMEM_STATS_INTERVAL_MS)"
mkdir "$out/tl"
echo "\$ HAKMEM_TINY_TLS_LIST_SPILL=0 HAKMEM_STATS_INTERVAL_MS=10 HAKMEM_DUMP_DIR=$out/tl LD_PRELOAD=$lib $demo 100 500"
HAKMEM_TINY_TLS_LIST_SPILL=0 HAKMEM_STATS_INTERVAL_MS=10 HAKMEM_DUMP_DIR="$out/tl" \
    LD_PRELOAD="$lib" "$demo" 100 500
timeline=$(ls "$out"/tl/*.timeline)
if [ -x "$hkdump" ]; then
    echo "\$ hkdump $timeline"
    "$hkdump" "$timeline" || true
    # The picture stays in the build directory after the demo.
    pic=$(cd "$build" && pwd)/demo-timeline
    echo "\$ hkdump plot $timeline -o $pic.svg"
    "$hkdump" plot "$timeline" -o "$pic.svg"
    "$hkdump" plot "$timeline" --html -o "$pic.html"
    chromium=$(command -v chromium || command -v chromium-browser || true)
    if [ -n "$chromium" ]; then
        "$chromium" --headless --disable-gpu --no-sandbox --hide-scrollbars \
            --window-size=1200,1000 --screenshot="$pic.png" "file://$pic.html" >/dev/null 2>&1 ||
            rm -f "$pic.png"
    fi
    echo "the picture: $pic.svg, $pic.html$([ -f "$pic.png" ] && echo ", $pic.png")"
fi
