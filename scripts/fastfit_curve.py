#!/usr/bin/env python3
"""FastFit (IBM, NAACL 2024; `fast-fit` on PyPI) on the exact training samples
`studio report curve` wrote, for a side-by-side learning curve, like setfit_curve.py.
Runs in its own venv (scripts/setup-fastfit: fast-fit 1.2.1 needs datasets < 3 and
transformers < 4.46).

usage: fastfit_curve.py --samples DIR/samples --test test.csv [--test-limit N]
                        --model <model folder> --out fastfit.json [--threads N]

Each samples/<k>_<seed>.csv (text,label) is one run, seeded, at the settings of
FastFit's README (what a user copies: 40 epochs, 4 repeats, Adafactor, classifier loss
factor 0.1, batch 32, texts truncated at 128 tokens) on the CPU; test accuracy and
macro-F1 on the test texts, and the training seconds.
"""
import os, shutil, sys, tempfile, time

from peer_curve import Points, arguments, read, runs

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    a = arguments(__doc__)
    for k, v in [("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                 ("HF_DATASETS_OFFLINE", "1"), ("WANDB_DISABLED", "true"),
                 # Our own metric script (fastfit_metric.py) is the only code it loads.
                 ("HF_DATASETS_TRUST_REMOTE_CODE", "1"),
                 ("TRANSFORMERS_VERBOSITY", "error")]:
        os.environ.setdefault(k, v)
    import torch
    torch.set_num_threads(a.threads)
    from datasets import Dataset, DatasetDict
    from fastfit import FastFitTrainer

    test_x, test_y = read(a.test, a.test_limit)
    points = Points()
    for k, seed, x, y in runs(a.samples):
        test = Dataset.from_dict({"text": test_x, "label": test_y})
        data = DatasetDict({"train": Dataset.from_dict({"text": x, "label": y}),
                            "validation": test, "test": test})
        out_dir = tempfile.mkdtemp(prefix="fastfit-")
        try:
            trainer = FastFitTrainer(
                model_name_or_path=a.model, label_column_name="label", text_column_name="text",
                dataset=data, output_dir=out_dir, overwrite_output_dir=True, save_strategy="no",
                report_to="none", use_cpu=True, seed=seed, max_text_length=a.max_len,
                num_train_epochs=40, num_repeats=4, optim="adafactor", clf_loss_factor=0.1,
                per_device_train_batch_size=32, per_device_eval_batch_size=64,
                dataloader_drop_last=False,
                metric_name=os.path.join(HERE, "fastfit_metric.py"))
            t0 = time.time()
            trainer.train()
            secs = time.time() - t0
            scores = trainer.evaluate()
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        point = {"method": "fastfit", "per_class": k, "seed": seed, "n_labels": len(x),
                 "accuracy": scores["eval_accuracy"], "macro_f1": scores["eval_macro_f1"],
                 "train_secs": secs}
        points.add(point)
    points.write(a.out)


if __name__ == "__main__":
    sys.exit(main())
