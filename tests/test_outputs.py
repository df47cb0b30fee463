#!/usr/bin/env python3
"""Tests of where lockgraph's output goes and what happens when it cannot
get there: write failures said once on standard error, outputs that are
FIFOs never blocking the program, the DOT picture written when lockgraph
ends the program itself, suppressions files read whole and checked, SARIF
shaped for code scanning, C++ names demangled, and full stacks for held
locks (held_stacks=1).

Each check runs a probe program (tests/probes) with liblockgraph.so
preloaded. Every run has a timeout; a program that hangs is killed and the
check fails.

usage: test_outputs.py --lib liblockgraph.so --probes DIR [--only NAME]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

FAILURES = []


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)
        if detail:
            print("     " + detail.replace("\n", "\n     ")[-4000:])


class Run:
    def __init__(self, rc, out, err, seconds, timed_out):
        self.rc, self.out, self.err = rc, out, err
        self.seconds, self.timed_out = seconds, timed_out

    def __str__(self):
        return (f"exit status {self.rc}{' (killed: timed out)' if self.timed_out else ''}, "
                f"{self.seconds:.1f} s\n---- stderr ----\n{self.err}")


def run(a, program, options="", timeout=30, cwd=None, args=()):
    """Run a probe under lockgraph in its own process group; kill the group
    when it does not finish in time."""
    env = dict(os.environ, LD_PRELOAD=a.lib, LOCKGRAPH_OPTIONS=options)
    start = time.monotonic()
    p = subprocess.Popen([os.path.join(a.probes, program), *args], env=env, cwd=cwd,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    return Run(p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
               time.monotonic() - start, timed_out)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def json_lines(path):
    return [json.loads(l) for l in read(path).splitlines() if l.strip()]


# ---- suppressions -----------------------------------------------------------

def test_suppressions(a, tmp):
    supp = os.path.join(tmp, "typo.supp")
    with open(supp, "w") as f:
        f.write("# a typo in the kind\nlock-order-inverson:inversion_two_locks.c\n")
    r = run(a, "inversion_two_locks", "suppressions=" + supp)
    check(r.rc == 2 and "typo.supp:2" in r.err and "'lock-order-inverson'" in r.err
          and "lock-order-inversion" in r.err.replace("'lock-order-inverson'", "")
          and "stall" in r.err,
          "suppressions: a misspelled kind is an error naming it, its line and the known kinds",
          str(r))

    # A valid suppression after 64 KiB of comments still applies.
    big = os.path.join(tmp, "big.supp")
    with open(big, "w") as f:
        while f.tell() < 70000:
            f.write("# " + "x" * 76 + "\n")
        f.write("lock-order-inversion:inversion_two_locks.c\n")
    r = run(a, "inversion_two_locks", "suppressions=" + big)
    check(r.rc == 0 and "lock-order-inversion" not in r.err,
          "suppressions: a file over 64 KiB is read whole (its last line applies)", str(r))

    # A line that crosses the 64 KiB mark is one line, not two.
    cross = os.path.join(tmp, "cross.supp")
    line = "lock-order-inversion:inversion_two_locks.c\n"
    with open(cross, "w") as f:
        f.write("#" * (65536 - 10 - 1) + "\n")
        f.write(line)
    r = run(a, "inversion_two_locks", "suppressions=" + cross)
    check(r.rc == 0 and "cross.supp" not in r.err,
          "suppressions: a line across the 64 KiB mark is read as it is", str(r))


TESTS = {
    "suppressions": test_suppressions,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True)
    ap.add_argument("--probes", required=True, help="the directory of built probes")
    ap.add_argument("--only", action="append", help="run only these tests")
    a = ap.parse_args()
    for name, fn in TESTS.items():
        if a.only and name not in a.only:
            continue
        with tempfile.TemporaryDirectory(prefix="lockgraph-outputs-") as tmp:
            fn(a, tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all output checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
