#!/usr/bin/env python3
"""SetFit on the exact training samples `studio report curve` wrote, for a side-by-side
learning curve. Run with the peers venv (scripts/setup-peers).

usage: setfit_curve.py --samples DIR/samples --test test.csv [--test-limit N]
                       --model <sentence-transformers folder> --out setfit.json
Each samples/<k>_<seed>.csv (text,label) is one run: SetFit's defaults (CosineSimilarityLoss,
num_iterations=20, batch 16, 1 epoch, body lr 2e-5, LogisticRegression head), seeded; texts
truncated at --max-len tokens (default 128, as studio's balanced preset).
"""
import os, sys, tempfile, time

from peer_curve import Points, arguments, read, runs

def main():
    a = arguments(__doc__)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    torch.set_num_threads(a.threads)
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    test_x, test_y = read(a.test, a.test_limit)
    points = Points()
    for k, seed, x, y in runs(a.samples):
        labels = sorted(set(y))
        model = SetFitModel.from_pretrained(a.model, labels=labels)
        model.model_body.max_seq_length = a.max_len
        args = TrainingArguments(batch_size=16, num_epochs=1, num_iterations=20, seed=seed,
                                 report_to="none", show_progress_bar=False,
                                 output_dir=tempfile.mkdtemp(prefix="setfit-"))
        trainer = Trainer(model=model, args=args,
                          train_dataset=Dataset.from_dict({"text": x, "label": y}))
        t0 = time.time()
        trainer.train()
        secs = time.time() - t0
        pred = list(model.predict(test_x))
        acc = sum(p == t for p, t in zip(pred, test_y)) / len(test_y)
        f1s = []
        for l in labels:
            tp = sum(p == l and t == l for p, t in zip(pred, test_y))
            fp = sum(p == l and t != l for p, t in zip(pred, test_y))
            fn = sum(p != l and t == l for p, t in zip(pred, test_y))
            pr = tp / (tp + fp) if tp + fp else 0.0
            rc = tp / (tp + fn) if tp + fn else 0.0
            f1s.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
        point = {"method": "setfit", "per_class": k, "seed": seed, "n_labels": len(x),
                 "accuracy": acc, "macro_f1": sum(f1s) / len(f1s), "train_secs": secs}
        points.add(point)
    points.write(a.out)

if __name__ == "__main__":
    sys.exit(main())
