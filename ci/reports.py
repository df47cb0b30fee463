#!/usr/bin/env python3
"""The machine-readable reports of a racebed run: JUnit and SARIF.

  * junit_from_cells(): the matrix as JUnit, one test case per cell, every
    failure with a message that is the verdict (expected vs reported);
  * fix_ctest_junit(): ctest writes `<testsuite name="(empty)">` and
    `<failure message=""/>`; this gives the suite a real name and every
    failure the judge's verdict (scenario cells) or the test's own last
    error line (unit tests, probes);
  * merge_sarif(): lockgraph writes one SARIF log per cell; code scanning
    wants one log with one run per tool, so the results of every cell are
    merged into one run, rules united by id (ruleIndex renumbered),
    `invocations` and `originalUriBaseIds` kept.

As a command:
  ci/reports.py fix-junit JUNIT_XML RESULTS_DIR SUITE_NAME
  ci/reports.py merge-sarif OUT.sarif IN.sarif...
"""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def _xml_text(s):
    # XML 1.0 cannot carry most control characters; a detector's output may.
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "?", s)


def junit_from_cells(cells, suite, path, extra_failures=None):
    """Write JUnit for matrix cells; extra_failures maps a test name to a
    message that fails it anyway (a cell that changed between runs)."""
    extra_failures = extra_failures or {}
    root = ET.Element("testsuites", name=suite)
    ts = ET.SubElement(root, "testsuite", name=suite)
    failures = 0
    total_time = 0.0
    for c in cells:
        secs = float(c.get("seconds") or 0)
        total_time += secs
        tc = ET.SubElement(ts, "testcase", name=c["test"],
                           classname=f"racebed.{c['scenario']}.{c['variant']}",
                           time=f"{secs:.2f}")
        msgs = []
        if not c["match"]:
            msgs.append(verdict(c))
        if c["test"] in extra_failures:
            msgs.append(extra_failures[c["test"]])
        if msgs:
            failures += 1
            f = ET.SubElement(tc, "failure", message=_xml_text(msgs[0]), type="mismatch")
            f.text = _xml_text("\n".join(msgs + list(c.get("problems") or [])))
        if c.get("reason"):
            ET.SubElement(tc, "system-out").text = _xml_text("recorded reason: " + c["reason"])
    ts.set("tests", str(len(cells)))
    ts.set("failures", str(failures))
    ts.set("errors", "0")
    ts.set("time", f"{total_time:.2f}")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return failures


def verdict(c):
    """One line: what was expected and what was reported."""
    exp = ", ".join(c.get("expected") or []) or "nothing"
    got = ", ".join(c.get("reported") or []) or "nothing"
    return (f"{c['test']}: expected {c.get('expected_outcome', '?')} (reports: {exp}), "
            f"got {c.get('outcome', '?')} (reports: {got})")


# What says best why a test failed, best first: a CMocka or compiler-style
# "file:line: error:", an assertion, the judge's verdict, a Python error, then
# any line that mentions failing.
_WHY = [re.compile(p) for p in (
    r"\S+:\d+: error:", r"[Aa]ssert", r"NOT AS EXPECTED", r"^\w*(Error|Exception):",
    r"\[  ERROR   \]", r"(FAIL|ERROR|Error|error|failed|Timeout|timed out|differs|problem)")]


def _last_error_line(text):
    lines = [l.strip() for l in (text or "").splitlines() if l.strip()]
    for rx in _WHY:
        for l in reversed(lines):
            if rx.search(l):
                return l[:300]
    return lines[-1][:300] if lines else ""


def fix_ctest_junit(path, results, suite):
    tree = ET.parse(path)
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    fixed = 0
    for ts in suites:
        ts.set("name", suite)
        for tc in ts.findall("testcase"):
            f = tc.find("failure")
            if f is None or f.get("message"):
                continue
            name = tc.get("name", "")
            msg = ""
            rec = os.path.join(results, name + ".json")
            if os.path.exists(rec):
                with open(rec, encoding="utf-8") as fh:
                    r = json.load(fh)
                msg = r.get("verdict") or ""
                if r.get("problems"):
                    msg += " - " + "; ".join(r["problems"])
            if not msg:
                out = tc.find("system-out")
                msg = _last_error_line(out.text if out is not None else "")
            f.set("message", _xml_text(msg or f"{name} failed (status {tc.get('status')})"))
            fixed += 1
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return fixed


def merge_sarif(paths, out):
    """Merge lockgraph's per-cell SARIF logs into one log with one run."""
    merged = None
    rules, rule_ids = [], {}
    results, invocations = [], []
    base_ids = {}
    for p in sorted(paths):
        try:
            with open(p, encoding="utf-8") as f:
                log = json.load(f)
        except (OSError, ValueError):
            continue
        for run in log.get("runs", []):
            if merged is None:
                merged = {k: v for k, v in log.items() if k != "runs"}
                merged_run = {k: v for k, v in run.items()
                              if k not in ("results", "invocations", "originalUriBaseIds")}
                merged_run["tool"] = json.loads(json.dumps(run.get("tool", {})))
                merged_run["tool"].setdefault("driver", {})["rules"] = rules
            driver_rules = run.get("tool", {}).get("driver", {}).get("rules", [])
            for rule in driver_rules:
                if rule.get("id") not in rule_ids:
                    rule_ids[rule.get("id")] = len(rules)
                    rules.append(rule)
            for res in run.get("results", []):
                res = dict(res)
                rid = res.get("ruleId")
                if rid is None and "ruleIndex" in res and res["ruleIndex"] < len(driver_rules):
                    rid = res["ruleId"] = driver_rules[res["ruleIndex"]].get("id")
                if rid in rule_ids:
                    res["ruleIndex"] = rule_ids[rid]
                else:
                    res.pop("ruleIndex", None)
                results.append(res)
            invocations += run.get("invocations", [])
            base_ids.update(run.get("originalUriBaseIds", {}))
    if merged is None:
        merged = {"version": "2.1.0",
                  "$schema": "https://json.schemastore.org/sarif-2.1.0.json"}
        merged_run = {"tool": {"driver": {"name": "lockgraph", "rules": []}}}
    merged_run["results"] = results
    if invocations:
        merged_run["invocations"] = invocations
    if base_ids:
        merged_run["originalUriBaseIds"] = base_ids
    merged["runs"] = [merged_run]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")
    return len(results)


def main(argv):
    if len(argv) == 4 and argv[0] == "fix-junit":
        n = fix_ctest_junit(argv[1], argv[2], argv[3])
        print(f"{argv[1]}: suite '{argv[3]}', {n} failure message(s) filled in")
        return 0
    if len(argv) >= 2 and argv[0] == "merge-sarif":
        n = merge_sarif(argv[2:], argv[1])
        print(f"{argv[1]}: {n} result(s) from {len(argv) - 2} log(s)")
        return 0
    print(__doc__.split("As a command:")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
