#!/usr/bin/env python3
"""The documented options against the table that drives the parser (src/hk_options.c).

usage: check_options_doc.py OPTIONS_TABLE_PROGRAM SOURCE_ROOT

- README.md: the Environment table lists exactly the table's options, in its order.
- docs/reliability.md: the Options table has one row per option with the same default and
  the same accepted values, word for word.
- docs/diagnostics.md, docs/leaks.md: every option named in the first column of a table
  exists; where a table has a default column (leaks.md), the default agrees.
"""
import re
import subprocess
import sys

prog, root = sys.argv[1], sys.argv[2]
table = {}
order = []
for line in subprocess.run([prog], check=True, capture_output=True, text=True).stdout.splitlines():
    name, default, accepts, doc = line.split("\t")
    table[name] = (default, accepts, doc)
    order.append(name)

errors = []


def rows(path):
    """(option name, cells, header cells) of every markdown table row naming an option in
    its first cell."""
    out = []
    header = []
    for line in open(f"{root}/{path}", encoding="utf-8"):
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if not header:
            header = cells
        m = re.match(r"`(HAKMEM_[A-Z0-9_]+)", cells[0])
        if m:
            out.append((m.group(1), cells, header))
    return out


readme = [n for n, _, _ in rows("README.md")]
if readme != order:
    errors.append(f"README.md lists {readme}, the table has {order}")

seen = []
for name, cells, header in rows("docs/reliability.md"):
    if header[:3] != ["variable", "default", "accepts"]:
        continue   # the table of files, which names options too
    seen.append(name)
    if name not in table:
        errors.append(f"docs/reliability.md: {name} is not an option")
        continue
    default, accepts, _ = table[name]
    got = [c.strip("`").replace("\\|", "|") for c in cells[1:3]]
    if got != [default, accepts]:
        errors.append(f"docs/reliability.md: {name} says {got}, the table {[default, accepts]}")
if seen != order:
    errors.append(f"docs/reliability.md lists {seen}, the table has {order}")

for path in ("docs/diagnostics.md", "docs/leaks.md"):
    for name, cells, header in rows(path):
        if name not in table:
            errors.append(f"{path}: {name} is not an option")
        elif header[1:2] == ["default"] and cells[1] not in (table[name][0], "off", "none"):
            errors.append(f"{path}: {name} default {cells[1]}, the table {table[name][0]}")

for e in errors:
    print("FAIL:", e)
print(f"options doc check: {len(errors)} problems, {len(order)} options")
sys.exit(1 if errors else 0)
