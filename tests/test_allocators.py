#!/usr/bin/env python3
"""lockgraph with a preloaded allocator (jemalloc, tcmalloc), in both preload
orders: /bin/echo and a multithreaded malloc-heavy program must run to the
end, say what they say natively, draw no report, and show that lockgraph was
active (verbosity=1 makes it say "checking pid" at start).

Such allocators call pthread functions from inside malloc, before lockgraph
has found the real ones; lockgraph used to hang there for ever.

usage: test_allocators.py --lib liblockgraph.so --program PROBE
           [--allocator NAME=PATH ...]
Exits 77 (skipped) when no allocator is installed (ci/deps installs them).
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile

FAILURES = []
TIMEOUT = 30  # s; one run takes well under a second on a loaded 2-core machine


def run(cmd, preload, json_path):
    env = dict(os.environ, LD_PRELOAD=preload,
               LOCKGRAPH_OPTIONS="verbosity=1:exitcode=66:json=" + json_path)
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
        return p.returncode, out, err, False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return p.returncode, out, err, True


def check(what, cmd, preload, expect_out):
    with tempfile.TemporaryDirectory(prefix="lg-alloc-") as tmp:
        js = os.path.join(tmp, "r.json")
        rc, out, err, hung = run(cmd, preload, js)
        reports = open(js).read().strip() if os.path.exists(js) else ""
    problems = []
    if hung:
        problems.append(f"hung: killed after {TIMEOUT} s")
    elif rc != 0:
        problems.append(f"exit status {rc}")
    if expect_out not in out:
        problems.append(f"output lacks {expect_out!r}")
    if reports:
        problems.append("lockgraph reported: " + reports[:2000])
    if "lockgraph: checking pid" not in err:
        problems.append("lockgraph did not say it was checking the process")
    print(("ok   " if not problems else "FAIL ") + what)
    for p in problems:
        print("     - " + p)
    if problems:
        print("     stderr: " + err[-3000:])
        FAILURES.append(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--allocator", action="append", default=[], help="NAME=PATH")
    a = ap.parse_args()
    allocators = []
    for spec in a.allocator:
        name, _, path = spec.partition("=")
        if path and os.path.exists(path):
            allocators.append((name, path))
        else:
            print(f"note: {name} is not installed ({path or 'not found'})")
    if not allocators:
        print("skipped: neither jemalloc nor tcmalloc is installed (ci/deps installs them)")
        return 77
    lib = os.path.abspath(a.lib)
    for name, path in allocators:
        for order in ((lib, path), (path, lib)):
            preload = ":".join(order)
            first = "lockgraph first" if order[0] == lib else f"{name} first"
            check(f"{name}, {first}: /bin/echo", ["/bin/echo", "hi"], preload, "hi")
            check(f"{name}, {first}: 8 threads allocating under locks", [a.program], preload,
                  "clean_malloc_threads: done")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all allocator checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
