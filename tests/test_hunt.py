#!/usr/bin/env python3
"""Tests of `lockgraph --hunt`: what counts as a failure, where it stops, the
replay command it prints, the directory it keeps, and its usage errors; and
of the perturbation seed in what lockgraph prints (start, reports, exit).

Every program here decides by itself whether it fails (an exit status, its
own random number, a lockgraph report), so no result depends on how the
scheduler ran it.

usage: test_hunt.py --launcher build/dev/bin/lockgraph --inversion PROBE
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

FAILURES = []


def check(cond, what, out=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)
        if out:
            print("---- output ----\n" + out[-4000:])


TMP = None  # every hunt's default directory goes here, never into /tmp


def hunt(launcher, args, env=None, timeout=120):
    e = dict(os.environ, TMPDIR=TMP)
    e.pop("LOCKGRAPH_OPTIONS", None)
    e.update(env or {})
    p = subprocess.run([launcher] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=e, timeout=timeout)
    return p.returncode, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--launcher", required=True)
    ap.add_argument("--inversion", required=True, help="a probe that draws one report")
    a = ap.parse_args()
    lg = a.launcher
    global TMP
    with tempfile.TemporaryDirectory(prefix="lockgraph-hunt-test-") as tmp:
        TMP = tmp
        d = os.path.join(tmp, "kept")

        # A program that never fails: every run, no directory left behind.
        rc, out = hunt(lg, ["--hunt=4", "--", "true"])
        check(rc == 0 and "0 failures in 4 runs (0%)" in out, "true: 0 failures in 4 runs", out)
        check(not [n for n in os.listdir(tmp) if n.startswith("lockgraph-hunt-")],
              "true: the empty directory is removed", out)

        # A program that always fails: stops at run 1, keeps its output,
        # prints a replay command that fails the same way with that seed.
        rc, out = hunt(lg, ["--hunt=50", "--hunt-dir", d, "--", "sh", "-c", "echo lost; exit 1"])
        check(rc == 1 and "1 failure in 1 run (100%); stopped at the first" in out,
              "exit 1: stops at the first run", out)
        m = re.search(r"run 1 of 50, seed (\d+): FAILED: exit status 1", out)
        check(m is not None, "exit 1: says the seed and why", out)
        logs = sorted(os.listdir(d)) if os.path.isdir(d) else []
        check(logs == ["run-1.log"], "exit 1: keeps the failing run's output, only it", str(logs))
        if logs:
            with open(os.path.join(d, "run-1.log")) as f:
                check("lost" in f.read(), "exit 1: the kept output is the run's own")
        rm = re.search(r"replay: (.*)", out)
        check(rm is not None, "exit 1: prints a replay command", out)
        if m and rm:
            words = shlex.split(rm.group(1))
            check(words[0] == lg and "--perturb" in words
                  and f"--perturb-seed={m.group(1)}" in words
                  and words[words.index("--") + 1:] == ["sh", "-c", "echo lost; exit 1"]
                  and not any(w.startswith("--hunt") for w in words),
                  "exit 1: the replay is the command with the seed instead of the hunt", out)
            e = dict(os.environ, LOCKGRAPH_OPTIONS="verbosity=1")
            p = subprocess.run(words, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=e, timeout=60)
            check(p.returncode == 1 and f"seed {m.group(1)}" in p.stdout,
                  "exit 1: the replay runs with that seed and fails again", p.stdout)

        # The normal status is what the user says.
        rc, out = hunt(lg, ["--hunt=3", "--hunt-ok-status=3", "--", "sh", "-c", "exit 3"])
        check(rc == 0 and "0 failures in 3 runs" in out, "--hunt-ok-status=3: exit 3 is fine", out)
        rc, out = hunt(lg, ["--hunt=3", "--", "sh", "-c", "exit 3"])
        check(rc == 1 and "FAILED: exit status 3" in out, "exit 3 fails by default", out)

        # A lockgraph report is a failure even when it does not change the
        # exit status (exitcode=0 keeps the program's own).
        rc, out = hunt(lg, ["--hunt=3", "--exitcode=0", "--hunt-dir", os.path.join(tmp, "r"),
                            "--", a.inversion])
        check(rc == 1 and re.search(r"FAILED: 1 lockgraph report, exit status 0", out) is not None,
              "a report fails the run whatever the exit status", out)

        # A program that fails one time in three by its own dice: --hunt-all
        # does every run and counts them (P(no failure in 60) = (2/3)^60 < 1e-10).
        dice = "exit $(( $(od -An -N1 -tu1 /dev/urandom) % 3 == 0 ))"
        rc, out = hunt(lg, ["--hunt=60", "--hunt-all", "--hunt-dir", os.path.join(tmp, "dice"),
                            "--", "sh", "-c", dice], timeout=300)
        m = re.search(r"(\d+) failures? in 60 runs \((\d+)%\)", out)
        check(rc == 1 and m is not None and 0 < int(m.group(1)) < 60,
              "--hunt-all: does all 60 runs and gives the rate", out)
        if m:
            kept = os.listdir(os.path.join(tmp, "dice"))
            check(len([k for k in kept if k.endswith(".log")]) == int(m.group(1)),
                  "--hunt-all: keeps one log per failing run", str(kept))

        # A run longer than the timeout is killed and fails.
        rc, out = hunt(lg, ["--hunt=2", "--hunt-timeout=1", "--hunt-dir", os.path.join(tmp, "t"),
                            "--", "sleep", "30"])
        check(rc == 1 and "still running after the timeout (killed)" in out,
              "--hunt-timeout: a long run is killed and fails", out)

        # Usage errors are errors.
        for bad in (["--hunt=0", "--", "true"], ["--hunt=lots", "--", "true"],
                    ["--hunt=3", "--perturb-seed=7", "--", "true"],
                    ["--hunt-all=1", "--hunt=2", "--", "true"], ["--hunt-dry", "--", "true"]):
            rc, out = hunt(lg, bad)
            check(rc == 2 and "lockgraph:" in out, "usage error: " + " ".join(bad), out)
        # The seed: printed at start and at exit with verbosity=1, and in
        # every report, text and JSON.
        log = os.path.join(tmp, "seed.json")
        rc, out = hunt(lg, ["--perturb", "--perturb-seed=424242", "--verbosity=1",
                            f"--json={log}", "--", a.inversion])
        check("perturbation on: seed 424242" in out, "verbosity=1 prints the seed at start", out)
        check(re.search(r"perturbation: seed 424242;", out) is not None,
              "verbosity=1 prints the seed in the exit summary", out)
        check("perturb_seed: 424242" in out, "the text report carries the seed", out)
        if os.path.exists(log):
            with open(log) as f:
                rep = json.loads(f.readline())
            check(rep.get("fields", {}).get("perturb_seed") == 424242,
                  "the JSON report carries the seed", json.dumps(rep)[:2000])
        else:
            check(False, "the JSON report carries the seed (no JSON log)", out)
        rc, out = hunt(lg, ["--verbosity=1", "--", a.inversion])
        check("perturbation" not in out and "perturb_seed" not in out,
              "without --perturb nothing is said of it", out)

        rc, out = hunt(lg, ["--help"])
        check(rc == 0 and "--hunt=N" in out and "--hunt-ok-status" in out, "--help lists --hunt", out)

    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
