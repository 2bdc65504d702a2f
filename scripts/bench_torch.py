"""The PyTorch side of scripts/bench: the same tasks as `studio-bench task`, one per process.

Runs in the peers venv (torch, transformers, peft, onnx, onnxruntime), offline, on the
same model folder and the same data, and prints one JSON object per task on stdout. Usage:

    HF_HUB_OFFLINE=1 python scripts/bench_torch.py full --model DIR --data DIR --seq 64

ONNX Runtime, the runtime a deploying user compares with: `accuracy --onnx-dir DIR` also
exports the fine-tuned classifier with torch.onnx (model.onnx) and ONNX Runtime's dynamic
int8 quantisation (model_int8.onnx) and scores both on the test texts; `ort --quant
fp32|int8 --onnx-dir DIR` then times them as `infer` times PyTorch.
"""

import argparse
import csv
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()


def read_csv(path):
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["text"].strip():
                texts.append(row["text"])
                labels.append(row["label"].strip())
    names = sorted(set(labels))
    return texts, [names.index(l) for l in labels], names


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def classifier(a, labels):
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_pretrained(
        a.model, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)})


def optimizer(model, lr):
    # transformers' Trainer default on torch >= 2.8: fused AdamW, no decay on biases/LayerNorm.
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if n.endswith(".bias") or "LayerNorm" in n else decay).append(p)
    groups = [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=lr)


def step(model, opt, params, batch, y):
    t0 = time.perf_counter()
    out = model(**batch)
    loss = F.cross_entropy(out.logits, y)
    value = loss.item()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, value


def step_task(a, texts, labels, names):
    model = classifier(a, names)
    if a.task == "lora":
        from peft import LoraConfig, TaskType, get_peft_model
        cfg = LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, lora_dropout=0.0,
                         target_modules=["query", "key", "value", "attention.output.dense"],
                         modules_to_save=["classifier", "pooler.dense"])
        model = get_peft_model(model, cfg)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = optimizer(model, 5e-5)
    tok = AutoTokenizer.from_pretrained(a.model)
    fwd, bwd, op, total = [], [], [], []
    for i in range(a.warmup + a.reps):
        lo = (i * a.batch) % (len(texts) - a.batch)
        batch = tok(texts[lo:lo + a.batch], padding="max_length", truncation=True,
                    max_length=a.seq, return_tensors="pt")
        batch.pop("token_type_ids", None)
        y = torch.tensor(labels[lo:lo + a.batch])
        f, b, o, _ = step(model, opt, params, batch, y)
        if i >= a.warmup:
            fwd.append(f); bwd.append(b); op.append(o); total.append(f + b + o)
    return {"task": a.task, "seq": a.seq, "batch": a.batch,
            "median_s": statistics.median(total), "all_s": total,
            "fwd_s": statistics.median(fwd), "bwd_s": statistics.median(bwd),
            "opt_s": statistics.median(op)}


def head_task(a, texts, labels, names):
    n = min(a.train_n, len(texts))
    enc = AutoModel.from_pretrained(a.model).eval()
    tok = AutoTokenizer.from_pretrained(a.model)
    feats = []
    with torch.inference_mode():
        for lo in range(0, n, 32):
            b = tok(texts[lo:min(lo + 32, n)], padding=True, truncation=True, max_length=128,
                    return_tensors="pt")
            h = enc(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
            m = b["attention_mask"].unsqueeze(2).float()
            mean = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            feats.append(F.layer_norm(mean, (mean.shape[1],), eps=1e-12))
    feats = torch.cat(feats).clone()
    y_all = torch.tensor(labels[:n])
    torch.manual_seed(0)
    head = torch.nn.Linear(feats.shape[1], len(names))
    torch.nn.init.normal_(head.weight, std=0.02)
    torch.nn.init.zeros_(head.bias)
    drop = torch.nn.Dropout(0.1)
    head.train()
    opt = optimizer(head, 3e-3)
    params = list(head.parameters())
    epochs = []
    for r in range(min(a.warmup, 1) + a.reps):
        t0 = time.perf_counter()
        for lo in range(0, n, 32):
            x = feats[lo:lo + 32]
            loss = F.cross_entropy(head(drop(x)), y_all[lo:lo + 32])
            loss.item()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
        if r >= min(a.warmup, 1):
            epochs.append(time.perf_counter() - t0)
    return {"task": "head", "n": n, "batch": 32, "median_s": statistics.median(epochs),
            "all_s": epochs}


def packed_texts(texts, seq):
    """Consecutive texts joined with a space until each string has at least 8 * seq
    characters, so that it fills `seq` tokens: real text at one length, for the sweep.
    studio-bench builds the same strings."""
    out, cur = [], []
    for t in texts:
        cur.append(t)
        if len(" ".join(cur)) >= 8 * seq:
            out.append(" ".join(cur))
            cur = []
    return out


def infer_texts(a, texts):
    """The texts and the token limit of an inference task: the test texts as they are
    (truncated at 128 tokens, each batch padded to its longest) or packed to --seq."""
    if a.seq_infer:
        return packed_texts(texts, a.seq_infer), a.seq_infer
    return texts, 128


def time_predict(a, predict, texts):
    """Sentences per second at batch 32 and batch 1 and single-text latency, as
    studio-bench measures them: the same texts, warm-ups and repetitions."""
    n32 = min(a.infer_n, len(texts))
    predict(texts[:32])
    b32 = []
    for _ in range(max(1, min(a.reps, 3))):
        t0 = time.perf_counter()
        for lo in range(0, n32, 32):
            predict(texts[lo:lo + 32])
        b32.append(n32 / (time.perf_counter() - t0))
    n1 = min(a.latency_n, len(texts))
    for t in texts[:5]:
        predict([t])
    lat = []
    for t in texts[:n1]:
        t0 = time.perf_counter()
        predict([t])
        lat.append(time.perf_counter() - t0)
    out = {"b32_sps": statistics.median(b32), "b32_all": b32, "b1_sps": n1 / sum(lat),
           "p50_ms": percentile(lat, 50) * 1e3, "p95_ms": percentile(lat, 95) * 1e3}
    if a.seq_infer:
        out["seq"] = a.seq_infer
    return out


def infer_task(a, texts, names):
    model = classifier(a, names).eval()
    tok = AutoTokenizer.from_pretrained(a.model)
    texts, max_len = infer_texts(a, texts)

    def predict(chunk):
        with torch.inference_mode():
            b = tok(chunk, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
            b.pop("token_type_ids", None)
            probs = torch.softmax(model(**b).logits, -1)
            return [names[i] for i in probs.argmax(-1).tolist()], probs.tolist()

    return {"task": "infer", **time_predict(a, predict, texts)}


def ort_session(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_logits(session, tok, chunk, max_len):
    b = tok(chunk, padding=True, truncation=True, max_length=max_len, return_tensors="np")
    return session.run(None, {"input_ids": b["input_ids"].astype("int64"),
                              "attention_mask": b["attention_mask"].astype("int64")})[0]


def export_onnx(model, tok, out_dir):
    """model.onnx by torch.onnx (TorchScript exporter, dynamic batch and length) and
    model_int8.onnx by ONNX Runtime's dynamic quantisation (int8 weights, activations
    quantised per call): what a user gets following the two projects' guides."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    os.makedirs(out_dir, exist_ok=True)
    fp32 = os.path.join(out_dir, "model.onnx")
    b = tok(["an example", "a second, longer example"], padding=True, return_tensors="pt")
    model.eval()
    torch.onnx.export(
        model, (b["input_ids"], b["attention_mask"]), fp32, dynamo=False,
        input_names=["input_ids", "attention_mask"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                      "attention_mask": {0: "batch", 1: "seq"}, "logits": {0: "batch"}},
        opset_version=17)
    quantize_dynamic(fp32, os.path.join(out_dir, "model_int8.onnx"), weight_type=QuantType.QInt8)


def ort_task(a, texts, names):
    tok = AutoTokenizer.from_pretrained(a.model)
    path = os.path.join(a.onnx_dir, "model.onnx" if a.quant == "fp32" else "model_int8.onnx")
    session = ort_session(path, a.threads)
    texts, max_len = infer_texts(a, texts)

    def predict(chunk):
        logits = ort_logits(session, tok, chunk, max_len)
        return logits.argmax(-1).tolist()

    import onnxruntime

    return {"task": "ort", "quant": a.quant, "ort": onnxruntime.__version__,
            **time_predict(a, predict, texts)}


def accuracy_task(a, texts, labels, names, test_texts, test_labels):
    model = classifier(a, names)
    model.train()
    tok = AutoTokenizer.from_pretrained(a.model)
    n = min(a.train_n, len(texts))
    bs = 16
    total = -(-n // bs)
    warmup = round(total * 0.1)
    opt = optimizer(model, 5e-5)
    params = [p for p in model.parameters() if p.requires_grad]

    def lr_at(step):  # studio-core's linear_schedule, exactly
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return min(1.0, max(0.0, (total - step) / max(1, total - warmup)))

    t0 = time.perf_counter()
    losses = []
    for step_i, lo in enumerate(range(0, n, bs)):
        for g in opt.param_groups:
            g["lr"] = 5e-5 * lr_at(step_i)
        b = tok(texts[lo:lo + bs], padding=True, truncation=True, max_length=128,
                return_tensors="pt")
        b.pop("token_type_ids", None)
        *_, loss = step(model, opt, params, b, torch.tensor(labels[lo:lo + bs]))
        losses.append(loss)
    train_s = time.perf_counter() - t0
    model.eval()
    m = min(a.test_n, len(test_texts))
    correct = 0
    with torch.inference_mode():
        for lo in range(0, m, 64):
            b = tok(test_texts[lo:lo + 64], padding=True, truncation=True, max_length=128,
                    return_tensors="pt")
            b.pop("token_type_ids", None)
            pred = model(**b).logits.argmax(-1).tolist()
            correct += sum(int(p == t) for p, t in zip(pred, test_labels[lo:lo + 64]))
    k = min(10, len(losses))
    out = {"task": "accuracy", "train_n": n, "test_n": m, "steps": total,
           "accuracy": correct / m, "train_s": train_s,
           "loss_first10": sum(losses[:k]) / k, "loss_last10": sum(losses[-k:]) / k}
    if a.onnx_dir:
        export_onnx(model, tok, a.onnx_dir)
        for quant, name in [("fp32", "model.onnx"), ("int8", "model_int8.onnx")]:
            session = ort_session(os.path.join(a.onnx_dir, name), a.threads)
            right = 0
            for lo in range(0, m, 64):
                pred = ort_logits(session, tok, test_texts[lo:lo + 64], 128).argmax(-1).tolist()
                right += sum(int(p == t) for p, t in zip(pred, test_labels[lo:lo + 64]))
            out[f"accuracy_ort_{quant}"] = right / m
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("task", choices=["full", "lora", "head", "infer", "accuracy", "ort"])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--train-n", type=int, default=2000)
    p.add_argument("--test-n", type=int, default=1000)
    p.add_argument("--infer-n", type=int, default=320)
    p.add_argument("--latency-n", type=int, default=100)
    p.add_argument("--seq-infer", type=int, default=0,
                   help="inference on texts packed to this many tokens (0: the texts as they are)")
    p.add_argument("--onnx-dir", default="", help="where accuracy writes and ort reads the ONNX files")
    p.add_argument("--quant", choices=["fp32", "int8"], default="fp32")
    p.add_argument("--threads", type=int, default=int(os.environ.get("RAYON_NUM_THREADS", "2")))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    texts, labels, names = read_csv(os.path.join(a.data, "train.csv"))
    test_texts, test_labels, _ = read_csv(os.path.join(a.data, "test.csv"))
    if a.task in ("full", "lora"):
        out = step_task(a, texts, labels, names)
    elif a.task == "head":
        out = head_task(a, texts, labels, names)
    elif a.task == "infer":
        out = infer_task(a, test_texts, names)
    elif a.task == "ort":
        out = ort_task(a, test_texts, names)
    else:
        out = accuracy_task(a, texts, labels, names, test_texts, test_labels)
    out["side"] = "ort" if a.task == "ort" else "torch"
    out["threads"] = torch.get_num_threads()
    out["torch"] = torch.__version__
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
