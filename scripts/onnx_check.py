#!/usr/bin/env python3
"""Check an export's ONNX files in ONNX Runtime against `studio predict` on the same texts.

    python scripts/onnx_check.py --model <export-dir> --texts <labelled .csv> \
        [--text-col text] [--label-col label] [--n N] [--studio <binary>] [--json OUT] [--no-int8-gate]

For `model.onnx`: the largest |probability difference| from studio's over the texts
must be at most 1e-4 and every label must agree. For `model_int8.onnx` (when present):
its labels must agree with fp32 ONNX's on at least 99% of the texts and its accuracy
(when the file has labels) must be within 0.5 point of fp32's. Prints one summary line per
file and exits 1 when a check fails, 2 on bad usage.

Needs onnxruntime, tokenizers and numpy (scripts/check-onnx makes that venv). The texts
are tokenized with the folder's own tokenizer.json (its truncation) and padded per batch,
as a user would; studio reads the same texts from a one-per-line file.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROB_TOL = 1e-4
INT8_AGREEMENT = 0.99
INT8_ACCURACY_DROP = 0.005


def read_texts(path, text_col, label_col, n):
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            t = " ".join((row.get(text_col) or "").split())
            if not t:
                continue
            texts.append(t)
            labels.append(row.get(label_col))
            if n and len(texts) >= n:
                break
    return texts, labels


def studio_probs(studio, model, texts):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
        name = f.name
    try:
        out = subprocess.run(
            [studio, "predict", "--model", model, "--file", name, "--json"],
            check=True, capture_output=True, text=True,
        ).stdout
    finally:
        os.unlink(name)
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(rows) != len(texts):
        sys.exit(f"onnx_check: studio predicted {len(rows)} texts, expected {len(texts)}")
    return rows


def onnx_probs(path, tokenizer, texts, batch=32, threads=2):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    out = []
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        enc = tokenizer.encode_batch(texts[i : i + batch])
        feeds = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        }
        if "token_type_ids" in names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
        out.append(session.run(["probabilities"], feeds)[0])
    return np.concatenate(out), time.perf_counter() - start


def accuracy(pred_ids, labels, id2label):
    pairs = [(id2label[str(p)], l) for p, l in zip(pred_ids, labels) if l]
    return sum(p == l for p, l in pairs) / len(pairs) if pairs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--text-col", default="text")
    ap.add_argument("--label-col", default="label")
    ap.add_argument("--n", type=int, default=0, help="first N texts only (default: all)")
    ap.add_argument("--studio", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "studio"))
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--int8-gate", action=argparse.BooleanOptionalAction, default=True,
                    help="fail on int8 agreement or accuracy (--no-int8-gate: only run it, for models that learned nothing)")
    a = ap.parse_args()
    fp32 = os.path.join(a.model, "model.onnx")
    int8 = os.path.join(a.model, "model_int8.onnx")
    if not os.path.isfile(fp32):
        print(f"onnx_check: {fp32} is missing: export with --format onnx", file=sys.stderr)
        return 2
    texts, labels = read_texts(a.texts, a.text_col, a.label_col, a.n)
    if not texts:
        print(f"onnx_check: no texts in column '{a.text_col}' of {a.texts}", file=sys.stderr)
        return 2
    id2label = json.load(open(os.path.join(a.model, "config.json")))["id2label"]
    label_order = [id2label[str(i)] for i in range(len(id2label))]
    tokenizer = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    # Padding only fills the batch: the mask hides it, so its id only has to be valid.
    tokenizer.enable_padding(pad_id=json.load(open(os.path.join(a.model, "config.json"))).get("pad_token_id") or 0)

    ours = studio_probs(a.studio, a.model, texts)
    ours_p = np.array([[r["probs"][l] for l in label_order] for r in ours], dtype=np.float64)
    p32, s32 = onnx_probs(fp32, tokenizer, texts)
    diff = float(np.abs(p32 - ours_p).max())
    agree32 = float((p32.argmax(1) == ours_p.argmax(1)).mean())
    acc_ours = accuracy(ours_p.argmax(1), labels, id2label)
    acc32 = accuracy(p32.argmax(1), labels, id2label)
    report = {
        "texts": len(texts),
        "fp32": {
            "bytes": os.path.getsize(fp32),
            "max_abs_prob_diff": diff,
            "label_agreement_with_studio": agree32,
            "accuracy": acc32,
            "seconds": s32,
        },
        "studio_accuracy": acc_ours,
    }
    failed = []
    print(f"onnx fp32: {len(texts)} texts, max |Δ prob| {diff:.2e} (limit {PROB_TOL:.0e}), labels agree {agree32:.4f}, accuracy {acc32} (studio {acc_ours}), {os.path.getsize(fp32) / 1e6:.1f} MB, {s32:.1f} s")
    if diff > PROB_TOL or agree32 < 1.0:
        failed.append("fp32 parity")
    if os.path.isfile(int8):
        p8, s8 = onnx_probs(int8, tokenizer, texts)
        agree8 = float((p8.argmax(1) == p32.argmax(1)).mean())
        acc8 = accuracy(p8.argmax(1), labels, id2label)
        report["int8"] = {
            "bytes": os.path.getsize(int8),
            "label_agreement_with_fp32": agree8,
            "accuracy": acc8,
            "max_abs_prob_diff_from_fp32": float(np.abs(p8 - p32).max()),
            "seconds": s8,
        }
        drop = (acc32 - acc8) if acc8 is not None and acc32 is not None else 0.0
        print(f"onnx int8: labels agree with fp32 on {agree8:.4f} (need {INT8_AGREEMENT}), accuracy {acc8} (fp32 {acc32}, drop {drop:+.4f}, limit {INT8_ACCURACY_DROP}), {os.path.getsize(int8) / 1e6:.1f} MB, {s8:.1f} s")
        if not np.isfinite(p8).all() or not np.allclose(p8.sum(1), 1.0, atol=1e-4):
            failed.append("int8 probabilities")
        if a.int8_gate and (agree8 < INT8_AGREEMENT or drop > INT8_ACCURACY_DROP):
            failed.append("int8 agreement")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
    if failed:
        print("onnx check FAILED: " + ", ".join(failed))
        return 1
    print("onnx check ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
