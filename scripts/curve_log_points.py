#!/usr/bin/env python3
"""Points of an unfinished `studio report curve` run, from the progress lines it printed
(`· Fewshot 8/class seed 1: accuracy 0.8000, macro-F1 0.7978 (301 s)`), as the curve.json
that scripts/curve_table.py reads.

usage: curve_log_points.py LOG > curve.json
"""
import json, re, sys

LINE = re.compile(r"· (\w+) (\d+|all)(?:/class)? seed (\d+): accuracy ([\d.]+), macro-F1 ([\d.]+) \((\d+) s\)")
points = []
for line in open(sys.argv[1], encoding="utf-8"):
    m = LINE.search(line)
    if m:
        method, k, seed, acc, f1, secs = m.groups()
        points.append({"method": method.lower(), "per_class": None if k == "all" else int(k), "seed": int(seed),
                       "accuracy": float(acc), "macro_f1": float(f1), "train_secs": float(secs)})
json.dump({"points": points}, sys.stdout, indent=1)
