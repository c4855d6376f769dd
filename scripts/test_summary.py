#!/usr/bin/env python3
"""Prints one closing line for all build directories' test logs:
'tests: N passed, N failed, N skipped' (exit 1 if any failed)."""
import json
import sys
from pathlib import Path

counts = {"passed": 0, "failed": 0, "skipped": 0}
for build in sys.argv[1:]:
    log = Path(build) / "meson-logs" / "testlog.json"
    if not log.exists():
        continue
    for line in log.read_text().splitlines():
        result = json.loads(line).get("result", "")
        if result in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif result == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f"tests: {counts['passed']} passed, {counts['failed']} failed, "
      f"{counts['skipped']} skipped")
sys.exit(1 if counts["failed"] else 0)
