#!/usr/bin/env python3
"""Run one lockgraph probe program with liblockgraph.so preloaded and check
that it reports exactly the expected kinds (from its JSON log), exits with
66 when it reported and 0 otherwise, and finishes in time.

usage: probe.py --lib liblockgraph.so --expect KINDS [--options OPTS]
                [--report REGEX] -- PROGRAM

--report: the first report must match REGEX, searched in its summary
followed by " | at " and the function where its first row (else its
stack) stands, e.g. "count 2, 1 waiting.* at meet$".
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
    ap.add_argument("program", nargs="+")
    a = ap.parse_args()
    expected = sorted({k for k in a.expect.split(",") if k and k != "none"})

    with tempfile.TemporaryDirectory(prefix="lockgraph-probe-") as tmp:
        log = os.path.join(tmp, "reports.json")
        env = dict(os.environ, LD_PRELOAD=a.lib,
                   LOCKGRAPH_OPTIONS=":".join(o for o in ("exitcode=66", "json=" + log, a.options) if o))
        proc = subprocess.Popen(a.program, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=a.timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            timed_out = True
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
    problems = []
    if timed_out:
        problems.append(f"did not finish within {a.timeout:g} s (killed)")
    if got != expected:
        problems.append(f"reported {got or 'nothing'}, expected {expected or 'nothing'}")
    if not timed_out and proc.returncode != want_status:
        problems.append(f"exit status {proc.returncode}, expected {want_status}")
    if a.report and first:
        rows = first.get("rows") or [{}]
        frames = rows[0].get("wanted_at") or rows[0].get("held_at") or first.get("stack") or [{}]
        said = f"{first.get('summary', '')} | at {frames[0].get('function')}"
        if not re.search(a.report, said):
            problems.append(f"first report {said!r} does not match {a.report!r}")
    name = os.path.basename(a.program[0])
    print(f"{name}: reported {', '.join(got) or 'nothing'} ({len(kinds)} report(s)), "
          f"exit status {proc.returncode}: {'as expected' if not problems else 'NOT AS EXPECTED'}")
    for p in problems:
        print("  - " + p)
    if problems:
        print("---- output ----")
        print(out.decode("utf-8", "replace")[-12000:])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
