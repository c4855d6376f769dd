#!/bin/bash
# Real programs under the leak check (LD_PRELOAD=libhakmem.so HAKMEM_LEAK_CHECK=1), each
# process's report in its own file (HAKMEM_LOG_PATH): the program must exit 0 with the same
# output, and every report must say 0 lost. Both keep pointers to blocks in memory they map
# themselves (GCC's garbage-collected heap, Python's object arenas), which the check scans.
# Usage: leak_programs.sh LIBHAKMEM WORKLOAD SRCDIR
#   WORKLOAD: gcc | python    (exit 77 if the program is missing)
set -euo pipefail
source "$(dirname "$0")/checks.sh"
setup leak "$@"

: >"$tmp/supp"
min_reports=1
case $workload in
gcc)
    command -v gcc >/dev/null || skip "gcc not found"
    awk -v n=300 -f "$srcdir/tests/integration/gen_c.awk" >"$tmp/gen.c"
    # The driver and the assembler leak for real (valgrind --leak-check=full finds the same
    # blocks definitely lost): suppressed by module, so that cc1 is what is checked.
    as=$(command -v "$(gcc -print-prog-name=as)" || true)
    for m in "$(command -v gcc)" "$as"; do
        [[ -n $m ]] && echo "leak:^$(readlink -f "$m")\$" >>"$tmp/supp"
    done
    min_reports=3   # the driver, cc1, as
    run() { gcc -O2 -c "$tmp/gen.c" -o "$tmp/out-$1.o" && md5sum <"$tmp/out-$1.o"; }
    ;;
python)
    find_python
    run() {
        PYTHONHASHSEED=0 "$py" -c '
import hashlib, json, threading
d = {"k%d" % i: list(range(i % 11)) for i in range(20000)}
t = threading.Thread(target=lambda: json.dumps(d))
t.start(); t.join()
print(len(d), hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest())'
    }
    ;;
*)
    echo "unknown workload $workload" >&2
    exit 2
    ;;
esac

run plain >"$tmp/out.plain" 2>"$tmp/err.plain" || { echo "FAIL: $workload failed without hakmem" >&2; cat "$tmp/err.plain" >&2; exit 1; }

rc=0
(
    export LD_PRELOAD=$lib HAKMEM_LEAK_CHECK=1 HAKMEM_LOG_PATH="$tmp/report.%p"
    export HAKMEM_LEAK_SUPPRESSIONS="$tmp/supp"
    run leak
) >"$tmp/out.leak" 2>"$tmp/err.leak" || rc=$?

fail=0
check_status "$workload under the leak check" "$rc" "$tmp/err.leak"
check_same "$workload output differs under the leak check (object file missing or not the same)" \
    "$tmp/out.plain" "$tmp/out.leak"
shopt -s nullglob
reports=("$tmp"/report.*)
if [[ ${#reports[@]} -lt $min_reports ]]; then
    echo "FAIL: ${#reports[@]} leak report(s), expected at least $min_reports" >&2
    fail=1
fi
for f in "${reports[@]}"; do
    if ! grep -q '^hakmem: leak report: 0 stacks, 0 blocks, 0 B lost;' "$f"; then
        echo "FAIL: $(basename "$f") reports leaks:" >&2
        grep -v '^hakmem:     #' "$f" | head -n 8 >&2
        fail=1
    fi
done
[[ $fail -eq 0 ]] || exit 1
echo "$workload: exit 0, same output, ${#reports[@]} report(s) with 0 lost"
