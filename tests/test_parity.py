#!/usr/bin/env python3
"""Same answers as native: run tests/parity/parity.c (every interposed call,
valid and invalid arguments, free and held objects of every kind) natively
and with liblockgraph.so preloaded, and require identical output and exit
status. lockgraph's reports go to a file (the calls that misuse a lock are
reported, as they should be) and exitcode=0 keeps the program's status, so
only what the program itself saw is compared.

usage: test_parity.py --lib liblockgraph.so --program parity
"""
import argparse
import difflib
import os
import signal
import subprocess
import sys
import tempfile

TIMEOUT = 120  # s; a run takes about 4 s (its timed waits) on a quiet machine


def run(cmd, env):
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return f"killed after {TIMEOUT} s", out, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--program", required=True)
    a = ap.parse_args()
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("LOCKGRAPH_OPTIONS", None)
    rc_n, out_n, err_n = run([a.program], env)
    if rc_n != 0 or not out_n.endswith("done\n"):
        print(f"the native run itself failed (status {rc_n}):\n{err_n}")
        return 1
    with tempfile.TemporaryDirectory(prefix="lg-parity-") as tmp:
        log = os.path.join(tmp, "lockgraph.log")
        lenv = dict(env, LD_PRELOAD=os.path.abspath(a.lib),
                    LOCKGRAPH_OPTIONS=f"exitcode=0:log={log}:verbosity=1")
        rc_l, out_l, err_l = run([a.program], lenv)
        logtext = open(log).read() if os.path.exists(log) else ""
    problems = []
    if "lockgraph: checking pid" not in logtext:
        problems.append("lockgraph was not active in the program")
    if rc_l != rc_n:
        problems.append(f"exit status {rc_l} under lockgraph, {rc_n} natively")
    if out_l != out_n:
        diff = difflib.unified_diff(out_n.splitlines(), out_l.splitlines(), "native",
                                    "lockgraph", lineterm="", n=0)
        problems.append("the calls answered differently:\n" + "\n".join(diff))
    ncases = out_n.count("\n")
    if problems:
        for p in problems:
            print("FAIL " + p)
        print("---- program's stderr under lockgraph ----\n" + err_l[-3000:])
        print("---- lockgraph's log (tail) ----\n" + logtext[-3000:])
        return 1
    print(f"ok   {ncases} lines of results, identical natively and under lockgraph")
    return 0


if __name__ == "__main__":
    sys.exit(main())
