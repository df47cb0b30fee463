#!/usr/bin/env python3
"""Tests of the `lockgraph` launcher and of LOCKGRAPH_OPTIONS handling in
the preloaded library: help, bad input, every output file, exit codes, and
that the README's option table is the one `lockgraph --help=markdown` prints;
the closing line of a run (summary, --quiet), the warnings for programs
lockgraph cannot check (static, set-user-ID, built with a sanitizer), and
follow_children=0.
"""
import argparse
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

SUMMARY = re.compile(r"^==\d+== lockgraph: (\d+) reports?; \d+ locks?, \d+ threads? checked(?:; perturbed with perturb_seed=\d+)?$")

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
    for name in ("launcher", "lib", "inversion", "clean", "readme", "static", "tsan", "asan",
                 "no-locks"):
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

    rc, out, err = run([a.clean], env={"LD_PRELOAD": a.lib, "LOCKGRAPH_OPTIONS": "frobnicate=1"})
    check(rc == 2 and "frobnicate" in err and err.count("help=1") == 1,
          "LOCKGRAPH_OPTIONS unknown option: one error naming it, one pointer to help=1, exit 2")

    rc, out, err = run([a.clean], env={"LD_PRELOAD": a.lib, "LOCKGRAPH_OPTIONS": "exitcode"})
    check(rc == 2 and "exitcode" in err, "LOCKGRAPH_OPTIONS without '=': error, exit 2")

    rc, out, err = run([a.clean], env={"LD_PRELOAD": a.lib, "LOCKGRAPH_OPTIONS": "help=1"})
    check(rc == 0 and "deadlock_ms" in out + err, "LOCKGRAPH_OPTIONS=help=1 lists the options")

    rc, out, err = run([lg, "--", a.clean])
    lines = [l for l in err.splitlines() if "lockgraph" in l]
    m = SUMMARY.match(lines[-1]) if lines else None
    check(rc == 0 and len(lines) == 1 and m and m.group(1) == "0"
          and err.rstrip().endswith(lines[-1]),
          "clean program: exit 0, and one closing line 'lockgraph: 0 reports; N locks, "
          "M threads checked'")
    # A program that starts others: its own closing line, and one from each
    # child that ran threads, none from those that ran one thread.
    # (bash: dash leaves by _exit, with no closing line of its own.)
    rc, out, err = run([lg, "--", "/bin/bash", "-c", "/bin/true; /bin/true; %s; :" % a.clean])
    lines = [l for l in err.splitlines() if SUMMARY.match(l)]
    check(rc == 0 and len(lines) == 2 and " 1 thread " not in lines[0]
          and " 0 locks, 1 thread checked" in lines[-1],
          "children: a closing line from the threaded one and from the shell, "
          "none from the two single-threaded ones")
    rc, out, err = run([lg, "--perturb", "--perturb-seed=12345", "--", a.clean])
    lines = [l for l in err.splitlines() if "lockgraph" in l]
    check(rc == 0 and len(lines) == 1 and SUMMARY.match(lines[0])
          and lines[0].endswith("; perturbed with perturb_seed=12345"),
          "--perturb: the closing line names the seed that replays the run")
    # Threads and no pthread lock (a Rust program's locks are futexes of its
    # own): "0 locks checked" is not "all is well", and the launcher says so.
    rc, out, err = run([lg, "--", a.no_locks])
    lines = [l for l in err.splitlines() if "lockgraph" in l]
    check(rc == 0 and len(lines) == 2 and "took no lock lockgraph knows" in lines[0]
          and "Rust" in lines[0] and SUMMARY.match(lines[1]),
          "threads but no pthread lock: a note that other locks are not seen, then the "
          "closing line")
    rc, out, err = run([lg, "--", a.clean])
    check("took no lock lockgraph knows" not in err, "a program that takes locks: no such note")
    rc, out, err = run([lg, "--quiet", "--", a.clean])
    check(rc == 0 and "lockgraph" not in err, "--quiet: a clean run says nothing")
    rc, out, err = run([lg, "--summary=0", "--", a.clean])
    check(rc == 0 and "lockgraph" not in err, "--summary=0 wins over the launcher's default")
    rc, out, err = run([a.clean], env={"LD_PRELOAD": a.lib})
    check(rc == 0 and "lockgraph" not in err, "plain LD_PRELOAD: silent")
    rc, out, err = run([lg, "--", a.inversion])
    lines = [l for l in err.splitlines() if l.strip()]
    m = SUMMARY.match(lines[-1]) if lines else None
    check(rc == 66 and m and m.group(1) == "1", "a run with a report closes with '1 report; ...'")

    # A shell that blocks SIGCHLD while it edits its job table, with a job in
    # the background (so a child reaped in the wrong thread is waited for
    # for ever), running a script file: before lockgraph's own thread
    # blocked every signal, bash took SIGCHLD there and hung or crashed in
    # 10 of 11 runs by hand (0 of 4 with `bash -c`), though both runs of
    # this check passed once. clean_signal_blocked_everywhere is the
    # deterministic check; this one is the real program.
    e = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LOCKGRAPH_OPTIONS")}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "jobs.sh")
        with open(script, "w") as f:
            f.write("sleep 30 & bg=$!\nfor i in $(seq 150); do echo x | cat | grep -c x >/dev/null; "
                    "done\nkill $bg\necho done\n")
        results = []
        for _ in range(2):
            p = subprocess.Popen([lg, "--", "bash", script], env=e, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
            try:
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                out, err = p.communicate()
            results.append((p.returncode, out.strip()))
        check(all(r == (0, "done") for r in results),
              f"bash script with a background job and 150 pipelines: exit 0, 'done' (got {results})")

    # Programs lockgraph cannot check: a warning, and the program still runs.
    rc, out, err = run([lg, "--", a.static])
    check(rc == 0 and "hello:" in out and "statically linked" in err
          and "will not check" in err, "static program: a warning, then it runs")
    for name, prog in (("ThreadSanitizer", a.tsan), ("AddressSanitizer", a.asan)):
        rc, out, err = run([lg, "--", prog])
        check(rc == 0 and "hello:" in out and f"built with {name}" in err
              and "cannot share a process" in err, f"{name} program: the launcher warns")
        check("lockgraph is off" in err and "SUMMARY: lockgraph" not in err
              and not SUMMARY.search(err), f"{name} program: the library turns itself off")
        rc, out, err = run([prog], env={"LD_PRELOAD": a.lib})
        lines = [l for l in err.splitlines() if "lockgraph" in l]
        check(rc == 0 and "hello:" in out and len(lines) == 1 and "lockgraph is off" in lines[0],
              f"{name} program, plain LD_PRELOAD: one line, lockgraph off, no crash")
    rc, out, err = run([a.clean], env={"LD_PRELOAD": "libc.so.6 " + os.path.abspath(a.lib)})
    check(rc == 0 and "loaded before lockgraph" in err,
          "libc preloaded before lockgraph: no crash, and it says it sees nothing")
    rc, out, err = run([lg, "--", "sh", "-c", "exit 0"])
    check(rc == 0 and "warning" not in err, "a program found on PATH: no false warning")

    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        nosuid = bool(os.statvfs(tmp).f_flag & os.ST_NOSUID)
        own = os.path.join(tmp, "setuid-own")
        shutil.copy(a.clean, own)
        os.chmod(own, 0o4755)
        rc, out, err = run([lg, "--", own])
        check(rc == 0 and "warning" not in err and SUMMARY.search((err.splitlines() or [""])[-1]),
              "set-user-ID to oneself: no warning, and it is checked")
        if os.getuid() == 0 and not nosuid:
            other = os.path.join(tmp, "setuid-other")
            shutil.copy(a.clean, other)
            os.chown(other, 65534, -1)
            os.chmod(other, 0o4755)
            rc, out, err = run([lg, "--", other])
            check(rc == 0 and "set-user-ID" in err and "ignores LD_PRELOAD" in err,
                  "set-user-ID to another user: a warning")
            check(not any(SUMMARY.match(l) for l in err.splitlines()),
                  "set-user-ID to another user: indeed not checked (no closing line)")
        else:
            print("skip set-user-ID to another user (needs root and a suid file system)")

    # follow_children=0: only the top process is checked.
    shell = shutil.which("sh")
    rc, out, err = run([lg, "--", shell, "-c", a.inversion])
    check(rc == 66 and "lock-order-inversion" in err, "children are checked by default")
    rc, out, err = run([lg, "--follow-children=0", "--", shell, "-c", a.inversion])
    check(rc == 0 and "lock-order-inversion" not in err,
          "--follow-children=0: a child is not checked")
    show = 'echo "[$LD_PRELOAD][$LOCKGRAPH_OPTIONS][$LOCKGRAPH_TOP_PID]"'
    rc, out, err = run([lg, "--follow-children=0", "--", shell, "-c", show])
    check(rc == 0 and out.strip() == "[][][]",
          "--follow-children=0: children get neither LD_PRELOAD nor LOCKGRAPH_OPTIONS "
          "(nor LOCKGRAPH_TOP_PID)")
    other_lib = os.path.join(os.path.dirname(os.path.abspath(a.lib)), "liblockgraph.so")
    rc, out, err = run([lg, "--follow-children=0", "--", shell, "-c", show],
                       env={"LD_PRELOAD": "libc.so.6 " + os.path.abspath(a.lib) + ":libm.so.6"})
    check(rc == 0 and out.strip() == "[libc.so.6:libm.so.6][][]",
          "--follow-children=0: the rest of LD_PRELOAD is kept")
    rc, out, err = run([shell, "-c", show], env={"LD_PRELOAD": "liblockgraph.so.0",
                                                "LD_LIBRARY_PATH": os.path.dirname(other_lib),
                                                "LOCKGRAPH_OPTIONS": "follow_children=0"})
    check(rc == 0 and out.strip() == "[][][]",
          "follow_children=0: a bare library name in LD_PRELOAD is recognised too")

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
