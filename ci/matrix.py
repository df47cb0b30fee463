#!/usr/bin/env python3
"""racebed's main job: run every scenario under every detector and print the
detection matrix.

It configures and builds the build trees (dev: native, Helgrind, DRD,
lockgraph; tsan: ThreadSanitizer; asan: AddressSanitizer where a scenario
records an ASan column), runs every scenario test with ctest (whose progress
lines show while the Valgrind runs take their time), then reads the records
that cmake/judge.py left in build/<tree>/results and prints

  * a row per scenario (the buggy program) and a row per fixed twin,
  * a column per detector, each cell `detected`, `missed` (a recorded blind
    spot), `FALSE POSITIVE` (a report on a fixed program) or `clean`,
  * per-detector totals.

The matrix is also written to build/matrix/matrix.md and matrix.json (one
record per scenario x variant x detector). The exit status is 1 when any cell
differs from its recorded expectation or did not run, 0 otherwise.

With --runs N the scenario tests run N times and the matrix must come out the
same every time (the stability check); every run's cells are compared.

Then the latent section (ci/latent.py) runs once, after any --stress hogs
have stopped: each scenario's latent mode natively and under lockgraph's
schedule perturbation, and its fixed twins under perturbation, against the
floors in scenarios/latent.json; a rate off its expectation fails the run
as a changed cell does. --no-latent skips it.
"""
import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREES = ("dev", "tsan", "asan")
COLUMNS = ("native", "tsan", "helgrind", "drd", "lockgraph", "asan")
HEADINGS = {"native": "program"}
SHOWN = {"detected": "detected", "missed": "missed", "clean": "clean",
         "false-positive": "FALSE POSITIVE", "symptom": "symptom",
         "no-symptom": "NO SYMPTOM", "ok": "ok", "failed": "FAILED"}


def terminal_width():
    """Columns of the terminal (COLUMNS wins); 80 when output is not a terminal."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def fmt_secs(s):
    s = max(0, int(round(s)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Status:
    """One line of progress for the whole run, never wider than the terminal.

    On a terminal it is redrawn in place; in a log (CI) it is printed as a
    line of its own when the phase changes and at most every PERIOD seconds,
    so a long run still shows that it is alive without flooding the log."""

    PERIOD = 30

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.tty = stream.isatty()
        self.width = terminal_width()
        self.shown = ""
        self.last_log = 0.0
        self.last_key = None

    def show(self, text, key=None):
        # Three columns spare: a Ctrl-C echoes "^C" after the line.
        text = text[:self.width - 3]
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self.shown)) + "\r" + text)
            self.stream.flush()
            self.shown = text
        elif key != self.last_key or time.monotonic() - self.last_log >= self.PERIOD:
            self.stream.write(text + "\n")
            self.stream.flush()
            self.last_log = time.monotonic()
        self.last_key = key

    def clear(self):
        if self.tty and self.shown:
            self.stream.write("\r" + " " * len(self.shown) + "\r")
            self.stream.flush()
        self.shown = ""

    def say(self, line):
        """A line of its own above the status line, wrapped to the width."""
        saved = self.shown
        self.clear()
        for l in textwrap.wrap(line, self.width - 1, subsequent_indent="    ",
                               break_on_hyphens=False) or [""]:
            self.stream.write(l + "\n")
        self.stream.flush()
        if saved:
            self.show(saved, self.last_key)


def build(trees, jobs, status):
    """Configure (once) and build each tree, with the build's percentage as
    progress; on failure print the build's output and exit."""
    for i, tree in enumerate(trees, 1):
        steps = []
        if not os.path.exists(os.path.join(ROOT, "build", tree, "CMakeCache.txt")):
            steps.append((["cmake", "--preset", tree], "configuring"))
        steps.append((["cmake", "--build", "--preset", tree, "-j", str(jobs)], "building"))
        for cmd, what in steps:
            t0 = time.monotonic()
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    start_new_session=True)
            RUNNING.add(proc)
            out = []
            pct = ""
            try:
                for line in proc.stdout:
                    out.append(line)
                    m = re.match(r"\[\s*(\d+)%\]", line)
                    if m:
                        pct = f" {m.group(1):>3}%"
                    status.show(f"[tree {i}/{len(trees)}] {what} build/{tree}{pct}  "
                                f"{fmt_secs(time.monotonic() - t0)}", key=(tree, what))
                rc = proc.wait()
            finally:
                RUNNING.discard(proc)
            if rc != 0:
                status.clear()
                print("".join(out)[-8000:])
                sys.exit(f"racebed: '{' '.join(cmd)}' failed (output above)")
    status.clear()


def manifest_of(tree):
    path = os.path.join(ROOT, "build", tree, "racebed-manifest.json")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# Seconds a cell takes when no earlier run says (a quiet 2-core machine,
# git 3ae9bb5): only the ETA and the scheduling order use them.
GUESS_SECS = {"native": 1.0, "tsan": 1.5, "asan": 1.0, "lockgraph": 1.5,
              "helgrind": 4.0, "drd": 4.0}


def scenario_tests(trees):
    """Every scenario test of every tree, as ctest would run it: the command,
    its directory and its TIMEOUT, read from `ctest --show-only=json-v1`."""
    tests = []
    for tree in trees:
        if not manifest_of(tree):
            continue  # e.g. asan: no scenario records an ASan column there
        p = subprocess.run(["ctest", "--test-dir", os.path.join("build", tree), "-L",
                            "^scenario$", "--show-only=json-v1"], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit(f"racebed: ctest cannot list the tests of build/{tree}: {p.stderr}")
        for t in json.loads(p.stdout).get("tests", []):
            props = {x["name"]: x["value"] for x in t.get("properties", [])}
            detector = t["name"].rsplit(".", 1)[1]
            rec = os.path.join(ROOT, "build", tree, "results", t["name"] + ".json")
            guess = GUESS_SECS.get(detector, 2.0)
            if os.path.exists(rec):
                try:
                    with open(rec, encoding="utf-8") as f:
                        guess = max(0.05, float(json.load(f)["seconds"]))
                except (ValueError, KeyError, OSError):
                    pass
            tests.append({"name": t["name"], "tree": tree, "command": t["command"],
                          "cwd": props.get("WORKING_DIRECTORY", ROOT),
                          "timeout": float(props.get("TIMEOUT", 600)), "guess": guess})
    return tests


RUNNING = set()  # child processes to stop on the way out


def stop_running():
    for p in list(RUNNING):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in list(RUNNING):
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    RUNNING.clear()


def run_scenarios(tests, jobs, status, run_no, runs, clock, meet_dir):
    """Run every scenario test, longest first, `jobs` at a time; each in its
    own process group, killed at its ctest TIMEOUT. Results land in
    build/<tree>/results. `clock` carries the ETA across runs."""
    for tree in {t["tree"] for t in tests}:
        shutil.rmtree(os.path.join(ROOT, "build", tree, "results"), ignore_errors=True)
        os.makedirs(os.path.join(ROOT, "build", tree, "results"))
    env = dict(os.environ)
    if meet_dir:
        env["RB_MEET_STATS_DIR"] = meet_dir
    queue = sorted(tests, key=lambda t: -t["guess"])
    running = {}  # proc -> (test, start, log file)
    failed = []
    total = len(tests)
    done = 0
    while queue or running:
        while queue and len(running) < jobs:
            t = queue.pop(0)
            log = open(os.path.join(ROOT, "build", t["tree"], "results",
                                    t["name"] + ".judge.txt"), "w", encoding="utf-8")
            proc = subprocess.Popen(t["command"], cwd=t["cwd"], env=env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            RUNNING.add(proc)
            running[proc] = (t, time.monotonic(), log)
        time.sleep(0.1)
        now = time.monotonic()
        for proc, (t, started, log) in list(running.items()):
            rc = proc.poll()
            if rc is None and now - started > t["timeout"]:
                os.killpg(proc.pid, signal.SIGKILL)
                rc = proc.wait()
                log.write(f"\nracebed: killed at the ctest TIMEOUT of {t['timeout']:g} s\n")
            if rc is None:
                continue
            log.close()
            RUNNING.discard(proc)
            del running[proc]
            done += 1
            clock["done"] += t["guess"]
            clock["elapsed_done"] = now - clock["start"]
            if rc != 0:
                failed.append(t["name"])
                status.say(f"run {run_no}: {t['name']}: NOT AS EXPECTED "
                           f"(build/{t['tree']}/results/{t['name']}.judge.txt)")
        left = clock["total"] - clock["done"] - sum(
            min(t["guess"], now - st) for t, st, _ in running.values())
        rate = clock["elapsed_done"] / clock["done"] if clock["done"] > 0 else 1.0 / jobs
        eta = f"ETA {fmt_secs(left * rate)}" if clock["done"] > 0 else "ETA ..."
        names = " ".join(t["name"] for t, _, _ in running.values())
        all_done = clock["cells_done"] + done
        status.show(f"[{all_done:>4}/{clock['cells']}] {100 * all_done // clock['cells']:>3}% "
                    f"run {run_no}/{runs}  {eta}  {fmt_secs(now - clock['start'])}  {names}",
                    key=("run", run_no))
    clock["cells_done"] += total
    status.clear()
    return failed


def load(trees):
    """Cells: the manifest of every tree joined with the judge's records."""
    cells = []
    for tree in trees:
        base = os.path.join(ROOT, "build", tree)
        for entry in manifest_of(tree):
            rec_path = os.path.join(base, "results", entry["test"] + ".json")
            cell = dict(entry, tree=tree)
            if os.path.exists(rec_path):
                with open(rec_path, encoding="utf-8") as f2:
                    rec = json.load(f2)
                cell.update(outcome=rec["outcome"], reported=rec["reported"],
                            match=rec["pass"], problems=rec["problems"],
                            seconds=rec["seconds"], observed_line=rec.get("observed_line"))
            else:
                cell.update(outcome="not-run", reported=[], match=False,
                            problems=["no result: the test did not run"])
            cell["expected_outcome"] = expected_outcome(cell)
            cells.append(cell)
    return cells


def expected_cells():
    """Every cell as expected, from the dev tree's record of all expectations:
    the matrix the data says, without running anything."""
    path = os.path.join(ROOT, "build", "dev", "racebed-expectations.json")
    if not os.path.exists(path):
        sys.exit("racebed: build/dev is not configured (cmake --preset dev)")
    with open(path, encoding="utf-8") as f:
        cells = json.load(f)
    for c in cells:
        c.update(tree="dev", reported=c["expected"], match=True, problems=[])
        c["expected_outcome"] = c["outcome"] = expected_outcome(c)
    return cells


README_BEGIN = "<!-- matrix: generated by `ci/matrix.py --expected`; a test keeps it in step -->"
README_END = "<!-- end of matrix -->"


def check_readme(cells, readme, update=False):
    """The README's matrix must be the expected one, cell for cell; with
    update, make it so."""
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    want = render(cells, markdown=True).strip()
    if README_BEGIN not in text or README_END not in text:
        print(f"{readme}: no matrix between the markers {README_BEGIN!r} and {README_END!r}")
        return 1
    got = text.split(README_BEGIN, 1)[1].split(README_END, 1)[0].strip()
    if got != want:
        if update:
            with open(readme, "w", encoding="utf-8") as f:
                f.write(text.split(README_BEGIN, 1)[0] + README_BEGIN + "\n" + want + "\n"
                        + README_END + text.split(README_END, 1)[1])
            print(f"{readme}: matrix updated from scenarios/CMakeLists.txt ({len(cells)} cells)")
            return 0
        print(f"{readme}: the matrix differs from the expectations in scenarios/CMakeLists.txt"
              " (a pair was added or an expectation changed). Regenerate it with\n\n"
              f"    python3 ci/matrix.py --expected --update-readme {readme}\n\n"
              "(after cmake --preset dev, which records the expectations), and commit it. "
              "The expected matrix:\n")
        print(want)
        return 1
    print(f"{readme}: the matrix matches the expectations ({len(cells)} cells)")
    return 0


def expected_outcome(cell):
    if cell["detector"] == "native":
        return "symptom" if cell["variant"] == "buggy" else "ok"
    if cell["variant"] == "buggy":
        return "detected" if cell["kind"] in cell["expected"] else "missed"
    return "false-positive" if cell["expected"] else "clean"


def rows_of(cells):
    """Ordered rows: (scenario, variant) -> {detector: cell}."""
    rows = {}
    for c in cells:
        rows.setdefault((c["scenario"], c["variant"]), {})[c["detector"]] = c
    order = []
    for c in cells:
        key = (c["scenario"], c["variant"])
        if key not in order:
            order.append(key)
    order.sort(key=lambda k: ([c["scenario"] for c in cells].index(k[0]),
                              k[1] != "buggy", k[1]))
    return [(k, rows[k]) for k in order]


def other_reports(c):
    """What else a cell reported: another kind on a blind spot, or what a
    false positive said."""
    if c["detector"] == "native":
        return []
    if c["outcome"] == "false-positive":
        return list(c["reported"])
    return [k for k in c["reported"] if k != c["kind"]]


def cell_text(c, inline=True):
    if c is None:
        return "-"
    text = SHOWN.get(c["outcome"], c["outcome"].upper())
    others = other_reports(c)
    if others:
        # Markdown names them in the cell; the terminal table marks the
        # cell and lists them under the table, to stay narrow.
        text += " (" + ", ".join(others) + ")" if inline else "+"
    return text if c["match"] else text + " *"


def render(cells, markdown=False):
    columns = [d for d in COLUMNS if any(c["detector"] == d for c in cells)]
    head = ["scenario", "class"] + [HEADINGS.get(d, d) for d in columns]
    body = []
    for (scenario, variant), row in rows_of(cells):
        any_cell = next(iter(row.values()))
        name = scenario if variant == "buggy" else "  " + variant
        klass = any_cell["class"] if variant == "buggy" else ""
        body.append([name, klass] + [cell_text(row.get(d), markdown) for d in columns])
    totals = []
    for label, variant_is_buggy, outcome in (("detected", True, "detected"),
                                             ("missed", True, "missed"),
                                             ("false positives", False, "false-positive")):
        line = ["total " + label, ""]
        for d in columns:
            if d == "native":
                line.append("")
                continue
            line.append(str(sum(1 for c in cells if c["detector"] == d
                                and (c["variant"] == "buggy") == variant_is_buggy
                                and c["outcome"] == outcome)))
        totals.append(line)
    if markdown:
        out = ["| " + " | ".join(head) + " |",
               "|" + "|".join("---" for _ in head) + "|"]
        for r in body + totals:
            name = r[0].strip()
            r = [("&nbsp;&nbsp;" + name if r[0].startswith("  ") else name)] + r[1:]
            out.append("| " + " | ".join(r) + " |")
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [head] + body + totals) for i in range(len(head))]
    fmt = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
    rule = "-" * len(fmt(head))
    return "\n".join([fmt(head), rule] + [fmt(r) for r in body] + [rule]
                     + [fmt(r) for r in totals])


def notes(cells):
    """Why each blind spot and false positive is what it is."""
    out = []
    for c in cells:
        if c["reason"] and c["detector"] != "native":
            out.append(f"{c['scenario']}.{c['variant']} / {c['detector']}: {c['reason']}")
    return out


def mismatches(cells):
    out = []
    for c in cells:
        if not c["match"]:
            out.append(f"{c['test']}: expected {c['expected_outcome']} "
                       f"(reports: {', '.join(c['expected']) or 'nothing'}), got "
                       f"{c['outcome']} (reports: {', '.join(c['reported']) or 'nothing'})")
            out += ["    " + p for p in c["problems"]]
    return out


CODES = {"detected": "DET", "missed": "miss", "clean": ".", "false-positive": "FP",
         "symptom": "sym", "no-symptom": "NOSYM", "ok": "ok", "failed": "FAIL",
         "not-run": "n/a"}
SHORT_HEADINGS = {"native": "prog", "helgrind": "helg", "lockgraph": "lockg"}
LEGEND = ("DET detected, miss missed (a recorded blind spot), . clean, FP false "
          "positive; prog: the program alone, sym its symptom shown, ok none; "
          "+ other reports (listed below), * not as expected, - no such cell")


def render_compact(cells):
    """The terminal table for narrow terminals: short codes, no class column
    (the Markdown file has both)."""
    columns = [d for d in COLUMNS if any(c["detector"] == d for c in cells)]
    head = ["scenario"] + [SHORT_HEADINGS.get(d, d) for d in columns]
    body = []
    for (scenario, variant), row in rows_of(cells):
        name = scenario if variant == "buggy" else "  " + variant
        line = [name]
        for d in columns:
            c = row.get(d)
            if c is None:
                line.append("-")
                continue
            code = CODES.get(c["outcome"], c["outcome"].upper())
            if other_reports(c):
                code += "+"
            line.append(code if c["match"] else code + "*")
        body.append(line)
    totals = []
    for label, buggy, outcome in (("detected", True, "detected"), ("missed", True, "missed"),
                                  ("false pos.", False, "false-positive")):
        totals.append([label] + ["" if d == "native" else str(sum(
            1 for c in cells if c["detector"] == d and (c["variant"] == "buggy") == buggy
            and c["outcome"] == outcome)) for d in columns])
    widths = [max(len(r[i]) for r in [head] + body + totals) for i in range(len(head))]
    fmt = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
    rule = "-" * len(fmt(head))
    return "\n".join([fmt(head), rule] + [fmt(r) for r in body] + [rule]
                     + [fmt(r) for r in totals])


def render_terminal(cells, width):
    """The full table when it fits the terminal, else the compact one."""
    full = render(cells)
    if max(len(l) for l in full.splitlines()) < width:
        return full, False
    return render_compact(cells), True


def slowest(history, tests):
    """Per detector: the slowest cell over every run, and its ctest TIMEOUT."""
    timeout = {t["name"].rsplit(".", 1)[1]: t["timeout"] for t in tests}
    worst = {}
    for run in history:
        for test, c in run["cells"].items():
            d = test.rsplit(".", 1)[1]
            if c["seconds"] is not None and c["seconds"] > worst.get(d, ("", -1))[1]:
                worst[d] = (test, c["seconds"])
    return [(d, worst[d][0], worst[d][1], timeout.get(d)) for d in COLUMNS if d in worst]


def meet_margins(meet_dir, acc):
    """Fold the RB_MEET_STATS lines of this run into acc: the longest wait
    that met, and the timeouts, in buggy and in fixed programs."""
    if not meet_dir or not os.path.isdir(meet_dir):
        return acc
    for n in os.listdir(meet_dir):
        test = n[:-4]
        variant = test.split(".")[1]
        kind = "buggy" if variant == "buggy" else "fixed"
        with open(os.path.join(meet_dir, n), encoding="utf-8") as f:
            for line in f:
                m = re.search(r"longest_met_ms=([\d.]+) meet_timeouts=(\d+) cue_timeouts=(\d+)",
                              line)
                if not m:
                    continue
                ms, timeouts = float(m.group(1)), int(m.group(2)) + int(m.group(3))
                a = acc.setdefault(kind, {"longest_ms": 0.0, "test": "", "timeouts": 0,
                                          "timed_out": set()})
                if ms > a["longest_ms"]:
                    a["longest_ms"], a["test"] = ms, test
                a["timeouts"] += timeouts
                if timeouts:
                    a["timed_out"].add(test)
        os.unlink(os.path.join(meet_dir, n))
    return acc


def write(cells, outdir, history=None, timings=None, margins=None, unstable=None):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "matrix.json"), "w", encoding="utf-8") as f:
        json.dump([{k: c.get(k) for k in (
            "scenario", "class", "kind", "variant", "detector", "outcome",
            "expected_outcome", "reported", "expected", "match", "reason",
            "seconds")} for c in cells], f, indent=1)
        f.write("\n")
    if history:
        # Every run's cells: the data a rate over N runs is drawn from.
        with open(os.path.join(outdir, "runs.json"), "w", encoding="utf-8") as f:
            json.dump(history, f, indent=1)
            f.write("\n")
    with open(os.path.join(outdir, "matrix.md"), "w", encoding="utf-8") as f:
        f.write("# racebed detection matrix\n\n")
        f.write("Rows: each scenario's buggy program, then its fixed twins. "
                "Cells: what the detector reported (`*`: not what "
                "scenarios/CMakeLists.txt expects).\n\n")
        f.write(render(cells, markdown=True) + "\n\n## Recorded blind spots and "
                "false positives\n\n")
        f.write("".join(f"- {n}\n" for n in notes(cells)))
        if history and len(history) > 1:
            f.write(f"\n## Stability over {len(history)} runs\n\n")
            f.write("".join(f"- {u}\n" for u in unstable) if unstable
                    else "Every cell was the same in every run.\n")
        if timings:
            f.write("\n## Slowest cell per detector\n\n| detector | cell | seconds | ctest TIMEOUT |\n"
                    "|---|---|---:|---:|\n")
            f.write("".join(f"| {d} | {t} | {s:.1f} | {to:g} |\n" for d, t, s, to in timings))
        if margins:
            m = re.search(r"#define RB_MEET_TIMEOUT_MS (\d+)",
                          open(os.path.join(ROOT, "scenarios", "rb.h"), encoding="utf-8").read())
            f.write(f"\n## Meeting points (RB_MEET_TIMEOUT_MS = {m.group(1) if m else '?'})\n\n")
            for kind in ("buggy", "fixed"):
                if kind in margins:
                    a = margins[kind]
                    f.write(f"- {kind} programs: longest wait that met {a['longest_ms']:.1f} ms "
                            f"({a['test']}); {a['timeouts']} timed out"
                            f"{' (' + ', '.join(sorted(a['timed_out'])) + ')' if a['timed_out'] else ''}\n")


def signature(cells):
    return {c["test"]: (c["outcome"], tuple(c["reported"])) for c in cells}


def stability(history):
    """Cells that were not the same in every run, with how often each way."""
    out = []
    tests = sorted({t for r in history for t in r["cells"]})
    for test in tests:
        seen = collections.Counter()
        for r in history:
            c = r["cells"].get(test)
            seen[(c["outcome"], ", ".join(c["reported"]) or "nothing") if c else ("absent", "")] += 1
        if len(seen) > 1:
            ways = "; ".join(f"{n} run(s) {o} (reports: {k})" for (o, k), n in seen.most_common())
            out.append(f"{test}: {ways}")
    return out


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(signum)


def main():
    ap = argparse.ArgumentParser(
        prog="racebed matrix", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--runs", type=int, default=1,
                    help="run the scenarios N times; the matrix must not change (default 1)")
    ap.add_argument("--stress", action="store_true",
                    help="run the scenarios while twice as many busy processes as cores "
                         "oversubscribe the machine")
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2,
                    help="tests run in parallel (default: the number of cores)")
    ap.add_argument("--no-build", action="store_true",
                    help="use the build trees as they are")
    ap.add_argument("--no-latent", action="store_true",
                    help="skip the latent section (ci/latent.py) that follows the matrix")
    ap.add_argument("--report-only", action="store_true",
                    help="print the matrix from the last run's results, run nothing")
    ap.add_argument("--expected", action="store_true",
                    help="print the matrix the expectations describe (Markdown), run nothing")
    ap.add_argument("--check-readme", metavar="README",
                    help="with --expected: fail unless README holds exactly that matrix")
    ap.add_argument("--update-readme", metavar="README",
                    help="with --expected: write that matrix into README between its markers")
    args = ap.parse_args()
    if args.expected:
        cells = expected_cells()
        if args.check_readme or args.update_readme:
            return check_readme(cells, args.update_readme or args.check_readme,
                                update=bool(args.update_readme))
        print(render(cells, markdown=True))
        return 0
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    trees = list(TREES)
    start = time.monotonic()
    status = Status()
    outdir = os.path.join(ROOT, "build", "matrix")
    meet_dir = os.path.join(outdir, "meet-stats")
    history, margins, tests, bad_runs = [], {}, [], {}
    phase = "starting"
    hogs = None
    try:
        if not args.report_only and not args.no_build:
            phase = "building"
            build(trees, args.jobs, status)
        if args.report_only:
            cells = load(trees)
            history.append({"run": 1, "cells": {c["test"]: {
                "outcome": c["outcome"], "reported": c["reported"], "match": c["match"],
                "seconds": c.get("seconds")} for c in cells}})
        else:
            tests = scenario_tests(trees)
            if not tests:
                sys.exit("racebed: no scenario tests in build/dev, build/tsan, build/asan")
            shutil.rmtree(meet_dir, ignore_errors=True)
            os.makedirs(meet_dir)
            if args.stress:
                sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
                from hogs import Hogs
                hogs = Hogs().start()
                status.say(f"stress: {hogs.count} busy processes on {os.cpu_count()} cores "
                           "while the scenarios run")
            clock = {"start": time.monotonic(), "done": 0.0, "elapsed_done": 0.0,
                     "total": args.runs * sum(t["guess"] for t in tests),
                     "cells": args.runs * len(tests), "cells_done": 0}
            for run in range(1, args.runs + 1):
                phase = f"run {run} of {args.runs}"
                run_scenarios(tests, args.jobs, status, run, args.runs, clock, meet_dir)
                cells = load(trees)
                margins = meet_margins(meet_dir, margins)
                history.append({"run": run, "stress": args.stress, "cells": {c["test"]: {
                    "outcome": c["outcome"], "reported": c["reported"], "match": c["match"],
                    "seconds": c.get("seconds"), "said": c.get("observed_line")}
                    for c in cells}})
                for c in cells:
                    if not c["match"]:
                        bad_runs.setdefault(c["test"], []).append(run)
                # Every run as soon as it is done: a long --runs that is stopped
                # still leaves what it found.
                os.makedirs(outdir, exist_ok=True)
                with open(os.path.join(outdir, "runs.json"), "w", encoding="utf-8") as f:
                    json.dump(history, f, indent=1)
                    f.write("\n")
                if args.runs > 1:
                    changed = stability(history)
                    status.say(f"run {run} of {args.runs} done: "
                               f"{sum(1 for c in cells if not c['match'])} cell(s) not as expected, "
                               f"{len(changed)} changed since run 1")
            if hogs:
                hogs.stop()
    except KeyboardInterrupt:
        stop_running()
        if hogs:
            hogs.stop()
        status.clear()
        stopped = "the build is" if phase == "building" else "the running tests are"
        print("\n" + "\n".join(textwrap.wrap(
            f"racebed matrix: interrupted while {phase}; {stopped} stopped"
            f"{', and the stress hogs' if hogs else ''}", terminal_width() - 1)), flush=True)
        if history:
            changed = stability(history) if len(history) > 1 else []
            print(f"{len(history)} run(s) completed (build/matrix/runs.json): "
                  f"{len(bad_runs)} cell(s) not as expected in some run, "
                  f"{len(changed)} changed between runs", flush=True)
            for u in changed:
                print("  " + u, flush=True)
        return 130
    finally:
        if hogs:
            hogs.stop()

    unstable = stability(history) if len(history) > 1 else []
    timings = slowest(history, tests) if tests else []
    write(cells, outdir, history, timings, margins, unstable)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import reports
    extra = {t: f"not as expected in run(s) {', '.join(map(str, r))} of {len(history)}"
             for t, r in bad_runs.items()}
    extra.update({u.split(":", 1)[0]: "unstable: " + u for u in unstable})
    reports.junit_from_cells(cells, "racebed matrix", os.path.join(outdir, "junit-matrix.xml"),
                             extra)
    sarifs = [os.path.join(ROOT, "build", "dev", "results", n)
              for n in os.listdir(os.path.join(ROOT, "build", "dev", "results"))
              if n.endswith(".sarif")] if os.path.isdir(
                  os.path.join(ROOT, "build", "dev", "results")) else []
    reports.merge_sarif(sarifs, os.path.join(outdir, "lockgraph.sarif"))

    width = terminal_width()
    wrap = lambda text, indent="  ": textwrap.wrap(text, width - 1, initial_indent=indent,
                                                   subsequent_indent=indent + "    ",
                                                   break_on_hyphens=False)
    print()
    print("\n".join(textwrap.wrap("racebed detection matrix (rows: buggy program, then "
                                  "its fixed twins; '*': differs from the expectation)",
                                  width - 1)))
    print()
    table, compact = render_terminal(cells, width)
    print(table)
    if compact:
        print()
        print("\n".join(textwrap.wrap(LEGEND, width - 1)))
    besides = [f"{c['scenario']}.{c['variant']} / {c['detector']}: {', '.join(other_reports(c))}"
               for c in cells if other_reports(c)]
    if besides:
        print("\n'+': what else the detector reported there (reasons in "
              "scenarios/CMakeLists.txt)" if width >= 80 else "\n'+': other reports:")
        for b in besides:
            print("\n".join(wrap(b)))
    print()
    bad = mismatches(cells)
    if bad:
        print("NOT AS EXPECTED:")
        for b in bad:
            print("\n".join(wrap(b.strip(), "  " if not b.startswith("    ") else "      ")))
    if len(history) > 1:
        if unstable:
            print(f"UNSTABLE: the matrix changed between runs:")
            for u in unstable:
                print("\n".join(wrap(u)))
        else:
            print(f"stable: the same matrix in all {len(history)} runs"
                  f"{' under stress' if args.stress else ''}")
        earlier = sorted(t for t in bad_runs if not any(
            c["test"] == t and not c["match"] for c in cells))
        if earlier:
            print("not as expected in an earlier run: " + ", ".join(
                f"{t} (run {', '.join(map(str, bad_runs[t]))})" for t in earlier))
    if timings:
        print("\n".join(wrap("slowest cell per detector (s, ctest TIMEOUT): " + ", ".join(
            f"{d} {s:.1f} of {to:g}" for d, _, s, to in timings), "")))
    print("\n".join(wrap(f"written: {os.path.relpath(outdir, ROOT)}/matrix.md, matrix.json, "
                         f"junit-matrix.xml, lockgraph.sarif ({len(cells)} cells, "
                         f"{fmt_secs(time.monotonic() - start)})", "")))
    latent_bad = []
    if not args.report_only and not args.no_latent:
        latent_bad = latent_section(args.jobs, wrap)
    return 1 if bad or unstable or bad_runs or not cells or latent_bad else 0


def latent_section(jobs, wrap):
    """The latent section after the matrix (ci/latent.py): its problems.
    Run once, after any stress hogs have stopped, one run at a time: its
    rates are about scheduling, and its floors were measured that way."""
    import latent
    print()
    print("\n".join(wrap("latent section: each scenario with --latent natively and under "
                         "lockgraph --perturb, and its fixed twins under --perturb "
                         "(scenarios/latent.json; ./racebed latent runs it alone)", "")))
    t0 = time.monotonic()
    rows, problems = latent.section(progress=True)
    latent.write(rows, problems, os.path.join(ROOT, "build", "latent"),
                 latent.load_data().get("runs", 20))
    print()
    print(latent.render(rows))
    if problems:
        print("LATENT NOT AS EXPECTED:")
        for p in problems:
            print("\n".join(wrap(p)))
    print("\n".join(wrap(f"written: build/latent/latent.md, latent.json "
                         f"({fmt_secs(time.monotonic() - t0)})", "")))
    return problems


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_running()
        print("\nracebed matrix: interrupted", flush=True)
        sys.exit(130)
