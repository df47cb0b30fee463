#!/usr/bin/env python3
"""racebed's latent section: the bugs that show only when the schedule is right.

Every buggy program forces its interleaving (meeting points and cues), so its
symptom shows on every run. With --latent the scaffolding is off and the
program is the natural one: its bug shows only by chance. For each scenario
in scenarios/latent.json this runs, N times each (N = 20 by default):

  * the buggy program natively (the rate the scheduler gives; shown, not judged),
  * the buggy program under `lockgraph --perturb` (schedule perturbation),
  * every fixed twin under `lockgraph --perturb`,

and compares the rates with the data: the buggy program's perturbed rate must
reach its floor, and every fixed twin must stay at exactly 0 (a fixed twin
that fails under perturbation is a bug in lockgraph, or in the twin). A run
shows the symptom when it exits non-zero, prints SYMPTOM, or draws a lockgraph
report. The section is printed and written to build/latent/latent.md and
latent.json; the exit status is 1 when a rate is off its expectation.

`--goals` measures the goals instead (a benchmark, never a test): rates over
50 runs, hunts (runs until the first failure, median over 10 hunts), how
often a failing seed fails again on replay, and every clean probe and every
benchmark under perturbation; written to build/latent/goals.md and .json.

matrix.py may call section() and render() to print this section after the
matrix; `./racebed latent` runs this file alone.
"""
import argparse
import concurrent.futures
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "scenarios", "latent.json")
DEV = os.path.join(ROOT, "build", "dev")
LAUNCHER = os.path.join(DEV, "bin", "lockgraph")


def load_data():
    with open(DATA, encoding="utf-8") as f:
        return json.load(f)


def build(quiet=True):
    steps = []
    if not os.path.exists(os.path.join(DEV, "CMakeCache.txt")):
        steps.append(["cmake", "--preset", "dev"])
    steps.append(["cmake", "--build", "--preset", "dev"])
    for cmd in steps:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if p.returncode != 0:
            print(p.stdout[-6000:])
            sys.exit(f"latent: '{' '.join(cmd)}' failed (output above)")


def variants_of(scenario):
    """The programs of a scenario: ('buggy', path), ('fixed', path), ('fixed.v', path)..."""
    path = os.path.join(DEV, "racebed-manifest.json")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    names = []
    for e in manifest:
        if e["scenario"] == scenario and e["detector"] == "native" and e["variant"] not in names:
            names.append(e["variant"])
    out = []
    for v in names:
        if v == "buggy":
            out.append((v, os.path.join(DEV, "buggy", scenario)))
        else:
            out.append((v, os.path.join(DEV, "fixed", scenario + v[len("fixed"):])))
    return out


def clean_env():
    env = dict(os.environ)
    for var in ("LD_PRELOAD", "LOCKGRAPH_OPTIONS", "TSAN_OPTIONS"):
        env.pop(var, None)
    return env


def run_one(program, perturb, data, seed=None, extra_args=(), lockgraph_options=None):
    """One run of `program --latent`; returns a dict with the verdict."""
    timeout = data.get("timeout_s", 60)
    with tempfile.TemporaryDirectory(prefix="racebed-latent-") as tmp:
        log = os.path.join(tmp, "reports.json")
        env = clean_env()
        cmd = [program] + list(extra_args)
        if perturb:
            seed = seed or random.randrange(1, 1 << 32)
            opts = lockgraph_options if lockgraph_options is not None else data.get(
                "lockgraph_options", "")
            env["LOCKGRAPH_OPTIONS"] = ":".join(o for o in (opts,) if o)
            cmd = [LAUNCHER, "--perturb", f"--perturb-seed={seed}", f"--json={log}", "--"] + cmd
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            timed_out = True
        seconds = time.monotonic() - start
        reports = []
        if os.path.exists(log):
            with open(log, encoding="utf-8") as f:
                reports = [json.loads(l)["kind"] for l in f if l.strip()]
    text = out.decode("utf-8", "replace")
    symptom = (timed_out or proc.returncode != 0 or ": SYMPTOM: " in text or bool(reports))
    return {"symptom": symptom, "status": proc.returncode, "timed_out": timed_out,
            "reports": reports, "seconds": seconds, "seed": seed, "output": text[-3000:]}


def measure(scenario, runs, data, jobs=1):
    """Rates for one scenario: native and perturbed buggy, perturbed fixed twins."""
    progs = variants_of(scenario)
    buggy = [p for v, p in progs if v == "buggy"][0]
    work = [("native", buggy, False)] * runs + [("perturbed", buggy, True)] * runs
    for v, p in progs:
        if v != "buggy":
            work += [(v, p, True)] * runs
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(what, pool.submit(run_one, prog, perturb, data, None, ["--latent"]))
                   for what, prog, perturb in work]
        for what, fut in futures:
            results.setdefault(what, []).append(fut.result())
    row = {"scenario": scenario, "runs": runs,
           "floor": data["scenarios"][scenario]["floor"],
           "how": data["scenarios"][scenario].get("how", "")}
    for what, rs in results.items():
        row[what] = {"symptoms": sum(r["symptom"] for r in rs), "runs": len(rs),
                     "seconds": statistics.median(r["seconds"] for r in rs),
                     "examples": [{"seed": r["seed"], "status": r["status"],
                                   "reports": r["reports"], "output": r["output"]}
                                  for r in rs if r["symptom"]][:2]}
    row["fixed"] = {v: row.pop(v) for v in list(row) if v.startswith("fixed")}
    return row


def problems_of(row):
    out = []
    p = row["perturbed"]
    rate = 100.0 * p["symptoms"] / p["runs"]
    if rate < row["floor"]:
        out.append(f"{row['scenario']}: perturbed symptom rate {p['symptoms']}/{p['runs']} "
                   f"({rate:.0f}%) is below its floor of {row['floor']}%")
    for v, f in row["fixed"].items():
        if f["symptoms"]:
            ex = f["examples"][0] if f["examples"] else {}
            out.append(f"{row['scenario']}.{v}: {f['symptoms']}/{f['runs']} false symptom(s) "
                       f"under perturbation (first: seed {ex.get('seed')}, exit status "
                       f"{ex.get('status')}, reports {ex.get('reports')})")
    return out


def section(runs=None, jobs=1, only=None, progress=True):
    """The latent section: (rows, problems). For matrix.py and main()."""
    data = load_data()
    runs = runs or data.get("runs", 20)
    rows, problems = [], []
    for name in data["scenarios"]:
        if only and name not in only:
            continue
        if progress:
            print(f"latent: {name} ({runs} native, {runs} perturbed, {runs} per fixed "
                  "twin)", flush=True)
        row = measure(name, runs, data, jobs)
        rows.append(row)
        problems += problems_of(row)
    return rows, problems


def frac(cell):
    return f"{cell['symptoms']}/{cell['runs']}"


def render(rows, markdown=False):
    head = ["scenario", "native", "perturbed", "floor", "fixed twins, perturbed"]
    body = []
    for r in rows:
        ok = not problems_of(r)
        # In the terminal, fixed.atomic is "atomic": the table fits 80 columns.
        fixed = ", ".join(f"{v if markdown or v == 'fixed' else v.split('.', 1)[-1]} "
                          f"{frac(c)}" for v, c in r["fixed"].items())
        body.append([r["scenario"], frac(r["native"]), frac(r["perturbed"]),
                     f">= {r['floor']}%", fixed + ("" if ok else " *")])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        out += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(out)
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
    return "\n".join([line(head), "-" * len(line(head))] + [line(b) for b in body])


def write(rows, problems, outdir, runs):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "latent.json"), "w", encoding="utf-8") as f:
        json.dump({"runs": runs, "rows": rows, "problems": problems}, f, indent=1)
        f.write("\n")
    with open(os.path.join(outdir, "latent.md"), "w", encoding="utf-8") as f:
        f.write("# racebed latent section\n\n")
        f.write(f"Symptom runs out of {runs}: the buggy program with `--latent` natively and "
                "under `lockgraph --perturb`, and its fixed twins under `lockgraph --perturb` "
                "(`*`: off its expectation in scenarios/latent.json).\n\n")
        f.write(render(rows, markdown=True) + "\n")


# ---- the goals (a benchmark) --------------------------------------------------

def hunt_once(program, data, max_runs=50):
    """One `lockgraph --hunt`: the number of the first failing run (None: none
    in max_runs) and its seed."""
    env = clean_env()
    env["LOCKGRAPH_OPTIONS"] = data.get("lockgraph_options", "")
    with tempfile.TemporaryDirectory(prefix="racebed-hunt-") as tmp:
        p = subprocess.run([LAUNCHER, f"--hunt={max_runs}", f"--hunt-dir={tmp}",
                            f"--hunt-timeout={data.get('timeout_s', 60)}", "--", program,
                            "--latent"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    m = re.search(r"run (\d+) of \d+, seed (\d+): FAILED", p.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def clean_probes():
    probes = []
    d = os.path.join(ROOT, "tests", "probes")
    for name in sorted(os.listdir(d)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(d, name), encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"EXPECT: ([a-z,-]+)", text)
        o = re.search(r"OPTIONS: (\S+)", text)
        if m and m.group(1) == "none":
            probes.append((name[:-2], o.group(1) if o else ""))
    return probes


def run_clean(cmd, options, timeout=120):
    with tempfile.TemporaryDirectory(prefix="racebed-clean-") as tmp:
        log = os.path.join(tmp, "reports.json")
        env = clean_env()
        env["LOCKGRAPH_OPTIONS"] = ":".join(o for o in (options,) if o)
        seed = random.randrange(1, 1 << 32)
        full = [LAUNCHER, "--perturb", f"--perturb-seed={seed}", f"--json={log}", "--"] + cmd
        try:
            p = subprocess.run(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout)
            status = p.returncode
        except subprocess.TimeoutExpired:
            status = None
        reports = []
        if os.path.exists(log):
            with open(log, encoding="utf-8") as f:
                reports = [json.loads(l)["kind"] for l in f if l.strip()]
    return {"ok": status == 0 and not reports, "status": status, "reports": reports,
            "seed": seed}


BENCHES = [
    ("bench_lock", ["--threads", "2", "--iters", "5000", "--locks", "64", "--depth", "4",
                    "--pattern", "window"]),
    ("bench_lock", ["--threads", "2", "--iters", "5000", "--locks", "64", "--depth", "4",
                    "--pattern", "random"]),
    ("bench_real", ["--producers", "2", "--consumers", "2", "--items", "2000", "--payload",
                    "1024", "--keys", "4096", "--buckets", "64", "--queue", "64", "--writes",
                    "25", "--snapshot", "256"]),
    ("bench_graph", ["--sizes", "1000,10000", "--batch", "64", "--rounds", "4", "--runs", "1"]),
]


def goals(args, data):
    runs = args.runs or 50
    out = {"runs": runs, "load_before": os.getloadavg(), "git": subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
        text=True).stdout.strip(), "cores": os.cpu_count()}
    print(f"goals: rates over {runs} runs each", flush=True)
    rows, problems = section(runs, args.jobs, args.only)
    out["rows"], out["problems"] = rows, problems
    hunts = {}
    for r in rows:
        name = r["scenario"]
        buggy = [p for v, p in variants_of(name) if v == "buggy"][0]
        lengths, seeds = [], []
        for _ in range(args.hunts):
            n, seed = hunt_once(buggy, data)
            lengths.append(n)
            if seed:
                seeds.append(seed)
        replays = []
        for seed in seeds:
            for _ in range(args.replays):
                replays.append(run_one(buggy, True, data, seed, ["--latent"])["symptom"])
        # A hunt that found nothing in its 50 runs counts as longer than any.
        med = statistics.median([n if n is not None else float("inf") for n in lengths])
        hunts[name] = {"lengths": lengths, "median": None if med == float("inf") else med,
                       "replayed": sum(replays), "replays": len(replays)}
        print(f"goals: {name}: hunts {lengths}, replays {sum(replays)}/{len(replays)}",
              flush=True)
    out["hunts"] = hunts
    probes = []
    for name, options in clean_probes():
        prog = os.path.join(DEV, "probes", name)
        rs = [run_clean([prog], options) for _ in range(args.probe_runs)]
        probes.append({"probe": name, "ok": sum(r["ok"] for r in rs), "runs": len(rs),
                       "bad": [r for r in rs if not r["ok"]][:2]})
        print(f"goals: probe {name}: {probes[-1]['ok']}/{len(rs)} clean", flush=True)
    out["probes"] = probes
    benches = []
    for prog, params in BENCHES:
        rs = [run_clean([os.path.join(DEV, "bench", prog)] + params, "")
              for _ in range(args.probe_runs)]
        benches.append({"bench": prog + " " + " ".join(params), "ok": sum(r["ok"] for r in rs),
                        "runs": len(rs), "bad": [r for r in rs if not r["ok"]][:2]})
        print(f"goals: {prog}: {benches[-1]['ok']}/{len(rs)} clean", flush=True)
    out["benches"] = benches
    out["load_after"] = os.getloadavg()
    outdir = os.path.join(ROOT, "build", "latent")
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "goals.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    md = render_goals(out)
    with open(os.path.join(outdir, "goals.md"), "w", encoding="utf-8") as f:
        f.write(md + "\n")
    print()
    print(md)
    return 0


def render_goals(g):
    lines = [f"Measured at git {g['git']} on {g['cores']} cores, load average "
             f"{g['load_before'][0]:.1f} before and {g['load_after'][0]:.1f} after; "
             f"{g['runs']} runs per rate.", "",
             "| scenario | native | perturbed | fixed twins, perturbed | hunt: runs to the first "
             "failure (10 hunts; -: none in 50) | median | replays of the failing seeds that "
             "failed again |",
             "|---|---|---|---|---|---|---|"]
    for r in g["rows"]:
        h = g["hunts"].get(r["scenario"], {})
        fixed = ", ".join(f"{v} {frac(c)}" for v, c in r["fixed"].items())
        lens = " ".join(str(n) if n else "-" for n in h.get("lengths", []))
        med = h.get("median")
        med = "> 50" if med is None else f"{med:g}"
        lines.append(f"| {r['scenario']} | {frac(r['native'])} | {frac(r['perturbed'])} | "
                     f"{fixed} | {lens} | {med} | "
                     f"{h.get('replayed')}/{h.get('replays')} |")
    bad_p = [p for p in g["probes"] if p["ok"] != p["runs"]]
    bad_b = [b for b in g["benches"] if b["ok"] != b["runs"]]
    lines += ["", f"Clean probes under perturbation: {len(g['probes']) - len(bad_p)} of "
              f"{len(g['probes'])} clean in every run"
              + ("" if not bad_p else ": NOT " + ", ".join(p["probe"] for p in bad_p)) + ".",
              f"Benchmarks under perturbation: {len(g['benches']) - len(bad_b)} of "
              f"{len(g['benches'])} clean in every run"
              + ("" if not bad_b else ": NOT " + ", ".join(b["bench"] for b in bad_b)) + "."]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(
        prog="racebed latent", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--runs", type=int, help="runs per rate (default: scenarios/latent.json's, "
                    "20; with --goals 50)")
    ap.add_argument("--jobs", "-j", type=int, default=1,
                    help="runs at once (default 1: the rates are about scheduling, so extra "
                         "load changes them)")
    ap.add_argument("--only", nargs="*", help="only these scenarios")
    ap.add_argument("--no-build", action="store_true", help="use build/dev as it is")
    ap.add_argument("--goals", action="store_true", help="measure the goals (see above)")
    ap.add_argument("--hunts", type=int, default=10, help="with --goals: hunts per scenario")
    ap.add_argument("--replays", type=int, default=5,
                    help="with --goals: replays of each hunt's failing seed")
    ap.add_argument("--probe-runs", type=int, default=5,
                    help="with --goals: perturbed runs of each clean probe and benchmark")
    args = ap.parse_args()
    if args.runs is not None and args.runs < 1:
        ap.error("--runs must be at least 1")
    if not args.no_build:
        build()
    data = load_data()
    if args.goals:
        return goals(args, data)
    start = time.monotonic()
    runs = args.runs or data.get("runs", 20)
    rows, problems = section(runs, args.jobs, args.only)
    outdir = os.path.join(ROOT, "build", "latent")
    write(rows, problems, outdir, runs)
    print()
    print(f"latent section ({runs} runs each; load average now {os.getloadavg()[0]:.1f})")
    print()
    print(render(rows))
    print()
    if problems:
        print("NOT AS EXPECTED:")
        for p in problems:
            print("\n".join(textwrap.wrap(p, 79, initial_indent="  ",
                                           subsequent_indent="      ")))
    print(f"\nwritten: build/latent/latent.md, latent.json ({time.monotonic() - start:.0f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
