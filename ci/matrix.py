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
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREES = ("dev", "tsan", "asan")
COLUMNS = ("native", "tsan", "helgrind", "drd", "lockgraph", "asan")
HEADINGS = {"native": "program"}
SHOWN = {"detected": "detected", "missed": "missed", "clean": "clean",
         "false-positive": "FALSE POSITIVE", "symptom": "symptom",
         "no-symptom": "NO SYMPTOM", "ok": "ok", "failed": "FAILED"}


def sh(cmd, check=True):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=check).returncode


def build(trees):
    """Configure and build quietly: one line per tree, the output on failure."""
    for tree in trees:
        print(f"building build/{tree} ...", flush=True)
        for cmd in (["cmake", "--preset", tree], ["cmake", "--build", "--preset", tree]):
            p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if p.returncode != 0:
                print(p.stdout[-8000:])
                sys.exit(f"racebed: '{' '.join(cmd)}' failed (output above)")


def manifest_of(tree):
    path = os.path.join(ROOT, "build", tree, "racebed-manifest.json")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def run_scenarios(trees, jobs):
    """Run every scenario test of every tree; results land in build/<tree>/results.
    ctest's completion lines are the progress display."""
    status = 0
    for tree in trees:
        if not manifest_of(tree):
            continue  # e.g. asan: no scenario records an ASan column
        results = os.path.join(ROOT, "build", tree, "results")
        shutil.rmtree(results, ignore_errors=True)
        print(f"running the scenarios of build/{tree}", flush=True)
        proc = subprocess.Popen(["ctest", "--test-dir", os.path.join("build", tree),
                                 "-L", "^scenario$", "-j", str(jobs), "--no-tests=error"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        for line in proc.stdout:
            if re.match(r"\s*\d+/\d+ Test ", line) or "tests passed" in line:
                print(line.rstrip(), flush=True)
        status |= proc.wait()
    return status


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
                            seconds=rec["seconds"])
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


def check_readme(cells, readme):
    """The README's matrix must be the expected one, cell for cell."""
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    want = render(cells, markdown=True).strip()
    if README_BEGIN not in text or README_END not in text:
        print(f"{readme}: no matrix between the markers {README_BEGIN!r} and {README_END!r}")
        return 1
    got = text.split(README_BEGIN, 1)[1].split(README_END, 1)[0].strip()
    if got != want:
        print(f"{readme}: the matrix differs from the expectations in scenarios/CMakeLists.txt;"
              " paste the output of `ci/matrix.py --expected` between its markers:\n")
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


def write(cells, outdir):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "matrix.json"), "w", encoding="utf-8") as f:
        json.dump([{k: c.get(k) for k in (
            "scenario", "class", "kind", "variant", "detector", "outcome",
            "expected_outcome", "reported", "expected", "match", "reason",
            "seconds")} for c in cells], f, indent=1)
        f.write("\n")
    with open(os.path.join(outdir, "matrix.md"), "w", encoding="utf-8") as f:
        f.write("# racebed detection matrix\n\n")
        f.write("Rows: each scenario's buggy program, then its fixed twins. "
                "Cells: what the detector reported (`*`: not what "
                "scenarios/CMakeLists.txt expects).\n\n")
        f.write(render(cells, markdown=True) + "\n\n## Recorded blind spots and "
                "false positives\n\n")
        f.write("".join(f"- {n}\n" for n in notes(cells)))


def signature(cells):
    return {c["test"]: (c["outcome"], tuple(c["reported"])) for c in cells}


def main():
    ap = argparse.ArgumentParser(
        prog="racebed matrix", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--runs", type=int, default=1,
                    help="run the scenarios N times; the matrix must not change (default 1)")
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2,
                    help="tests run in parallel (default: the number of cores)")
    ap.add_argument("--no-build", action="store_true",
                    help="use the build trees as they are")
    ap.add_argument("--report-only", action="store_true",
                    help="print the matrix from the last run's results, run nothing")
    ap.add_argument("--expected", action="store_true",
                    help="print the matrix the expectations describe (Markdown), run nothing")
    ap.add_argument("--check-readme", metavar="README",
                    help="with --expected: fail unless README holds exactly that matrix")
    args = ap.parse_args()
    if args.expected:
        cells = expected_cells()
        if args.check_readme:
            return check_readme(cells, args.check_readme)
        print(render(cells, markdown=True))
        return 0
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    trees = list(TREES)
    start = time.monotonic()
    if not args.report_only and not args.no_build:
        build(trees)
    first = None
    unstable = []
    for run in range(1, args.runs + 1):
        if not args.report_only:
            if args.runs > 1:
                print(f"==== run {run} of {args.runs} ====", flush=True)
            run_scenarios(trees, args.jobs)
        cells = load(trees)
        if first is None:
            first = signature(cells)
        else:
            now = signature(cells)
            for test in sorted(set(first) | set(now)):
                if first.get(test) != now.get(test):
                    unstable.append(f"run {run}: {test}: {first.get(test)} -> {now.get(test)}")

    outdir = os.path.join(ROOT, "build", "matrix")
    write(cells, outdir)
    print()
    print("racebed detection matrix (rows: buggy program, then its fixed twins; "
          "'*': differs from the expectation)")
    print()
    print(render(cells))
    besides = [f"{c['scenario']}.{c['variant']} / {c['detector']}: {', '.join(other_reports(c))}"
               for c in cells if other_reports(c)]
    if besides:
        print("\n'+': what else the detector reported there (reasons in scenarios/CMakeLists.txt)")
        print("\n".join("  " + b for b in besides))
    print()
    bad = mismatches(cells)
    if bad:
        print("NOT AS EXPECTED:")
        print("\n".join("  " + b for b in bad))
    if args.runs > 1:
        if unstable:
            print(f"UNSTABLE: the matrix changed between runs:")
            print("\n".join("  " + u for u in unstable))
        else:
            print(f"stable: the same matrix in all {args.runs} runs")
    print(f"\nwritten: {os.path.relpath(outdir, ROOT)}/matrix.md, matrix.json "
          f"({len(cells)} cells, {time.monotonic() - start:.0f} s)")
    return 1 if bad or unstable or not cells else 0


if __name__ == "__main__":
    sys.exit(main())
