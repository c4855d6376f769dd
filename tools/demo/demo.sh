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

if [ -x "$hkdump" ]; then
    ref=$src/../shared/reference/phase6-3-regression-analysis.txt
    [ -f "$ref" ] || ref=$src/tests/hkdump/reference-excerpt.txt
    if [ -f "$ref" ]; then
        say "4. hkdump explains a crash log: the legacy allocator's OOM report"
        echo "\$ hkdump $ref"
        "$hkdump" "$ref" || true
    fi
    say "5. hkdump on the report of run 3"
    echo "\$ hkdump $out/spill0.txt"
    "$hkdump" "$out/spill0.txt" || true
fi
