#!/usr/bin/env bash
# hkrun: runs a command under hakmem, like `heaptrack prog`: sets LD_PRELOAD to the library
# built or installed beside this script and the HAKMEM_* variables its options ask for, passes
# the command's exit status through, and says at the end where the reports and dumps went and
# the hkdump command that reads them (docs/hkrun.md).
set -u
me=${0##*/}
usage() {
    cat <<USAGE
usage: $me [OPTIONS] [--] COMMAND [ARGS...]

Runs COMMAND with libhakmem preloaded; its exit status is the command's.

  --leak               leak report at exit              HAKMEM_LEAK_CHECK=1
  --shadow             shadow census, misuse checks     HAKMEM_SHADOW=1
  --stats[=json]       counters at exit                 HAKMEM_STATS=1 (or json)
  --dump-dir DIR       dumps on OOM, crash and exit     HAKMEM_DUMP_DIR=DIR (made if missing)
  --log FILE           every report to FILE.PID         HAKMEM_LOG_PATH=FILE
  --suppressions FILE  leak:pattern lines               HAKMEM_LEAK_SUPPRESSIONS=FILE
  --suite DIR          every process's leak report as   HAKMEM_LEAK_SUITE_DIR=DIR (made if
                       JSON in DIR, status kept;         missing), HAKMEM_LEAK_CHILD=1,
                       implies --leak                    HAKMEM_LEAK_CHECK=1
  --only GLOB          check only executables whose     HAKMEM_LEAK_ONLY=GLOB[:GLOB...]
                       path or name matches (repeatable)
  --fail-on-leak       --suite: leaks still fail        HAKMEM_LEAK_SUITE_FAIL=1
  --lib PATH           the library (default: the one beside $me; or HKRUN_LIB)
  -h, --help           this text

Variables already in the environment are kept unless an option sets them.
USAGE
}

lib=${HKRUN_LIB:-}
envs=()
dump_dir= log= suite= only= fail_on_leak=
die() { echo "$me: $*" >&2; echo "$me: see $me --help" >&2; exit 2; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
    case $1 in
    --leak) envs+=(HAKMEM_LEAK_CHECK=1); shift ;;
    --shadow) envs+=(HAKMEM_SHADOW=1); shift ;;
    --stats) envs+=(HAKMEM_STATS=1); shift ;;
    --stats=json) envs+=(HAKMEM_STATS=json); shift ;;
    --stats=*) die "--stats takes no value but json: '${1#--stats=}'" ;;
    --dump-dir) need "$@"; dump_dir=$2; shift 2 ;;
    --dump-dir=*) dump_dir=${1#*=}; [ -n "$dump_dir" ] || die "--dump-dir needs a value"; shift ;;
    --log) need "$@"; log=$2; envs+=(HAKMEM_LOG_PATH="$2"); shift 2 ;;
    --suppressions) need "$@"; [ -r "$2" ] || die "cannot read the suppression file $2"
        envs+=(HAKMEM_LEAK_SUPPRESSIONS="$2"); shift 2 ;;
    --suite) need "$@"; suite=$2; shift 2 ;;
    --suite=*) suite=${1#*=}; [ -n "$suite" ] || die "--suite needs a value"; shift ;;
    --only) need "$@"; only=${only:+$only:}$2; shift 2 ;;
    --only=*) [ -n "${1#*=}" ] || die "--only needs a value"; only=${only:+$only:}${1#*=}; shift ;;
    --fail-on-leak) fail_on_leak=1; shift ;;
    --lib) need "$@"; lib=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1" ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || die "no command given"

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$lib" ]; then
    for c in "$here/../../libhakmem.so" "$here/../lib/libhakmem.so.0" \
             "$here"/../lib/*/libhakmem.so.0; do
        [ -f "$c" ] && { lib=$c; break; }
    done
fi
[ -n "$lib" ] && [ -f "$lib" ] || die "libhakmem.so not found beside $me (give --lib PATH)"
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
if [ -n "$dump_dir" ]; then
    mkdir -p "$dump_dir" 2>/dev/null || die "cannot make the dump directory $dump_dir"
    dump_dir=$(cd "$dump_dir" && pwd -P)
    envs+=(HAKMEM_DUMP_DIR="$dump_dir")
fi
if [ -n "$suite" ]; then
    mkdir -p "$suite" 2>/dev/null || die "cannot make the suite directory $suite"
    suite=$(cd "$suite" && pwd -P)
    # A forked child reports too: a test that forks a worker which leaks is seen.
    # The suite mode is the leak check's: --suite alone implies --leak.
    envs+=(HAKMEM_LEAK_CHECK=1 HAKMEM_LEAK_SUITE_DIR="$suite" HAKMEM_LEAK_CHILD=1)
    [ -n "$fail_on_leak" ] && envs+=(HAKMEM_LEAK_SUITE_FAIL=1)
elif [ -n "$fail_on_leak" ]; then
    die "--fail-on-leak goes with --suite"
fi
[ -n "$only" ] && envs+=(HAKMEM_LEAK_ONLY="$only")
hkdump=hkdump
for c in "$here/hkdump" "$here/../hkdump/hkdump"; do
    [ -x "$c" ] && { hkdump=$(cd "$(dirname "$c")" && pwd)/hkdump; break; }
done

preload=$lib${LD_PRELOAD:+:$LD_PRELOAD}
env LD_PRELOAD="$preload" "${envs[@]}" "$@"
status=$?
if [ $status -eq 127 ] && ! command -v "$1" >/dev/null 2>&1; then
    echo "$me: $1: command not found" >&2
fi
{
    echo "$me: $1 exited with status $status"
    if [ -n "$log" ]; then
        echo "$me: reports in $log.PID; read them with: $hkdump $log.*"
    fi
    if [ -n "$suite" ]; then
        n=$(find "$suite" -maxdepth 1 -name 'hakmem-leak.*.json' 2>/dev/null | wc -l)
        echo "$me: $n leak report(s) in $suite; merge them with: $hkdump suite $suite"
    fi
    if [ -n "$dump_dir" ]; then
        n=$(find "$dump_dir" -maxdepth 1 -name 'hakmem-*.dump' 2>/dev/null | wc -l)
        echo "$me: $n dump(s) in $dump_dir; read them with: $hkdump $dump_dir/hakmem-*.dump"
    fi
} >&2
exit $status
