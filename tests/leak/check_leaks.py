#!/usr/bin/env python3
"""Leak check end to end: runs leak_prog under LD_PRELOAD=libhakmem.so HAKMEM_LEAK_CHECK=1 in
several configurations and checks every site's blocks, bytes and kind, the exit status, the
suppressions, the program's own stdout, the dlclosed library and forked children.

Usage: check_leaks.py LIBHAKMEM LEAK_PROG LEAKMOD [SCENARIO...]
Exit 0 when every check passed, 1 otherwise (each failure says what was expected and what
was seen), 77 when the environment cannot run the test."""
import json
import shutil
import os
import re
import subprocess
import sys
import tempfile

# site -> (blocks, bytes, kind); the same table as the comment at the top of leak_prog.c.
SITES = {
    'site_small_main': (10, 400, 'lost'),
    'site_mid_worker': (12, 36000, 'lost'),
    'site_large_main': (2, 400000, 'lost'),
    'site_reach_main': (6, 600, 'reachable'),
    'site_reach_worker': (4, 20000, 'reachable'),
    'site_chain': (3, 192, 'reachable'),
    'site_suppressed': (5, 120, 'lost'),
    'leakmod_leak': (7, 1400, 'lost'),
}
LOST = [s for s, v in SITES.items() if v[2] == 'lost']

failures = []


def fail(scenario, msg):
    failures.append('%s: %s' % (scenario, msg))
    print('FAIL %s: %s' % (scenario, msg))


REC_RE = re.compile(r'^hakmem: leak (\d+): (\d+) blocks?, (\d+) bytes '
                    r'(lost directly|lost indirectly|still reachable) \(sizes ([0-9.]+)\)'
                    r'(?:, holding (\d+) blocks?, (\d+) bytes lost indirectly)?, allocated at:$')
FRAME_RE = re.compile(r'^hakmem:     #(\d+) (0x[0-9a-f]+) (\S+)(?: \((.*)\+(0x[0-9a-f]+)\))?'
                      r'(?: (\S+:\d+))?$')
SUMMARY_RE = re.compile(r'^hakmem: leak report(?: \(on demand\))?: ([\d,]+) stacks?, ([\d,]+) '
                        r'blocks?, .* lost(?: \([^)]*\))?; ([\d,]+) stacks?, ([\d,]+) blocks?, .* still '
                        r'reachable; ([\d,]+) stacks? suppressed \(([\d,]+) blocks?\)$')


def parse_report(text):
    """Records: list of dicts with blocks, bytes, kind, frames [(func, module)]."""
    records, summaries = [], []
    cur = None
    for line in text.splitlines():
        m = REC_RE.match(line)
        if m:
            cur = {'blocks': int(m.group(2)), 'bytes': int(m.group(3)),
                   'kind': 'lost' if m.group(4).startswith('lost') else 'reachable',
                   'how': m.group(4), 'held': (int(m.group(6) or 0), int(m.group(7) or 0)),
                   'frames': []}
            records.append(cur)
            continue
        m = FRAME_RE.match(line)
        if m and cur is not None:
            cur['frames'].append((m.group(3), m.group(4) or ''))
            cur.setdefault('sources', []).append(m.group(6) or '')
            continue
        cur = None
        m = SUMMARY_RE.match(line)
        if m:
            summaries.append([int(g.replace(',', '')) for g in m.groups()])
    return records, summaries


def site_records(records, site):
    return [r for r in records if r['frames'] and r['frames'][0][0] == site]


def run(preload, prog, mod, mode, env_extra, tmp):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith('HAKMEM_'):
            del env[k]
    env.update({'LD_PRELOAD': preload, 'HAKMEM_LEAK_CHECK': '1'})
    env.update(env_extra)
    out_path = os.path.join(tmp, 'stdout.txt')
    with open(out_path, 'wb') as out:   # a file: stdout fully buffered, as in a pipe
        p = subprocess.run([prog, mode, mod], stdout=out, stderr=subprocess.PIPE, env=env,
                           timeout=60)
    with open(out_path, 'r', errors='replace') as f:
        stdout = f.read()
    return p.returncode, stdout, p.stderr.decode(errors='replace')


def expected_stdout(mode, child_status=None):
    lines = ['line %d of the program\'s own output' % i for i in range(500)]
    if mode == 'fork':
        lines.append('child: exiting')
        lines.append('child status %d' % child_status)
    lines.append('done')
    return '\n'.join(lines) + '\n'


def check_sites(name, records, expect_sites, stderr):
    ok = True
    for site in expect_sites:
        blocks, nbytes, kind = SITES[site]
        recs = site_records(records, site)
        got = (sum(r['blocks'] for r in recs), sum(r['bytes'] for r in recs),
               sorted({r['kind'] for r in recs}))
        if got != (blocks, nbytes, [kind]):
            fail(name, '%s: expected %d blocks, %d bytes, %s; got %d blocks, %d bytes, %s' %
                 (site, blocks, nbytes, kind, got[0], got[1], '/'.join(got[2]) or 'no record'))
            ok = False
    return ok


def site_file(site):
    return 'leakmod.c' if site == 'leakmod_leak' else 'leak_prog.c'


def alloc_line(site):
    """The line where `site` allocates: the first line with an allocation call from the
    function's definition on (leak_prog and the library are built with debug information)."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), site_file(site))
    lines = open(src).read().splitlines()
    start = next(i for i, l in enumerate(lines)
                 if re.match(r'^\S.*\b%s\(' % site, l) and not l.rstrip().endswith(';'))
    for i in range(start, len(lines)):
        if re.search(r'\b(malloc|calloc|realloc)\(', lines[i]):
            return i + 1
    return None


def check_sources(name, records):
    """Frame #0 of each record names the file and line of the allocation (the dlclosed
    library's too: its file is read at exit)."""
    for r in records:
        site = r['frames'][0][0] if r['frames'] else None
        if site not in SITES or site == 'site_chain':
            continue
        want = '%s:%d' % (site_file(site), alloc_line(site))
        got = r.get('sources', [''])[0]
        if not got.endswith('/' + want) and got != want:
            fail(name, '%s: frame #0 source %r, expected ...%s' % (site, got, want))


def scenario_default(a, tmp):
    name = 'default'
    before = len(failures)
    rc, out, err = run(*a, 'leaks', {}, tmp)
    records, summaries = parse_report(err)
    if rc != 23:
        fail(name, 'exit status %d, expected 23 (HAKMEM_LEAK_EXITCODE default)' % rc)
    if out != expected_stdout('leaks'):
        fail(name, 'the program\'s stdout was altered or lost (%d bytes, expected %d)' %
             (len(out), len(expected_stdout('leaks'))))
    check_sites(name, records, LOST, err)
    check_sources(name, records)
    shown = {r['frames'][0][0] for r in records if r['frames']}
    for site in SITES:
        if SITES[site][2] == 'reachable' and site in shown:
            fail(name, '%s is still reachable but was listed without HAKMEM_LEAK_REPORT' % site)
    if len(summaries) != 1:
        fail(name, 'expected one summary line, got %d' % len(summaries))
    else:
        s = summaries[0]
        lost_blocks = sum(SITES[x][0] for x in LOST)
        if s[1] != lost_blocks:
            fail(name, 'summary says %d blocks lost, expected %d' % (s[1], lost_blocks))
    for r in records:
        fr = r['frames']
        if fr and fr[0][0] == 'leakmod_leak' and 'libhk_leakmod' not in fr[0][1]:
            fail(name, 'the dlclosed library is not named in frame #0: %r' % (fr[0],))
        if any(f == 'churn' for f, _ in fr):
            fail(name, 'blocks freed by churn() were reported: %r' % r)
    if len(failures) == before:
        print('ok   %s: %d records, exit %d, stdout intact' % (name, len(records), rc))
    return err


def scenario_all(a, tmp):
    name = 'report-all'
    rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_REPORT': 'all'}, tmp)
    records, _ = parse_report(err)
    before = len(failures)
    check_sites(name, records, list(SITES), err)
    if rc != 23:
        fail(name, 'exit status %d, expected 23' % rc)
    rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_REPORT': 'reachable'}, tmp)
    records, _ = parse_report(err)
    if any(r['kind'] != 'reachable' for r in records):
        fail('report-reachable', 'a lost record was listed with HAKMEM_LEAK_REPORT=reachable')
    check_sites('report-reachable', records,
                [s for s in SITES if SITES[s][2] == 'reachable'], err)
    if len(failures) == before:
        print('ok   %s: every site with its kind' % name)


def scenario_exitcode(a, tmp):
    name = 'exitcode'
    before = len(failures)
    rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_EXITCODE': '42'}, tmp)
    if rc != 42:
        fail(name, 'HAKMEM_LEAK_EXITCODE=42: exit status %d' % rc)
    rc, out, err = run(*a, 'none', {}, tmp)
    records, summaries = parse_report(err)
    if rc != 0:
        fail(name, 'a run without leaks exited %d, expected 0; report:\n%s' % (rc, err))
    if out != expected_stdout('none'):
        fail(name, 'stdout of the run without leaks was altered')
    if any(r['kind'] == 'lost' for r in records):
        fail(name, 'lost records in a run without leaks')
    if len(failures) == before:
        print('ok   %s: 42 when asked, 0 without leaks' % name)


def scenario_suppress(a, tmp):
    name = 'suppressions'
    path = os.path.join(tmp, 'supp.txt')
    with open(path, 'w') as f:
        f.write('# LeakSanitizer syntax\n\n   leak:site_suppressed   \n# leak:site_small_main\n'
                'called_from_lib:ignored.so\n')
    rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_SUPPRESSIONS': path}, tmp)
    records, summaries = parse_report(err)
    before = len(failures)
    if site_records(records, 'site_suppressed'):
        fail(name, 'site_suppressed is still reported')
    check_sites(name, records, [s for s in LOST if s != 'site_suppressed'], err)
    if 'hakmem: suppressed 5 blocks in 1 stack by leak:site_suppressed\n' not in err:
        fail(name, 'the report does not count the suppressed site:\n' + err)
    if rc != 23:
        fail(name, 'exit status %d, expected 23 (other sites still leak)' % rc)
    # Everything: by module name (every stack passes through main in leak_prog).
    with open(path, 'w') as f:
        f.write('leak:leak_prog\n')
    rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_SUPPRESSIONS': path}, tmp)
    records, summaries = parse_report(err)
    if rc != 0 or records:
        fail(name, 'with leak:leak_prog everything is suppressed: exit %d (expected 0), '
             '%d records' % (rc, len(records)))
    if out != expected_stdout('leaks'):
        fail(name, 'stdout altered when everything is suppressed')
    # Glob and anchors.
    with open(path, 'w') as f:
        f.write('leak:^site_*_main$\nleak:leakmod_*\n')
    rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_SUPPRESSIONS': path}, tmp)
    records, _ = parse_report(err)
    left = sorted({r['frames'][0][0] for r in records if r['frames']})
    if left != ['site_mid_worker', 'site_suppressed']:
        fail(name, 'globs ^site_*_main$ and leakmod_* left %s, expected site_mid_worker and '
             'site_suppressed' % left)
    if len(failures) == before:
        print('ok   %s: exactly the suppressed sites removed, counted; all suppressed -> 0'
              % name)


def scenario_suppress_files(a, tmp):
    """Suppression files of any size are read whole and no pattern is cut; a file that cannot
    be used (a FIFO, an over-long line) is refused with a message, never half-read."""
    name = 'suppression-files'
    before = len(failures)
    path = os.path.join(tmp, 'big.supp')
    others = ['leak:no_such_function_%05d' % i for i in range(20000)]   # 600 KiB, 20,000 patterns
    # The old reader stopped at 256 KiB: a pattern across that boundary became a prefix of
    # itself (`leak:m`) and suppressed every site; this one straddles it.
    text = '\n'.join(others) + '\n'
    last = 256 * 1024 - 2          # the old reader's last byte: 'm' of `leak:m` lands there
    head = text[:text.rfind('\n', 0, last - 300) + 1]
    head += '#' + 'x' * (last - 5 - len(head) - 2) + '\n'   # a comment line as filler
    text = head + 'leak:my_third_party_init\n' + text[len(head):]
    assert text[last - 5:last + 1] == 'leak:m'
    text += 'leak:site_suppressed\n'                                    # the last line counts
    with open(path, 'w') as f:
        f.write(text)
    rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_SUPPRESSIONS': path}, tmp)
    records, _ = parse_report(err)
    if site_records(records, 'site_suppressed'):
        fail(name, 'the last pattern of a 600 KiB file (20,001 patterns) was not used')
    check_sites(name, records, [s for s in LOST if s != 'site_suppressed'], err)
    if rc != 23:
        fail(name, 'exit status %d with a big file, expected 23 (other sites leak)' % rc)
    # An over-long line refuses the whole file (nothing suppressed from it), with a message.
    with open(path, 'w') as f:
        f.write('leak:site_suppressed\nleak:' + 'x' * 5000 + '\n')
    rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_SUPPRESSIONS': path}, tmp)
    records, _ = parse_report(err)
    if not re.search(r'^hakmem: cannot read HAKMEM_LEAK_SUPPRESSIONS=.*: line 2: a line is longer '
                     r'than 4095 bytes.*; nothing suppressed from it$', err, re.M):
        fail(name, 'an over-long line was not refused with a message:\n' + err[-2000:])
    if not site_records(records, 'site_suppressed'):
        fail(name, 'a refused file still suppressed site_suppressed')
    # A FIFO hung the leak check; a directory or a missing file is refused too.
    fifo = os.path.join(tmp, 'supp.fifo')
    os.mkfifo(fifo)
    for bad in (fifo, tmp, os.path.join(tmp, 'missing.supp')):
        try:
            rc, out, err = run(*a, 'leaks', {'HAKMEM_LEAK_SUPPRESSIONS': bad}, tmp)
        except subprocess.TimeoutExpired:
            fail(name, '%s: the leak check hung' % bad)
            continue
        if not re.search(r'^hakmem: cannot read HAKMEM_LEAK_SUPPRESSIONS=%s: .*; nothing '
                         r'suppressed from it$' % re.escape(bad), err, re.M):
            fail(name, '%s: no refusal line:\n%s' % (bad, err[-1500:]))
    if len(failures) == before:
        print('ok   %s: 600 KiB file read whole, over-long line and FIFO refused' % name)


def scenario_fork(a, tmp):
    name = 'fork'
    before = len(failures)
    rc, out, err = run(*a, 'fork', {}, tmp)
    records, summaries = parse_report(err)
    if out != expected_stdout('fork', 0):
        fail(name, 'child status or stdout wrong (HAKMEM_LEAK_CHILD unset: the child must '
             'exit 0 without a report):\n' + out[-200:])
    if len(summaries) != 1:
        fail(name, '%d leak reports, expected only the parent\'s' % len(summaries))
    if site_records(records, 'site_child'):
        fail(name, 'the child\'s leak was reported')
    if rc != 23:
        fail(name, 'parent exit status %d, expected 23' % rc)
    rc, out, err = run(*a, 'fork', {'HAKMEM_LEAK_CHILD': '1'}, tmp)
    records, summaries = parse_report(err)
    if out != expected_stdout('fork', 23):
        fail(name, 'with HAKMEM_LEAK_CHILD=1 the child must report and exit 23:\n' + out[-200:])
    if len(summaries) != 2:
        fail(name, 'HAKMEM_LEAK_CHILD=1: %d leak reports, expected 2' % len(summaries))
    if not site_records(records, 'site_child'):
        fail(name, 'HAKMEM_LEAK_CHILD=1: the child\'s own leak (site_child) is not reported')
    if len(failures) == before:
        print('ok   %s: child silent by default, reports with HAKMEM_LEAK_CHILD=1' % name)


def scenario_json(a, tmp):
    name = 'json'
    path = os.path.join(tmp, 'stats.json')
    rc, out, err = run(*a, 'leaks', {'HAKMEM_STATS': 'json', 'HAKMEM_STATS_FILE': path}, tmp)
    try:
        with open(path) as f:
            doc = json.loads(f.read())
    except (OSError, ValueError) as e:
        fail(name, 'no readable stats JSON: %s' % e)
        return
    if 'leaks' not in doc:
        print('note %s: the stats JSON has no "leaks" array (the exit report does not call '
              'hk_leak_emit yet); not checked' % name)
        return
    before = len(failures)
    for site, (blocks, nbytes, kind) in SITES.items():
        recs = [r for r in doc['leaks'] if r.get('frames') and r['frames'][0] == site]
        got = (sum(r['blocks'] for r in recs), sum(r['bytes'] for r in recs),
               sorted({r['kind'] for r in recs}))
        if site == 'site_suppressed':
            continue
        kind = 'direct' if kind == 'lost' else kind   # no lost block here holds another
        if got != (blocks, nbytes, [kind]):
            fail(name, '%s: expected %d/%d/%s, got %r' % (site, blocks, nbytes, kind, got))
        for r in recs:
            if any(len(r.get(k, ())) != len(r['frames']) for k in ('modules', 'offsets', 'sources')):
                fail(name, '%s: frames, modules, offsets and sources differ in length' % site)
            elif site != 'site_chain' and not r['sources'][0].endswith(
                    '%s:%d' % (site_file(site), alloc_line(site))):
                fail(name, '%s: sources[0] is %r' % (site, r['sources'][0]))
    if len(failures) == before:
        print('ok   %s: "leaks" array matches' % name)


def check_module_lines(a, tmp, name, mod, what):
    """leak_prog with the library file mod instead of the built one: leakmod_leak's record
    must name its file and line."""
    rc, out, err = run(a[0], a[1], mod, 'leaks', {}, tmp)
    recs = [r for r in parse_report(err)[0] if r['frames'] and r['frames'][0][0] == 'leakmod_leak']
    before = len(failures)
    if not recs:
        fail(name, 'no record for leakmod_leak:\n' + err[-1500:])
    else:
        check_sources(name, recs)
    if len(failures) == before:
        print('ok   %s: %s' % (name, what))


def rebuilt_module(a, tmp, name, steps):
    """The test library rebuilt by objcopy in tmp/name: steps(src, mod) gives the argument
    lists, run in that directory. Its path, or None (objcopy missing or failing)."""
    objcopy = shutil.which('objcopy')
    if not objcopy:
        print('note %s: objcopy not found; not checked' % name)
        return None
    d = os.path.join(tmp, name)
    os.mkdir(d)
    mod = os.path.join(d, os.path.basename(a[2]))
    try:
        for args in steps(a[2], mod):
            subprocess.run([objcopy] + args, check=True, timeout=60, cwd=d)
    except (OSError, subprocess.SubprocessError) as e:
        fail(name, 'objcopy failed: %s' % e)
        return None
    return mod


def scenario_debuglink(a, tmp):
    """The library's debug information in a separate, compressed file (objcopy
    --only-keep-debug --compress-debug-sections, then --strip-debug --add-gnu-debuglink, as
    Debian's -dbgsym packages are made): its frame still gets its file and line, from the file
    beside it that the link names."""
    name = 'debuglink'
    mod = rebuilt_module(a, tmp, name, lambda src, mod: [
        ['--only-keep-debug', '--compress-debug-sections=zlib', src, mod + '.debug'],
        ['--strip-debug', '--add-gnu-debuglink=' + mod + '.debug', src, mod]])
    if not mod:
        return
    with open(mod, 'rb') as f:
        if b'.debug_line' in f.read():
            fail(name, 'the stripped library still has .debug_line')
            return
    check_module_lines(a, tmp, name, mod, 'file:line from the separate debug file')


def scenario_compressed(a, tmp):
    """The library's own debug information compressed (as gcc -gz makes it): inflated."""
    name = 'compressed'
    mod = rebuilt_module(a, tmp, name, lambda src, mod: [
        ['--compress-debug-sections=zlib', src, mod]])
    if not mod:
        return
    check_module_lines(a, tmp, name, mod, 'file:line from compressed DWARF')


SCENARIOS = {
    'debuglink': scenario_debuglink, 'compressed': scenario_compressed,
    'default': scenario_default, 'all': scenario_all, 'exitcode': scenario_exitcode,
    'suppress': scenario_suppress, 'suppress-files': scenario_suppress_files, 'fork': scenario_fork, 'json': scenario_json,
}


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    a = [os.path.abspath(x) for x in sys.argv[1:4]]
    for x in a:
        if not os.path.exists(x):
            print('SKIP: %s does not exist' % x)
            return 77
    names = sys.argv[4:] or list(SCENARIOS)
    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            SCENARIOS[n](a, tmp)
    if failures:
        print('%d check(s) failed' % len(failures))
        return 1
    print('all leak checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
