#!/usr/bin/env python3
"""Run lockgraph's liveness probes (and test_live) many times, quiet or while
CPU hogs oversubscribe the machine, and say how often each passed and what
the starvation rule saw: for every thread, its lowest and highest share of a
fair share and of time wanted over the windows lockgraph judged
(verbosity=2 notes).

Each run of a probe goes through tests/probe.py, exactly as ctest runs it,
with verbosity=2 and log=FILE added to its options. Not a ctest test: 20
runs of every probe take several minutes.

usage: live_soak.py [--build build/dev] [--runs 20] [--hogs 4] [--only REGEX] [--lib SO]
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WINDOW = re.compile(r"T(\d+): starvation window on lock \d+: ([\d.]+) ms, wanted ([\d.]+)% "
                    r"of it, got (\d+) grants \(([\d.]+)% of a fair share among \d+\), "
                    r"passed (\d+) times, others got (\d+): (not starving|starving)")


def probe_meta(src):
    expect, options = None, ""
    with open(src, encoding="utf-8") as f:
        for line in f:
            m = re.search(r"EXPECT: ([a-z,-]+)", line)
            if m and expect is None:
                expect = m.group(1)
            m = re.search(r"OPTIONS: ([^ ]+)", line)
            if m and not options:
                options = m.group(1).strip()
    return expect, options


def start_hogs(n):
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(n)]


def stop_hogs(hogs):
    for h in hogs:
        try:
            os.killpg(h.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        h.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build/dev")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--hogs", type=int, default=0, help="busy processes to run meanwhile")
    ap.add_argument("--only", default="", help="regex on the probe name")
    ap.add_argument("--no-unit", action="store_true", help="skip test_live")
    ap.add_argument("--lib", help="another liblockgraph.so to run the probes under (an older "
                    "one, to see what it missed)")
    a = ap.parse_args()
    lib = a.lib or os.path.join(a.build, "lib", "liblockgraph.so")
    probes = sorted(n[:-2] for n in os.listdir(os.path.join(HERE, "probes"))
                    if n.startswith("live_") and n.endswith(".c") and re.search(a.only, n))
    passed = {p: 0 for p in probes}
    failed = {p: [] for p in probes}
    # Per probe: thread -> [min share, max share, min wanted, max wanted, windows, starving]
    seen = {p: {} for p in probes}
    unit_ok = unit_runs = 0
    # SIGTERM too must stop the hogs: turn it into an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    hogs = start_hogs(a.hogs)
    t0 = time.time()
    loads = []
    try:
        with tempfile.TemporaryDirectory(prefix="live-soak-") as tmp:
            for run in range(a.runs):
                loads.append(os.getloadavg()[0])
                for p in probes:
                    expect, options = probe_meta(os.path.join(HERE, "probes", p + ".c"))
                    log = os.path.join(tmp, p + ".log")
                    opts = ":".join(o for o in (options, "verbosity=2", "log=" + log) if o)
                    r = subprocess.run([sys.executable, os.path.join(HERE, "probe.py"),
                                        "--lib", lib, "--expect", expect, "--options=" + opts,
                                        "--", os.path.join(a.build, "probes", p)],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    if r.returncode == 0:
                        passed[p] += 1
                    else:
                        failed[p].append(r.stdout.splitlines()[0] if r.stdout else "?")
                    if os.path.exists(log):
                        with open(log, encoding="utf-8", errors="replace") as f:
                            for line in f:
                                m = WINDOW.search(line)
                                if not m:
                                    continue
                                th, wanted, share = int(m.group(1)), float(m.group(3)), float(m.group(5))
                                st = seen[p].setdefault(th, [1e9, 0.0, 1e9, 0.0, 0, 0])
                                st[0] = min(st[0], share)
                                st[1] = max(st[1], share)
                                st[2] = min(st[2], wanted)
                                st[3] = max(st[3], wanted)
                                st[4] += 1
                                st[5] += m.group(8) == "starving"
                        os.unlink(log)
                if not a.no_unit:
                    unit_runs += 1
                    r = subprocess.run([os.path.join(a.build, "tests", "test_live")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    unit_ok += r.returncode == 0
                print(f"run {run + 1}/{a.runs} done ({time.time() - t0:.0f} s, "
                      f"load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    finally:
        stop_hogs(hogs)
    print(f"{a.runs} runs, {a.hogs} hogs, {os.cpu_count()} cores, load average (1 min) "
          f"{min(loads):.1f} to {max(loads):.1f}, {time.time() - t0:.0f} s")
    for p in probes:
        print(f"{p}: {passed[p]}/{a.runs} passed")
        for why in failed[p]:
            print(f"    {why}")
        for th, st in sorted(seen[p].items()):
            print(f"    T{th}: {st[4]} windows, {st[5]} starving; share of a fair share "
                  f"{st[0]:.3f}% to {st[1]:.3f}%, wanted {st[2]:.0f}% to {st[3]:.0f}% of the window")
    if not a.no_unit:
        print(f"test_live: {unit_ok}/{unit_runs} passed")
    ok = all(passed[p] == a.runs for p in probes) and unit_ok == unit_runs
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
