#!/usr/bin/env python3
"""A lost C++ container: cxx_prog (a std::map<int, std::string>* of 50 entries, lost) under
LD_PRELOAD=libhakmem.so HAKMEM_LEAK_CHECK=1. The report's first record must be the map object,
lost directly and holding the 50 nodes and 50 strings (lost indirectly, listed after it), its
frames demangled by the helper (hkdump --demangle, found beside the library; the helper is not
checked itself: one report), mangled with HAKMEM_DEMANGLER=none; and hkdump on the report must
lead with it, named store::Cache::fill(int) with its line.

Usage: check_cxx.py LIBHAKMEM CXX_PROG HKDUMP
Exit 0 when every check passed, 1 otherwise."""
import os
import re
import subprocess
import sys
import tempfile

from hkdump_leak import first_leak_evidence

REC_RE = re.compile(r'^hakmem: leak (\d+): (\d+) blocks?, (\d+) bytes (lost directly|lost '
                    r'indirectly|still reachable) \(sizes [0-9.]+\)(?:, holding (\d+) blocks?, '
                    r'(\d+) bytes lost indirectly)?, allocated at:$')

lib, prog, hkdump = sys.argv[1:4]
failures = []
env = {k: v for k, v in os.environ.items() if not k.startswith('HAKMEM_')}
env.update(LD_PRELOAD=lib, HAKMEM_LEAK_CHECK='1', HAKMEM_LEAK_EXITCODE='0')
p = subprocess.run([prog], env=env, capture_output=True, text=True, timeout=60)
recs = [m.groups() for m in map(REC_RE.match, p.stderr.splitlines()) if m]
if p.returncode != 0:
    failures.append('exit status %d' % p.returncode)
if not recs:
    failures.append('no leak records:\n' + p.stderr[-2000:])
else:
    first = recs[0]
    # the map object: 48 bytes on x86-64 and aarch64 (libstdc++'s _Rb_tree header)
    if (first[1], first[2], first[3], first[4]) != ('1', '48', 'lost directly', '100'):
        failures.append('first record is not the map (1 block, 48 B, direct, holding 100): %r'
                        % (first,))
    others = [r[3] for r in recs[1:]]
    if others != ['lost indirectly', 'lost indirectly']:
        failures.append('the nodes and strings are not two indirect records: %r' % others)
frames = re.findall(r'^hakmem:     #\d+ 0x[0-9a-f]+ (.*) \(', p.stderr, re.M)
if not any(f.startswith('store::Cache::fill') for f in frames):
    failures.append('no frame named store::Cache::fill...: %r' % frames[:4])
if p.stderr.count('hakmem: leak report:') != 1:
    failures.append('%d leak reports: the helper was checked too' %
                    p.stderr.count('hakmem: leak report:'))
env_off = dict(env, HAKMEM_DEMANGLER='none')
q = subprocess.run([prog], env=env_off, capture_output=True, text=True, timeout=60)
if '_ZN5store5Cache4fill' not in q.stderr:
    failures.append('HAKMEM_DEMANGLER=none: the names are not left mangled')
with tempfile.TemporaryDirectory() as tmp:
    out, _, ev = first_leak_evidence(hkdump, p.stderr, tmp)
    if not ev:
        failures.append('hkdump: no application-leak finding:\n' + out)
    elif not re.search(r'^stack 1: 48 B in 1 block lost directly, holding [0-9.]+ KiB in 100 '
                       r'blocks: .*store::Cache::fill(\[abi:cxx11\])?\(int\) \(cxx_prog\.cpp:\d+\)',
                       ev):
        failures.append('hkdump: the first evidence is not the map in store::Cache::fill: %s' % ev)
for f in failures:
    print('FAIL ' + f)
if failures:
    sys.exit(1)
print('ok: the lost map is the direct leak, its nodes and strings indirect; hkdump names it')
