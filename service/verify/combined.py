"""The support head and the cross-encoder combined (issue 29): each reads the claim against
its cited text its own way, and a small logistic model fitted on their dev split
(tools/train_verifier/fit_combiner.py; weights in model/meta.json, "combiner") turns the
two cells and the claim's word overlap with the text into one P(supported).

Why both: the head (frozen features, name/number/speaker checks) is exact where a claim
restates its passage's words, the commonest answer, and the cross-encoder reads a
paraphrase the head cannot (HaluEval dialogue: 0.91 against 0.58 AUROC). The overlap
feature lets the fit trust each where it is good (docs/benchmarks.md, "Verifier (issue
29)").

A claim that restates its passage (most of its content words are the passage's, the
passage read under its document's title as the models read it) and that the head passes
stays passed: the cross-encoder may under-read a faithful document sentence (the first
one, trained on too few document pairs, vetoed 2 of 13 correct contract answers the head
passed; docs/benchmarks.md). The head's checks catch a restatement's changed date or
polarity; a name or number the passage lacks sends the claim to the combination.

Verdict per (claim, cited text): supported when the combined score reaches the fitted
threshold (or the head passes a restatement); otherwise contradicted when the head's
cell is (a name, number, date or polarity in conflict that the checks point at), else
not found. The window shown is the head's, or the cross-encoder's when only it found
support.

The cross-encoder costs ~5-10 ms a window, the head ~1 ms: the cross-encoder reads one
window per cell, the reading window around the head's (where the claim's words are), and
runs only on cells whose verdict it can change. The combined logit is linear in the
cross-encoder's logit, so with the head's cell known the verdict is fixed when both ends
of the cross-encoder's range (`cross_range` in the fit) fall on one side of the threshold; such
a cell's score is the head-only bound nearest to it. `score()` (evaluation: AUROC,
calibration) always runs both.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from service.errors import ModelNotInstalled
from service.generation.citations import lexical_support
from service.index.terms import stopwords
from service.verify.cross_encoder import CrossEncoder
from service.verify.support_features import numbers
from service.verify.support_model import SupportModel
from service.verify.table import Cell, Evidence, SupportTable, Verdict
from service.verify.windowed import ensure_cited
from service.verify.windows import Window, with_title

MODEL_DIR = Path(__file__).resolve().parent / "model"
#: The inputs of the logistic combination, in the order of its weights.
FEATURES = ("head", "cross", "overlap", "head_x_overlap", "cross_x_overlap", "short",
            "head_contradicted")
_EPS = 1e-4
#: The share of a claim's content words found in its passage from which the claim counts
#: as a restatement, and the head's "supported" stands (`CombinedJudge.restated`).
RESTATES = 0.6
#: Names (and a capitalised first word that is no function word): all must be the passage's.
_CAPITALISED = re.compile(r"\b[A-Z]\w+")
_WORD = re.compile(r"\w+")


def capitalised(claim: str) -> list[str]:
    """The claim's capitalised words, but a function word that is capitalised only for
    starting the sentence ("The next meeting …" against "Next meeting: …")."""
    found = [(m.start(), m.group()) for m in _CAPITALISED.finditer(claim)]
    return [w for start, w in found
            if not (start == len(claim) - len(claim.lstrip()) and w.lower() in stopwords())]


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def features(head: Cell, cross_logit: float, claim: str, overlap: float) -> np.ndarray:
    """The combination's inputs for one (claim, evidence text) cell; `overlap`: the share
    of the claim's content words in the text (`lexical_support`)."""
    h = logit(head.score)
    return np.array([h, cross_logit, overlap, h * overlap, cross_logit * overlap,
                     float(len(claim.split()) <= 4), float(head.contradicted)],
                    dtype=np.float64)


class Combination:
    """The fitted logistic model: weights per feature, bias, threshold, cross range."""

    def __init__(self, entry: dict[str, Any]) -> None:
        if tuple(entry.get("features", ())) != FEATURES:
            raise ModelNotInstalled(
                f"the combiner in meta.json reads {entry.get('features')}, the code computes "
                f"{FEATURES}: refit it with `make train-verifier`")
        self.weights = np.asarray(entry["weights"], dtype=np.float64)
        self.bias = float(entry["bias"])
        self.threshold = float(entry["threshold"])
        self.cross_range = (float(entry["cross_range"][0]), float(entry["cross_range"][1]))

    def probability(self, x: np.ndarray) -> float:
        return float(1 / (1 + math.exp(-(float(x @ self.weights) + self.bias))))

    def bounds(self, head: Cell, claim: str, overlap: float) -> tuple[float, float]:
        """The lowest and highest combined score over the cross-encoder's range."""
        ends = [self.probability(features(head, c, claim, overlap))
                for c in self.cross_range]
        return min(ends), max(ends)


class CombinedJudge:
    """`RAG_VERIFIER=combined`: head + cross-encoder (see the module's docstring)."""

    name = "combined"
    _shared: ClassVar[dict[tuple[str, float | None], CombinedJudge]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path = MODEL_DIR, threshold: float | None = None,
                 head: SupportModel | None = None, cross: CrossEncoder | None = None,
                 fitted: bool = True) -> None:
        """`fitted=False`: the two models only, before a combination is fitted
        (tools/train_verifier/score_pairs.py reads their cells through `cross_cells`)."""
        self.head = head or SupportModel.shared()
        self.cross = cross or CrossEncoder.shared()
        self._cache = self.head._cache  # the warm-up state is the head's encoder cache
        if not fitted:
            return
        meta = json.loads((model_dir / "meta.json").read_text())
        if "combiner" not in meta:
            raise ModelNotInstalled(f"{model_dir / 'meta.json'} has no combiner: run "
                                    "`make train-verifier`")
        self.combination = Combination(meta["combiner"])
        self.threshold = self.combination.threshold if threshold is None else threshold

    @classmethod
    def shared(cls, threshold: float | None = None) -> CombinedJudge:
        key = (str(MODEL_DIR), threshold)
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = cls(threshold=threshold)
            return cls._shared[key]

    def warm(self, texts: Iterable[str]) -> int:
        return self.head.warm(texts)

    def table(self, claims: Sequence[str], evidence: Sequence[Evidence],
              questions: Sequence[str | None] | None = None,
              cited: Sequence[Sequence[int]] | None = None, *,
              exact: bool = False) -> SupportTable:
        """Claims against evidence texts (the BatchJudge protocol). `exact`: run the
        cross-encoder on every cell, not only where it can change the verdict."""
        asked = list(questions or [None] * len(claims))
        cuts: tuple[dict[int, list[Window]], dict[int, list[Window]]] = ({}, {})

        def fill(wanted: list[tuple[int, int]]) -> dict[tuple[int, int], Cell]:
            heads = self.head.cells(claims, evidence, asked, wanted, cuts[0])
            texts = {e: with_title(evidence[e].title, evidence[e].text) for _, e in wanted}
            overlaps = {(c, e): lexical_support(claims[c], texts[e]) for c, e in wanted}
            bounds = {key: self.combination.bounds(heads[key], claims[key[0]], overlaps[key])
                      for key in wanted}
            floors = {key: self.restated(heads[key], claims[key[0]], texts[key[1]],
                                         overlaps[key]) for key in wanted}
            decided = {} if exact else {
                key: score for key in wanted
                if (score := self._decided(*bounds[key], floors[key])) is not None}
            undecided = [key for key in wanted if key not in decided]
            crosses = self.cross_cells(claims, evidence, asked, undecided, heads, cuts[1])
            out = {}
            for key in wanted:
                head, cross = heads[key], crosses.get(key)
                score = decided.get(key)
                if score is None and cross is not None:
                    score = max(floors[key] or 0.0, self.combination.probability(features(
                        head, logit(cross.score), claims[key[0]], overlaps[key])))
                shown = cross if (cross is not None and head.score < self.head.threshold
                                  and cross.score >= self.cross.threshold) else head
                out[key] = Cell(round(float(score or 0.0), 4), head.p_contradicted,
                                head.contradicted, shown.start, shown.end)
            return out

        table = SupportTable(fill, len(claims), len(evidence), self.threshold)
        return ensure_cited(table, len(evidence), cited)

    def _decided(self, lo: float, hi: float, floor: float | None) -> float | None:
        """A cell's score when the head alone settles its verdict (a conservative bound:
        the nearest to the threshold); None when the cross-encoder could change it."""
        if floor is not None:
            return max(lo, floor)
        if hi < self.threshold:
            return hi
        return lo if lo >= self.threshold else None

    def restated(self, head: Cell, claim: str, evidence: str, overlap: float
                 ) -> float | None:
        """The head's "supported" on a claim that restates its passage (at least RESTATES
        of its content words are the passage's: `overlap`, and every capitalised word
        and number), on the combined scale (the head's threshold maps to the
        combination's); else None. The combination cannot take it away: the
        cross-encoder may under-read a faithful document sentence and veto it, while the
        head's checks catch a restatement's changed date or polarity, and a new name or
        number sends the claim to the combination."""
        if head.score < self.head.threshold or overlap < RESTATES:
            return None
        words = set(_WORD.findall(evidence.lower()))
        if not (numbers(claim) <= numbers(evidence)
                and all(w.lower() in words for w in capitalised(claim))):
            return None  # a name or number the passage lacks: the combination decides
        t, floor = self.threshold, self.head.threshold
        return t + (1 - t) * (head.score - floor) / max(1 - floor, 1e-9)

    def cross_cells(self, claims: Sequence[str], evidence: Sequence[Evidence],
                    asked: Sequence[str | None], wanted: list[tuple[int, int]],
                    heads: dict[tuple[int, int], Cell], cut: dict[int, list[Window]]
                    ) -> dict[tuple[int, int], Cell]:
        """The cross-encoder's cells, each read in the one reading window that overlaps
        the head's window (best, or contradicting) the most: where the claim's words are."""
        def pick(c: int, e: int, windows: list[Window]) -> list[Window]:
            head = heads[(c, e)]
            return [max(windows, key=lambda w: min(w.end, head.end) - max(w.start, head.start))]

        return self.cross.cells(claims, evidence, asked, wanted, cut, pick) if wanted else {}

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        """Judge protocol: the combined P(supported), both models run."""
        return self.table([claim], [Evidence(evidence)], [question], exact=True).score(0, [1])

    def verdict(self, claim: str, evidence: str, question: str | None = None) -> Verdict:
        return self.table([claim], [Evidence(evidence)], [question]).verdict(0, [1])
