#!/usr/bin/env python3
"""Side-by-side learning-curve tables (markdown) from `studio report curve` points and
`scripts/setfit_curve.py` and `scripts/fastfit_curve.py` points: test accuracy and
macro-F1, mean ± sd (runs).

usage: curve_table.py DIR [DIR ...]
Each DIR holds curve.json (ours), setfit.json and/or setfit_points.jsonl (SetFit) and
fastfit.json (FastFit);
points from several DIRs are pooled (e.g. one session's run and a later one's).
"""
import collections, json, os, statistics as st, sys

ORDER = ["head", "fewshot", "setfit", "fastfit", "lora", "full"]

def load(d):
    pts = []
    if os.path.exists(f"{d}/curve.json"):
        pts += json.load(open(f"{d}/curve.json"))["points"]
    if os.path.exists(f"{d}/setfit.json"):
        pts += json.load(open(f"{d}/setfit.json"))["points"]
    if os.path.exists(f"{d}/fastfit.json"):
        pts += json.load(open(f"{d}/fastfit.json"))["points"]
    if os.path.exists(f"{d}/setfit_points.jsonl"):
        pts += [json.loads(l) for l in open(f"{d}/setfit_points.jsonl") if l.strip()]
    return pts

def main():
    pts = [p for d in sys.argv[1:] for p in load(d)]
    by = collections.defaultdict(dict)
    for p in pts:  # a later directory's point for the same run replaces an earlier one
        by[(str(p["method"]).lower(), p["per_class"])][p["seed"]] = p
    methods = sorted({m for m, _ in by}, key=lambda m: ORDER.index(m) if m in ORDER else 9)
    sizes = sorted({k for _, k in by}, key=lambda k: (k is None, k or 0))
    def cell(ps, key):
        v = [p[key] for p in ps]
        sd = st.stdev(v) if len(v) > 1 else 0.0
        return f"{st.mean(v):.3f} ± {sd:.3f} ({len(v)})"
    for key, title in [("accuracy", "test accuracy"), ("macro_f1", "macro-F1")]:
        print(f"\n{title}, mean ± sd (runs)\n")
        print("| labels per class | " + " | ".join(methods) + " |")
        print("|---" * (len(methods) + 1) + "|")
        for k in sizes:
            row = [cell(list(by[(m, k)].values()), key) if by.get((m, k)) else "–" for m in methods]
            print(f"| {'all' if k is None else k} | " + " | ".join(row) + " |")
    print("\nmean training seconds\n")
    print("| labels per class | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    for k in sizes:
        row = [f"{st.mean(p['train_secs'] for p in by[(m, k)].values()):.1f}" if by.get((m, k)) else "–" for m in methods]
        print(f"| {'all' if k is None else k} | " + " | ".join(row) + " |")

if __name__ == "__main__":
    main()
