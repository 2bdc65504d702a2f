"""Accuracy and macro-F1 as a `datasets` metric script for scripts/fastfit_curve.py.

FastFit loads its metric by name with `datasets.load_metric`, which fetches the script
from the internet; handing it this file's path keeps the run offline and gives the
macro-F1 the curve tables report beside accuracy.
"""
import datasets


class AccuracyAndMacroF1(datasets.Metric):
    def _info(self):
        return datasets.MetricInfo(
            description="accuracy and macro-F1 of class ids",
            citation="",
            inputs_description="predictions, references: lists of class ids",
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references):
        pairs = list(zip(predictions, references))
        f1s = []
        for label in sorted(set(references)):
            tp = sum(p == label and t == label for p, t in pairs)
            fp = sum(p == label and t != label for p, t in pairs)
            fn = sum(p != label and t == label for p, t in pairs)
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        return {"accuracy": sum(p == t for p, t in pairs) / max(1, len(pairs)),
                "macro_f1": sum(f1s) / max(1, len(f1s))}
