#!/usr/bin/env python3
"""docs/dump-format.md, "Timeline files", against the format header and hkdump: the records
table lists every record of HK_TIMELINE_RECORDS with exactly the keys of its
HK_TIMELINE_*_KEYS list (diag/hk_dump_format.h), and the example is a complete timeline
that hkdump reads without an unparsed line.

    check-timeline-doc.py HKDUMP SOURCE_ROOT"""
import json
import os
import re
import subprocess
import sys
import tempfile

hkdump, root = sys.argv[1], sys.argv[2]
header = open(os.path.join(root, 'diag', 'hk_dump_format.h')).read()
doc = open(os.path.join(root, 'docs', 'dump-format.md')).read()
section = doc[doc.index('## Timeline files'):]
errors = []


def macro(name):
    """The bare names of an X-macro list, its nested lists expanded."""
    m = re.search(r'#define %s\(X\)((?:.*\\\n)*.*)' % name, header)
    if not m:
        errors.append('%s not found in hk_dump_format.h' % name)
        return []
    body = m.group(1).replace('\\\n', ' ')
    names = []
    for tok in re.findall(r'(\w+)\(X\)|X\((\w+)\)', body):
        names += macro(tok[0]) if tok[0] else [tok[1]]
    return names


records = macro('HK_TIMELINE_RECORDS')
keys = {'header': macro('HK_TIMELINE_HEADER_KEYS'), 'class': macro('HK_TIMELINE_CLASS_KEYS'),
        'sample': macro('HK_TIMELINE_SAMPLE_KEYS'),
        'sample_census': macro('HK_TIMELINE_CENSUS_KEYS'),
        'event': macro('HK_TIMELINE_EVENT_KEYS'), 'option': ['name', 'value'], 'end': []}
rows = {}
for line in section.splitlines():
    m = re.match(r'\| `(\w+)` \|([^|]*)\|', line)
    if m:
        rows[m.group(1)] = re.findall(r'\b([a-z_]+)(?==|\b)', m.group(2).split('`, then')[0])
for r in records:
    if r not in rows:
        errors.append('record %s: no row in the table' % r)
    elif rows[r] != keys.get(r, []):
        errors.append('record %s: the table says %s, the header %s' % (r, rows[r], keys.get(r)))
for r in rows:
    if r not in records:
        errors.append('record %s: in the table, not in HK_TIMELINE_RECORDS' % r)

example = re.search(r'Example.*?\n```\n(.*?)```', section, re.S)
if not example:
    errors.append('no example')
else:
    with tempfile.NamedTemporaryFile('w', suffix='.timeline') as f:
        f.write(example.group(1))
        f.flush()
        out = json.loads(subprocess.run([hkdump, '--json', f.name], check=True,
                                        capture_output=True, text=True).stdout)
    i = out['inputs'][0]
    if i['kind'] != 'timeline' or i['truncated'] or out['unparsed_total']:
        errors.append('the example: kind %s, truncated %s, %d unparsed lines'
                      % (i['kind'], i['truncated'], out['unparsed_total']))
for e in errors:
    print('FAIL: docs/dump-format.md: ' + e)
print('timeline doc: %s' % ('%d errors' % len(errors) if errors else 'table and example agree'))
sys.exit(1 if errors else 0)
