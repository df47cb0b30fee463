#!/usr/bin/env python3
"""racebed_scenario() says what to do when an entry is wrong.

Configures small throw-away projects that include cmake/racebed.cmake and
register one pair each, and checks that a correct entry configures and that
each kind of mistake a new user makes stops CMake with a message that names
the fix (the README's "Adding a pair" is followed to the letter by people
who do not know the harness).

usage: check_catalogue.py [CMAKE]
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOOD = """racebed_scenario(pair
  CLASS     torn-update
  KIND      data-race
  SUMMARY   "two writers, no lock"
  TSAN      data-race
  HELGRIND  data-race
  DRD       data-race
  LOCKGRAPH "none: not a lock bug"
)"""

# (what is wrong, the entry, a phrase the error must contain)
CASES = [
    ("a class that is not a report kind, without KIND",
     GOOD.replace("  KIND      data-race\n", ""), "add KIND <kind>"),
    ("a KIND that is not a report kind",
     GOOD.replace("KIND      data-race", "KIND      torn"), "KIND 'torn' is not a report kind"),
    ("a blind spot without a reason",
     GOOD.replace('LOCKGRAPH "none: not a lock bug"', "LOCKGRAPH none"),
     "say why after a colon"),
    ("an unknown report kind",
     GOOD.replace("HELGRIND  data-race", "HELGRIND  data-rice"), "unknown report kind 'data-rice'"),
    ("a detector left out", GOOD.replace("  DRD       data-race\n", ""),
     "DRD is required: what does drd report"),
    ("a malformed FIXED entry", GOOD.replace(")", "  FIXED \"drd: data-race\"\n)"),
     "is not <variant>/<detector>=<kinds>: <reason>"),
]


def configure(cmake, entry, languages="C"):
    """Configure a project with one racebed_scenario() entry. An entry that
    must fail stops CMake before any target is generated, so those projects
    enable no language and skip the compiler checks (the slow part)."""
    with tempfile.TemporaryDirectory(prefix="racebed-catalogue-") as d:
        for sub in ("buggy", "fixed"):
            os.makedirs(os.path.join(d, sub))
            with open(os.path.join(d, sub, "pair.c"), "w") as f:
                f.write("int main(void) { return 0; }\n")
        with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
            f.write(f"cmake_minimum_required(VERSION 3.25)\nproject(catalogue {languages})\n"
                    + ("find_package(Threads REQUIRED)\n" if languages != "NONE" else "")
                    + "add_library(rb_support INTERFACE)\nenable_testing()\n"
                    f"set(RACEBED_CCACHE OFF)\ninclude({ROOT}/cmake/racebed.cmake)\n"
                    f"{entry}\n")
        p = subprocess.run([cmake, "-S", d, "-B", os.path.join(d, "b")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # CMake wraps long messages; compare with the line breaks taken out.
        return p.returncode, " ".join(p.stdout.split())


def main():
    cmake = sys.argv[1] if len(sys.argv) > 1 else "cmake"
    failures = 0
    rc, out = configure(cmake, GOOD)
    if rc != 0:
        print(f"FAIL: a correct entry does not configure:\n{out[-2000:]}")
        failures += 1
    else:
        print("ok: a correct entry configures")
    for what, entry, phrase in CASES:
        rc, out = configure(cmake, entry, "NONE")
        if rc == 0:
            print(f"FAIL: {what}: configured without an error")
            failures += 1
        elif " ".join(phrase.split()) not in out:
            print(f"FAIL: {what}: the error does not say '{phrase}':\n{out[-1500:]}")
            failures += 1
        else:
            print(f"ok: {what}: '{phrase}'")
    print(f"{len(CASES) + 1 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
