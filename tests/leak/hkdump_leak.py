"""What the leak tests ask of hkdump: its reading of a leak report (check_cliques.py,
check_cxx.py)."""
import os
import re
import subprocess


def first_leak_evidence(hkdump, report, tmp):
    """hkdump on the text report (written to a file in tmp): its whole output, and the first
    evidence line of its application-leak finding (None without one)."""
    log = os.path.join(tmp, 'leaks.log')
    with open(log, 'w') as f:
        f.write(report)
    h = subprocess.run([hkdump, log], capture_output=True, text=True, timeout=60)
    ev = re.search(r'^\[\w+\] application-leak: .*\n  evidence:  (.*)$', h.stdout, re.M)
    return h.stdout, log, ev.group(1) if ev else None
