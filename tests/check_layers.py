#!/usr/bin/env python3
"""Check rt.h's claim that each runtime file only calls downwards.

The layers are read from rt.h's "Layering" comment (one line per layer,
files named at the start of a line or after a comma or semicolon); the calls
from the object files of liblg_runtime.a (`nm`: what each file defines, and
what it uses). A file that calls a function defined in its own layer or in a
layer above it fails the check, naming both.

usage: check_layers.py RT_H LIBLG_RUNTIME_A
"""
import re
import subprocess
import sys


def layers(rt_h):
    text = open(rt_h, encoding="utf-8").read()
    block = text[text.index("Layering"):text.index("Internal locks")]
    rank = {}
    level = 0
    for line in block.splitlines():
        body = line.lstrip(" *")
        names = re.findall(r"(?:^|[,;]\s*)([a-z_]+\.c)\b", body)
        if names and line.startswith(" *   ") and not line.startswith(" *    "):
            level += 1
        for n in names:
            rank.setdefault(n, level)
    return rank


def symbols(archive):
    out = subprocess.run(["nm", "-A", archive], check=True, capture_output=True,
                         text=True).stdout
    defined, used = {}, {}
    for line in out.splitlines():
        m = re.match(r"^[^:]*:([^:]+\.c)\.o:\s*(?:[0-9a-f]+)?\s+([A-Za-z])\s+(\S+)$", line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        if kind == "U":
            used.setdefault(obj, set()).add(sym)
        elif kind in "TDBR":
            defined[sym] = obj
    return defined, used


def main():
    rank = layers(sys.argv[1])
    defined, used = symbols(sys.argv[2])
    bad = []
    for obj, syms in sorted(used.items()):
        for sym in sorted(syms):
            callee = defined.get(sym)
            if not callee or callee == obj or callee not in rank or obj not in rank:
                continue
            if rank[callee] <= rank[obj]:
                bad.append(f"{obj} (layer {rank[obj]}) uses {sym} from {callee} "
                           f"(layer {rank[callee]})")
    missing = sorted({o for o in used if o not in rank})
    for o in missing:
        bad.append(f"{o} is not in rt.h's layering comment")
    if bad:
        print("rt.h says each file only calls downwards, but:")
        for b in bad:
            print("  " + b)
        return 1
    print(f"layering holds: {len(used)} runtime files, {len(rank)} in rt.h's list")
    return 0


if __name__ == "__main__":
    sys.exit(main())
