#!/bin/bash
# Run a real program with and without LD_PRELOAD=libhakmem.so and compare its output, then
# prove that hakmem really served the allocations of the preloaded run:
#   - LD_DEBUG=bindings: some object binds `malloc' to libhakmem, and none binds it to libc;
#   - HAKMEM_STATS=1 + HAKMEM_STATS_FILE: a report exists with a line
#     "hakmem: totals allocs=N frees=N live=N" where allocs - frees == live and N is large.
# Usage: real_programs.sh LIBHAKMEM WORKLOAD SRCDIR
#   WORKLOAD: python | sort | gcc | git | sqlite3    (exit 77 if the program is missing)
set -euo pipefail
source "$(dirname "$0")/checks.sh"
setup real "$@"

# The minimum number of allocations the busiest process must report.
min_allocs=1000

case $workload in
python)
    find_python
    min_allocs=100000
    cat >"$tmp/work.py" <<'PY'
import hashlib, json, sys
from concurrent.futures import ThreadPoolExecutor
N = 200000
d = {}
for i in range(N):
    k = "key-%d-%08x" % (i, (i * 2654435761) & 0xffffffff)
    d[k] = {"i": i, "s": str(i) * (i % 7 + 1), "l": list(range(i % 13)), "f": i / 7.0}
s = json.dumps(d, sort_keys=True)
e = json.loads(s)
assert e == d
# churn: drop every other key, grow the survivors, rebuild
for k in list(e)[::2]:
    del e[k]
for k, v in e.items():
    v["t"] = (v["s"] + "x") * 3
keys = sorted(e)
def chunk(j):
    part = {k: e[k] for k in keys[j::4]}
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()
with ThreadPoolExecutor(max_workers=4) as ex:
    parts = list(ex.map(chunk, range(4)))
print(len(d), len(s), hashlib.sha256(s.encode()).hexdigest())
print(len(e), *parts)
PY
    # PYTHONMALLOC=malloc: every object through malloc, not only those above 512 bytes
    run() { PYTHONHASHSEED=0 PYTHONMALLOC=malloc "$py" "$tmp/work.py"; }
    ;;
sort)
    command -v sort >/dev/null || skip "sort not found"
    min_allocs=50    # sort reads into a few large buffers: few, big allocations
    awk 'BEGIN { x = 12345
         for (i = 0; i < 100000; i++) {
             x = (x * 69069 + 1) % 4294967296
             printf "%d %08x line-%d %s\n", x % 1000, x, i, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1)
         } }' >"$tmp/input"
    run() {
        sort "$tmp/input" | md5sum
        sort -k1,1n -k2,2r "$tmp/input" | md5sum
        TMPDIR=$tmp sort --parallel=2 -S 1M -k2 "$tmp/input" | md5sum
        sort -u -t' ' -k4,4 "$tmp/input"
        sort -R --random-source="$tmp/input" "$tmp/input" >"$tmp/shuffled"
        md5sum <"$tmp/shuffled"
        rm -f "$tmp/shuffled"
    }
    ;;
gcc)
    command -v gcc >/dev/null || skip "gcc not found"
    # A generated file with many functions, plus the API test itself.
    awk -v n=1500 -f "$srcdir/tests/integration/gen_c.awk" >"$tmp/gen.c"
    run() {
        gcc -O2 -g -c "$tmp/gen.c" -o "$tmp/gen.o"
        md5sum <"$tmp/gen.o"
        gcc -O2 -g -std=gnu11 -D_GNU_SOURCE -I"$srcdir/include" -c "$srcdir/tests/integration/test_api.c" -o "$tmp/api.o"
        md5sum <"$tmp/api.o"
        nm "$tmp/api.o" | md5sum
        rm -f "$tmp/gen.o" "$tmp/api.o"
    }
    ;;
git)
    command -v git >/dev/null || skip "git not found"
    n=0
    run() {
        n=$((n + 1))
        local repo=$tmp/repo$n
        export HOME=$tmp GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
        export GIT_AUTHOR_NAME=hakmem GIT_AUTHOR_EMAIL=hakmem@example.invalid
        export GIT_COMMITTER_NAME=hakmem GIT_COMMITTER_EMAIL=hakmem@example.invalid
        export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
        git -c init.defaultBranch=main init -q "$repo"
        for i in $(seq 1 300); do
            printf 'file %d\n%s\n' "$i" "$(seq "$i" $((i + 40)))" >"$repo/f$i.txt"
        done
        git -C "$repo" add -A
        git -C "$repo" commit -q -m "first"
        for i in $(seq 1 3 300); do echo "change $i" >>"$repo/f$i.txt"; done
        git -C "$repo" commit -q -a -m "second"
        git -C "$repo" log --format='%H %T %s'
        git -C "$repo" diff --stat HEAD~1 | tail -n 1
        git -C "$repo" gc -q
        git -C "$repo" fsck --no-progress
        git -C "$repo" rev-list --objects --all | sort | md5sum
        git -C "$repo" log -p | md5sum
    }
    ;;
sqlite3)
    command -v sqlite3 >/dev/null || skip "sqlite3 not found"
    run() {
        sqlite3 :memory: <<'SQL'
PRAGMA cache_size = -20000;
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000)
  INSERT INTO t SELECT x, hex(x * 2654435761 % 1000003), x / 7.0 FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(a), total(c) FROM t;
SELECT substr(b, 1, 2) AS p, count(*) FROM t GROUP BY p ORDER BY p LIMIT 20;
SELECT length(group_concat(b)) FROM (SELECT b FROM t ORDER BY b LIMIT 5000);
DELETE FROM t WHERE a % 3 = 0;
UPDATE t SET b = b || b WHERE a % 5 = 0;
SELECT count(*), sum(length(b)) FROM t;
SELECT a, b FROM t ORDER BY b DESC LIMIT 5;
SQL
    }
    ;;
*)
    echo "unknown workload $workload" >&2
    exit 2
    ;;
esac

# 1. without hakmem
run >"$tmp/out.plain" 2>"$tmp/err.plain" || { echo "FAIL: $workload failed without hakmem" >&2; cat "$tmp/err.plain" >&2; exit 1; }

# 2. with hakmem: same output; stats report and symbol bindings recorded on the side
rc=0
(
    export LD_PRELOAD=$lib HAKMEM_STATS=1 HAKMEM_STATS_FILE="$tmp/stats.%p"
    export LD_DEBUG=bindings LD_DEBUG_OUTPUT="$tmp/ld"
    run
) >"$tmp/out.hakmem" 2>"$tmp/err.hakmem" || rc=$?

fail=0
check_status "$workload under hakmem" "$rc" "$tmp/err.hakmem"
check_same "$workload output differs under hakmem" "$tmp/out.plain" "$tmp/out.hakmem"

# A correct program must not draw a misuse report ("hakmem: error: ...").
if grep -q '^hakmem: error' "$tmp/err.hakmem"; then
    echo "FAIL: hakmem reported errors for $workload:" >&2
    grep '^hakmem: error' "$tmp/err.hakmem" | head -n 5 >&2
    fail=1
fi

# 3. malloc was bound to libhakmem, never to glibc
shopt -s nullglob
ldfiles=("$tmp"/ld.*)
if [[ ${#ldfiles[@]} -eq 0 ]]; then
    echo "FAIL: LD_DEBUG wrote no binding log" >&2
    fail=1
else
    to_hakmem=$(cat "${ldfiles[@]}" | grep -c "to [^ ]*libhakmem[^ ]* \[[0-9]*\]: normal symbol \`malloc'" || true)
    to_libc=$(cat "${ldfiles[@]}" | grep "to [^ ]*libc\.so[^ ]* \[[0-9]*\]: normal symbol \`\(malloc\|free\|calloc\|realloc\)'" || true)
    if [[ $to_hakmem -eq 0 ]]; then
        echo "FAIL: no object bound malloc to libhakmem (is the preload effective?)" >&2
        fail=1
    fi
    if [[ -n $to_libc ]]; then
        echo "FAIL: some objects bound the allocator to glibc:" >&2
        echo "$to_libc" | head -n 5 >&2
        fail=1
    fi
fi

# 4. the exit report(s): "hakmem: totals allocs=N frees=N live=N"
statfiles=("$tmp"/stats.*)
if [[ ${#statfiles[@]} -eq 0 ]]; then
    echo "FAIL: HAKMEM_STATS=1 with HAKMEM_STATS_FILE=$tmp/stats.%p wrote no report" >&2
    fail=1
else
    best=0
    for f in "${statfiles[@]}"; do
        line=$(grep -E -m1 '^hakmem: totals allocs=[0-9]+ frees=[0-9]+ live=[0-9]+' "$f" || true)
        if [[ -z $line ]]; then
            echo "FAIL: report $(basename "$f") has no 'hakmem: totals allocs=N frees=N live=N' line" >&2
            head -n 5 "$f" >&2
            fail=1
            continue
        fi
        if [[ $line =~ allocs=([0-9]+)\ frees=([0-9]+)\ live=([0-9]+) ]]; then
            a=${BASH_REMATCH[1]} f_=${BASH_REMATCH[2]} l=${BASH_REMATCH[3]}
            if [[ $((a - f_)) -ne $l ]]; then
                echo "FAIL: $(basename "$f"): allocs $a - frees $f_ != live $l" >&2
                fail=1
            fi
            [[ $a -gt $best ]] && best=$a
        fi
    done
    if [[ $best -lt $min_allocs ]]; then
        echo "FAIL: the busiest process reported only $best allocations (expected >= $min_allocs)" >&2
        fail=1
    fi
fi

if [[ $fail -ne 0 ]]; then
    echo "---- stderr of the hakmem run (last 20 lines) ----" >&2
    tail -n 20 "$tmp/err.hakmem" >&2
    exit 1
fi
echo "$workload: same output with hakmem; ${#statfiles[@]} report(s), busiest allocs=$best; malloc bound to libhakmem $to_hakmem time(s)"
