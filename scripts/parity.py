#!/usr/bin/env python3
"""Check that an exported classifier gives the same predictions in transformers and studio.

Run with the peers venv (scripts/setup-peers):
    $STUDIO_CACHE/venv-peers/bin/python scripts/parity.py --model <export-dir> \
        --texts <file.txt | .csv | .tsv | .jsonl> [--text-col text] [--n 300] \
        [--studio <studio binary>] [--batch 32] [--skip-studio]

Loads <export-dir> with AutoModelForSequenceClassification + AutoTokenizer (and
pipeline("text-classification")), computes logits for the first n texts, runs
`studio predict --model <dir> --json --file <tmp.txt>` on the same texts, and prints
max |Δ logit|, max |Δ prob|, label agreement and whether pipeline's top labels equal
studio's. Exit 0 when they agree; 1 when max |Δ logit| > 1e-3, agreement < 100%,
from_pretrained reports missing or unexpected keys, or studio fails; 2 on bad usage.

--studio defaults to ${CARGO_TARGET_DIR:-<repo>/target}/release/studio.
--skip-studio runs only the transformers side (a smoke test of the folder).
Runs offline: HF_HUB_OFFLINE=1 is set unless already set.
Texts are read as one line each (newlines inside a CSV cell become spaces, the
same text on both sides) and empty texts are skipped.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LOGIT_TOL = 1e-3
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def usage_error(msg):
    print(f"parity.py: {msg}", file=sys.stderr)
    sys.exit(2)


def read_texts(path, text_col, n):
    if not os.path.isfile(path):
        usage_error(f"no such file: {path}")
    ext = os.path.splitext(path)[1].lower()
    texts = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        if ext in (".csv", ".tsv"):
            r = csv.DictReader(f, delimiter="\t" if ext == ".tsv" else ",")
            if text_col not in (r.fieldnames or []):
                usage_error(f"{path} has no column {text_col!r} (columns: {r.fieldnames}); use --text-col")
            rows = (row[text_col] or "" for row in r)
        elif ext == ".jsonl":
            rows = (json.loads(line).get(text_col, "") for line in f if line.strip())
        else:
            rows = (line.rstrip("\n") for line in f)
        for t in rows:
            t = " ".join(str(t).split())  # one line, as studio reads a .txt
            if t:
                texts.append(t)
            if len(texts) >= n:
                break
    if not texts:
        usage_error(f"{path} holds no texts")
    return texts


def softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    s = sum(e)
    return [v / s for v in e]


def transformers_side(model_dir, texts, batch, max_length):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    torch.set_num_threads(os.cpu_count() or 1)
    model, info = AutoModelForSequenceClassification.from_pretrained(model_dir, output_loading_info=True)
    model.eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    problems = []
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        v = info.get(k) or []
        print(f"from_pretrained {k}: {len(v)}" + (f" {sorted(map(str, v))}" if v else ""))
        if v and k != "error_msgs":
            problems.append(f"{len(v)} {k.replace('_', ' ')}")
        elif v:
            problems.append(f"{len(v)} loading errors")
    print(f"model: {model.config.architectures} model_type={model.config.model_type} labels={labels} "
          f"problem_type={model.config.problem_type}")
    if max_length is None:
        max_length = min(tok.model_max_length, getattr(model.config, "max_position_embeddings", 512))
    lens = [len(ids) for ids in tok(texts, truncation=False)["input_ids"]]
    n_long = sum(l > max_length for l in lens)
    print(f"tokens per text: max {max(lens)}, mean {sum(lens) / len(lens):.1f}; truncating at {max_length}"
          + (f" ({n_long} texts longer: studio must truncate the same way)" if n_long else ""))

    logits = []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            enc = tok(texts[i:i + batch], padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt")
            logits += model(**enc).logits.float().tolist()

    clf = pipeline("text-classification", model=model_dir, tokenizer=model_dir, device="cpu")
    pipe = clf(texts, batch_size=batch, truncation=True, max_length=max_length)
    pipe_labels = [p["label"] for p in pipe]
    return labels, logits, pipe_labels, problems


def studio_side(studio, model_dir, texts):
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        path = os.path.join(tmp, "texts.txt")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(texts) + "\n")
        cmd = [studio, "predict", "--model", model_dir, "--json", "--file", path]
        print("running:", " ".join(cmd))
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
        dt = time.time() - t0
    if p.returncode != 0:
        print(f"studio exited with {p.returncode}: {p.stderr.strip()}", file=sys.stderr)
        return None, dt
    out = []
    for i, line in enumerate(p.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            print(f"studio stdout line {i} is not JSON ({e}): {line[:120]!r}", file=sys.stderr)
            return None, dt
    return out, dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="exported classifier folder")
    ap.add_argument("--texts", required=True, help=".txt (one text a line), .csv/.tsv/.jsonl with a text column")
    ap.add_argument("--text-col", default="text")
    ap.add_argument("--n", type=int, default=300)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    ap.add_argument("--studio", default=os.path.join(target, "release", "studio"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=None,
                    help="truncation length (default: the tokenizer's model_max_length, at most max_position_embeddings)")
    ap.add_argument("--skip-studio", action="store_true", help="only run the transformers side")
    a = ap.parse_args()
    if not os.path.isdir(a.model):
        usage_error(f"no such model folder: {a.model}")
    if a.n < 1:
        usage_error("--n must be at least 1")
    if not a.skip_studio and not os.access(a.studio, os.X_OK):
        usage_error(f"no studio binary at {a.studio} (build it with `cargo build --release` or pass --studio)")
    model_dir = os.path.abspath(a.model)
    texts = read_texts(a.texts, a.text_col, a.n)
    print(f"{len(texts)} texts from {a.texts}")

    t0 = time.time()
    labels, logits, pipe_labels, problems = transformers_side(model_dir, texts, a.batch, a.max_length)
    ref_labels = [labels[max(range(len(l)), key=l.__getitem__)] for l in logits]
    print(f"transformers: {time.time() - t0:.1f} s; pipeline top label == argmax logits: "
          f"{sum(p == r for p, r in zip(pipe_labels, ref_labels))}/{len(texts)}")
    if a.skip_studio:
        for t, l, lab in list(zip(texts, logits, ref_labels))[:3]:
            print(f"  {lab:>10}  {[round(x, 4) for x in l]}  {t[:60]!r}")
        print("FAIL: " + "; ".join(problems) if problems else "transformers side OK (studio skipped)")
        return 1 if problems else 0

    got, dt = studio_side(a.studio, model_dir, texts)
    if got is None:
        print("FAIL: studio predict did not give usable output")
        return 1
    print(f"studio: {len(got)} results in {dt:.1f} s")
    if len(got) != len(texts):
        print(f"FAIL: studio gave {len(got)} results for {len(texts)} texts")
        return 1

    d_logit = d_prob = 0.0
    agree = pipe_agree = 0
    text_mismatch = 0
    no_logits = False
    worst = None
    for i, (t, ref, obj) in enumerate(zip(texts, logits, got)):
        if obj.get("text") != t:
            text_mismatch += 1
        probs, lg = obj.get("probs") or {}, obj.get("logits")
        if set(probs) != set(labels) or (lg is not None and set(lg) != set(labels)):
            print(f"FAIL: studio's labels {sorted(probs)} differ from the model's {sorted(labels)} (text {i + 1})")
            return 1
        ref_p = softmax(ref)
        for j, lab in enumerate(labels):
            d_prob = max(d_prob, abs(probs[lab] - ref_p[j]))
            if lg is None:
                no_logits = True
            else:
                d = abs(lg[lab] - ref[j])
                if d > d_logit:
                    d_logit, worst = d, i
        agree += obj.get("label") == ref_labels[i]
        pipe_agree += obj.get("label") == pipe_labels[i]

    n = len(texts)
    print(f"max |Δ logit|: " + ("n/a (studio printed no \"logits\")" if no_logits else f"{d_logit:.3g}"
                                + (f" (text {worst + 1}: {texts[worst][:60]!r})" if worst is not None else "")))
    print(f"max |Δ prob|:  {d_prob:.3g}")
    print(f"label agreement (transformers vs studio): {100.0 * agree / n:.2f}% ({agree}/{n})")
    print(f"pipeline top labels == studio labels: {'yes' if pipe_agree == n else 'no'} ({pipe_agree}/{n})")
    if text_mismatch:
        print(f"note: studio echoed a different \"text\" for {text_mismatch} lines")
    fails = list(problems)
    if no_logits:
        fails.append("studio printed no logits")
    elif d_logit > LOGIT_TOL:
        fails.append(f"max |Δ logit| {d_logit:.3g} > {LOGIT_TOL:g}")
    if agree != n:
        fails.append(f"label agreement {100.0 * agree / n:.2f}% < 100%")
    print("FAIL: " + "; ".join(fails) if fails else "PASS")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
