"""Fit the combination of the support head and the cross-encoder (issue 29): a logistic
model over `service.verify.combined.FEATURES`, fitted on the dev split's scored pairs
(score_pairs.py), each source given the same total weight so HaluEval's 4,000 pairs do not
drown the documents' 2,000. numpy only (no torch); writes meta.json's "combiner" entry
and reliability_combined_dev.png.

    python tools/train_verifier/fit_combiner.py --scores build/combiner/dev-scores.jsonl \
        --out service/verify/model

What it reports (and records in meta.json): per source, AUROC of the head alone, the
cross-encoder alone and the combination, the combination's out-of-fold figures (5 folds,
grouped by evidence text, so a claim is never scored by a fit that saw its passage), the
threshold (the one that maximises balanced accuracy on the documents' pairs, out of fold:
answers are checked against document passages), and
the expected calibration error with its reliability curve.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measures import auroc, balanced, ece, plot

GROUPS = {"halueval_qa": "qa", "halueval_dialogue": "dialogue"}  # the rest: documents
L2 = 1.0
FOLDS = 5


def group(source: str) -> str:
    return GROUPS.get(source, "documents")


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Weighted L2-regularised logistic regression by Newton's method (standardised
    inputs, unregularised bias); returns weights and bias on the raw inputs."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ beta))
        gradient = z.T @ (w * (p - y)) + penalty * beta
        hessian = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = beta[:-1] / std
    return weights, float(beta[-1] - (mean / std) @ beta[:-1])


def predict(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ weights + bias)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.scores.open(encoding="utf-8")]
    names_of_x = rows[0]["features"]  # service.verify.combined.FEATURES, as scored
    x = np.array([r["x"] for r in rows], dtype=np.float64)
    y = np.array([r["label"] for r in rows], dtype=np.float64)
    groups = np.array([group(r["source"]) for r in rows])
    names = sorted(set(groups))
    w = np.array([len(rows) / (len(names) * (groups == g).sum()) for g in groups])
    folds = np.array([int(hashlib.sha1(r["evidence"].encode()).hexdigest(), 16) % FOLDS
                      for r in rows])
    out_of_fold = np.zeros(len(rows))
    for k in range(FOLDS):
        weights, bias = fit(x[folds != k], y[folds != k], w[folds != k])
        out_of_fold[folds == k] = predict(x[folds == k], weights, bias)
    # The threshold is for answers checked against document passages: the one that
    # balances errors caught and faithful claims passed best on the documents' pairs.
    # HaluEval's figures are AUROC, which no threshold changes.
    thresholds = np.linspace(0.05, 0.95, 91)
    documents = groups == "documents"
    threshold = float(thresholds[int(np.argmax([
        balanced(out_of_fold[documents], y[documents], t) for t in thresholds]))])
    weights, bias = fit(x, y, w)
    head, cross = x[:, names_of_x.index("head")], x[:, names_of_x.index("cross")]
    by_group = {g: {"n": int((groups == g).sum()),
                    "auroc_head": round(auroc(head[groups == g], y[groups == g]), 4),
                    "auroc_cross": round(auroc(cross[groups == g], y[groups == g]), 4),
                    "auroc_combined_oof": round(auroc(out_of_fold[groups == g],
                                                      y[groups == g]), 4),
                    "balanced_oof": round(balanced(out_of_fold[groups == g],
                                                   y[groups == g], threshold), 4)}
                for g in names}
    error, curve = ece(out_of_fold, y)
    plot(curve, args.out / "reliability_combined_dev.png",
         f"head + cross-encoder, dev out of fold (ECE {error:.3f})", label="combined")
    entry = {"features": names_of_x, "weights": [round(float(v), 6) for v in weights],
             "bias": round(bias, 6), "threshold": round(threshold, 3),
             "cross_range": [round(float(cross.min()), 4), round(float(cross.max()), 4)],
             "fitted_on": f"{args.scores.name}: {len(rows)} dev pairs, sources weighted "
             "equally (qa, dialogue, documents), L2 1.0",
             "dev": {"by_source": by_group, "ece_oof": round(error, 4),
                     "reliability": [[round(a, 4), round(b, 4), n] for a, b, n in curve]}}
    meta_path = args.out / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["combiner"] = entry
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({k: v for k, v in entry.items() if k != "dev"}
                     | {"dev": {k: v for k, v in entry["dev"].items() if k != "reliability"}},
                     indent=1))


if __name__ == "__main__":
    main()
