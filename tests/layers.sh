#!/usr/bin/env bash
# The include rule of docs/architecture.md ("Layers"), checked on every quoted #include:
#   src/           src/, include/, the generated hk_config.h
#   diag/          diag/, include/, hk_config.h, and of src/ only the interface below
#   tools/hkdump/  tools/hkdump/, include/, diag/hk_dump_format.h, diag/hk_glob.h, diag/hk_utf8.h
# Prints every include that breaks it and fails; meson has no per-target include rule
# for headers that share a directory, so this test is the enforcement.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
src_for_diag=" src/hk_hooks.h src/hk_walk.h src/hk_stats.h src/hk_internal.h src/hk_os.h src/hk_lock.h
    src/hk_options.h src/hk_size_class.h "
bad=0
check() {  # file, " allowed/paths ", allowed dirs...
    local f=$1 extra=$2
    shift 2
    local h
    for h in $(grep -oE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' "$f" |
               sed -E 's/.*"([^"]+)"/\1/'); do
        [ "$h" = hk_config.h ] && continue
        local ok=0 d
        for d in "$@"; do [ -e "$d/$h" ] && ok=1; done
        local x
        for x in $extra; do [ "${x##*/}" = "$h" ] && [ -e "$x" ] && ok=1; done
        if [ $ok -eq 0 ]; then
            echo "layer violation: $f includes \"$h\""
            bad=1
        fi
    done
}
for f in src/*.[ch]; do check "$f" "" src include; done
for f in diag/*.[ch]; do check "$f" "$src_for_diag" diag include; done
for f in tools/hkdump/*.[ch]; do check "$f" " diag/hk_dump_format.h diag/hk_glob.h diag/hk_utf8.h " tools/hkdump include; done
[ $bad -eq 0 ] && echo "layers: every include follows the rule"
exit $bad
