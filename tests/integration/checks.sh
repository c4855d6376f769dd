# What the scripts that run real programs share (sourced from them).

# setup NAME LIBHAKMEM WORKLOAD SRCDIR: sets lib, workload, srcdir and tmp (a folder removed
# at exit); a fixed locale and time zone, no hakmem variable of the caller's environment.
setup() {
    lib=$2 workload=$3 srcdir=$4
    [[ -f $lib ]] || { echo "missing $lib" >&2; exit 1; }
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-$1-$workload.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    export LC_ALL=C TZ=UTC
    unset HAKMEM_STATS HAKMEM_STATS_FILE HAKMEM_LEAK_CHECK HAKMEM_LEAK_SUPPRESSIONS \
        HAKMEM_LOG_PATH HAKMEM_DUMP_DIR
}

skip() { echo "SKIP: $*" >&2; exit 77; }

# find_python: sets py to the system's python3 (else the first on PATH), or skips.
find_python() {
    py=""
    for c in /usr/bin/python3 "$(command -v python3 || true)"; do
        if [[ -n $c && -x $c ]]; then py=$c; break; fi
    done
    [[ -n $py ]] || skip "python3 not found"
}

# Checks (they set `fail`).

# check_status WHAT RC ERRFILE: a FAIL line, and the end of ERRFILE, when RC is not 0.
check_status() {
    if [[ $2 -ne 0 ]]; then
        echo "FAIL: $1 exited with status $2" >&2
        tail -n 30 "$3" >&2
        fail=1
    fi
}

# check_same WHAT EXPECTED GOT: a FAIL line, and the start of the diff, when they differ.
check_same() {
    if ! cmp -s "$2" "$3"; then
        echo "FAIL: $1" >&2
        diff "$2" "$3" | head -n 20 >&2 || true
        fail=1
    fi
}
