#!/usr/bin/env python3
"""Run one scenario program under one detector and judge what it reported.

This is the body of every scenario test that ctest runs (one test per
scenario x variant x detector) and of `racebed run`. It

  1. starts the program under the detector with the options kept in
     detectors/<tool>/options, with a hard time bound (the whole process
     group is killed when it runs out: a test can fail, never hang);
  2. turns the detector's output into a set of report kinds with the rules in
     detectors/<tool>/patterns (lockgraph's kinds come from its JSON log);
  3. compares that set with the expectation recorded in scenarios/CMakeLists.txt
     and checks the program's own outcome line (SYMPTOM / OK);
  4. writes <results>/<scenario>.<variant>.<detector>.json (read by the matrix)
     and .log (the detector's whole output).

Exit status: 0 when the observation matches the expectation, 1 when it does
not, 2 on bad arguments.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DETECTORS = ("native", "tsan", "helgrind", "drd", "lockgraph", "asan")
# Reports after which the detector itself ends the program (lockgraph stops a
# hang instead of letting it happen), so no outcome line can be printed.
FATAL_KINDS = {"self-deadlock", "deadlock", "stall"}
# Detectors whose every report ends the program: the asan tree is built with
# -fno-sanitize-recover=all and runs with halt_on_error=1.
HALTING_DETECTORS = {"asan"}


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]


def load_rules(detector):
    rules = []
    for line in read_lines(os.path.join(ROOT, "detectors", detector, "patterns")):
        kind, _, regex = line.partition("\t")
        rules.append((kind, re.compile(regex)))
    return rules


def detector_options(detector, sep=" "):
    path = os.path.join(ROOT, "detectors", detector, "options")
    return sep.join(read_lines(path)) if os.path.exists(path) else ""


def command_for(args, json_log, sarif_log=None, meet_stats=None):
    """The command line and environment that run the program under the detector."""
    env = dict(os.environ)
    env.pop("RB_MEET_STATS_DIR", None)
    if meet_stats:
        env["RB_MEET_STATS"] = meet_stats  # scenarios/rb.h: the meeting points' margin
    prog = [args.program] + args.args
    d = args.detector
    if d in ("helgrind", "drd"):
        opts = detector_options(d).split()
        supp = os.path.join(ROOT, "detectors", d, "racebed.supp")
        if os.path.exists(supp):
            opts.append("--suppressions=" + supp)
        return ["valgrind", "--tool=" + d] + opts + prog, env
    if d == "tsan":
        env["TSAN_OPTIONS"] = detector_options(d, ":")
    elif d == "asan":
        env["ASAN_OPTIONS"] = detector_options(d, ":")
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=66"
    elif d == "lockgraph":
        if not args.lockgraph_lib:
            sys.exit("judge: --lockgraph-lib is required for the lockgraph detector")
        env["LD_PRELOAD"] = args.lockgraph_lib
        extra = detector_options(d, ":")
        env["LOCKGRAPH_OPTIONS"] = ":".join(
            o for o in ("exitcode=66", "json=" + json_log,
                        "sarif=" + sarif_log if sarif_log else "", extra) if o)
    return prog, env


def run(cmd, env, timeout, echo):
    """Run cmd in its own process group; return (status, output, timed_out, secs).

    status is the exit status, or -N when killed by signal N."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    chunks = []
    timed_out = False
    try:
        if echo:
            # Stream for `racebed run`; the deadline is enforced by a timer.
            import threading
            timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
            timer.daemon = True  # never keeps the judge alive after Ctrl-C
            timer.start()
            for raw in proc.stdout:
                chunks.append(raw)
                sys.stdout.write(raw.decode("utf-8", "replace"))
                sys.stdout.flush()
            proc.wait()
            timer.cancel()
            timed_out = time.monotonic() - start >= timeout
        else:
            out, _ = proc.communicate(timeout=timeout)
            chunks.append(out)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        chunks.append(out)
    except BaseException:
        # Ctrl-C (a --hang demonstration) or any failure here: the program
        # runs in its own process group, so take it down with us.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        raise
    output = b"".join(chunks).decode("utf-8", "replace")
    return proc.returncode, output, timed_out, time.monotonic() - start


def summary_count(detector, output):
    """How many distinct reports the tool itself says it printed, or None."""
    if detector in ("helgrind", "drd"):
        m = re.findall(r"ERROR SUMMARY: \d+ errors from (\d+) contexts", output)
        return int(m[-1]) if m else None
    if detector == "tsan":
        m = re.findall(r"ThreadSanitizer: reported (\d+) warnings", output)
        return int(m[-1]) if m else 0
    if detector == "asan":
        # One SUMMARY line per ASan or UBSan report.
        return len(re.findall(r"^SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer): ",
                              output, re.M))
    return None


def classify(detector, output, json_log):
    """The list of report kinds in the detector's output, in order."""
    if detector == "native":
        return []
    if detector == "lockgraph":
        kinds = []
        if os.path.exists(json_log):
            with open(json_log, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        try:
                            kinds.append(json.loads(line)["kind"])
                        except (ValueError, KeyError):
                            kinds.append("unrecognised")
        if re.search(r"^lockgraph: (internal error|fatal)", output, re.M):
            kinds.append("crash")
        return kinds
    rules = load_rules(detector)
    kinds = []
    for line in output.splitlines():
        for kind, regex in rules:
            if regex.search(line):
                kinds.append(kind)
                break
    counted = summary_count(detector, output)
    named = sum(1 for k in kinds if k != "crash")
    if counted is not None and counted > named:
        kinds += ["unrecognised"] * (counted - named)
    return kinds


def parse_kinds(text):
    return sorted({k for k in text.split(",") if k and k != "none"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--class", dest="klass", default="")
    ap.add_argument("--kind", default="", help="the report kind that counts as detecting the bug")
    ap.add_argument("--variant", required=True, help="buggy, fixed or fixed.<name>")
    ap.add_argument("--detector", required=True, choices=DETECTORS)
    ap.add_argument("--expect", default="", help="comma-separated kinds the detector must report (exactly)")
    ap.add_argument("--reason", default="", help="why the expectation is what it is")
    ap.add_argument("--program", required=True)
    ap.add_argument("--results", help="directory for the .json record and .log")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--lockgraph-lib")
    ap.add_argument("--show", action="store_true", help="stream the output (racebed run)")
    ap.add_argument("--no-verdict", action="store_true",
                    help="a demonstration (--hang): show what happens, judge nothing")
    ap.add_argument("args", nargs="*", help="arguments for the program (after --)")
    args = ap.parse_args()

    if not os.access(args.program, os.X_OK):
        sys.exit(f"judge: {args.program}: not an executable (build first)")
    buggy = args.variant == "buggy"
    expected = parse_kinds(args.expect)

    fd, json_log = tempfile.mkstemp(prefix="racebed-lockgraph-", suffix=".json")
    os.close(fd)
    os.unlink(json_log)
    name = f"{args.scenario}.{args.variant}.{args.detector}"
    # lockgraph's SARIF log of this cell, for code scanning (ci/reports.py
    # merges every cell's), and the meeting points' timings when asked for.
    sarif_log = meet_stats = None
    if args.results:
        os.makedirs(args.results, exist_ok=True)
        if args.detector == "lockgraph":
            sarif_log = os.path.join(args.results, name + ".sarif")
        if os.environ.get("RB_MEET_STATS_DIR"):
            meet_stats = os.path.join(os.environ["RB_MEET_STATS_DIR"], name + ".txt")
        for old_file in (sarif_log, meet_stats):
            if old_file and os.path.exists(old_file):
                os.unlink(old_file)
    try:
        cmd, env = command_for(args, json_log, sarif_log, meet_stats)
        status, output, timed_out, secs = run(cmd, env, args.timeout, args.show)
        kinds = classify(args.detector, output, json_log)
    finally:
        if os.path.exists(json_log):
            os.unlink(json_log)
    observed = sorted(set(kinds))
    if args.no_verdict:
        print(f"{args.scenario}.{args.variant}.{args.detector}: reported "
              f"{', '.join(observed) or 'nothing'}, exit status {status}, {secs:.1f} s "
              "(a demonstration run: no expectation applies)")
        return 0

    prefix = re.escape(os.path.basename(args.program))
    outcome = re.search(rf"^{prefix}: (SYMPTOM|OK): (.*)$", output, re.M)
    outcome_tag = outcome.group(1) if outcome else None

    problems = []
    if timed_out:
        problems.append(f"the run did not finish within {args.timeout:g} s and was killed")
    if observed != expected:
        gained = sorted(set(observed) - set(expected))
        lost = sorted(set(expected) - set(observed))
        if gained:
            problems.append(f"{args.detector} now reports {', '.join(gained)}, "
                            "which the expectation does not record")
        if lost:
            problems.append(f"{args.detector} no longer reports {', '.join(lost)}")
        problems.append("if this change is real, update the expectation in "
                        "scenarios/CMakeLists.txt and say why")
    ended_by_detector = bool(FATAL_KINDS & set(observed)) or (
        args.detector in HALTING_DETECTORS and bool(observed))
    want = "SYMPTOM" if buggy else "OK"
    if outcome_tag != want and not ended_by_detector and not timed_out:
        problems.append(f"the program did not print its {want} line "
                        f"(exit status {status})")
    if not buggy and status != 0 and not expected and not timed_out:
        problems.append(f"the fixed program exited with status {status}")

    if args.detector == "native":
        if buggy:
            cell = "symptom" if outcome_tag == "SYMPTOM" else "no-symptom"
        else:
            cell = "ok" if not problems else "failed"
    elif buggy:
        cell = "detected" if args.kind in observed else "missed"
    else:
        cell = "false-positive" if observed else "clean"
    if args.detector == "native":
        want_cell = "symptom" if buggy else "ok"
    elif buggy:
        want_cell = "detected" if args.kind in expected else "missed"
    else:
        want_cell = "false-positive" if expected else "clean"
    verdict = (f"expected {want_cell} (reports: {', '.join(expected) or 'nothing'}), "
               f"got {cell} (reports: {', '.join(observed) or 'nothing'})")
    if problems:
        verdict += ": " + problems[0]
    record = {
        "scenario": args.scenario, "class": args.klass, "kind": args.kind,
        "variant": args.variant, "detector": args.detector,
        "outcome": cell, "reported": observed, "expected": expected,
        "reason": args.reason, "pass": not problems, "problems": problems,
        "exit_status": status, "timed_out": timed_out,
        "seconds": round(secs, 2),
        "observed_line": outcome.group(0) if outcome else None,
        "verdict": verdict,
    }
    if args.results:
        with open(os.path.join(args.results, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        with open(os.path.join(args.results, name + ".log"), "w", encoding="utf-8") as f:
            f.write("$ " + " ".join(cmd) + "\n" + output)

    said = "as expected" if not problems else "NOT AS EXPECTED"
    print(f"{name}: {cell} (reported: {', '.join(observed) or 'nothing'}; "
          f"expected: {', '.join(expected) or 'nothing'}) - {said}, {secs:.1f} s")
    if outcome:
        print("  program said: " + outcome.group(0))
    if args.reason:
        print("  recorded reason: " + args.reason)
    for p in problems:
        print("  - " + p)
    if problems and not args.show:
        tail = output.splitlines()[-150:]
        print("---- detector output (last %d lines) ----" % len(tail))
        print("\n".join(tail))
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nracebed: interrupted; the program was stopped", file=sys.stderr)
        sys.exit(130)
