#!/usr/bin/env python3
"""Check the workshop against the catalogue: every scenario is taught, every
`./racebed run ...` command in a lesson names a scenario, detector and fixed
variant that exist, the index links every lesson and every link resolves,
and each lesson has the sections a lesson must have.

usage: check_lessons.py EXPECTATIONS_JSON DOCS_DIR
"""
import json
import os
import re
import shlex
import sys

SECTIONS = ("The bug", "The symptom", "Under each detector", "The fix", "Blind spots",
            "Exercise")
DETECTORS = {"native", "tsan", "helgrind", "drd", "lockgraph", "asan"}


def main():
    expectations, docs = sys.argv[1], sys.argv[2]
    with open(expectations, encoding="utf-8") as f:
        cells = json.load(f)
    known = {(c["scenario"], c["variant"], c["detector"]) for c in cells}
    scenarios = {c["scenario"] for c in cells}
    problems = []
    lessons = sorted(n for n in os.listdir(docs) if n.endswith(".md") and n != "index.md")
    if not lessons:
        problems.append(f"{docs}: no lessons")
    taught = set()

    for name in lessons + ["index.md"]:
        path = os.path.join(docs, name)
        if not os.path.exists(path):
            continue  # a missing index is reported below
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for line in text.splitlines():
            m = re.search(r"\./racebed run ([^`|<>]*)", line)
            if not m or "<" in m.group(0):
                continue
            try:
                words = shlex.split(m.group(1).split("#")[0])
            except ValueError:
                problems.append(f"{name}: cannot parse: {m.group(0)}")
                continue
            if "--" in words:
                words = words[:words.index("--")]
            if not words or words[0] in ("...", "SCENARIO") or words[0].startswith("<"):
                continue  # a placeholder, as in "./racebed run ... -- --hang"
            scenario, rest = words[0], words[1:]
            detector, variant = "native", "buggy"
            for w in rest:
                if w in DETECTORS:
                    detector = w
                elif w == "--fixed":
                    variant = "fixed"
                elif w.startswith("--fixed="):
                    variant = "fixed." + w.split("=", 1)[1]
                else:
                    problems.append(f"{name}: '{m.group(0).strip()}': unknown argument '{w}'")
            if (scenario, variant, detector) not in known:
                problems.append(f"{name}: '{m.group(0).strip()}' runs nothing: no "
                                f"{scenario} {variant} under {detector}")
            elif name != "index.md":
                taught.add(scenario)
        for target in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", text):
            if not target.startswith("http") and not os.path.exists(
                    os.path.normpath(os.path.join(docs, target))):
                problems.append(f"{name}: link to {target}, which does not exist")
        if name != "index.md":
            for sec in SECTIONS:
                if not re.search(rf"^#+ .*{re.escape(sec)}", text, re.M | re.I):
                    problems.append(f"{name}: no '{sec}' section")

    index = os.path.join(docs, "index.md")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            text = f.read()
        for name in lessons:
            if f"({name})" not in text and f"({name}#" not in text:
                problems.append(f"index.md does not link {name}")
    else:
        problems.append("no index.md")
    for s in sorted(scenarios - taught):
        problems.append(f"no lesson runs scenario {s} (./racebed run {s} ...)")

    for p in problems:
        print("- " + p)
    print(f"{len(lessons)} lessons, {len(taught)} of {len(scenarios)} scenarios taught: "
          + ("ok" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
