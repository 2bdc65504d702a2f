#!/usr/bin/env python3
"""Build the cached CSV data sets from the raw files that scripts/fetch-data extracted.

Stdlib only. Usage:
    make_splits.py movies  <movieReviewSnippets_GroundTruth.txt> <out-dir>
    make_splits.py nyt     <nytEditorialSnippets_GroundTruth.txt> <out-dir>
    make_splits.py chinese <neg.txt> <pos.txt> <out-dir>
    make_splits.py count   <out-dir>          # print the per-split row counts

Writes into <out-dir>: all.csv, train.csv, test.csv, train_64.csv (UTF-8, no BOM,
LF line ends, header `text,label`, csv-module quoting) and SHA256SUMS.

Split rule (deterministic, stratified 80/20, seed 42):
  for each label in sorted order:
      texts = sorted(unique texts of that label); random.Random(42).shuffle(texts)
      texts are moved to test, in that order, until test holds round(0.2 * n) rows
      (a text that occurs several times carries all its copies with it, so no text
      is in both train and test); the rest is train.
  train_64: for each label, sorted(unique train texts of that label),
      random.Random(42).shuffle, the first 64 (one row per text).
  The rows of train.csv, test.csv and train_64.csv are then sorted by (text, label)
  and shuffled with random.Random(42), so the classes are interleaved.
all.csv keeps the source order.

Labels: movies and nyt (New York Times editorial snippets, the same archive and
format): `positive` if the mean rating > 0 else `negative`; an nyt snippet that occurs
with both labels (the same sentence rated in two editorials) is dropped.
chinese: `negative` (neg.txt) / `positive` (pos.txt); lines are stripped of
surrounding whitespace, empty lines and repeated lines dropped, and a review that
appears in both files (47 of them: contradictory labels) is dropped from both.
"""
import collections
import csv
import hashlib
import os
import random
import sys

SEED = 42
TEST_FRACTION = 0.2
FEW = 64
FILES = ("all.csv", "train.csv", "test.csv", "train_64.csv")


def die(msg):
    print(f"make_splits: {msg}", file=sys.stderr)
    sys.exit(1)


def read_movies(path):
    with open(path, encoding="utf-8", newline="") as f:
        raw = f.read()
    rows = []
    for n, line in enumerate(raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            die(f"{path}:{n}: expected 3 tab-separated fields (id, rating, text), got {len(parts)}")
        try:
            rating = float(parts[1])
        except ValueError:
            die(f"{path}:{n}: rating {parts[1]!r} is not a number")
        text = parts[2].strip()
        if not text:
            continue
        rows.append((text, "positive" if rating > 0 else "negative"))
    return rows


def read_lines_unique(path):
    with open(path, encoding="utf-8", newline="") as f:
        raw = f.read()
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    seen, out = set(), []
    for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        text = line.strip()
        if text and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def read_chinese(neg_path, pos_path):
    neg = read_lines_unique(neg_path)
    pos = read_lines_unique(pos_path)
    both = set(neg) & set(pos)
    rows = [(t, "negative") for t in neg if t not in both]
    rows += [(t, "positive") for t in pos if t not in both]
    return rows, len(both)


def split(rows):
    by_label = collections.defaultdict(collections.Counter)
    for text, label in rows:
        by_label[label][text] += 1
    train, test, few = [], [], []
    for label in sorted(by_label):
        counts = by_label[label]
        n = sum(counts.values())
        want = round(n * TEST_FRACTION)
        texts = sorted(counts)
        random.Random(SEED).shuffle(texts)
        n_test = 0
        train_texts = []
        for t in texts:
            if n_test < want:
                test += [(t, label)] * counts[t]
                n_test += counts[t]
            else:
                train += [(t, label)] * counts[t]
                train_texts.append(t)
        pool = sorted(train_texts)
        if len(pool) < FEW:
            die(f"label {label!r} has only {len(pool)} training texts, fewer than {FEW}")
        random.Random(SEED).shuffle(pool)
        few += [(t, label) for t in pool[:FEW]]
    out = []
    for part in (train, test, few):
        part = sorted(part)
        random.Random(SEED).shuffle(part)
        out.append(part)
    return out


def write_csv(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["text", "label"])
        w.writerows(rows)
    os.replace(tmp, path)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header != ["text", "label"]:
            die(f"{path}: header is {header!r}, expected ['text', 'label']")
        return [tuple(row) for row in r]


def summary(name, out_dir):
    parts = []
    for fn in FILES:
        rows = read_csv(os.path.join(out_dir, fn))
        c = collections.Counter(label for _, label in rows)
        per = " ".join(f"{k}={c[k]}" for k in sorted(c))
        parts.append(f"{fn[:-4]} {len(rows)} ({per})")
    print(f"{name}: " + "; ".join(parts))


def build(name, rows, out_dir, note=""):
    os.makedirs(out_dir, exist_ok=True)
    train, test, few = split(rows)
    assert len(train) + len(test) == len(rows)
    assert not ({t for t, _ in train} & {t for t, _ in test}), "a text is in both train and test"
    for fn, part in zip(FILES, (rows, train, test, few)):
        write_csv(os.path.join(out_dir, fn), part)
    with open(os.path.join(out_dir, "SHA256SUMS"), "w", encoding="utf-8") as f:
        for fn in FILES:
            f.write(f"{sha256(os.path.join(out_dir, fn))}  {fn}\n")
    if note:
        print(f"{name}: {note}")
    summary(name, out_dir)


def main(argv):
    if len(argv) == 4 and argv[1] == "movies":
        build("movies", read_movies(argv[2]), argv[3])
    elif len(argv) == 4 and argv[1] == "nyt":
        rows = read_movies(argv[2])
        labels = collections.defaultdict(set)
        for text, label in rows:
            labels[text].add(label)
        build("nyt", [(t, l) for t, l in rows if len(labels[t]) == 1], argv[3])
    elif len(argv) == 5 and argv[1] == "chinese":
        rows, n_both = read_chinese(argv[2], argv[3])
        build("chinese", rows, argv[4],
              note=f"dropped {n_both} reviews found in both neg.txt and pos.txt")
    elif len(argv) == 3 and argv[1] == "count":
        summary(os.path.basename(os.path.normpath(argv[2])), argv[2])
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
