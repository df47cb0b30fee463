#!/usr/bin/env python3
"""`racebed run` and `racebed list`: one scenario under one detector, for
workshops and for looking at a single cell of the matrix."""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix import ROOT, manifest_of  # noqa: E402

DETECTORS = ("native", "tsan", "helgrind", "drd", "lockgraph", "asan")
TREE_OF = {"tsan": "tsan", "asan": "asan"}


def ensure_built(tree, targets=("rb_support",)):
    """Configure the tree if needed and build only `targets` (and whatever
    they depend on), with a line saying so; on failure show the build's
    output and exit.

    Only the targets: a no-op `cmake --build` of a whole tree runs make in
    every one of its ~120 target directories (about 580 processes), which
    takes a second on a quiet machine and half a minute on a loaded one;
    one target is about 20 processes. Any target also re-runs CMake first
    when a CMakeLists.txt changed, so the manifest read next is current."""
    steps = []
    if not os.path.exists(os.path.join(ROOT, "build", tree, "CMakeCache.txt")):
        print(f"racebed: configuring build/{tree} (once)", file=sys.stderr, flush=True)
        steps.append(["cmake", "--preset", tree])
    steps.append(["cmake", "--build", os.path.join("build", tree), "-j",
                  str(os.cpu_count() or 2), "--target", *targets])
    for cmd in steps:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if p.returncode != 0:
            print(p.stdout[-6000:], file=sys.stderr)
            print(f"racebed: '{' '.join(cmd)}' failed (output above)", file=sys.stderr)
            sys.exit(1)


def scenarios(tree="dev"):
    seen = {}
    for e in manifest_of(tree):
        seen.setdefault(e["scenario"], e)
    return seen


def cmd_list(_argv):
    ensure_built("dev")
    entries = scenarios()
    width = max(len(n) for n in entries)
    for name, e in entries.items():
        variants = sorted({x["variant"] for x in manifest_of("dev") if x["scenario"] == name})
        print(f"{name.ljust(width)}  {e['class']:<22} {e['summary']}")
        extra = [v for v in variants if v not in ("buggy", "fixed")]
        if extra:
            print(f"{''.ljust(width)}  {'':<22} fixed variants: {', '.join(extra)}")
    return 0


def cmd_run(argv):
    args_after = []
    if "--" in argv:
        i = argv.index("--")
        argv, args_after = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="racebed run",
                                 description="Run one scenario under one detector.")
    ap.add_argument("scenario")
    ap.add_argument("detector", nargs="?", default="native", choices=DETECTORS)
    ap.add_argument("--fixed", nargs="?", const="", default=None, metavar="VARIANT",
                    help="run the fixed twin (or the named fixed variant)")
    a = ap.parse_args(argv)
    variant = "buggy" if a.fixed is None else ("fixed" if a.fixed == "" else "fixed." + a.fixed)

    tree = TREE_OF.get(a.detector, "dev")
    ensure_built("dev")  # the catalogue, current
    known = scenarios("dev")
    if a.scenario not in known:
        print(f"racebed: unknown scenario '{a.scenario}'; known: {', '.join(sorted(known))}",
              file=sys.stderr)
        return 2
    if tree != "dev":
        ensure_built(tree)
    entry = next((e for e in manifest_of(tree) if e["scenario"] == a.scenario
                  and e["variant"] == variant and e["detector"] == a.detector), None)
    if entry is None:
        have = sorted({f"{e['variant']}/{e['detector']}" for e in manifest_of("dev") + manifest_of(tree)
                       if e["scenario"] == a.scenario})
        print(f"racebed: {a.scenario} has no {variant} program under {a.detector}; "
              f"it has: {', '.join(have)}", file=sys.stderr)
        return 2
    name = a.scenario if variant in ("buggy", "fixed") else a.scenario + variant[len("fixed"):]
    target = ("buggy." if variant == "buggy" else "fixed.") + name
    ensure_built(tree, [target] + (["lockgraph"] if a.detector == "lockgraph" else []))
    program = os.path.join(ROOT, "build", tree, "buggy" if variant == "buggy" else "fixed", name)
    cmd = [sys.executable, os.path.join(ROOT, "cmake", "judge.py"), "--show",
           "--scenario", a.scenario, "--class", entry["class"], "--kind", entry["kind"],
           "--variant", variant, "--detector", a.detector,
           "--expect=" + ",".join(entry["expected"]), "--reason=" + entry["reason"],
           "--program", program, "--timeout", "86400" if "--hang" in args_after else "300"]
    if "--hang" in args_after:
        cmd.append("--no-verdict")  # a live demonstration, not a cell of the matrix
    if a.detector == "lockgraph":
        cmd += ["--lockgraph-lib", os.path.join(ROOT, "build", "dev", "lib", "liblockgraph.so")]
    print("racebed: " + " ".join([a.detector, variant, name] + args_after), file=sys.stderr)
    proc = subprocess.Popen(cmd + ["--"] + args_after)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue  # the judge has the same Ctrl-C: it stops the program and says so


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "list"):
        print("usage: frontend.py run|list ...", file=sys.stderr)
        return 2
    try:
        return {"run": cmd_run, "list": cmd_list}[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:
        print("\nracebed: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
