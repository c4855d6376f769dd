#!/usr/bin/env python3
"""Checks a timeline file (HAKMEM_STATS_INTERVAL_MS) against the record and key lists of
diag/hk_dump_format.h, and prints what it holds as one JSON line for timeline_test.sh:
samples, census samples, events by kind, end, every_ms, decimations, t_ms span.
Usage: check_timeline.py FORMAT_HEADER TIMELINE. Exit 1 with the problems on stderr."""
import json
import re
import sys


def key_list(header, name, lists):
    """The X(...) names of #define NAME(X) in the header, expanding the lists it names."""
    m = re.search(r'#define %s\(X\)((?:[^\n]*\\\n)*[^\n]*)' % name, header)
    if not m:
        sys.exit('no %s in the format header' % name)
    body = m.group(1).replace('\\\n', ' ')
    out = []
    for tok in re.findall(r'X\((\w+)\)|(HK_\w+)\(X\)', body):
        out += [tok[0]] if tok[0] else lists[tok[1]]
    return out


def fields(line):
    """A record line: name and key=value pairs (values bare or quoted, as dumps write)."""
    name, _, rest = line.partition(' ')
    kv = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', rest):
        if m.group(1) in kv:
            raise ValueError('key %s twice' % m.group(1))
        kv[m.group(1)] = m.group(2)
    return name, kv


def main():
    header = open(sys.argv[1]).read()
    lists = {}
    lists['HK_DUMP_CENSUS_STATES'] = key_list(header, 'HK_DUMP_CENSUS_STATES', lists)
    want = {rec: key_list(header, 'HK_TIMELINE_%s_KEYS' % rec.upper(), lists)
            for rec in ('header', 'class', 'sample', 'census', 'event')}
    magic = re.search(r'#define HK_TIMELINE_MAGIC "([^"]+)"', header).group(1)
    version = re.search(r'#define HK_TIMELINE_VERSION (\d+)', header).group(1)
    lines = open(sys.argv[2], encoding='utf-8').read().split('\n')
    problems = []
    if lines[0] != '%s %s' % (magic, version):
        problems.append('line 1 is %r' % lines[0])
    if lines[-1] != '':
        problems.append('the last line has no line end')
    lines = lines[1:-1]
    res = {'samples': 0, 'census': 0, 'events': {}, 'end': False, 'headers': 0,
           'classes': 0, 'first_t': None, 'last_t': None, 'max_live_classes': 0}
    classes = set()
    last_t = -1
    for i, line in enumerate(lines, 2):
        try:
            name, kv = fields(line)
        except ValueError as e:
            problems.append('line %d: %s' % (i, e))
            continue
        if res['end']:
            problems.append('line %d after end: %r' % (i, line[:80]))
        rec = {'sample_census': 'census'}.get(name, name)
        if rec in want:
            extra = {'sample': ['live']}.get(rec, [])
            missing = [k for k in want[rec] if k not in kv]
            unknown = [k for k in kv if k not in want[rec] + extra]
            if missing or unknown:
                problems.append('line %d (%s): missing %s, unknown %s' % (i, name, missing, unknown))
                continue
        if name == 'header':
            res['headers'] += 1
            res['every_ms'] = int(kv['every_ms'])
            res['interval_ms'] = int(kv['interval_ms'])
            res['decimations'] = int(kv['decimations'])
            res['max_samples'] = int(kv['max_samples'])
            res['pid'] = int(kv['pid'])
        elif name == 'class':
            classes.add(int(kv['id']))
            res['classes'] += 1
        elif name == 'sample':
            t = int(kv['t_ms'])
            if t < last_t:
                problems.append('line %d: t_ms %d before %d' % (i, t, last_t))
            last_t = t
            res['samples'] += 1
            res['first_t'] = t if res['first_t'] is None else res['first_t']
            res['last_t'] = t
            live = [p.split(':') for p in kv.get('live', '').split(',') if p]
            bad = [c for c, n in live
                   if int(c) not in classes or not 0 < int(n) < 1 << 63]   # no wrapped count
            if bad:
                problems.append('line %d: live of unknown classes or wrapped counts %s' % (i, bad))
            res['max_live_classes'] = max(res['max_live_classes'], len(live))
            for k in ('bytes_mapped', 'vm_rss_kb', 'vm_size_kb'):
                res['max_' + k] = max(res.get('max_' + k, 0), int(kv[k]))
            res['timeline_bytes'] = int(kv['timeline_bytes'])
            res['diag_bytes'] = int(kv['diag_bytes'])
        elif name == 'sample_census':
            res['census'] += 1
        elif name == 'event':
            res['events'][kv['kind']] = res['events'].get(kv['kind'], 0) + 1
        elif name == 'end':
            res['end'] = True
        elif name != 'option':
            problems.append('line %d: unknown record %r' % (i, name))
    if res['headers'] != 1:
        problems.append('%d header records' % res['headers'])
    elif res['samples'] > res['max_samples']:
        problems.append('%d samples, more than max_samples' % res['samples'])
    for p in problems:
        print('timeline problem: ' + p, file=sys.stderr)
    print(json.dumps(res, sort_keys=True))
    return 1 if problems else 0


sys.exit(main())
