#!/bin/bash
# hkdump plot: the SVG and the HTML page are well-formed XML (xmllint), hold the three
# named memory lines, the event marker and the census panel where the input has one, and
# escape what the input's strings hold; bad inputs give one line, status 2 and no file (an
# existing one is left as it was); -o - writes to stdout; a symlink named by -o is replaced,
# its target untouched.
#   plot-test.sh HKDUMP INPUTS_DIR
set -u
hkdump=$1 inputs=$2
command -v xmllint >/dev/null || { echo "skipped: xmllint not found (libxml2-utils)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# has FILE TEXT WHAT: a fixed string in the file
has() { grep -qF -- "$2" "$1" || bad "$3: '$2' not in $1"; }

"$hkdump" plot "$inputs/tl-oom.timeline" -o "$tmp/oom.svg" || bad "plot of tl-oom: exit $?"
xmllint --noout "$tmp/oom.svg" || bad "oom.svg is not well-formed XML"
for s in '>mapped: ' '>resident: ' '>live: ' '>SuperSlabs: ' '>64 B: ' 'class="event"' \
         '>OOM 7.8 s<' 'stroke="#d62728"' '>Memory<' '>time (s)<' \
         'timeline-retention: mapped grows 30.0 MiB/s'; do
    has "$tmp/oom.svg" "$s" "tl-oom.svg"
done
grep -q 'Census' "$tmp/oom.svg" && bad "tl-oom.svg has a census panel but no sample_census"
grep -qiE '<script|href=|xlink' "$tmp/oom.svg" && bad "tl-oom.svg is not self-contained"

"$hkdump" plot --html "$inputs/tl-census.timeline" -o "$tmp/census.html" ||
    bad "plot --html of tl-census: exit $?"
xmllint --noout "$tmp/census.html" || bad "census.html is not well-formed"
for s in '<!DOCTYPE html>' '<svg xmlns=' '>Census: freed blocks parked outside the slabs<' \
         '>TLS lists: ' '<h2>Findings</h2>' 'timeline-retention'; do
    has "$tmp/census.html" "$s" "tl-census.html"
done
grep -qiE '<script|<link|src=' "$tmp/census.html" && bad "census.html loads something"

# Strings of the file reach the picture escaped: markup, quotes, control bytes, bad UTF-8.
{
    printf 'hakmem-timeline 1\n'
    printf 'header pid=1 exe="/x/<script>alert(1)</script>&\\"\\x01\\xff" every_ms=100\n'
    printf 'class id=1 size=32\n'
    printf 'sample t_ms=0 bytes_mapped=1000 live_bytes=10 live=1:3\n'
    printf 'event t_ms=5 kind="<b>&" dump="</text><text>"\n'
    printf 'sample t_ms=10 bytes_mapped=2000 live_bytes=20 live=1:5\n'
} >"$tmp/hostile.timeline"
"$hkdump" plot --html "$tmp/hostile.timeline" -o "$tmp/hostile.html" || bad "hostile: exit $?"
xmllint --noout "$tmp/hostile.html" || bad "hostile.html is not well-formed"
grep -q '<script' "$tmp/hostile.html" && bad "hostile.html holds the input's <script>"
has "$tmp/hostile.html" '&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;??' "hostile.html"

# One sample, many samples (drawn spread, at most 2,000 points a line).
{
    printf 'hakmem-timeline 1\nheader pid=2 exe=/bin/one\n'
    printf 'sample t_ms=40 bytes_mapped=4194304 vm_rss_kb=100 live_bytes=1000\nend\n'
} >"$tmp/one.timeline"
"$hkdump" plot "$tmp/one.timeline" -o "$tmp/one.svg" && xmllint --noout "$tmp/one.svg" ||
    bad "one sample: not plotted"
awk 'BEGIN { print "hakmem-timeline 1"; print "header pid=3 exe=/bin/many every_ms=1";
             for (i = 0; i < 50000; i++)
                 printf "sample t_ms=%d bytes_mapped=%d vm_rss_kb=%d live_bytes=%d\n",
                        i, 4194304 + i * 64, 4096 + i / 16, 65536 + (i % 100) * 64;
             print "end" }' >"$tmp/many.timeline"
"$hkdump" plot "$tmp/many.timeline" -o "$tmp/many.svg" && xmllint --noout "$tmp/many.svg" ||
    bad "50,000 samples: not plotted"
points=$(grep -o 'points="[^"]*"' "$tmp/many.svg" | head -1 | tr ' ' '\n' | wc -l)
[ "$points" -le 2001 ] || bad "50,000 samples: $points points in one line (at most 2,001)"

"$hkdump" plot "$inputs/tl-leak.timeline" -o - >"$tmp/stdout.svg" || bad "-o -: exit $?"
xmllint --noout "$tmp/stdout.svg" || bad "-o -: not well-formed"

echo keep >"$tmp/target"
ln -s "$tmp/target" "$tmp/link.svg"
"$hkdump" plot "$inputs/tl-leak.timeline" -o "$tmp/link.svg" || bad "symlink: exit $?"
[ -L "$tmp/link.svg" ] && bad "the symlink named by -o was written through"
[ "$(cat "$tmp/target")" = keep ] || bad "the symlink's target was changed"

# Inputs that cannot be plotted: one line on stderr, status 2, the output left alone.
printf 'hakmem-timeline 1\nheader pid=4\nend\n' >"$tmp/empty.timeline"
: >"$tmp/empty.txt"
while read -r what file want; do
    echo old >"$tmp/out.svg"
    "$hkdump" plot "$file" -o "$tmp/out.svg" 2>"$tmp/err"
    rc=$?
    [ "$rc" = 2 ] || bad "$what: exit $rc, expected 2"
    [ "$(wc -l <"$tmp/err")" = 1 ] || bad "$what: $(wc -l <"$tmp/err") lines on stderr"
    grep -qF -- "$want" "$tmp/err" || bad "$what: '$want' not in: $(cat "$tmp/err")"
    [ "$(cat "$tmp/out.svg")" = old ] || bad "$what: the output file was written"
    ls "$tmp" | grep -q '\.tmp-' && bad "$what: a temporary file was left"
done <<LIST
dump $inputs/example.dump not a timeline
text $tmp/empty.txt not a timeline
no-samples $tmp/empty.timeline no sample in this timeline
newer $inputs/tl-newer.timeline timeline version 2 is newer than this hkdump (knows 1)
missing $tmp/nowhere.timeline No such file or directory
LIST
"$hkdump" plot "$inputs/tl-leak.timeline" 2>"$tmp/err"
[ $? = 2 ] && grep -qF 'plot needs -o FILE' "$tmp/err" || bad "no -o: $(cat "$tmp/err")"
"$hkdump" plot "$inputs/tl-leak.timeline" -o "$tmp/no/such/dir.svg" 2>"$tmp/err"
[ $? = 2 ] && grep -qF 'cannot write the plot' "$tmp/err" || bad "bad -o: $(cat "$tmp/err")"

[ $fail = 0 ] && echo "plot: SVG and HTML well-formed, labelled, escaped; bad inputs refused"
exit $fail
