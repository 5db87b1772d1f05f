"""`rag eval calibrate --data FILE.jsonl`: measure any judge on the user's labelled pairs.

Each line is {"claim": str, "evidence": str, "label": 0 | 1} (1: the evidence supports
the claim). A claim of several sentences is scored by its least-supported sentence.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from service.errors import BadRequest
from service.evaluation.halueval import auroc, balanced
from service.verify.judge import Judge
from service.verify.windows import sentence_spans


class LabelledPair(BaseModel):
    claim: str
    evidence: str
    label: Literal[0, 1]
    question: str | None = None


def load_pairs(path: Path) -> list[LabelledPair]:
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            pairs.append(LabelledPair.model_validate_json(line))
        except ValidationError as exc:
            raise BadRequest(f"{path}:{number}: not a labelled pair "
                             f'{{"claim", "evidence", "label": 0|1}}: {exc.errors()[0]["msg"]}'
                             ) from exc
    if not pairs:
        raise BadRequest(f"{path}: no labelled pairs")
    return pairs


def claim_score(judge: Judge, pair: LabelledPair) -> float:
    sentences = [pair.claim[s:e] for s, e in sentence_spans(pair.claim)] or [pair.claim]
    return min(judge.score(s, pair.evidence, question=pair.question) for s in sentences)


def expected_calibration_error(scores: list[float], labels: list[int], bins: int = 10) -> float:
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(s, y) for s, y in zip(scores, labels, strict=True)
                  if lo <= s < hi or (b == bins - 1 and s == 1.0)]
        if inside:
            mean_score = sum(s for s, _ in inside) / len(inside)
            mean_label = sum(y for _, y in inside) / len(inside)
            total += len(inside) / len(scores) * abs(mean_score - mean_label)
    return total


def calibrate_pairs(judge: Judge, pairs: list[LabelledPair],
                    show_progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    started = time.perf_counter()
    scores = [claim_score(judge, p) for p in tqdm(pairs, desc=f"calibrating {judge.name}",
                                                   unit="pair", file=sys.stderr,
                                                   disable=not show_progress)]
    labels = [p.label for p in pairs]
    correct = sum((s >= judge.threshold) == bool(y) for s, y in zip(scores, labels, strict=True))
    return {"judge": judge.name, "threshold": judge.threshold, "n": len(pairs),
            "positives": sum(labels), "auroc": round(auroc(scores, labels), 4),
            "balanced_accuracy": round(balanced(scores, labels, judge.threshold), 4),
            "accuracy": round(correct / len(pairs), 4),
            "ece": round(expected_calibration_error(scores, labels), 4),
            "pairs_per_s": round(len(pairs) / (time.perf_counter() - started), 2),
            "date": time.strftime("%Y-%m-%d")}


def as_text(result: dict[str, Any]) -> str:
    return "\n".join(f"{key:<18} {value}" for key, value in result.items())
