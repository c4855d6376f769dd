#!/bin/bash
# One case of the corpus: runs a program under libhakmem (or takes a hand-written log), gives
# hkdump its log and every dump it wrote, and checks the first finding that is a warning or an
# error ("none": there must be none) and that no finding named by --never is printed.
#
#   run-case.sh --hkdump H --first ID [--never "ID ..."] [--as BYTES] [--env K=V]...
#               [--input FILE]... [--lib LIBHAKMEM -- PROG ARGS...]
#
# The program runs with HAKMEM_DUMP_DIR in a fresh directory, under
# timeout 30 and, with --as, prlimit --as. Its exit status is not checked: most cases fail.
set -u
hkdump= lib= first= never= as= inputs=() envs=()
while [ $# -gt 0 ]; do
    case $1 in
    --hkdump) hkdump=$2; shift 2 ;;
    --lib) lib=$2; shift 2 ;;
    --first) first=$2; shift 2 ;;
    --never) never=$2; shift 2 ;;
    --as) as=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --input) inputs+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "run-case.sh: bad argument $1" >&2; exit 99 ;;
    esac
done
command -v python3 >/dev/null || { echo "skipped: python3 not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/dumps"
if [ $# -gt 0 ]; then
    limit=()
    if [ -n "$as" ]; then
        command -v prlimit >/dev/null || { echo "skipped: prlimit not found"; exit 77; }
        limit=(prlimit --as="$as")
    fi
    # Only the program is preloaded (env execs it): not timeout, not prlimit.
    timeout 30 "${limit[@]}" env "${envs[@]}" HAKMEM_DUMP_DIR="$tmp/dumps" \
        LD_PRELOAD="$lib" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    echo "program exit status $?"
    cp "$tmp/stderr" "$tmp/hakmem.log"
    inputs+=("$tmp/hakmem.log" "$tmp"/dumps/*.dump)
fi
"$hkdump" "${inputs[@]}" >"$tmp/text" 2>&1
"$hkdump" --json "${inputs[@]}" >"$tmp/json" 2>/dev/null
cat "$tmp/text"
[ -n "${HKCASE_KEEP:-}" ] && cp -r "$tmp" "$HKCASE_KEEP"
python3 - "$tmp/json" "$first" "$never" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
want, never = sys.argv[2], sys.argv[3].split()
ids = [f["id"] for f in doc["findings"]]
alarms = [f["id"] for f in doc["findings"] if f["severity"] in ("warning", "error")]
got = alarms[0] if alarms else "none"
bad = [i for i in ids if i in never]
ok = got == want and not bad
print("first finding: %s (expected %s)%s" % (got, want, "" if not bad else
      "; contradicting findings printed: " + " ".join(bad)))
sys.exit(0 if ok else 1)
PY
