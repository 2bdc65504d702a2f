#!/usr/bin/env python3
"""Tables of an active-learning simulation (`studio report active` → active.json):
labels needed to first reach each target accuracy (mean over the seeds that reached it),
and mean accuracy at fixed label counts, per strategy.

usage: active_table.py active.json [--targets 0.65,0.68,0.70,0.72] [--at 32,64,128,248]
"""
import argparse, collections, json, statistics as st

ap = argparse.ArgumentParser()
ap.add_argument("path")
ap.add_argument("--targets", default="0.65,0.68,0.70,0.72")
ap.add_argument("--at", default="32,64,128,248")
a = ap.parse_args()
pts = json.load(open(a.path))["points"]
runs = collections.defaultdict(list)
for p in pts:
    runs[(p["strategy"], p["seed"])].append(p)
strategies = list(dict.fromkeys(p["strategy"] for p in pts))
targets = [float(t) for t in a.targets.split(",")]
print("labels needed to reach a test accuracy: mean over seeds that reached it (seeds reached / seeds)\n")
print("| strategy | " + " | ".join(f"{t:.2f}" for t in targets) + " |")
print("|---" * (len(targets) + 1) + "|")
for s in strategies:
    seeds = [k for k in runs if k[0] == s]
    cells = []
    for t in targets:
        firsts = []
        for k in seeds:
            hit = [p["n_labels"] for p in sorted(runs[k], key=lambda p: p["n_labels"]) if p["accuracy"] >= t]
            if hit:
                firsts.append(hit[0])
        cells.append(f"{st.mean(firsts):.0f} ({len(firsts)}/{len(seeds)})" if firsts else f"– (0/{len(seeds)})")
    print(f"| {s} | " + " | ".join(cells) + " |")
at = [int(x) for x in a.at.split(",")]
print("\nmean test accuracy at a number of labels\n")
print("| strategy | " + " | ".join(str(n) for n in at) + " |")
print("|---" * (len(at) + 1) + "|")
for s in strategies:
    cells = []
    for n in at:
        v = [p["accuracy"] for p in pts if p["strategy"] == s and p["n_labels"] == n]
        cells.append(f"{st.mean(v):.3f}" if v else "–")
    print(f"| {s} | " + " | ".join(cells) + " |")
