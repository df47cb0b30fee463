#!/usr/bin/env python3
"""Check the workshop against the catalogue and the source: every scenario
is taught, every `./racebed run ...` command in a lesson names a scenario,
detector and fixed variant that exist, the index links every lesson and every
link resolves, each lesson has the sections a lesson must have, and every
line of source a lesson quotes is still that line:

  * `path.c:N` in a stack frame (`#0 philosopher buggy/livelock.c:38`,
    Valgrind's `by 0x...: shopper (data_race.c:22)`): line N is inside that
    function in that file;
  * `path.c:N` anywhere else: the file has a line N with code on it;
  * a code excerpt annotated `/* line N ... */`: the code before the comment
    is line N of one of the lesson's source files, word for word;
  * "line N" (or "lines N and M", "lines N-M") in prose: the sentence names
    code (an identifier of the file, or a `code span`) that is on that line
    of the file the lesson is talking about (the last one it named, else
    buggy/<its first scenario>.c);
  * a ```diff block of buggy/x.c against fixed/x.c shows every line the fix
    changes (below the top comment) and none that it does not.

usage: check_lessons.py EXPECTATIONS_JSON DOCS_DIR
"""
import difflib
import json
import os
import re
import shlex
import sys

SECTIONS = ("The bug", "The symptom", "Under each detector", "The fix", "Blind spots",
            "Exercise")
DETECTORS = {"native", "tsan", "helgrind", "drd", "lockgraph", "asan"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C_KEYWORDS = {"auto", "break", "case", "char", "const", "continue", "default", "do",
              "double", "else", "enum", "extern", "float", "for", "goto", "if", "int",
              "long", "register", "return", "short", "signed", "sizeof", "static",
              "struct", "switch", "typedef", "union", "unsigned", "void", "volatile",
              "while", "bool", "true", "false", "NULL", "include", "define"}


class Source:
    """One C file of the project: its lines, the functions they are in, and
    the identifiers its code (not its comments) uses."""

    def __init__(self, rel):
        self.rel = rel
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            self.lines = f.read().split("\n")
        self.functions = {}  # name -> (first line, last line), 1-based
        for i, line in enumerate(self.lines):
            m = re.match(r"^(?:[A-Za-z_][\w \t\*]*?[\s\*])?([A-Za-z_]\w*)\(.*\)?\s*$", line)
            if not m or line.startswith(("#", "{", "}", " ", "\t", "/", "*")) or ";" in line:
                continue
            j = i
            while j < len(self.lines) and j < i + 4 and not self.lines[j].startswith("{"):
                j += 1
            if j >= len(self.lines) or not self.lines[j].startswith("{"):
                continue
            k = j
            while k < len(self.lines) and not self.lines[k].startswith("}"):
                k += 1
            self.functions[m.group(1)] = (i + 1, k + 1)
        code = re.sub(r"/\*.*?\*/", " ", "\n".join(self.lines), flags=re.S)
        code = re.sub(r'"(?:\\.|[^"\\])*"', " ", code)
        self.identifiers = set(re.findall(r"[A-Za-z_]\w*", code)) - C_KEYWORDS

    def line(self, n):
        return self.lines[n - 1] if 1 <= n <= len(self.lines) else None


_sources = {}


def source(rel):
    if rel not in _sources:
        _sources[rel] = Source(rel) if os.path.exists(os.path.join(ROOT, rel)) else None
    return _sources[rel]


def norm(code):
    return re.sub(r"\s+", " ", code).strip()


def candidates(path):
    """The project files a quoted path may mean (Valgrind prints base names)."""
    if "/" in path:
        return [path]
    return [d + "/" + path for d in ("buggy", "fixed", "scenarios")]


FRAME_RES = (
    re.compile(r"#\d+\s+(\w+)\s+\S*?((?:buggy|fixed|scenarios)/[\w.]+\.[ch]):(\d+)"),
    re.compile(r"(?:at|by) 0x[0-9A-Fa-f]+: (\w+) \(([\w.]+\.[ch]):(\d+)\)"),
    re.compile(r"\bin (\w+)\b.*?((?:buggy|fixed|scenarios)/[\w.]+\.[ch]):(\d+)"),
    re.compile(r"((?:buggy|fixed|scenarios)/[\w.]+\.[ch]):(\d+)(?::\d+)? in (\w+)"),
)
PATH_RE = re.compile(r"\b((?:buggy|fixed|scenarios)/[\w.]+\.[ch]):(\d+)")
PROSE_RE = re.compile(r"\blines? (\d+)((?:\s*(?:,|and|or|to|-|–)\s*\d+)*)")
ANNOT_RE = re.compile(r"^(.*?)\s*(?:/\*|//)\s*lines? (\d+)(?:\s*-\s*(\d+))?\b")
FILE_MENTION_RE = re.compile(r"\b((?:buggy|fixed|scenarios)/[\w.]+\.[ch])\b")


def check_frame(where, func, path, n, problems):
    found_func = False
    for rel in candidates(path):
        src = source(rel)
        if src is None or func not in src.functions:
            continue
        found_func = True
        first, last = src.functions[func]
        if first <= n <= last:
            return
    if found_func:
        problems.append(f"{where}: {path}:{n} is not in {func}() any more "
                        f"(quote the line from a fresh run)")


def check_quotes(name, text, lesson_files, problems):
    """Every file:line and line N the lesson quotes still points at the code."""
    in_code = False
    current = lesson_files[0] if lesson_files else None
    paragraph = []

    def prose(lines):
        nonlocal current
        block = " ".join(l for _, l in lines)
        for sentence in re.split(r"(?<=[.!?:])\s+(?=[A-Z`(*\"-])", block):
            named = FILE_MENTION_RE.findall(sentence)
            for m in PROSE_RE.finditer(sentence):
                mention = [f for f in named if sentence.find(f) < m.start()]
                rel = mention[-1] if mention else current
                nums = [int(m.group(1))] + [int(x) for x in re.findall(r"\d+", m.group(2))]
                if "-" in m.group(2) or "–" in m.group(2) or " to " in m.group(2):
                    nums = list(range(nums[0], nums[-1] + 1))
                src = source(rel) if rel else None
                lineno = next((n for n, l in lines if m.group(0) in l), lines[0][0])
                if src is None:
                    problems.append(f"{name}:{lineno}: '{m.group(0)}' of which file? "
                                    "(name it: buggy/<scenario>.c)")
                    continue
                quoted = [src.line(k) for k in nums]
                if any(q is None for q in quoted):
                    problems.append(f"{name}:{lineno}: '{m.group(0)}': {rel} has no such line")
                    continue
                spans = [norm(x).rstrip(";") for x in re.findall(r"`([^`]+)`", sentence)]
                before = re.findall(r"(\w+)\W*$", sentence[:m.start()])
                if before and len(nums) == 1 and any(
                        source(f) and before[0] in source(f).functions for f in [rel] + lesson_files):
                    # "add_garlic line 29", as lockgraph's stacks say it: a frame
                    check_frame(f"{name}:{lineno}", before[0], rel, nums[0], problems)
                    continue

                def names_code(f):
                    other = source(f)
                    if other is None:
                        return False
                    lines_there = [other.line(k) for k in nums]
                    if any(q is None for q in lines_there):
                        return False
                    words = {w for w in re.findall(r"[A-Za-z_]\w*", sentence)
                             if w in other.identifiers and len(w) > 2}
                    return (any(re.search(rf"\b{re.escape(w)}\b", q)
                                for w in words for q in lines_there)
                            or any(sp and sp in norm(q) for sp in spans for q in lines_there))

                # The file the lesson is talking about, or (a sentence that
                # quotes code) whichever of its files has that code there.
                on_line = names_code(rel) or (not mention and spans and any(
                    names_code(f) for f in lesson_files))
                if not on_line:
                    problems.append(
                        f"{name}:{lineno}: '{m.group(0)}' of {rel}: the sentence names no code "
                        f"on that line ({rel}:{nums[0]} is `{norm(quoted[0])}`); name the code "
                        "there, or fix the number")
            if named:
                current = named[-1]

    for lineno, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            if paragraph:
                prose(paragraph)
                paragraph = []
            in_code = not in_code
            continue
        if in_code:
            for f in FILE_MENTION_RE.findall(line):
                current = f  # a run's output names the file the prose goes on about
        where = f"{name}:{lineno}"
        frames = set()
        for rx in FRAME_RES:
            for m in rx.finditer(line):
                g = m.groups()
                if rx is FRAME_RES[3]:
                    path, n, func = g
                else:
                    func, path, n = g
                frames.add((path.split("/")[-1], int(n)))
                check_frame(where, func, path, int(n), problems)
        for m in PATH_RE.finditer(line):
            path, n = m.group(1), int(m.group(2))
            if (path.split("/")[-1], n) in frames:
                continue
            src = source(path)
            if src is None:
                problems.append(f"{where}: {path} does not exist")
            elif not src.line(n) or not src.line(n).strip():
                problems.append(f"{where}: {path}:{n}: no code on that line")
        if in_code:
            m = ANNOT_RE.match(line)
            if m and m.group(1).strip() and not m.group(1).strip().startswith(("/*", "*", "//")):
                n = int(m.group(2))
                span = range(n, int(m.group(3) or n) + 1)
                want = norm(m.group(1))
                if not any(source(f) and source(f).line(k) is not None
                           and norm(re.sub(r"/\*.*?\*/|//.*$", "", source(f).line(k))) ==
                           norm(re.sub(r"/\*.*?\*/|//.*$", "", want))
                           for f in lesson_files for k in span):
                    problems.append(f"{where}: `{want}` is not line {n} of "
                                    f"{' or '.join(lesson_files) or 'any lesson file'}")
            continue
        if not line.strip() or line.startswith("#"):
            if paragraph:
                prose(paragraph)
                paragraph = []
            for f in FILE_MENTION_RE.findall(line):
                current = f
            continue
        paragraph.append((lineno, line))
    if paragraph:
        prose(paragraph)


def check_diffs(name, text, problems):
    """A lesson's `diff -u buggy/x.c fixed/x.c` block shows every change the
    fix makes (the top comment aside), and nothing that is not in it."""
    for block in re.findall(r"```diff\n(.*?)```", text, re.S):
        m = re.search(r"^--- ((?:buggy|fixed)/[\w.]+\.c)\b.*\n\+\+\+ ((?:buggy|fixed)/[\w.]+\.c)\b",
                      block, re.M)
        if not m or not all(os.path.exists(os.path.join(ROOT, f)) for f in m.groups()):
            continue
        old_lines, new_lines = (source(f).lines for f in m.groups())
        body = lambda ls: next((i for i, l in enumerate(ls) if l.startswith("#include")), 0)
        real = set()
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
                None, old_lines, new_lines, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            real |= {"-" + l for k, l in enumerate(old_lines[i1:i2], i1) if k >= body(old_lines)}
            real |= {"+" + l for k, l in enumerate(new_lines[j1:j2], j1) if k >= body(new_lines)}
        shown = {l for l in block.split("\n")[2:]
                 if l[:1] in "+-" and not l.startswith(("+++", "---"))}
        real = {l for l in real if l[1:].strip()}
        shown = {l for l in shown if l[1:].strip()}
        for l in sorted(real - shown):
            problems.append(f"{name}: the diff of {m.group(1)} and {m.group(2)} does not show "
                            f"'{l.strip()}' (show the whole fix)")
        for l in sorted(shown - real):
            problems.append(f"{name}: the diff of {m.group(1)} and {m.group(2)} shows "
                            f"'{l.strip()}', which is not in the files")


def lesson_files_of(text, scenarios):
    """The source files a lesson is about: buggy/ and fixed/ of every
    scenario it runs, in order, and the support library."""
    files = []
    for s in re.findall(r"\./racebed run (\w+)", text):
        if s in scenarios:
            for rel in [f"buggy/{s}.c", f"fixed/{s}.c"] + sorted(
                    "fixed/" + n for n in os.listdir(os.path.join(ROOT, "fixed"))
                    if n.startswith(s + ".") and n.count(".") == 2):
                if rel not in files and os.path.exists(os.path.join(ROOT, rel)):
                    files.append(rel)
    # Other sources the lesson names by path (its own programs, say).
    for rel in re.findall(r"\b((?:docs|scenarios|buggy|fixed|tests)/[\w/.-]+\.(?:c|h|py))\b", text):
        if rel not in files and os.path.exists(os.path.join(ROOT, rel)):
            files.append(rel)
    return files + ["scenarios/rb.c", "scenarios/rb.h"]


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
            check_quotes(name, text, lesson_files_of(text, scenarios), problems)
            check_diffs(name, text, problems)
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
    by_class = {c["scenario"]: c["class"] for c in cells}
    for s in sorted(scenarios - taught):
        problems.append(f"no lesson runs scenario {s}: add a `./racebed run {s} ...` command "
                        f"to a lesson (docs/workshop/{by_class.get(s, '<class>')}.md, or the "
                        "lesson of its class) and link that lesson from docs/workshop/index.md")

    for p in problems:
        print("- " + p)
    print(f"{len(lessons)} lessons, {len(taught)} of {len(scenarios)} scenarios taught: "
          + ("ok" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
