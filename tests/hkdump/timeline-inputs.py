#!/usr/bin/env python3
"""Writes the timeline inputs of the golden tests (tests/hkdump/inputs/tl-*.timeline), each
a shape hkdump must tell apart: retention, a linear leak toward a finite RLIMIT_AS, flat,
saw-tooth, a start-up ramp that levels off, a cut-off file, a decimated one, the shadow
census, an OOM event, a newer version, too few samples. The noise is a fixed sequence, so
the files are the same on every run. Run it from anywhere; it rewrites the files:

    python3 tests/hkdump/timeline-inputs.py [DIR]

The same shapes with random noise and scale are made by timeline-alarms.py (shape_*)."""
import math
import os
import sys

MiB = 1 << 20
SIZES = [16, 32, 48, 64, 128, 256, 512, 1024, 4096, 65536]
# The share of the small blocks' bytes each class holds: (class id, share).
MIX = [(1, 0.10), (3, 0.55), (5, 0.15), (7, 0.10), (8, 0.10)]


def noise(i, amp):
    """A fixed, irregular sequence in [-amp, amp]."""
    return amp * math.sin(i * 2.399963 + 0.5) * math.cos(i * 0.7)


def header(f, every_ms=250, interval_ms=250, decimations=0, rlimit='inf', census=False,
           version=1, max_samples=1024):
    f.write('hakmem-timeline %d\n' % version)
    f.write('header pid=4242 time_ns=1764150000000000000 version=0.1.0 '
            'build="gcc 12.2.0 release" exe=/usr/bin/demo interval_ms=%d every_ms=%d '
            'decimations=%d max_samples=%d rlimit_as_cur=%s mem_total_kb=16384000 '
            'page_size=4096\n' % (interval_ms, every_ms, decimations, max_samples, rlimit))
    f.write('option name=HAKMEM_STATS_INTERVAL_MS value=%d\n' % interval_ms)
    f.write('option name=HAKMEM_DUMP_DIR value=/tmp/d\n')
    if census:
        f.write('option name=HAKMEM_SHADOW value=1\n')
    for i, s in enumerate(SIZES):
        f.write('class id=%d size=%d\n' % (i, s))


def sample(f, t_ms, mapped, live, remote=0, threads=4, large=2 * MiB, parked=None):
    """One sample: mapped and live in bytes (large blocks count in both)."""
    ss = max(0, int(mapped) - large) // (2 * MiB) * (2 * MiB)
    small = max(0, int(live) - large)
    blocks = [(c, int(small * share / SIZES[c])) for c, share in MIX]
    tiny = sum(b * SIZES[c] for c, b in blocks if SIZES[c] <= 1024)
    mid = sum(b * SIZES[c] for c, b in blocks if SIZES[c] > 1024)
    live_bytes = tiny + mid + large
    mapped_bytes = ss + large
    vm_kb = 65536 + mapped_bytes // 1024
    rss_kb = 3000 + int(mapped_bytes * 0.9) // 1024
    lst = ','.join('%d:%d' % (c, b) for c, b in blocks if b)
    f.write('sample t_ms=%d vm_size_kb=%d vm_rss_kb=%d bytes_mapped=%d superslab_bytes=%d '
            'large_bytes=%d superslabs_mapped=%d superslabs_unmapped=0 superslabs_cached=0 '
            'slabs_live=%d live_bytes=%d tiny_live_bytes=%d mid_live_bytes=%d large_live=1 '
            'remote_queue=%d threads_live=%d oom_events=0 diag_bytes=0 shadow_bytes=0 '
            'timeline_bytes=200704%s\n'
            % (t_ms, vm_kb, rss_kb, mapped_bytes, ss, large, ss // (2 * MiB),
               ss // (64 << 10), live_bytes, tiny, mid, int(remote), threads,
               ' live=' + lst if lst else ''))
    if parked is not None:
        fc, tls, rq = parked
        in_use = sum(b for c, b in blocks)
        f.write('sample_census t_ms=%d in_use=%d fast_cache=%d tls_list=%d slab_free=%d '
                'remote_queue=%d uncarved=%d quarantined=0\n'
                % (t_ms, in_use, fc, tls, 1000, rq, 30000))


def retention(f, n=40, cut=None):
    header(f)
    for i in range(n):
        t = i * 250
        line_ok = cut is None or i < cut
        if not line_ok:
            break
        sample(f, t, 16 * MiB + 38 * MiB * t / 1000, 12 * MiB + noise(i, 0.2 * MiB),
               remote=1000 + 12500 * i)


def write_all(d):
    def out(name, fn, end=True):
        with open(os.path.join(d, name), 'w') as f:
            fn(f)
            if end:
                f.write('end\n')

    out('tl-retention.timeline', retention)

    def leak(f):
        header(f, every_ms=200, interval_ms=200, rlimit='1073741824')
        for i in range(50):
            t = i * 200
            live = 8 * MiB + 6 * MiB * t / 1000 + noise(i, 0.3 * MiB)
            sample(f, t, live * 1.1 + 4 * MiB, live)
    out('tl-leak.timeline', leak)

    def flat(f):
        header(f)
        for i in range(40):
            sample(f, i * 250, 64 * MiB + noise(i, 2 * MiB), 40 * MiB + noise(i + 7, 1 * MiB))
    out('tl-flat.timeline', flat)

    def sawtooth(f):
        header(f)
        for i in range(60):
            phase = i % 10
            live = 8 * MiB + 20 * MiB * phase + noise(i, 0.5 * MiB)
            sample(f, i * 250, live + 8 * MiB, live)
    out('tl-sawtooth.timeline', sawtooth)

    def plateau(f):
        header(f)
        for i in range(40):
            ramp = min(i, 6) / 6.0
            live = 10 * MiB + 290 * MiB * ramp + noise(i, 1 * MiB)
            sample(f, i * 250, live * 1.05 + 6 * MiB, live)
    out('tl-plateau.timeline', plateau)

    def truncated(f):
        retention(f, cut=30)
        f.write('sample t_ms=7500 vm_size_kb=36')  # killed while writing this line
    out('tl-truncated.timeline', truncated, end=False)

    def decimated(f):
        # 32 samples kept of a run of 12.8 s: after two decimations, one every 400 ms.
        header(f, every_ms=400, interval_ms=100, decimations=2, max_samples=32)
        for i in range(32):
            t = i * 400
            grow = max(0, i - 16) * 0.4
            live = 20 * MiB + 10 * MiB * grow + noise(i, 0.2 * MiB)
            sample(f, t, live * 1.2 + 4 * MiB, live)
    out('tl-decimated.timeline', decimated)

    def census(f):
        header(f, census=True)
        for i in range(30):
            t = i * 250
            sample(f, t, 12 * MiB + 24 * MiB * t / 1000, 8 * MiB + noise(i, 0.1 * MiB),
                   remote=50, parked=(64, 2000 + 90000 * i, 50))
    out('tl-census.timeline', census)

    def oom(f):
        header(f, rlimit='335544320')
        rows = []
        for i in range(32):
            t = i * 250
            rows.append(t)
        for i, t in enumerate(rows[:-2]):
            sample(f, t, 16 * MiB + 30 * MiB * t / 1000, 10 * MiB + noise(i, 0.2 * MiB),
                   remote=500 + 9000 * i)
        # The event is written when it happens, before the tick's samples that were due.
        f.write('event t_ms=7820 kind=oom dump=/tmp/d/hakmem-4242-oom.dump\n')
        for i, t in enumerate(rows[-2:], len(rows) - 2):
            sample(f, t, 16 * MiB + 30 * MiB * t / 1000, 10 * MiB + noise(i, 0.2 * MiB),
                   remote=500 + 9000 * i)
        sample(f, 7820, 16 * MiB + 30 * MiB * 7.82, 10 * MiB, remote=500 + 9000 * 31)
        f.write('event t_ms=7900 kind=exit dump=/tmp/d/hakmem-4242-exit.dump\n')
    out('tl-oom.timeline', oom)

    def newer(f):
        header(f, version=2)
        sample(f, 0, 16 * MiB, 8 * MiB)
    out('tl-newer.timeline', newer)

    def few(f):
        header(f)
        for i in range(4):
            sample(f, i * 250, 16 * MiB + 100 * MiB * i, 8 * MiB + 90 * MiB * i)
    out('tl-few.timeline', few)


if __name__ == '__main__':
    write_all(sys.argv[1] if len(sys.argv) > 1 else
              os.path.join(os.path.dirname(os.path.abspath(__file__)), 'inputs'))
