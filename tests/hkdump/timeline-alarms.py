#!/usr/bin/env python3
"""hkdump's trend findings on timelines of known shape, with random scale, step and noise
(a fixed seed): the shapes without a trend (flat, saw-tooth, a start-up ramp that levels
off, fewer than 5 samples) must raise no trend finding, and a linear leak and retention
must raise theirs (and only theirs). The golden inputs (inputs/tl-flat.timeline, ...) are
checked too. Prints one line per failure; exit 1 if any (TIMELINE_ALARMS_KEEP=DIR keeps
the failing variants there; VARIANTS=N of each shape, 25 by default).

    timeline-alarms.py HKDUMP INPUTS_DIR"""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib.util

spec = importlib.util.spec_from_file_location(
    'tl', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'timeline-inputs.py'))
tl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tl)
MiB = tl.MiB
TREND = {'timeline-retention', 'timeline-leak', 'timeline-forecast'}


def jitter(rng, amp):
    return rng.uniform(-amp, amp)


def shape_flat(f, rng):
    base, n = rng.uniform(8, 2000) * MiB, rng.randint(5, 300)
    tl.header(f)
    for i in range(n):
        live = base * (1 + jitter(rng, 0.05))
        tl.sample(f, i * 250, live * 1.2 + 4 * MiB + jitter(rng, 4 * MiB), live)


def shape_sawtooth(f, rng):
    amp, period, n = rng.uniform(20, 1000) * MiB, rng.randint(4, 12), rng.randint(30, 300)
    tl.header(f)
    for i in range(n):
        live = 4 * MiB + amp * (i % period) / period * (1 + jitter(rng, 0.05))
        tl.sample(f, i * 250, live * 1.1 + 8 * MiB, live)


def shape_plateau(f, rng):
    # A start-up ramp over up to 40 % of the run (one over most of it is growth).
    top, n = rng.uniform(30, 2000) * MiB, rng.randint(20, 300)
    ramp = rng.randint(1, int(0.4 * n))
    tl.header(f)
    for i in range(n):
        live = 4 * MiB + top * min(i, ramp) / ramp * (1 + jitter(rng, 0.03))
        tl.sample(f, i * 250, live * 1.05 + 6 * MiB, live)


def shape_few(f, rng):
    tl.header(f)
    for i in range(rng.randint(1, 4)):
        tl.sample(f, i * 250, 16 * MiB + 200 * MiB * i, 8 * MiB + 190 * MiB * i)


def clear_rate(rng, n, step, start):
    """A rate of growth that is a trend beyond doubt: over the run, at least twice the
    thresholds (8 MiB, 25 % of the start)."""
    least = max(16 * MiB, 0.5 * start) / (n * step / 1000)
    return least * rng.uniform(1, 20)


def shape_leak(f, rng):
    n, step = rng.randint(10, 300), rng.choice([100, 250, 1000])
    rate = clear_rate(rng, n, step, 8 * MiB)
    tl.header(f, every_ms=step, interval_ms=step)
    for i in range(n):
        t = i * step
        live = 8 * MiB + rate * t / 1000 * (1 + jitter(rng, 0.02)) + jitter(rng, 0.5 * MiB)
        tl.sample(f, t, live * 1.1 + 4 * MiB, live)


def shape_retention(f, rng):
    n, step = rng.randint(10, 300), rng.choice([100, 250, 1000])
    live = rng.uniform(4, 500) * MiB
    rate = clear_rate(rng, n, step, live + 8 * MiB)
    tl.header(f, every_ms=step, interval_ms=step)
    for i in range(n):
        t = i * step
        mapped = live + 8 * MiB + rate * t / 1000 * (1 + jitter(rng, 0.02))
        tl.sample(f, t, mapped, live * (1 + jitter(rng, 0.03)))


CASES = [(shape_flat, set()), (shape_sawtooth, set()), (shape_plateau, set()),
         (shape_few, set()), (shape_leak, {'timeline-leak'}),
         (shape_retention, {'timeline-retention'})]


def findings(hkdump, path):
    r = subprocess.run([hkdump, '--json', path], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return {x['id'] for x in json.loads(r.stdout)['findings']}


def main():
    hkdump, inputs = sys.argv[1], sys.argv[2]
    rng = random.Random(20251126)
    fail = 0
    with tempfile.TemporaryDirectory() as d:
        for shape, want in CASES:
            for k in range(int(os.environ.get("VARIANTS", "25"))):
                path = os.path.join(d, '%s-%d.timeline' % (shape.__name__, k))
                with open(path, 'w') as f:
                    shape(f, rng)
                    f.write('end\n')
                got = findings(hkdump, path)
                trends = got & TREND if got is not None else None
                # A leak or retention may forecast a limit too; nothing else is a trend.
                if got is None or (trends - {'timeline-forecast'}) != want or \
                        (not want and trends):
                    print('FAIL: %s variant %d: trend findings %s, expected %s'
                          % (shape.__name__, k, sorted(trends or []), sorted(want)))
                    os.replace(path, os.path.join(os.environ.get('TIMELINE_ALARMS_KEEP', d),
                                                  os.path.basename(path)))
                    fail = 1
    for name in ['tl-flat', 'tl-sawtooth', 'tl-plateau', 'tl-few']:
        got = findings(hkdump, os.path.join(inputs, name + '.timeline'))
        if got is None or got & TREND:
            print('FAIL: %s: trend findings %s' % (name, sorted((got or set()) & TREND)))
            fail = 1
    print('timeline alarms: %s' % ('FAIL' if fail else 'every shape as expected'))
    return fail


if __name__ == '__main__':
    sys.exit(main())
