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
"lost;hk_sym_target_leaf (symtarget.c:"*") 64") lines=1 ;;
"lost;hk_sym_target_leaf 64") lines=0 ;;   # an hkdump whose libdw reads no line table here
*) echo "FAIL: expected 'lost;hk_sym_target_leaf [(symtarget.c:N)] 64'"; exit 1 ;;
esac

# Inlined code: the chain, innermost first, as addr2line -i gives it. The first address of
# hk_sym_target_outer that addr2line places inside hk_sym_target_inner is the frame (+1: a
# frame of a leak stack is a return address, looked up one byte before).
if [ $lines = 0 ]; then
    echo "libdw gives no lines for this build of symtarget: the inline chain is not checked"
elif command -v addr2line >/dev/null; then
    read -r off size < <(nm -S "$target" | awk '$4 == "hk_sym_target_outer" { print $1, $2 }')
    pc=
    for ((i = 0; i < 0x$size; i++)); do
        a=$(printf '0x%x' $((0x$off + i)))
        if [ "$(addr2line -i -f -e "$target" "$a" | head -1)" = hk_sym_target_inner ]; then
            pc=$a
            break
        fi
    done
    [ -n "$pc" ] || { echo "FAIL: addr2line places no address of hk_sym_target_outer in hk_sym_target_inner"; exit 1; }
    want=$(addr2line -i -f -e "$target" "$pc" | paste - - |
           awk -F'\t' '{ n = split($2, p, "/"); printf "%s%s (%s)", (NR > 1 ? ", inlined into " : ""), $1, p[n] }')
    addr=$(printf '0x%x' $((base + pc + 1)))
    sed "s/^stack .*/stack id=1 blocks=1 bytes=16 kind=direct frames=$addr/" "$tmp/sym.dump" >"$tmp/inl.dump"
    out=$("$hkdump" --folded "$tmp/inl.dump")
    echo "$out"
    [ "$out" = "direct;$want 16" ] || { echo "FAIL: expected 'direct;$want 16'"; exit 1; }
fi

# A C++ symbol is demangled, from a dump and from a text report's frame (when hkdump was
# built with libstdc++'s demangler: its --version says so).
"$hkdump" --version | grep -q demangle || { echo "no demangler: C++ names not checked"; exit 0; }
off=$(nm "$target" | awk '$3 == "_ZN5store5Cache4fillEi" { print $1 }')
[ -n "$off" ] || { echo "FAIL: _ZN5store5Cache4fillEi not found by nm"; exit 1; }
addr=$(printf '0x%x' $((base + 0x$off + 4)))
sed "s/^stack .*/stack id=1 blocks=1 bytes=32 kind=direct frames=$addr/" "$tmp/sym.dump" >"$tmp/cxx.dump"
out=$("$hkdump" --folded "$tmp/cxx.dump")
echo "$out"
case $out in
"direct;store::Cache::fill(int)"*" 32") ;;
*) echo "FAIL: expected 'direct;store::Cache::fill(int)... 32'"; exit 1 ;;
esac
cat >"$tmp/cxx.log" <<EOD
hakmem: leak report: 1 stack, 1 block, 32 B lost; 0 stacks, 0 blocks, 0 B still reachable; 0 stacks suppressed (0 blocks)
hakmem: leak 1: 1 block, 32 bytes lost directly (sizes 32), allocated at:
hakmem:     #0 0x55d0c1a6e2b0 _ZN5store5Cache4fillEi (/build/leak+0x12b0) leak.cpp:4
hakmem:     #1 0x55d0c1a6e300 main (/build/leak+0x1300) leak.cpp:9
EOD
out=$("$hkdump" "$tmp/cxx.log")
echo "$out"
case $out in
*"store::Cache::fill(int) (leak.cpp:4) "*) exit 0 ;;
*) echo "FAIL: the text report's frame is not demangled"; exit 1 ;;
esac
