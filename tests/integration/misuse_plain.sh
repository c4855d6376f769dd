#!/bin/bash
# Driver: misuse_plain under LD_PRELOAD, one process per misuse (a crash fails that case
# only). Each run must exit 0 and print "survived" (the program's own checks: no block
# handed out twice, every tag intact, no malloc result in the program's globals, huge
# requests refused with ENOMEM), and hakmem must have reported the misuse on stderr.
# Usage: misuse_plain.sh PROGRAM LIBHAKMEM [plain|shadow]
#   shadow: the same cases with HAKMEM_SHADOW=1
# To check that a case catches a bug, point LIBHAKMEM at an older build.
set -uo pipefail
prog=$1 lib=$2 mode=${3:-plain}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-misuse.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset HAKMEM_ABORT_ON_ERROR HAKMEM_SHADOW HAKMEM_STATS HAKMEM_REPORT_INVALID HAKMEM_LEAK_CHECK
envs=()
[[ $mode == shadow ]] && envs+=(HAKMEM_SHADOW=1)
failed=()

# run CASE SEED: runs the program; sets rc, fills $tmp/CASE.out and .err
run() {
    rc=0
    env "${envs[@]}" LD_PRELOAD="$lib" timeout 30 "$prog" "$1" "$2" \
        >"$tmp/$1.out" 2>"$tmp/$1.err" || rc=$?
}

# check CASE SEED MIN_REPORTS [REPORT_PATTERN]: exit 0, "survived", at least MIN_REPORTS
# lines "hakmem: error: ..." (matching the pattern when given), and a report naming each
# address the program printed as ADDR when the case is an immediate bad free.
check() {
    local c=$1 seed=$2 min=$3 pat=${4:-}
    run "$c" "$seed"
    local ok=1 why=()
    if [[ $rc -ne 0 ]]; then
        ok=0
        why+=("exit status $rc$( ((rc > 128)) && echo " (signal $((rc - 128)))")")
    fi
    grep -q '^survived$' "$tmp/$c.out" || { ok=0; why+=("did not get to the end"); }
    local n
    n=$(grep -Ec "^hakmem: error: ${pat}" "$tmp/$c.err")
    if [[ $n -lt $min ]]; then
        ok=0
        why+=("$n report lines matching 'hakmem: error: ${pat}', expected >= $min")
    fi
    if grep -q 'SS OOM' "$tmp/$c.err"; then
        ok=0
        why+=("an out-of-memory report (hakmem gave up on a class)")
    fi
    if [[ $c == carved-interior ]]; then
        local tag addr what
        while read -r tag addr what; do
            [[ $tag == ADDR ]] || continue
            grep -Eiq "^hakmem: error: .*0x0*${addr,,}([^0-9a-f]|\$)" "$tmp/$c.err" ||
                { ok=0; why+=("no report naming 0x$addr ($what)"); }
        done <"$tmp/$c.out"
    fi
    report "$c" "$ok" "${why[@]}"
}

report() {
    local c=$1 ok=$2
    shift 2
    if [[ $ok -eq 1 ]]; then
        echo "ok   [$mode] $c"
        return
    fi
    echo "FAIL [$mode] $c: $*" >&2
    echo "---- [$c] stdout (last 10 lines) ----" >&2; tail -n 10 "$tmp/$c.out" >&2
    echo "---- [$c] stderr (FAIL lines, then the first 15 lines) ----" >&2
    grep '^FAIL' "$tmp/$c.err" | head -n 10 >&2
    head -n 15 "$tmp/$c.err" >&2
    failed+=("$c")
}

# 1. Sizes near SIZE_MAX in every entry point: NULL and ENOMEM, no report needed.
check huge 1 0
check huge-realloc 1 0
# A huge alignment with a tiny size: the refusal line names the alignment, and says it is
# what exceeds memory (memalign, aligned_alloc, posix_memalign: one line each).
check huge-align 1 0
n=$(grep -c '^hakmem: refused an allocation of 1 bytes aligned to 140737488355328 bytes: the alignment is more than physical memory and swap ([0-9]* bytes); returning NULL with ENOMEM$' "$tmp/huge-align.err")
if [[ $n -ne 3 ]]; then
    report huge-align 0 "$n refusal lines naming the alignment, expected 3"
fi
# 2. Bad frees in a slab.
check carved-interior 1 2
check double-write 1 1
check double-write-between 1 1
# The written block's second free, the block out of the fast cache by then: reported, and
# the block is handed out once.
check double-write-deep 1 1
# 3. Freelist poisoning: the planted address is never handed out, the global is untouched;
#    wild links (random words) never crash malloc.
check plant-global 1 1 '(corrupt freelist|use after free)'
for seed in 1 2; do
    check wild-link "$seed" 1
done
# Several freed blocks overwritten at once (some in their free mark too): reported, the
# lists dropped from there, and malloc goes on to the slabs (no false out-of-memory).
check wild 1 1
check wild-remote 1 1
# A remote queue that leads back to a block already on it: reported, the block handed out once.
check remote-loop 1 1

# Every 8-byte-aligned address of a SuperSlab freed: exit 0, one report per bad free (all
# but the blocks the program held there, which are valid frees), then a sound allocator.
run sweep 1
ok=1 why=()
[[ $rc -eq 0 ]] || { ok=0; why+=("exit status $rc"); }
grep -q '^survived$' "$tmp/sweep.out" || { ok=0; why+=("did not get to the end"); }
read -r _ _ frees _ valid _ < <(grep '^SWEEP' "$tmp/sweep.out") || true
lines=$(grep -c '^hakmem: error: ' "$tmp/sweep.err")
if [[ -z ${frees:-} ]]; then
    ok=0; why+=("no SWEEP line")
elif ((lines > frees || lines < frees - valid - 64)); then
    ok=0; why+=("$lines report lines for $frees frees ($valid valid): expected $((frees - valid - 64))..$frees")
fi
if grep -q 'SS OOM' "$tmp/sweep.err"; then ok=0; why+=("an out-of-memory report"); fi
[[ $ok -eq 1 ]] && echo "     sweep: $frees frees, $valid valid, $lines reports"
report sweep "$ok" "${why[@]}"

if [[ ${#failed[@]} -ne 0 ]]; then
    echo "misuse_plain [$mode]: ${#failed[@]} failed: ${failed[*]}" >&2
    exit 1
fi
echo "misuse_plain [$mode]: every misuse reported and survived; no block handed out twice"
