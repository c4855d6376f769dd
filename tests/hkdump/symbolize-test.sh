#!/bin/bash
# Offline symbolization: builds a dump whose module map places a real binary (symtarget, built
# with -g) at a made-up base and whose stack holds an address inside hk_sym_target_leaf; hkdump
# --folded must name the function (and its source line when the line table gives one). Skipped
# (77) without libdw or nm.
set -u
hkdump=$1 target=$2
"$hkdump" --version | grep -q libdw || { echo "skipped: hkdump built without libdw"; exit 77; }
command -v nm >/dev/null || { echo "skipped: nm not found"; exit 77; }
off=$(nm "$target" | awk '$3 == "hk_sym_target_leaf" { print $1 }')
[ -n "$off" ] || { echo "FAIL: hk_sym_target_leaf not found by nm"; exit 1; }
base=$((0x555500000000))
addr=$(printf '0x%x' $((base + 0x$off + 4)))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/sym.dump" <<EOD
hakmem-dump 1
header pid=1 time_ns=1 version=0.1.0 reason=exit exe=$target
module id=0 base=$(printf '0x%x' $base) end=$(printf '0x%x' $((base + 0x100000))) path=$target
stack id=1 blocks=1 bytes=64 kind=lost frames=$addr
end
EOD
out=$("$hkdump" --folded "$tmp/sym.dump")
echo "$out"
case $out in
"lost;hk_sym_target_leaf (symtarget.c:"*") 64" | "lost;hk_sym_target_leaf 64") exit 0 ;;
*) echo "FAIL: expected 'lost;hk_sym_target_leaf [(symtarget.c:N)] 64'"; exit 1 ;;
esac
