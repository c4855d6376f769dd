#!/usr/bin/env bash
# hakmem's one entry point:
#   ./run.sh demo    install what is missing, build, run the demo
#   ./run.sh test    install what is missing, build, run every test suite
#   ./run.sh bench   install the peer allocators too, build, compare (bench/compare)
# Works on a fresh Debian 12 machine: as root it installs missing packages with apt-get;
# otherwise it names them and stops.
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)

core_pkgs=(meson ninja-build gcc clang libclang-rt-14-dev libunwind-dev uthash-dev libdw-dev zlib1g-dev pkg-config
           python3)
# hkdump plot's tests: xmllint checks the SVG, headless Chromium renders the page. Wanted,
# not required: without them those two tests are skipped and say so.
test_pkgs=(libxml2-utils chromium)
bench_pkgs=(libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev hyperfine)

log() { printf '\n== %s\n' "$*"; }

# The packages of "$@" that are not installed, into the array missing.
find_missing() {
    missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
}

apt_install() {
    log "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
}

ensure_packages() {
    local missing
    find_missing "$@"
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]}" >&2
        echo "install them (sudo apt-get install ${missing[*]}) or run this script as root" >&2
        exit 1
    fi
    apt_install "${missing[@]}"
}

# Like ensure_packages, but what cannot be installed (not root, no network) is only named.
wish_packages() {
    local missing
    find_missing "$@"
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] && apt_install "${missing[@]}" && return 0
    echo "note: ${missing[*]} not installed: the tests that need them are skipped" >&2
}

# configure (once) and build a build directory: build_dir NAME [meson options...]
build_dir() {
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        log "configuring $dir"
        meson setup "$dir" "$@" >/dev/null
    fi
    log "building $dir"
    ninja -C "$dir" >/dev/null
}

werror=()
[ "${CI:-}" = true ] && werror=(--werror)

cmd=${1:-demo}
case "$cmd" in
demo)
    ensure_packages "${core_pkgs[@]}"
    build_dir build "${werror[@]}"
    exec "$root/tools/demo/demo.sh" "$root/build"
    ;;
test)
    ensure_packages "${core_pkgs[@]}"
    wish_packages "${test_pkgs[@]}"
    build_dir build "${werror[@]}"
    status=0
    log "test suites (gcc build): unit integration stress hkdump"
    meson test -C build --print-errorlogs --num-processes 2 || status=1
    # ThreadSanitizer over the internals (stress and unit suites call hakmem_* directly).
    CC=clang build_dir build-tsan -Db_sanitize=thread -Db_lundef=false -Dfuzz=disabled \
        --buildtype=debugoptimized "${werror[@]}"
    log "test suites (clang + ThreadSanitizer): unit stress"
    meson test -C build-tsan --print-errorlogs --num-processes 2 --suite unit --suite stress ||
        status=1
    # clang build: warnings of the second compiler, hkdump and the fuzz targets.
    CC=clang build_dir build-clang "${werror[@]}"
    log "test suites (clang build): hkdump, fuzz"
    meson test -C build-clang --print-errorlogs --num-processes 2 --suite hkdump --suite fuzz ||
        status=1
    python3 "$root/scripts/test_summary.py" build build-tsan build-clang || status=1
    exit $status
    ;;
bench)
    ensure_packages "${core_pkgs[@]}" "${bench_pkgs[@]}"
    build_dir build
    shift
    exec "$root/bench/compare" --build "$root/build" "$@"
    ;;
*)
    echo "usage: $0 demo|test|bench" >&2
    exit 2
    ;;
esac
