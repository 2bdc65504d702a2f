"""What scripts/setfit_curve.py and scripts/fastfit_curve.py share: their arguments, the
CSV reader, and the training samples `studio report curve` wrote, in order. Imported
from the venv each peer runs in (plain Python, no third-party package)."""
import argparse
import csv
import json
import os
import re


def arguments(doc):
    """The arguments both scripts take."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--test-limit", type=int)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    # Same truncation as ours (studio's balanced preset: 128 tokens).
    ap.add_argument("--max-len", type=int, default=128)
    return ap.parse_args()


def read(path, limit=None):
    """(texts, labels) of a text,label CSV, its first `limit` rows."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["text"].strip()]
    if limit:
        rows = rows[:limit]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def runs(samples):
    """(labels per class, seed, texts, labels) of each samples/<k>_<seed>.csv, in order."""
    names = sorted(os.listdir(samples), key=lambda n: tuple(int(x) for x in re.findall(r"\d+", n)))
    for name in names:
        k, seed = (int(x) for x in re.findall(r"\d+", name))
        yield (k, seed, *read(os.path.join(samples, name)))


class Points:
    """The runs' results: each printed as one JSON line when it is in, all written to
    the --out file at the end (what scripts/curve_table.py reads)."""

    def __init__(self):
        self.points = []

    def add(self, point):
        print(json.dumps(point), flush=True)
        self.points.append(point)

    def write(self, path):
        with open(path, "w") as f:
            json.dump({"points": self.points}, f, indent=1)
