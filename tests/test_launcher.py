#!/usr/bin/env python3
"""Tests of the `lockgraph` launcher and of LOCKGRAPH_OPTIONS handling in
the preloaded library: help, bad input, every output file, exit codes, and
that the README's option table is the one `lockgraph --help=markdown` prints.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def run(cmd, env=None, timeout=30):
    e = dict(os.environ)
    e.pop("LOCKGRAPH_OPTIONS", None)
    e.pop("LD_PRELOAD", None)
    e.update(env or {})
    p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    for name in ("launcher", "lib", "inversion", "clean", "readme"):
        ap.add_argument("--" + name, required=True)
    a = ap.parse_args()
    lg = a.launcher

    rc, out, err = run([lg, "--help"])
    check(rc == 0, "--help exits 0")
    for opt in ("exitcode", "json", "sarif", "dot", "log", "suppressions", "starvation_ms"):
        check(opt in out, f"--help lists {opt}")
    check("66" in out, "--help shows defaults (exitcode 66)")

    rc, md, err = run([lg, "--help=markdown"])
    check(rc == 0 and md.lstrip().startswith("|"), "--help=markdown prints a Markdown table")
    with open(a.readme, encoding="utf-8") as f:
        readme = f.read()
    check(md.strip() in readme, "README's option table is exactly `lockgraph --help=markdown`")

    rc, out, err = run([lg])
    check(rc == 2 and "usage" in (out + err).lower(), "no program: usage, exit 2")

    rc, out, err = run([lg, "--bogus", "--", a.clean])
    check(rc == 2 and "bogus" in err, "unknown flag: named in the error, exit 2")

    rc, out, err = run([lg, "--exitcode=300", "--", a.clean])
    check(rc == 2 and "exitcode" in err, "out-of-range value: error, exit 2")

    rc, out, err = run([lg, "--", "/nonexistent/program"])
    check(rc == 127 and "nonexistent" in err, "missing program: exit 127 with its name")

    rc, out, err = run([a.clean], env={"LD_PRELOAD": a.lib, "LOCKGRAPH_OPTIONS": "jsn=x"})
    check(rc == 2 and "json" in err, "LOCKGRAPH_OPTIONS typo: 'did you mean' error, exit 2")

    rc, out, err = run([a.clean], env={"LD_PRELOAD": a.lib, "LOCKGRAPH_OPTIONS": "exitcode"})
    check(rc == 2 and "exitcode" in err, "LOCKGRAPH_OPTIONS without '=': error, exit 2")

    rc, out, err = run([a.clean], env={"LD_PRELOAD": a.lib, "LOCKGRAPH_OPTIONS": "help=1"})
    check(rc == 0 and "deadlock_ms" in out + err, "LOCKGRAPH_OPTIONS=help=1 lists the options")

    rc, out, err = run([lg, "--", a.clean])
    check(rc == 0 and "lockgraph:" not in err, "clean program: exit 0, no report")

    with tempfile.TemporaryDirectory() as tmp:
        js, sarif, dot, log = (os.path.join(tmp, n) for n in ("r.json", "r.sarif", "g.dot", "r.log"))
        rc, out, err = run([lg, "--json=" + js, "--sarif", sarif, "--dot=" + dot, "--log=" + log,
                            "--", a.inversion])
        check(rc == 66, "inversion: exit 66")
        lines = open(js).read().splitlines() if os.path.exists(js) else []
        recs = [json.loads(l) for l in lines if l.strip()]
        check(len(recs) == 1 and recs[0]["kind"] == "lock-order-inversion",
              "--json: one lock-order-inversion record")
        if recs:
            r = recs[0]
            check(len(r.get("threads", [])) == 2 and len(r.get("locks", [])) == 2,
                  "JSON report names both threads and both locks")
            frames = [f for row in r.get("rows", []) for k in ("held_at", "wanted_at")
                      for f in (row.get(k) or [])]
            check(any(f.get("file", "") and f["file"].endswith("inversion_two_locks.c")
                      and f.get("line") for f in frames),
                  "JSON stacks are symbolised to file:line")
        doc = json.load(open(sarif)) if os.path.exists(sarif) else {}
        check(doc.get("version") == "2.1.0" and doc["runs"][0]["tool"]["driver"]["name"] == "lockgraph"
              and doc["runs"][0]["results"][0]["ruleId"] == "lock-order-inversion",
              "--sarif: a SARIF 2.1.0 log with the result")
        text = open(dot).read() if os.path.exists(dot) else ""
        check(text.startswith("digraph") and "red" in text, "--dot: a graph with the cycle in red")
        logtext = open(log).read() if os.path.exists(log) else ""
        check("lock-order-inversion" in logtext and "lock-order-inversion" not in err,
              "--log: text report in the file, not on stderr")

    with tempfile.TemporaryDirectory() as tmp:
        supp = os.path.join(tmp, "lockgraph.supp")
        with open(supp, "w") as f:
            f.write("# a comment\n\nlock-order-inversion:inversion_two_locks.c\n")
        rc, out, err = run([lg, "--suppressions=" + supp, "--", a.inversion])
        check(rc == 0 and "lock-order-inversion" not in err,
              "suppressions: a matching '<kind>:<file>' line silences the report")
        with open(supp, "w") as f:
            f.write("self-deadlock:inversion_two_locks.c\n")
        rc, out, err = run([lg, "--suppressions=" + supp, "--", a.inversion])
        check(rc == 66, "suppressions: a line for another kind does not")
        with open(supp, "w") as f:
            f.write("no colon here\n")
        rc, out, err = run([lg, "--suppressions=" + supp, "--", a.inversion])
        check(rc == 2 and "lockgraph.supp:1" in err, "malformed suppressions: file:line error, exit 2")
        rc, out, err = run([lg, "--suppressions=" + os.path.join(tmp, "missing"), "--", a.clean])
        check(rc == 2 and "missing" in err, "missing suppressions file: error, exit 2")

    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all launcher checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
