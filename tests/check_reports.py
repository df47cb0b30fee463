#!/usr/bin/env python3
"""ci/reports.py: JUnit that says why a test failed, and one SARIF log.

  * ctest's JUnit (suite "(empty)", failures with message="") gets the suite
    name and, per failure, the judge's verdict or the test's last error line;
  * the matrix's JUnit has a non-empty message for every failing cell;
  * lockgraph's per-cell SARIF logs merge into one run whose every result's
    ruleIndex points at its ruleId, keeping invocations and
    originalUriBaseIds.
"""
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "ci"))
import reports  # noqa: E402

CTEST_JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="(empty)" tests="3" failures="2" disabled="0" skipped="0" hostname="" time="0">
  <testcase name="lost_wakeup.buggy.lockgraph" classname="lost_wakeup.buggy.lockgraph" status="fail">
    <failure message=""/><system-out>lots of output</system-out></testcase>
  <testcase name="unit.test_graph" classname="unit.test_graph" status="fail">
    <failure message=""/><system-out>[ RUN      ] test_x
[  ERROR   ] --- 0x1 != 0x2
[   LINE   ] --- test_graph.c:12: error: Failure!
[  FAILED  ] 1 test(s), listed below:
</system-out></testcase>
  <testcase name="unit.test_rb" classname="unit.test_rb" status="run"><system-out></system-out></testcase>
</testsuite>"""


def sarif(rules, results, invocation):
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{"tool": {"driver": {"name": "lockgraph", "rules": [{"id": r} for r in rules]}},
                      "originalUriBaseIds": {"SRCROOT": {"uri": "file:///src/"}},
                      "invocations": [invocation],
                      "results": [{"ruleId": r, "ruleIndex": rules.index(r),
                                   "message": {"text": r}} for r in results]}]}


def main():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        results = os.path.join(d, "results")
        os.makedirs(results)
        with open(os.path.join(results, "lost_wakeup.buggy.lockgraph.json"), "w") as f:
            json.dump({"verdict": "expected detected (reports: stall), got missed "
                                  "(reports: nothing)", "problems": ["lockgraph no longer "
                                                                      "reports stall"]}, f)
        junit = os.path.join(d, "junit.xml")
        with open(junit, "w") as f:
            f.write(CTEST_JUNIT)
        reports.fix_ctest_junit(junit, results, "racebed dev")
        root = ET.parse(junit).getroot()
        if root.get("name") != "racebed dev":
            problems.append(f"suite name is {root.get('name')!r}, not 'racebed dev'")
        msgs = {tc.get("name"): tc.find("failure").get("message")
                for tc in root.iter("testcase") if tc.find("failure") is not None}
        if "expected detected (reports: stall)" not in msgs.get("lost_wakeup.buggy.lockgraph", ""):
            problems.append(f"scenario failure message: {msgs.get('lost_wakeup.buggy.lockgraph')!r}")
        if "Failure!" not in msgs.get("unit.test_graph", ""):
            problems.append(f"unit test failure message: {msgs.get('unit.test_graph')!r}")

        cells = [{"test": "a.buggy.drd", "scenario": "a", "variant": "buggy", "match": False,
                  "expected": ["data-race"], "reported": [], "expected_outcome": "detected",
                  "outcome": "missed", "seconds": 1.0, "problems": ["drd no longer reports"]},
                 {"test": "a.fixed.drd", "scenario": "a", "variant": "fixed", "match": True,
                  "expected": [], "reported": [], "expected_outcome": "clean",
                  "outcome": "clean", "seconds": 1.0, "problems": []}]
        mj = os.path.join(d, "matrix.xml")
        reports.junit_from_cells(cells, "racebed matrix", mj,
                                 {"a.fixed.drd": "unstable: 1 run(s) clean, 1 run(s) FP"})
        fails = {tc.get("name"): tc.find("failure").get("message")
                 for tc in ET.parse(mj).getroot().iter("testcase")
                 if tc.find("failure") is not None}
        if set(fails) != {"a.buggy.drd", "a.fixed.drd"} or not all(fails.values()):
            problems.append(f"matrix JUnit failures: {fails}")
        elif "got missed" not in fails["a.buggy.drd"]:
            problems.append(f"matrix JUnit message: {fails['a.buggy.drd']!r}")

        logs = []
        for i, (rules, res) in enumerate(((["stall", "deadlock"], ["deadlock"]),
                                          (["deadlock", "stall", "livelock"], ["livelock", "stall"]))):
            p = os.path.join(d, f"{i}.sarif")
            with open(p, "w") as f:
                json.dump(sarif(rules, res, {"executionSuccessful": True, "exitCode": 66 + i}), f)
            logs.append(p)
        out = os.path.join(d, "all.sarif")
        n = reports.merge_sarif(logs, out)
        with open(out) as f:
            merged = json.load(f)
        run = merged["runs"]
        if len(run) != 1 or n != 3:
            problems.append(f"merged: {len(run)} runs, {n} results (want 1 run, 3 results)")
        else:
            run = run[0]
            rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
            for res in run["results"]:
                if rules[res["ruleIndex"]] != res["ruleId"]:
                    problems.append(f"ruleIndex {res['ruleIndex']} is {rules[res['ruleIndex']]}, "
                                    f"not {res['ruleId']}")
            if [i["exitCode"] for i in run.get("invocations", [])] != [66, 67]:
                problems.append(f"invocations: {run.get('invocations')}")
            if "SRCROOT" not in run.get("originalUriBaseIds", {}):
                problems.append("originalUriBaseIds lost")
    for p in problems:
        print("FAIL: " + p)
    print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
