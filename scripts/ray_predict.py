#!/usr/bin/env python3
"""Score a CSV with an exported classifier's ONNX file on Ray Data (run by
scripts/distributed-predict inside $STUDIO_CACHE/venv-ray; see its --help).

The pipeline: ray.data.read_csv -> zip with a row-id range -> map_batches(OnnxScorer)
on a pool of actors (each loads an onnxruntime InferenceSession and the folder's
tokenizer.json once) -> streamed to one CSV in input order. Then the checks: row count,
row ids, texts in place, and optionally labels against `studio predict --json`.
"""
import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

# Long texts may be quoted across lines; csv needs a large field limit for those.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

ROW_ID = "row_id"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="exported folder (model.onnx, tokenizer.json, config.json)")
    p.add_argument("--file", required=True, help="input CSV with a header row")
    p.add_argument("--text-col", default="text", help="column holding the text (default: text)")
    p.add_argument("--out", required=True, help="output CSV")
    p.add_argument("--int8", action="store_true", help="use model_int8.onnx")
    p.add_argument("--check", type=int, default=0, help="compare the first N labels with `studio predict`")
    p.add_argument("--studio", default="target/release/studio", help="the studio binary for --check")
    p.add_argument("--batch-size", type=int, default=64, help="texts per map_batches call (default: 64)")
    p.add_argument("--num-cpus", type=int, default=2, help="CPUs given to ray.init (default: 2)")
    p.add_argument("--actors", type=int, default=None, help="scoring actors (default: --num-cpus)")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads per actor (default: 1)")
    p.add_argument("--min-agreement", type=float, default=None,
                   help="with --check, the fraction of labels that must equal studio's (default: 1.0; "
                        "0.98 with --int8, as studio runs the float model)")
    p.add_argument("--tie-margin", type=float, default=1e-3,
                   help="with --check, a label difference where studio's top-two probabilities are closer "
                        "than this counts as agreement (float rounding; default: 0.001)")
    a = p.parse_args(argv)
    if a.actors is None:
        a.actors = a.num_cpus
    if min(a.num_cpus, a.actors, a.threads, a.batch_size) < 1:
        p.error("--num-cpus, --actors, --threads and --batch-size must be >= 1")
    if a.min_agreement is None:
        a.min_agreement = 0.98 if a.int8 else 1.0
    if not 0.0 <= a.min_agreement <= 1.0:
        p.error("--min-agreement must be in 0..1")
    return a


def model_facts(model_dir):
    """Labels (by id), max tokens and pad token from config.json / tokenizer.json."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    id2label = cfg.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise SystemExit(f"ray_predict: {model_dir}/config.json has no id2label")
    labels = [id2label[k] for k in sorted(id2label, key=lambda k: int(k))]
    max_pos = cfg.get("max_position_embeddings")
    if not isinstance(max_pos, int) or max_pos < 4:
        raise SystemExit(f"ray_predict: {model_dir}/config.json has no usable max_position_embeddings")
    model_type = cfg.get("model_type", "")
    # XLM-R (and RoBERTa-style) position ids start after the padding index.
    max_len = max_pos - 2 if model_type in ("xlm-roberta", "roberta", "camembert") else max_pos
    return labels, max_len, cfg.get("pad_token_id"), model_type


class OnnxScorer:
    """A map_batches callable class: one InferenceSession + tokenizer per actor."""

    def __init__(self, onnx_path, tokenizer_path, text_col, labels, max_len, pad_id, threads):
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.np = np
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self.inputs
        if missing:
            raise ValueError(f"{onnx_path}: inputs {sorted(self.inputs)} lack {sorted(missing)}")
        outputs = {o.name for o in self.session.get_outputs()}
        if "probabilities" not in outputs:
            raise ValueError(f"{onnx_path}: no 'probabilities' output (has {sorted(outputs)})")
        self.tok = Tokenizer.from_file(tokenizer_path)
        # The folder's tokenizer.json may carry fixed padding (e.g. to 128) and its own
        # truncation; reset both: truncate at the model's limit, pad to the batch's longest.
        old_pad = self.tok.padding
        pad_token = old_pad["pad_token"] if old_pad else None
        if pad_id is None:
            pad_id = old_pad["pad_id"] if old_pad else 0
        if pad_token is None:
            pad_token = self.tok.id_to_token(pad_id) or "[PAD]"
        self.tok.no_truncation()
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=max_len)
        self.tok.enable_padding(pad_id=pad_id, pad_token=pad_token)
        self.text_col = text_col
        self.labels = labels

    def __call__(self, batch):
        np = self.np
        texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t)
                 for t in batch[self.text_col].tolist()]
        enc = self.tok.encode_batch(texts)
        feeds = {}
        if "input_ids" in self.inputs:
            feeds["input_ids"] = np.array([e.ids for e in enc], dtype=np.int64)
        if "attention_mask" in self.inputs:
            feeds["attention_mask"] = np.array([e.attention_mask for e in enc], dtype=np.int64)
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
        probs = self.session.run(["probabilities"], feeds)[0]
        if probs.shape != (len(texts), len(self.labels)):
            raise ValueError(f"probabilities of shape {probs.shape} for {len(texts)} texts, {len(self.labels)} labels")
        top = probs.argmax(axis=1)
        batch["label"] = [self.labels[i] for i in top]
        for j, lab in enumerate(self.labels):
            batch[f"p_{lab}"] = probs[:, j].astype(float)
        return batch


def read_input(path, text_col):
    """The input as the csv module reads it: (header, texts by row)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header is None:
            raise SystemExit(f"ray_predict: {path} is empty")
        if text_col not in header:
            raise SystemExit(f"ray_predict: {path} has no column {text_col!r} (columns: {header})")
        k = header.index(text_col)
        texts = [row[k] if k < len(row) else "" for row in r if row]
    return header, texts


def run_ray(a, onnx_path, labels, max_len, pad_id, n_rows):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    t0 = time.perf_counter()
    ray.init(num_cpus=a.num_cpus, include_dashboard=False, log_to_driver=True,
             object_store_memory=512 * 1024 * 1024, configure_logging=True, logging_level="WARNING")
    init_s = time.perf_counter() - t0
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # rows come back in input order
    ctx.enable_progress_bars = False
    try:
        ds = ray.data.read_csv(
            os.path.abspath(a.file),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={a.text_col: pa.string()}),
        )
        if a.text_col not in ds.columns():
            raise SystemExit(f"ray_predict: {a.file}: Ray sees no column {a.text_col!r} (columns: {ds.columns()})")
        if ROW_ID in ds.columns():
            raise SystemExit(f"ray_predict: {a.file} already has a column {ROW_ID!r}")
        clash = {c: f"input_{c}" for c in ds.columns() if c in output_columns(labels)}
        if clash:
            if a.text_col in clash or set(clash.values()) & set(ds.columns()):
                raise SystemExit(f"ray_predict: {a.file}: cannot rename input columns {sorted(clash)}")
            print(f"ray_predict: input columns renamed in the output: {clash}", file=sys.stderr)
            ds = ds.rename_columns(clash)
        ids = ray.data.range(n_rows).rename_columns({"id": ROW_ID})
        # zip pairs rows by position (deprecated from Ray 2.60 in favour of a join on a key
        # column; the file has none). check_output() verifies every id carries its text.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ds = ids.zip(ds)
        scored = ds.map_batches(
            OnnxScorer,
            fn_constructor_kwargs=dict(
                onnx_path=onnx_path, tokenizer_path=os.path.join(a.model, "tokenizer.json"),
                text_col=a.text_col, labels=labels, max_len=max_len, pad_id=pad_id, threads=a.threads),
            batch_size=a.batch_size,
            batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=a.actors),
            # The actors together reserve half the logical CPUs: with one whole CPU each they
            # would hold every CPU ray.init was given, and the read tasks (1 CPU each) would
            # never be scheduled (a deadlock seen with num_cpus=2). Reservations are logical;
            # each actor still runs --threads onnxruntime threads.
            num_cpus=a.num_cpus / (2 * a.actors),
        )
        t1 = time.perf_counter()
        written = 0
        tmp_out = a.out + ".part"
        try:
            with open(tmp_out, "w", newline="", encoding="utf-8") as f:
                first = True
                for df in scored.iter_batches(batch_format="pandas", batch_size=1024):
                    df.to_csv(f, index=False, header=first)
                    first = False
                    written += len(df)
        except Exception as e:
            if os.path.exists(tmp_out):
                os.remove(tmp_out)
            msg = str(e).strip().splitlines()
            hint = (" (Ray's CSV reader and Python's csv module count the rows differently?)"
                    if "zip" in str(e).lower() or "row" in str(e).lower() else "")
            print(f"ray_predict: the Ray pipeline failed: {type(e).__name__}: {msg[0] if msg else ''}{hint}",
                  file=sys.stderr)
            raise SystemExit(1)
        os.replace(tmp_out, a.out)
        score_s = time.perf_counter() - t1
    finally:
        ray.shutdown()
    return written, init_s, score_s


def output_columns(labels):
    return ["label"] + [f"p_{lab}" for lab in labels]


def check_output(a, in_texts, labels):
    """Row count, ids 0..n-1 exactly once, texts in place. Returns (ok, lines, out_rows)."""
    lines, ok = [], True
    with open(a.out, newline="", encoding="utf-8") as f:
        r = csv.DictReader(f)
        need = [ROW_ID, a.text_col, "label"] + [f"p_{lab}" for lab in labels]
        missing = [c for c in need if c not in (r.fieldnames or [])]
        if missing:
            return False, [f"output lacks columns {missing}"], []
        rows = list(r)
    n_in, n_out = len(in_texts), len(rows)
    if n_in != n_out:
        ok = False
        lines.append(f"row count: input {n_in}, output {n_out} (MISMATCH)")
    else:
        lines.append(f"row count: {n_out} = input")
    ids = []
    for row in rows:
        try:
            ids.append(int(row[ROW_ID]))
        except ValueError:
            ids.append(-1)
    seen, dups = set(), 0
    for i in ids:
        dups += i in seen
        seen.add(i)
    missing_ids = n_in - len(seen & set(range(n_in)))
    stray = len(seen - set(range(n_in)))
    if dups or missing_ids or stray:
        ok = False
        lines.append(f"row ids: {dups} duplicate, {missing_ids} missing, {stray} out of range (MISMATCH)")
    else:
        lines.append(f"row ids: 0..{n_in - 1}, each once")
    misplaced = sum(1 for row, i in zip(rows, ids) if 0 <= i < n_in and row[a.text_col] != in_texts[i])
    order_ok = ids == list(range(n_in))
    if misplaced:
        ok = False
        lines.append(f"texts: {misplaced} rows carry another row's text (MISMATCH)")
    else:
        lines.append("texts: each row id carries its input text" + ("; rows in input order" if order_ok else
                                                                      "; rows NOT in input order"))
    if rows and "input_label" in rows[0]:
        gold = [r for r in rows if r["input_label"] in labels]
        if gold:
            acc = sum(r["label"] == r["input_label"] for r in gold) / len(gold)
            lines.append(f"accuracy against the input's label column: {acc:.4f} ({len(gold)} rows)")
    bad_label = sum(1 for row in rows if row["label"] not in labels)
    if bad_label:
        ok = False
        lines.append(f"labels: {bad_label} rows with a label outside {labels} (MISMATCH)")
    return ok, lines, rows


def check_studio(a, rows, labels):
    """Labels of the first N rows against `studio predict --json`. Returns (status, lines);
    status is True (passed), False (failed) or None (skipped)."""
    if not (os.path.isfile(a.studio) and os.access(a.studio, os.X_OK)):
        return None, [f"studio check: skipped ({a.studio} is not built yet)"]
    by_id = {int(r[ROW_ID]): r for r in rows if r[ROW_ID].lstrip("-").isdigit()}
    picked = []
    for i in range(min(a.check, len(by_id))):
        r = by_id.get(i)
        if r is None:
            continue
        # .txt is one text a line: fold line breaks; studio skips blank lines, so skip empty texts.
        text = re.sub(r"\s+", " ", r[a.text_col]).strip()
        if text:
            picked.append((i, text, r))
    if not picked:
        return None, ["studio check: skipped (no non-empty texts among the first rows)"]
    with tempfile.TemporaryDirectory(prefix="ray-check-") as d:
        txt = os.path.join(d, "texts.txt")
        with open(txt, "w", encoding="utf-8") as f:
            for _, t, _ in picked:
                f.write(t + "\n")
        cmd = [a.studio, "predict", "--model", a.model, "--file", txt, "--json"]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        studio_s = time.perf_counter() - t0
    if p.returncode != 0:
        return False, [f"studio check: `{' '.join(cmd)}` failed ({p.returncode}): {p.stderr.strip()[-500:]}"]
    preds = [json.loads(line) for line in p.stdout.splitlines() if line.strip().startswith("{")]
    if len(preds) != len(picked):
        return False, [f"studio check: studio gave {len(preds)} predictions for {len(picked)} texts"]
    hard, ties, max_dp = [], [], 0.0
    for (i, text, r), s in zip(picked, preds):
        sp = s.get("probs", {})
        for lab in labels:
            if lab in sp:
                max_dp = max(max_dp, abs(float(r[f"p_{lab}"]) - float(sp[lab])))
        if r["label"] != s.get("label"):
            top2 = sorted((float(v) for v in sp.values()), reverse=True)[:2]
            margin = top2[0] - top2[1] if len(top2) == 2 else 1.0
            (ties if margin < a.tie_margin else hard).append((i, r["label"], s.get("label"), margin))
    n = len(picked)
    agree = (n - len(hard)) / n
    passed = agree >= a.min_agreement
    lines = [f"studio check: {n - len(hard) - len(ties)}/{n} labels equal `studio predict`"
             + (f" (+{len(ties)} near-tie flips, studio margin < {a.tie_margin})" if ties else "")
             + f"; agreement {agree:.2%}, need {a.min_agreement:.2%}; max |p difference| {max_dp:.2e}"
             f"; studio took {studio_s:.1f} s"]
    if hard:
        lines.append("  differing rows: " + ", ".join(
            f"{i} (ray {x}, studio {y}, studio margin {m:.2f})" for i, x, y, m in hard[:5])
            + (f", ... {len(hard) - 5} more" if len(hard) > 5 else ""))
    return passed, lines


def main(argv=None):
    a = parse_args(argv)
    t_start = time.perf_counter()
    onnx_path = os.path.join(a.model, "model_int8.onnx" if a.int8 else "model.onnx")
    labels, max_len, pad_id, model_type = model_facts(a.model)
    _, in_texts = read_input(a.file, a.text_col)
    if not in_texts:
        raise SystemExit(f"ray_predict: {a.file} has no rows")
    print(f"ray_predict: {len(in_texts)} rows from {a.file}; {os.path.basename(onnx_path)} ({model_type}, "
          f"labels {labels}, max {max_len} tokens); {a.actors} actor(s) x {a.threads} thread(s) on "
          f"{a.num_cpus} Ray CPUs, batches of {a.batch_size}",
          file=sys.stderr, flush=True)
    try:
        written, init_s, score_s = run_ray(a, onnx_path, labels, max_len, pad_id, len(in_texts))
    except Exception as e:  # Ray wraps the cause in task errors; show the innermost one
        root, seen = e, set()
        while id(root) not in seen:
            seen.add(id(root))
            nxt = getattr(root, "cause", None) or root.__cause__
            if not isinstance(nxt, BaseException):
                break
            root = nxt
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", x).strip() for x in str(e).splitlines()]
        causes = [x for x in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", x)
                  and not x.startswith("RayTaskError") and "attempts" not in x]
        why = causes[0] if causes else f"{type(root).__name__}: {lines[0] if lines else ''}"
        print(f"ray_predict: failed: {why}", file=sys.stderr)
        return 1
    total_s = time.perf_counter() - t_start

    ok, lines, rows = check_output(a, in_texts, labels)
    studio_ok = None
    if a.check > 0:
        studio_ok, more = check_studio(a, rows, labels)
        lines += more
    passed = ok and studio_ok is not False
    print(f"rows: {written} -> {a.out}")
    print(f"seconds: {total_s:.1f} total ({init_s:.1f} ray.init, {score_s:.1f} read+score+write)")
    print(f"rows/s: {written / score_s:.1f} (scoring), {written / total_s:.1f} (end to end)")
    for line in lines:
        print(line)
    print(f"check: {'PASSED' if passed else 'FAILED'}" + (" (studio comparison skipped)" if a.check > 0 and studio_ok is None else ""))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
