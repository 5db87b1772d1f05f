"""Measures shared by the verifier's training scripts: AUROC, balanced accuracy, expected
calibration error with its reliability curve, and the curve's plot. numpy and matplotlib
only (no torch), so fit_combiner.py can use them too."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # ties share their mean rank
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    pos = labels.sum()
    neg = len(labels) - pos
    return float((ranks[labels == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def balanced(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    return float(((scores[labels == 1] >= threshold).mean()
                  + (scores[labels == 0] < threshold).mean()) / 2)


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> tuple[float, list]:
    edges = np.linspace(0, 1, bins + 1)
    total, curve = 0.0, []
    for lo, hi in itertools.pairwise(edges):
        inside = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        if inside.any():
            gap = abs(probs[inside].mean() - labels[inside].mean())
            total += inside.mean() * gap
            curve.append((float(probs[inside].mean()), float(labels[inside].mean()),
                          int(inside.sum())))
    return float(total), curve


def plot(curve: list, path: Path, title: str, label: str = "support head") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot([c[0] for c in curve], [c[1] for c in curve], "o-", label=label)
    ax.set_xlabel("predicted P(supported)")
    ax.set_ylabel("share actually supported")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
