#!/usr/bin/env python3
"""The leak tracker's own memory: bench/leakstacks (65,536 distinct stacks of 16 frames, 2
live blocks each) under LD_PRELOAD=libhakmem.so HAKMEM_LEAK_CHECK=1 HAKMEM_STATS=json. The
JSON leak summary counts the stacks and the tracker's bytes, and the text report's tracker
line says the same; a stack must cost at most 100 bytes of tracker memory (264 before the
stack table was compacted; docs/leaks.md, "Memory").

Usage: check_tracker.py LIBHAKMEM LEAKSTACKS
Exit 0 when every check passed, 1 otherwise."""
import json
import os
import re
import subprocess
import sys
import tempfile

STACKS = 65536
MAX_BYTES_PER_STACK = 100

lib, prog = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    stats = os.path.join(tmp, 'stats.json')
    env = dict(os.environ, LD_PRELOAD=lib, HAKMEM_LEAK_CHECK='1', HAKMEM_STATS='json',
               HAKMEM_STATS_FILE=stats)
    p = subprocess.run([prog, '-s', str(STACKS)], env=env, capture_output=True, text=True,
                       timeout=120)
    failures = []
    if p.returncode != 0:
        failures.append('exit status %d (nothing leaks): %s' % (p.returncode, p.stderr[-2000:]))
    with open(stats) as f:
        summary = json.load(f)['leak_summary']
    stacks, frames, tracker = (summary['stacks_recorded'], summary.get('frames_recorded', -1),
                               summary['tracker_bytes'])
    if stacks < STACKS:
        failures.append('%d stacks recorded, expected at least %d' % (stacks, STACKS))
    if tracker > stacks * MAX_BYTES_PER_STACK:
        failures.append('%d bytes of tracker memory for %d stacks: %.0f a stack, at most %d'
                        % (tracker, stacks, tracker / max(stacks, 1), MAX_BYTES_PER_STACK))
    m = re.search(r'^hakmem: tracker: ([\d,]+) stacks, ([\d,]+) distinct frames in .* of its '
                  r'own \((\d+) B a stack\); the check scanned .* of roots \(.* in the '
                  r"program's own mappings\), mapped at most .* and took [\d.]+ s$", p.stderr, re.M)
    if not m:
        failures.append('no tracker line in the report:\n' + p.stderr[-1500:])
    elif int(m.group(1).replace(',', '')) != stacks or int(m.group(2).replace(',', '')) != frames:
        failures.append('the tracker line says %s stacks, %s frames; the JSON %d, %d'
                        % (m.group(1), m.group(2), stacks, frames))
    for f in failures:
        print('FAIL: ' + f)
    if not failures:
        print('tracker: %d stacks, %d frames, %d bytes (%.1f a stack)'
              % (stacks, frames, tracker, tracker / stacks))
    sys.exit(1 if failures else 0)
