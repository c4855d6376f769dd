#!/usr/bin/env python3
"""Inline chains in the leak report: inline_prog (built -O2 -g) under LD_PRELOAD=libhakmem.so
HAKMEM_LEAK_CHECK=1 loses blocks allocated in always_inline code. Each inlined function must be
a frame line of its own, at the same pc, marked "(inlined)", with its own file:line, and the
function they are inlined into must follow with the line of the call (the lines are found by
the "// MARK name" comments of inline_prog.cpp); the JSON report must carry the same chain
("inlined", the frame's "sources" the call's line); a suppression must match an inlined
function's name, and stacks that suppressions take by their own names must start no helper
for chains; hkdump must read the chain back as one frame, and hkdump suite must print
it, write it in JSON and match a baseline against it; the chain must be the same with the
debug information split into a compressed .gnu_debuglink file. Without the helper
(HAKMEM_DEMANGLER=none), or with a helper whose answers are malformed, the frames must be as
before: one line each. hkdump --inline itself must answer every input line, bad ones empty.

Usage: check_inline.py LIBHAKMEM INLINE_PROG INLINE_SRC HKDUMP
Exit 0 when every check passed, 1 otherwise, 77 when hkdump has no libdw."""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

from hkdump_leak import first_leak_evidence

lib, prog, src, hkdump = sys.argv[1:5]
failures = []
version = subprocess.run([hkdump, '--version'], capture_output=True, text=True).stdout
if 'symbols: libdw' not in version:
    print('skip: hkdump is built without libdw (%s)' % version.strip())
    sys.exit(77)


def fail(msg):
    failures.append(msg)
    print('FAIL ' + msg)


with open(src) as f:
    MARK = {m.group(1): i + 1 for i, l in enumerate(f)
            for m in [re.search(r'// MARK (\w+)', l)] if m}
base = os.path.basename(src)
FRAME_RE = re.compile(r'^hakmem:     #(\d+) (0x[0-9a-f]+) (.*?)(?: \((/[^()]*\+0x[0-9a-f]+)\))?'
                      r'(?: (\S+:\d+))?( \(inlined\))?$')


def records(stderr):
    """The lost records: (head line, [(n, pc, function, source, inlined), ...])."""
    out = []
    for line in stderr.splitlines():
        if re.match(r'^hakmem: leak \d+: ', line):
            out.append((line, []))
        elif out and line.startswith('hakmem:     #'):
            m = FRAME_RE.match(line)
            if not m:
                fail('frame line not understood: %r' % line)
                continue
            n, pc, fn, _, where, inl = m.groups()
            out[-1][1].append((int(n), pc, fn, where or '', bool(inl)))
    return out


def at(name):
    return '%s:%d' % (base, MARK[name])


def src_is(where, name):
    return where.endswith('/' + at(name)) or where == at(name)


def fn_is(got, want):
    """gcc names a static inline function without a linkage name plainly
    (store::make_node), clang with its parameters (store::make_node(char const*))."""
    return got == want or (not want.endswith(')') and got.startswith(want + '('))


def check_chain(what, frames, chain):
    """chain: [(function, mark)], innermost first, the containing function last."""
    if len(frames) < len(chain) + 1:
        fail('%s: %d frame lines, expected the chain %r and a caller' % (what, len(frames), chain))
        return
    if [f[0] for f in frames] != list(range(len(frames))):
        fail('%s: frame lines not numbered 0, 1, ...: %r' % (what, [f[0] for f in frames]))
    for i, (fn, mark) in enumerate(chain):
        n, pc, got_fn, where, inl = frames[i]
        if not fn_is(got_fn, fn) or not src_is(where, mark) or inl != (i + 1 < len(chain)):
            fail('%s: line %d is %r %r%s, expected %r %s%s' % (
                what, i, got_fn, where, ' (inlined)' if inl else '', fn, at(mark),
                ' (inlined)' if i + 1 < len(chain) else ''))
    if len({f[1] for f in frames[:len(chain)]}) != 1:
        fail('%s: the chain is not at one pc: %r' % (what, frames[:len(chain)]))
    if frames[len(chain)][2] != 'main' or frames[len(chain)][4]:
        fail('%s: the line after the chain is not main: %r' % (what, frames[len(chain)]))


FILL = [('store::make_node', 'make_node'), ('store::make_entry', 'make_entry'),
        ('store::Cache::fill(int)', 'fill')]
SCRATCH = [('store::scratch_area', 'scratch_area'), ('store::Cache::scratch(unsigned long)', 'scratch')]

env0 = {k: v for k, v in os.environ.items() if not k.startswith('HAKMEM_')}
env0.update(LD_PRELOAD=lib, HAKMEM_LEAK_CHECK='1', HAKMEM_LEAK_EXITCODE='0')


def run(extra):
    p = subprocess.run([prog], env=dict(env0, **extra), capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0 or 'inline_prog: done' not in p.stdout:
        fail('%r: exit status %d: %s' % (extra, p.returncode, p.stderr[-1500:]))
    return p.stderr


with tempfile.TemporaryDirectory() as tmp:
    # 1. the text report
    err = run({})
    recs = records(err)
    by_size = {re.search(r'(\d+) bytes lost (?:directly|indirectly)', h).group(1): fr
               for h, fr in recs if 'lost' in h}
    if set(by_size) != {'300', '48', '192'}:
        fail('lost records of 300, 48 and 192 bytes expected: %r' % [h for h, _ in recs])
    else:
        check_chain('fill, direct', by_size['48'], FILL)
        check_chain('fill, indirect', by_size['192'], FILL)
        check_chain('scratch', by_size['300'], SCRATCH)
    # 2. hkdump reads the chain back as one frame, as it names one itself
    out, _, ev = first_leak_evidence(hkdump, err, tmp)
    params = r'(?:\([^()]*\))?'
    want = (r'store::make_node%s \(%s\), inlined into store::make_entry%s \(%s\), inlined '
            r'into store::Cache::fill\(int\) \(%s\) ← main' % (
                params, re.escape(at('make_node')), params, re.escape(at('make_entry')),
                re.escape(at('fill'))))
    if not ev or not re.search(want, out):
        fail('hkdump does not read the chain as one frame (%r):\n%s' % (want, out))

    # 3. JSON: the frame's function and the call's line, with the inlined functions beside
    stats = os.path.join(tmp, 'stats.json')
    run({'HAKMEM_STATS': 'json', 'HAKMEM_STATS_FILE': stats})
    try:
        with open(stats) as f:
            leaks = json.load(f)['leaks']
    except (OSError, ValueError, KeyError) as e:
        fail('no leaks in the stats JSON: %s' % e)
        leaks = []
    rec = next((l for l in leaks if l.get('bytes') == 48), None)
    if not rec:
        fail('no 48-byte record in the JSON: %r' % leaks)
    else:
        n = len(rec['frames'])
        if len(rec.get('inlined', [])) != n or len(rec['sources']) != n:
            fail('JSON: "inlined" and "sources" are not one a frame: %r' % rec)
        else:
            inl = rec['inlined'][0]
            got = [(i['function'], i['source']) for i in inl]
            exp = [(fn, at(mark)) for fn, mark in FILL[:-1]]
            if len(got) != len(exp) or not all(fn_is(g[0], e[0]) for g, e in zip(got, exp)) or \
                    not all(src_is(g[1], m) for g, (_, m) in zip(got, FILL)):
                fail('JSON inlined[0] is %r, expected %r' % (got, exp))
            if rec['frames'][0] != 'store::Cache::fill(int)' or \
                    not src_is(rec['sources'][0], 'fill'):
                fail('JSON frame 0 is %r at %r, expected store::Cache::fill(int) at %s' % (
                    rec['frames'][0], rec['sources'][0], at('fill')))
            if any(rec['inlined'][i] for i in range(1, n)):
                fail('JSON: inlined code claimed at main or libc: %r' % rec['inlined'][1:])

    # 4. a suppression that only the inlined function's name matches
    supp = os.path.join(tmp, 'supp')
    with open(supp, 'w') as f:
        f.write('leak:store::scratch_area\n')
    err = run({'HAKMEM_LEAK_SUPPRESSIONS': supp})
    if '300 bytes lost' in err or 'by leak:store::scratch_area' not in err:
        fail('leak:store::scratch_area does not suppress the inlined allocation:\n' + err[-1500:])

    # 4b. a stack that a suppression takes by its own names is not asked about: with every
    #     lost stack suppressed so, no helper starts for inline chains
    log = os.path.join(tmp, 'helper.log')
    logger = os.path.join(tmp, 'logging-helper')
    with open(logger, 'w') as f:
        f.write('#!/bin/sh\necho "$1" >> %s\nexec %s "$@"\n' % (log, hkdump))
    os.chmod(logger, stat.S_IRWXU)
    with open(supp, 'w') as f:
        f.write('leak:store::Cache::fill\nleak:store::Cache::scratch\n')
    err = run({'HAKMEM_LEAK_SUPPRESSIONS': supp, 'HAKMEM_DEMANGLER': logger})
    asked = open(log).read().split() if os.path.exists(log) else []
    if 'lost directly' in err or '--inline' in asked:
        fail('suppressed by their own names: helper runs %r, report:\n%s' % (asked, err[-1500:]))
    if '--demangle' not in asked:
        fail('the logging helper did not run (%r): the check above proves nothing' % asked)

    # 5. without the helper, and with a helper whose chains are malformed: one line a frame
    # The bad helpers answer --inline with hkdump's own answers, spoiled: the last line
    # malformed (the answer is all or none: the valid chains before it must not be kept), or
    # every line a single pair (a function without inlined code is no chain).
    def bad_helper(name, spoil):
        path = os.path.join(tmp, name)
        with open(path, 'w') as f:
            f.write('#!%s\nimport subprocess, sys\n' % sys.executable +
                    'if sys.argv[1] != "--inline":\n'
                    '    sys.exit(subprocess.run([%r] + sys.argv[1:]).returncode)\n' % hkdump +
                    'out = subprocess.run([%r, "--inline"], capture_output=True, text=True,\n'
                    '                     stdin=sys.stdin).stdout.splitlines()\n' % hkdump +
                    spoil + 'sys.stdout.write("".join(l + "\\n" for l in out))\n')
        os.chmod(path, stat.S_IRWXU)
        return path
    last_bad = bad_helper('bad-last', 'out[-1] = "f\\tx.c:0\\tg\\ty.c:3"\n')
    single = bad_helper('bad-single', 'out = ["f\\tx.c:3" for l in out]\n')
    for name, extra in (('no helper', {'HAKMEM_DEMANGLER': 'none'}),
                        ('the last chain malformed', {'HAKMEM_DEMANGLER': last_bad}),
                        ('single pairs', {'HAKMEM_DEMANGLER': single})):
        err = run(extra)
        if '(inlined)' in err:
            fail('%s: inlined lines printed' % name)
        fr = {re.search(r'(\d+) bytes', h).group(1): f for h, f in records(err)}
        f0 = fr.get('48', [(0, '', '', '', False)])[0]
        want_fn = '_ZN5store5Cache4fillEi' if name == 'no helper' else 'store::Cache::fill(int)'
        # one line a frame: the frame's function with the innermost line of the line table
        if f0[2] != want_fn or not src_is(f0[3], 'make_node'):
            fail('%s: frame 0 of the fill record is %r, expected %s at %s' % (
                name, f0, want_fn, at('make_node')))

    # 6. suite mode: hkdump suite prints the chain as the process did, --json carries it,
    #    and a --baseline pattern matches the inlined function
    sd = os.path.join(tmp, 'suite')
    os.mkdir(sd)
    run({'HAKMEM_LEAK_SUITE_DIR': sd})
    t = subprocess.run([hkdump, 'suite', sd], capture_output=True, text=True, timeout=60)
    want = [r'#0 store::make_node%s \S*%s \(\S+\) \(inlined\)$' % (params, re.escape(at('make_node'))),
            r'#1 store::make_entry%s \S*%s \(\S+\) \(inlined\)$' % (params, re.escape(at('make_entry'))),
            r'#2 store::Cache::fill\(int\) \S*%s \(\S+\)$' % re.escape(at('fill'))]
    for w in want:
        if not re.search(w, t.stdout, re.M):
            fail('hkdump suite: no line %r:\n%s' % (w, t.stdout))
    j = subprocess.run([hkdump, 'suite', '--json', sd], capture_output=True, text=True,
                       timeout=60)
    try:
        fr = next(l for l in json.loads(j.stdout)['leaks'] if l['bytes'] == 48)['frames'][0]
        got = [i['function'] for i in fr['inlined']]
        if fr['function'] != 'store::Cache::fill(int)' or \
                len(got) != 2 or not fn_is(got[0], 'store::make_node') or \
                not fn_is(got[1], 'store::make_entry'):
            fail('hkdump suite --json frame 0: %r' % fr)
    except (ValueError, KeyError, StopIteration) as e:
        fail('hkdump suite --json: %s: %s' % (e, j.stdout[-1500:]))
    baseline = os.path.join(tmp, 'baseline')
    with open(baseline, 'w') as f:
        f.write('leak:store::scratch_area\n')
    b = subprocess.run([hkdump, 'suite', '--baseline', baseline, sd], capture_output=True,
                       text=True, timeout=60)
    if '300 bytes' in b.stdout or '1 stack in the baseline' not in b.stdout or \
            b.stdout.count('(inlined)') != 4:
        fail('hkdump suite --baseline: the inlined name does not suppress:\n' + b.stdout)

    # 7. hkdump on "(inlined)" lines that do not continue: a next line at another pc is a
    #    frame of its own, and a record's last line does not run into the next record
    crafted = ('hakmem: leak report: 2 stacks, 2 blocks, 20 B lost; 0 stacks, 0 blocks, 0 B '
               'still reachable; 0 stacks suppressed (0 blocks)\n'
               'hakmem: leak 1: 1 block, 10 bytes lost directly (sizes 10), allocated at:\n'
               'hakmem:     #0 0x1000 inner_a (/bin/x+0x1000) a.c:1 (inlined)\n'
               'hakmem:     #1 0x2000 other_b (/bin/x+0x2000) b.c:2\n'
               'hakmem:     #2 0x3000 tail_c (/bin/x+0x3000) c.c:3 (inlined)\n'
               'hakmem: leak 2: 1 block, 10 bytes lost directly (sizes 10), allocated at:\n'
               'hakmem:     #0 0x3000 first_d (/bin/x+0x3000) d.c:4\n')
    out, _, _ = first_leak_evidence(hkdump, crafted, tmp)
    for w in ('lost directly: inner_a (a.c:1) ← other_b (b.c:2) ← tail_c (c.c:3)  [',
              'lost directly: first_d (d.c:4)  ['):
        if w not in out:
            fail('hkdump on broken chains: no %r:\n%s' % (w, out))

    # 8. the debug information in a separate file, compressed (as Debian's -dbgsym files
    #    are), found by .gnu_debuglink: the chain is the same
    split = os.path.join(tmp, 'split')
    os.mkdir(split)
    exe = os.path.join(split, 'inline_prog')
    shutil.copy(prog, exe)
    try:
        for cmd in (['objcopy', '--only-keep-debug', '--compress-debug-sections=zlib', exe,
                     exe + '.debug'],
                    ['objcopy', '--strip-debug', '--add-gnu-debuglink=' + exe + '.debug', exe]):
            subprocess.run(cmd, check=True, capture_output=True, cwd=split, timeout=60)
    except (OSError, subprocess.CalledProcessError) as e:
        fail('objcopy: %s' % e)
    else:
        p = subprocess.run([exe], env=env0, capture_output=True, text=True, timeout=60)
        fr = {re.search(r'(\d+) bytes', h).group(1): f for h, f in records(p.stderr)}
        check_chain('separate debug file', fr.get('48', []), FILL)

    # 9. hkdump --inline on bad input: one answer a line, empty, no crash
    lines = ['%s\t0' % prog, '%s\tzz' % prog, 'no tab', '/dev/zero\t1000', '/nonexistent\t1000',
             '%s\t%s' % (tmp, 'ffffffffffffffff'), '%s\t11' % src]
    h = subprocess.run([hkdump, '--inline'], input='\n'.join(lines) + '\n', capture_output=True,
                       text=True, timeout=60)
    if h.returncode != 0 or h.stdout != '\n' * len(lines):
        fail('hkdump --inline on bad lines: rc %d, %r %r' % (h.returncode, h.stdout, h.stderr))

if failures:
    sys.exit(1)
print('ok: inline chains as their own lines, in JSON, matched by suppressions and read by hkdump')
