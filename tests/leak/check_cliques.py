#!/usr/bin/env python3
"""Direct and indirect leaks: clique_prog (its comment lists what it loses) under
LD_PRELOAD=libhakmem.so HAKMEM_LEAK_CHECK=1 HAKMEM_STATS=json. Checks each record of the text
report (kind, blocks, bytes, what a direct leak holds), that direct records come first and
most bytes with what they hold first, the summary's indirect count, the JSON records and
summary, and that hkdump reading the report names the container's allocation first.

Usage: check_cliques.py LIBHAKMEM CLIQUE_PROG HKDUMP
Exit 0 when every check passed, 1 otherwise."""
import json
import os
import re
import subprocess
import sys
import tempfile

from hkdump_leak import first_leak_evidence

# innermost function -> [(how, blocks, bytes, held_blocks, held_bytes)], direct first
EXPECT = {
    'cache_new': [('lost directly', 1, 48, 100, 6600)],
    'cache_add_node': [('lost indirectly', 50, 1600, 0, 0)],
    'node_set_name': [('lost indirectly', 50, 5000, 0, 0)],
    'tree_node': [('lost directly', 1, 40, 30, 1200), ('lost indirectly', 30, 1200, 0, 0)],
    'ring_link': [('lost directly', 1, 64, 2, 128), ('lost indirectly', 2, 128, 0, 0)],
}
LOST_BLOCKS, INDIRECT_BLOCKS = 135, 132

REC_RE = re.compile(r'^hakmem: leak (\d+): (\d+) blocks?, (\d+) bytes '
                    r'(lost directly|lost indirectly|still reachable) \(sizes [0-9.]+\)'
                    r'(?:, holding (\d+) blocks?, (\d+) bytes lost indirectly)?, allocated at:$')
FRAME_RE = re.compile(r'^hakmem:     #(\d+) 0x[0-9a-f]+ (\S+)')
SUMMARY_RE = re.compile(r'^hakmem: leak report: [\d,]+ stacks?, ([\d,]+) blocks?, \S+ \S+ lost '
                        r'\(([\d,]+) blocks?, \S+ \S+ of it indirectly\); ')

failures = []


def fail(msg):
    failures.append(msg)
    print('FAIL ' + msg)


def records(text):
    out, cur = [], None
    for line in text.splitlines():
        m = REC_RE.match(line)
        if m:
            cur = {'how': m.group(4), 'blocks': int(m.group(2)), 'bytes': int(m.group(3)),
                   'held': (int(m.group(5) or 0), int(m.group(6) or 0)), 'func': None}
            out.append(cur)
            continue
        m = FRAME_RE.match(line)
        if m and cur is not None and cur['func'] is None:
            cur['func'] = m.group(2)
    return out


lib, prog, hkdump = sys.argv[1:4]
with tempfile.TemporaryDirectory() as tmp:
    stats = os.path.join(tmp, 'stats.json')
    env = {k: v for k, v in os.environ.items() if not k.startswith('HAKMEM_')}
    dumps = os.path.join(tmp, 'dumps')
    os.mkdir(dumps)
    env.update(LD_PRELOAD=lib, HAKMEM_LEAK_CHECK='1', HAKMEM_LEAK_EXITCODE='0',
               HAKMEM_STATS='json', HAKMEM_STATS_FILE=stats, HAKMEM_DUMP_DIR=dumps)
    p = subprocess.run([prog], env=env, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail('exit status %d: %s' % (p.returncode, p.stderr[-2000:]))
    recs = records(p.stderr)
    lost = [r for r in recs if r['how'] != 'still reachable']
    for func, want in EXPECT.items():
        got = [(r['how'], r['blocks'], r['bytes']) + r['held'] for r in lost if r['func'] == func]
        if got != want:
            fail('%s: expected %r, got %r' % (func, want, got))
    unknown = sorted({r['func'] for r in lost} - set(EXPECT))
    if unknown:
        fail('lost records of other functions: %s' % ', '.join(map(str, unknown)))
    hows = [r['how'] for r in lost]
    if hows != sorted(hows):   # "lost directly" sorts before "lost indirectly"
        fail('an indirect record comes before a direct one: %s' % hows)
    direct = [r['func'] for r in lost if r['how'] == 'lost directly']
    if direct != ['cache_new', 'tree_node', 'ring_link']:
        fail('direct records not ordered by their bytes with what they hold: %s' % direct)
    m = next((SUMMARY_RE.match(l) for l in p.stderr.splitlines() if SUMMARY_RE.match(l)), None)
    if not m:
        fail('no summary line with the indirect count')
    elif (int(m.group(1).replace(',', '')), int(m.group(2).replace(',', ''))) != \
            (LOST_BLOCKS, INDIRECT_BLOCKS):
        fail('summary: %s lost, %s indirectly; expected %d, %d'
             % (m.group(1), m.group(2), LOST_BLOCKS, INDIRECT_BLOCKS))

    try:
        with open(stats) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail('no readable stats JSON: %s' % e)
        doc = {}
    if doc.get('version') != 3:
        fail('JSON version %r, expected 3' % doc.get('version'))
    s = doc.get('leak_summary', {})
    if (s.get('lost_blocks'), s.get('indirect_blocks')) != (LOST_BLOCKS, INDIRECT_BLOCKS):
        fail('JSON leak_summary: lost_blocks %r, indirect_blocks %r'
             % (s.get('lost_blocks'), s.get('indirect_blocks')))
    kinds = {'lost directly': 'direct', 'lost indirectly': 'indirect'}
    for func, want in EXPECT.items():
        got = [(r['kind'], r['blocks'], r['bytes'], r['held_blocks'], r['held_bytes'])
               for r in doc.get('leaks', []) if r.get('frames') and r['frames'][0] == func
               and r['kind'] != 'reachable']
        want = [(kinds[w[0]],) + w[1:] for w in want]
        if sorted(got) != sorted(want):
            fail('JSON %s: expected %r, got %r' % (func, want, got))

    out, log, ev = first_leak_evidence(hkdump, p.stderr, tmp)
    if not ev:
        fail('hkdump: no application-leak finding:\n' + out)
    elif not re.match(r'stack \d+: 48 B in 1 block lost directly, holding 6\.4 KiB in 100 '
                      r'blocks: cache_new ', ev):
        fail('hkdump: the first evidence is not the container: %s' % ev)
    elif 'fix the direct leaks first' not in out:
        fail('hkdump: no advice to fix the direct leaks first')
    # The log and the exit dump of one run hold the same stacks: counted once.
    exit_dumps = [os.path.join(dumps, f) for f in os.listdir(dumps) if f.endswith('-exit.dump')]
    h2 = subprocess.run([hkdump, log] + exit_dumps, capture_output=True, text=True, timeout=60)
    want = 'application-leak: leak check: 7.9 KiB in %d blocks lost, from 7 allocation stacks' \
        % LOST_BLOCKS
    if len(exit_dumps) != 1:
        fail('%d exit dumps, expected 1' % len(exit_dumps))
    elif want not in h2.stdout:
        fail('hkdump on the log and the exit dump: expected "%s":\n%s' % (want, h2.stdout[:1500]))

if failures:
    print('%d check(s) failed' % len(failures))
    sys.exit(1)
print('ok: direct and indirect leaks, text, JSON and hkdump')
