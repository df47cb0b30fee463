#!/usr/bin/env python3
"""Run one lockgraph probe program with liblockgraph.so preloaded and check
that it reports exactly the expected kinds (from its JSON log), exits with
66 when it reported and 0 otherwise, and finishes in time.

A probe may be a C program or a Python script (PROGRAM is then the
interpreter and the script). With --parity the program is first run
without lockgraph, and what it prints on standard output under lockgraph
must be the same, line for line: the probe prints what the calls it makes
returned, so lockgraph must not change any of them.

--report: the first report must match REGEX, searched in its summary
followed by " | at " and the function where its first row (else its
stack) stands, e.g. "count 2, 1 waiting.* at meet$".

usage: probe.py --lib liblockgraph.so --expect KINDS [--options OPTS] [--parity]
                [--report REGEX] -- PROGRAM...
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True)
    ap.add_argument("--expect", required=True, help="comma-separated kinds, or none")
    ap.add_argument("--options", default="")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--report", default="")
    ap.add_argument("--parity", action="store_true",
                    help="standard output must match a run without lockgraph")
    ap.add_argument("program", nargs="+")
    a = ap.parse_args()
    expected = sorted({k for k in a.expect.split(",") if k and k != "none"})
    scripts = [arg for arg in a.program[1:] if arg.endswith(".py")]
    if scripts:  # an interpreter: name the script and its arguments
        name = " ".join([os.path.basename(scripts[0])]
                        + a.program[a.program.index(scripts[0]) + 1:])
    else:
        name = os.path.basename(a.program[0])
    if not os.access(a.program[0], os.X_OK):
        print(f"{name}: cannot run {a.program[0]}: not an executable file")
        return 1

    problems = []
    native = None
    if a.parity:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LOCKGRAPH_OPTIONS")}
        native, _, status, timed_out = run(a.program, env, a.timeout)
        if timed_out or status != 0:
            problems.append(f"the run without lockgraph {'did not finish' if timed_out else f'exited {status}'}")

    with tempfile.TemporaryDirectory(prefix="lockgraph-probe-") as tmp:
        log = os.path.join(tmp, "reports.json")
        env = dict(os.environ, LD_PRELOAD=a.lib,
                   LOCKGRAPH_OPTIONS=":".join(o for o in ("exitcode=66", "json=" + log, a.options) if o))
        out, err, returncode, timed_out = run(a.program, env, a.timeout)
        kinds, first = [], None
        if os.path.exists(log):
            with open(log, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        report = json.loads(line)
                        kinds.append(report["kind"])
                        first = first or report
    got = sorted(set(kinds))
    want_status = 66 if expected else 0
    if timed_out:
        problems.append(f"did not finish within {a.timeout:g} s (killed)")
    if got != expected:
        problems.append(f"reported {got or 'nothing'}, expected {expected or 'nothing'}")
    if not timed_out and returncode != want_status:
        problems.append(f"exit status {returncode}, expected {want_status}")
    if a.report and first:
        rows = first.get("rows") or [{}]
        frames = rows[0].get("wanted_at") or rows[0].get("held_at") or first.get("stack") or [{}]
        said = f"{first.get('summary', '')} | at {frames[0].get('function')}"
        if not re.search(a.report, said):
            problems.append(f"first report {said!r} does not match {a.report!r}")
    if native is not None and native != out:
        for i, (x, y) in enumerate(zip(native.splitlines() + [b"<end>"], out.splitlines() + [b"<end>"])):
            if x != y:
                problems.append(f"standard output differs from the run without lockgraph at line "
                                f"{i + 1}: {x.decode(errors='replace')!r} natively, "
                                f"{y.decode(errors='replace')!r} under lockgraph")
                break
    print(f"{name}: reported {', '.join(got) or 'nothing'} ({len(kinds)} report(s)), "
          f"exit status {returncode}{', output as without lockgraph' if a.parity and native == out else ''}: "
          f"{'as expected' if not problems else 'NOT AS EXPECTED'}")
    for p in problems:
        print("  - " + p)
    if problems:
        print("---- standard output ----")
        print(out.decode("utf-8", "replace")[-6000:])
        print("---- standard error ----")
        print(err.decode("utf-8", "replace")[-12000:])
    return 1 if problems else 0


def run(program, env, timeout):
    """Run program in its own session; (stdout, stderr, status, timed out). A
    program that does not finish in time is killed with its whole group."""
    proc = subprocess.Popen(program, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return out, err, proc.returncode, False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return out, err, proc.returncode, True


if __name__ == "__main__":
    sys.exit(main())
