#!/usr/bin/env bash
# HAKMEM_SHADOW=1: each misuse is named and survived; the census agrees with the counters;
# HAKMEM_TINY_TLS_LIST_SPILL=0 shows blocks parked in TLS lists, as in the reference failure.
set -uo pipefail
lib=$1
misuse=$2
workload=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# mode | pattern that the report line must match
while IFS='|' read -r mode pattern; do
    out=$(HAKMEM_SHADOW=1 LD_PRELOAD="$lib" "$misuse" "$mode" 2>"$tmp/err")
    [ "$out" = survived ] || fail "$mode: the program did not carry on (stdout '$out')"
    grep -Eq "^hakmem: error: $pattern" "$tmp/err" || fail "$mode: no report matching '$pattern': $(cat "$tmp/err")"
done <<'CASES'
double|double free of 0x[0-9a-f]+ \(class [0-9]+, [0-9]+ B, thread [0-9]+, state fast-cache\)
remote-double|double free of 0x[0-9a-f]+ .*state remote-queue
realloc-freed|double free of 0x[0-9a-f]+ .*state fast-cache
interior|invalid free of 0x[0-9a-f]+: interior pointer
foreign-stack|invalid free of 0x[0-9a-f]+: not allocated by hakmem \(foreign pointer\)
foreign-static|invalid free of 0x[0-9a-f]+: not allocated by hakmem \(foreign pointer\)
use-after-free|use after free of 0x[0-9a-f]+: a freed block was written to
overflow|buffer overflow of 0x[0-9a-f]+: bytes past the requested size were overwritten
corrupt-freelist|corrupt freelist of 0x[0-9a-f]+
overflow-aligned|buffer overflow of 0x[0-9a-f]+: bytes past the requested size were overwritten
use-after-free-deep|use after free of 0x[0-9a-f]+: a freed block was written to
underflow|buffer underflow of 0x[0-9a-f]+: bytes before the block were overwritten \(its front guard\) \(class [0-9]+, [0-9]+ B, thread [0-9]+, state in-use\)
underflow-16|buffer underflow of 0x[0-9a-f]+: bytes before the block were overwritten
underflow-aligned|buffer underflow of 0x[0-9a-f]+: bytes before the block were overwritten
underflow-large|buffer underflow of 0x[0-9a-f]+: .*state large-in-use
CASES

# Each underflow is the only report, and names the pointer the program had.
for mode in underflow underflow-16 underflow-aligned underflow-large; do
    HAKMEM_SHADOW=1 LD_PRELOAD="$lib" "$misuse" "$mode" >/dev/null 2>"$tmp/err"
    ptr=$(sed -n 's/^PTR 0x//p' "$tmp/err")
    [ "$(grep -c '^hakmem: error: ' "$tmp/err")" = 1 ] &&
        grep -q "^hakmem: error: buffer underflow of 0x0*$ptr:" "$tmp/err" ||
        fail "$mode: expected one report, of 0x$ptr: $(cat "$tmp/err")"
done

# Shadow mode keeps every alignment (the front guard sits inside the aligned block), and a
# block written up to its usable size is freed without a report.
for env in HAKMEM_SHADOW=1 "HAKMEM_SHADOW=1 HAKMEM_LEAK_CHECK=1 HAKMEM_LEAK_EXITCODE=0"; do
    out=$(env $env LD_PRELOAD="$lib" "$misuse" aligned 2>"$tmp/err")
    [ "$out" = survived ] && ! grep -q '^hakmem: error: ' "$tmp/err" ||
        fail "aligned ($env): $out $(head -5 "$tmp/err")"
done

# With leak tracking on too, an underflow names who allocated the block and where.
HAKMEM_SHADOW=1 HAKMEM_LEAK_CHECK=1 LD_PRELOAD="$lib" "$misuse" underflow >/dev/null 2>"$tmp/err"
grep -A1 '^hakmem:   allocated by thread [0-9]* at:' "$tmp/err" | grep -q ' main ' ||
    fail "underflow: no allocation stack: $(cat "$tmp/err")"

# With leak tracking on too, a report names who allocated the block and the stacks: where it
# was allocated, freed, and freed again; the JSON keeps them.
out=$(HAKMEM_SHADOW=1 HAKMEM_LEAK_CHECK=1 HAKMEM_STATS=json HAKMEM_STATS_FILE="$tmp/sites.json" \
      LD_PRELOAD="$lib" "$misuse" double-sites 2>"$tmp/err")
[ "$out" = survived ] || fail "double-sites: the program did not carry on"
python3 - "$tmp/err" "$tmp/sites.json" <<'PY' || failures=$((failures + 1))
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("FAIL: double-sites:", msg, file=sys.stderr)
        ok = False
i = next((k for k, l in enumerate(lines) if l.startswith("hakmem: error: double free")), None)
check(i is not None, "no double free report")
if i is not None:
    m = re.search(r"thread (\d+),", lines[i])
    tid = m.group(1) if m else "?"
    def first_frame(title):
        k = next((k for k in range(i + 1, len(lines)) if lines[k].startswith(title)), None)
        return lines[k + 1] if k is not None and k + 1 < len(lines) else ""
    check(first_frame("hakmem:   allocated by thread " + tid + " at:").split()[3:4] == ["site_alloc"],
          "allocation stack does not start in site_alloc")
    check(first_frame("hakmem:   freed at:").split()[3:4] == ["site_free"],
          "free stack does not start in site_free")
    check(first_frame("hakmem:   freed again at:").split()[3:4] == ["site_free_again"],
          "second free's stack does not start in site_free_again")
d = json.load(open(sys.argv[2]))
rep = [r for r in d.get("misuse", []) if r["kind"] == "double-free"]
check(len(rep) == 1, f"JSON misuse: {rep}")
if rep:
    r = rep[0]
    check(r.get("alloc_frames", [None])[0] == "site_alloc", f"alloc_frames {r.get('alloc_frames')}")
    check(r.get("free_frames", [None])[0] == "site_free", f"free_frames {r.get('free_frames')}")
    check(r.get("report_frames", [None])[0] == "site_free_again",
          f"report_frames {r.get('report_frames')}")
    check(r.get("alloc_thread") == r.get("thread"), "alloc_thread is not the thread")
sys.exit(0 if ok else 1)
PY

# HAKMEM_SHADOW_POISON=64 checks bytes 16-63 only: the write at byte 200 goes unseen.
out=$(HAKMEM_SHADOW=1 HAKMEM_SHADOW_POISON=64 LD_PRELOAD="$lib" "$misuse" use-after-free-deep 2>"$tmp/err")
[ "$out" = survived ] && ! grep -q '^hakmem: error: ' "$tmp/err" ||
    fail "HAKMEM_SHADOW_POISON=64 reported a write beyond its window: $(cat "$tmp/err")"

# HAKMEM_SHADOW_POISON=32, the smallest value, checks bytes 16-31; 16 (which checked
# nothing) is refused with a message, and the default window catches the write.
out=$(HAKMEM_SHADOW=1 HAKMEM_SHADOW_POISON=32 LD_PRELOAD="$lib" "$misuse" use-after-free-16 2>"$tmp/err")
grep -q '^hakmem: error: use after free' "$tmp/err" || fail "HAKMEM_SHADOW_POISON=32 missed the program's byte 4"
out=$(HAKMEM_SHADOW=1 HAKMEM_SHADOW_POISON=16 LD_PRELOAD="$lib" "$misuse" use-after-free-16 2>"$tmp/err")
grep -q '^hakmem: HAKMEM_SHADOW_POISON=16 ignored: expected 32-256' "$tmp/err" &&
    grep -q '^hakmem: error: use after free' "$tmp/err" ||
    fail "HAKMEM_SHADOW_POISON=16 not refused: $(cat "$tmp/err")"

# Without shadow the cheap checks still name double, interior and foreign frees.
for mode in double interior foreign-stack realloc-freed; do
    out=$(LD_PRELOAD="$lib" "$misuse" "$mode" 2>"$tmp/err")
    [ "$out" = survived ] && grep -q '^hakmem: error: ' "$tmp/err" || fail "$mode without shadow"
done

# HAKMEM_ABORT_ON_ERROR=1 stops at the first report.
HAKMEM_SHADOW=1 HAKMEM_ABORT_ON_ERROR=1 LD_PRELOAD="$lib" "$misuse" double >/dev/null 2>"$tmp/err"
[ $? -eq 134 ] && grep -q 'aborting' "$tmp/err" || fail "HAKMEM_ABORT_ON_ERROR did not abort"

# The census agrees with the counters, class by class.
census() { # name, extra env...
    local name=$1
    shift
    env "$@" HAKMEM_SHADOW=1 HAKMEM_STATS=json HAKMEM_STATS_FILE="$tmp/$name.json" \
        LD_PRELOAD="$lib" "$workload" 8 || fail "workload ($name) failed"
}
census spill
census nospill HAKMEM_TINY_TLS_LIST_SPILL=0
python3 - "$tmp/spill.json" "$tmp/nospill.json" <<'PY' || failures=$((failures + 1))
import json, sys
def load(path):
    d = json.load(open(path))
    census = {c["class"]: c for c in d["census"]["classes"]}
    return d, census
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("FAIL:", msg, file=sys.stderr)
        ok = False
for path in sys.argv[1:]:
    d, census = load(path)
    for c in d["classes"]:
        k = census.get(c["class"], {"in_use": 0})
        check(k["in_use"] == c["live"],
              f"{path}: class {c['class']} census in_use {k['in_use']} != live {c['live']}")
    threads = d["census"]["threads"]
    check(sum(t["in_use"] for t in threads) == sum(c["in_use"] for c in census.values()),
          f"{path}: per-thread in_use does not add up")
spill, sc = load(sys.argv[1])[0], load(sys.argv[1])[1]
nospill, nc = load(sys.argv[2])[0], load(sys.argv[2])[1]
# With spilling, exited threads keep nothing parked; without it, they keep their TLS lists.
for t in spill["census"]["threads"]:
    if t["state"] == "exited":
        check(t["fast_cache"] == 0 and t["tls_list"] == 0, f"exited thread parks blocks: {t}")
parked_spill = sum(c["tls_list"] + c["fast_cache"] for c in sc.values())
parked_nospill = sum(c["tls_list"] + c["fast_cache"] for c in nc.values())
free_spill = sum(c["slab_free"] for c in sc.values())
free_nospill = sum(c["slab_free"] for c in nc.values())
check(any(t["state"] == "parked" and t["tls_list"] > 0 for t in nospill["census"]["threads"]),
      "TLS_LIST_SPILL=0: no parked thread with blocks in its TLS list")
check(parked_nospill > 10 * max(parked_spill, 1),
      f"TLS_LIST_SPILL=0 should park far more blocks: {parked_nospill} vs {parked_spill}")
check(free_nospill * 10 < parked_nospill,
      f"TLS_LIST_SPILL=0: slab_free {free_nospill} should stay near zero next to {parked_nospill} parked")
check(nospill["superslabs"]["mapped"] > spill["superslabs"]["mapped"],
      "TLS_LIST_SPILL=0 should map more SuperSlabs")
print(f"census: parked {parked_spill} (spill) vs {parked_nospill} (no spill); slab_free "
      f"{free_spill} vs {free_nospill}; SuperSlabs {spill['superslabs']['mapped']} vs "
      f"{nospill['superslabs']['mapped']}", file=sys.stderr)
sys.exit(0 if ok else 1)
PY

echo "shadow tests: $failures failed"
[ $failures -eq 0 ]
