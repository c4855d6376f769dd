#!/usr/bin/env python3
"""The misuse matrix of docs/reliability.md, measured: every misuse program case under every
allocator, one process per cell, printed as a markdown table.

usage: scripts/misuse_matrix.py [BUILD_DIR] [--runs N] [--logs DIR] [--only CASE,...]

BUILD_DIR (default build) must hold libhakmem.so and the gcc-built test programs
(tests/integration/misuse_plain, tests/shadow/shadow_misuse). The AddressSanitizer column
builds the same two sources with clang -fsanitize=address in a temporary directory. Each
cell is run N times (default 3): addresses differ from run to run, and with them what a
wild pointer hits, so a cell whose runs differ lists each outcome with its count. --logs
keeps the last run's stdout and stderr there (CASE.ALLOCATOR.out/.err).

Columns: hakmem plain (LD_PRELOAD), hakmem shadow (HAKMEM_SHADOW=1), glibc (no preload),
glibc's debug library (LD_PRELOAD=libc_malloc_debug.so.0 MALLOC_CHECK_=3), mimalloc
(LD_PRELOAD=libmimalloc.so.2, no MIMALLOC_* variable), ASan (default options but
detect_leaks=0: the programs keep blocks on purpose). A cell says what the process did:
whether the allocator said anything on stderr, whether the program got to its end, and
what its own checks found (a block handed out twice, the planted address returned, ...).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIMALLOC = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"
MALLOC_DEBUG = "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0"
TIMEOUT = 60

# (program, mode, seed, what the case does); program: plain = misuse_plain.c, prog =
# tests/shadow/misuse_prog.c. Huge cases are not misuse: the right answer is NULL, ENOMEM.
CASES = [
    ("plain", "huge", "1", "`malloc`/`calloc`/`valloc`/`pvalloc`/`aligned_alloc`/`memalign`/`posix_memalign` of sizes near `SIZE_MAX`"),
    ("plain", "huge-realloc", "1", "`realloc`/`reallocarray` of a block of each tier to sizes near `SIZE_MAX`"),
    ("plain", "huge-align", "1", "`memalign`/`aligned_alloc`/`posix_memalign` of 1 byte aligned to 2^47"),
    ("prog", "double", "", "double free (40 B block)"),
    ("prog", "remote-double", "", "double free after another thread freed the block"),
    ("prog", "realloc-freed", "", "`realloc` of a freed block (hakmem's own check: NULL, `EINVAL`)"),
    ("plain", "double-write", "1", "double free after the program overwrote the freed block's bytes 8-15"),
    ("plain", "double-write-between", "1", "the same, with another free in between"),
    ("plain", "double-write-deep", "1", "the same, after 600 more frees of the size"),
    ("prog", "interior", "", "`free(p + 16)` of a 64-byte block"),
    ("plain", "carved-interior", "1", "`free(p + 16)`, `free(p + 32)` of a 16-byte block (the next blocks, not handed out)"),
    ("prog", "foreign-stack", "", "`free` of a stack address"),
    ("prog", "foreign-static", "", "`free` of a static array"),
    ("plain", "sweep", "1", "`free` of every 8-byte address of the 2 MiB around a block"),
    ("prog", "use-after-free", "", "write 8 bytes at offset 32 of a freed 100-byte block"),
    ("prog", "use-after-free-16", "", "write 1 byte at offset 4 of a freed 100-byte block"),
    ("prog", "use-after-free-deep", "", "write 1 byte at offset 200 of a freed 240-byte block"),
    ("plain", "plant-global", "1", "one 8-byte write of a global's address over a freed block's first word (free-list poisoning)"),
    ("prog", "corrupt-freelist", "", "the same with a stack address (in shadow mode, over the free link 16 bytes before the block)"),
    ("plain", "wild-link", "1", "random words over freed blocks' first word, seed 1"),
    ("plain", "wild-link", "2", "the same, seed 2"),
    ("plain", "wild", "1", "random words over up to three freed blocks' first two words"),
    ("plain", "wild-remote", "1", "the same in blocks freed by another thread"),
    ("prog", "overflow", "", "write 1 byte past a 30-byte request"),
    ("prog", "overflow-aligned", "", "write 1 byte past `aligned_alloc(64, 60)`"),
    ("prog", "underflow", "", "write 1 byte before a 30-byte block"),
    ("prog", "underflow-16", "", "write the 16 bytes before a 100-byte block"),
    ("prog", "underflow-aligned", "", "write the 16th byte before `aligned_alloc(256, 200)`"),
    ("prog", "underflow-large", "", "write the 9th byte before a 1 MiB block"),
]


def columns(build, asan_dir):
    lib = os.path.join(build, "libhakmem.so")
    gcc = {"plain": os.path.join(build, "tests/integration/misuse_plain"),
           "prog": os.path.join(build, "tests/shadow/shadow_misuse")}
    asan = {k: os.path.join(asan_dir, k) for k in ("plain", "prog")}
    libc = {"HK_TEST_ALLOW_LIBC": "1"}
    return [
        ("hakmem plain", gcc, {"LD_PRELOAD": lib}),
        ("hakmem shadow", gcc, {"LD_PRELOAD": lib, "HAKMEM_SHADOW": "1"}),
        ("glibc " + glibc_version(), gcc, libc),
        ("glibc debug (`MALLOC_CHECK_=3`)", gcc,
         dict(libc, LD_PRELOAD=MALLOC_DEBUG, MALLOC_CHECK_="3")),
        ("mimalloc " + mimalloc_version(), gcc, dict(libc, LD_PRELOAD=MIMALLOC)),
        ("ASan (clang " + clang_version() + ")", asan,
         dict(libc, ASAN_OPTIONS="detect_leaks=0")),
    ]


def glibc_version():
    return os.confstr("CS_GNU_LIBC_VERSION").split()[-1]


def mimalloc_version():
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libmimalloc2.0"],
                         capture_output=True, text=True).stdout
    return out.split("+")[0] or "?"


def clang_version():
    out = subprocess.run(["clang", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\d+\.\d+\.\d+)", out)
    return m.group(1) if m else "?"


def build_asan(out_dir):
    common = ["clang", "-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O0",
              "-fno-builtin", "-I", os.path.join(ROOT, "include"), "-pthread"]
    for name, src, extra in (("plain", "tests/integration/misuse_plain.c",
                              ["-I", os.path.join(ROOT, "tests/integration")]),
                             ("prog", "tests/shadow/misuse_prog.c", [])):
        subprocess.run(common + extra + [os.path.join(ROOT, src), "-o",
                                         os.path.join(out_dir, name), "-ldl"], check=True)


# The program's own lines on stderr; every other line is the allocator's (or the
# sanitizer's).
OWN = ("FAIL: ", "PTR ", "misuse_plain:", "unknown mode")

FAILS = [
    (r"handed out twice|overlap", "a block handed out twice"),
    (r"planted address", "`malloc` returned the planted address"),
    (r"global was written", "a global was written"),
    (r"outside the SuperSlab was overwritten", "a live block was overwritten"),
    (r"returned NULL", "a later `malloc` failed"),
    (r"expected NULL", "a huge request returned a block"),
    (r"expected ENOMEM", "NULL, but `errno` is not `ENOMEM`"),
    (r"failed realloc", "a failed `realloc` damaged the block"),
    (r"realloc of a freed block returned \(nil\)", "NULL, but `errno` is not `EINVAL`"),
    (r"realloc of a freed block returned", "`realloc` returned a block"),
]


def fail_summary(fails):
    for pat, what in FAILS:
        if any(re.search(pat, f) for f in fails):
            return what
    return fails[0][6:60] if fails else ""


def cell(prog, rc, out, err, huge):
    lines = [l for l in err.splitlines() if l.strip()]
    said = [l for l in lines if not l.startswith(OWN)]
    fails = [l for l in lines if l.startswith("FAIL: ")]
    if any("[SS OOM]" in l for l in said):
        fails.append("FAIL: a false out-of-memory report")
    survived = rc == 0 and re.search(r"^survived$", out, re.M) is not None
    what = fail_summary(fails)
    if rc == -signal.SIGKILL or rc == 124:
        return "hang (killed after %d s)" % TIMEOUT
    if huge:
        if survived:
            return "NULL, `ENOMEM`" + (", a line on stderr" if said else "")
        if what and rc > 0:
            return what
    elif survived:
        return "reported, runs on" if said else "**not detected**"
    if rc < 0:
        sig = signal.Signals(-rc).name
        if said and sig == "SIGABRT":
            return "reported, aborts" + ("; " + what if what else "")
        return ("reported, then " if said else "") + "crash (%s)" % sig + \
            ("; " + what if what else "")
    if what:
        return ("reported, but " if said else "**not detected**: ") + what
    return ("reported, exits %d" if said else "exits %d, nothing said") % rc


def run(binary, mode, seed, env, logs, tag):
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("HAKMEM_", "MALLOC_", "MIMALLOC_", "ASAN_", "LD_PRELOAD"))}
    full.update(env)
    args = [binary, mode] + ([seed] if seed else [])
    try:
        p = subprocess.run(args, env=full, capture_output=True, timeout=TIMEOUT)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = -signal.SIGKILL, e.stdout or b"", e.stderr or b""
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    if logs:
        with open(os.path.join(logs, tag + ".out"), "w") as f:
            f.write(out)
        with open(os.path.join(logs, tag + ".err"), "w") as f:
            f.write(err)
    return rc, out, err


def main(argv):
    args = argv[1:]
    logs = only = None
    runs = 3
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    if "--logs" in args:
        i = args.index("--logs")
        logs = args[i + 1]
        del args[i:i + 2]
        os.makedirs(logs, exist_ok=True)
    if "--only" in args:
        i = args.index("--only")
        only = set(args[i + 1].split(","))
        del args[i:i + 2]
    build = os.path.abspath(args[0] if args else os.path.join(ROOT, "build"))
    for need in ("libhakmem.so", "tests/integration/misuse_plain", "tests/shadow/shadow_misuse"):
        if not os.path.exists(os.path.join(build, need)):
            sys.exit(f"misuse_matrix: {build}/{need} not found (build it with ninja first)")
    for need in (MIMALLOC, MALLOC_DEBUG):
        if not os.path.exists(need):
            sys.exit(f"misuse_matrix: {need} not found (apt-get install libmimalloc-dev libc6)")
    tmp = tempfile.mkdtemp(prefix="misuse-matrix.")
    try:
        build_asan(tmp)
        cols = columns(build, tmp)
        print("| misuse | " + " | ".join(c[0] for c in cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        for prog, mode, seed, what in CASES:
            if only and mode not in only:
                continue
            cells = []
            for name, bins, env in cols:
                tag = f"{mode}{'-' + seed if seed else ''}.{re.sub(r'[^a-z0-9]+', '-', name.lower())}"
                seen = {}
                for _ in range(runs):
                    rc, out, err = run(bins[prog], mode, seed, env, logs, tag)
                    c = cell(prog, rc, out, err, mode.startswith("huge"))
                    seen[c] = seen.get(c, 0) + 1
                cells.append(" or ".join(f"{c} ({n}/{runs})" if len(seen) > 1 else c
                                         for c, n in seen.items()))
            print(f"| {what} (`{mode}`) | " + " | ".join(cells) + " |", flush=True)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main(sys.argv)
