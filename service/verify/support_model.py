"""The trained support classifier: does this evidence support this claim, contradict it,
or not say?

Runs with onnxruntime only (no torch): the bundled all-MiniLM-L6-v2 int8 encoder, frozen,
reads every claim and every evidence sentence window once, in one batch; a small trained
head (service/verify/model/support_head.onnx, int8; trained by `make train-verifier`,
see docs/verifier.md) turns each (claim, window) pair's features into P(supported),
P(contradicted), P(not_found), all pairs in one call. A claim's support is its best
window's P(supported); its verdict:
- supported: P(supported) >= threshold (picked on the dev split, model/meta.json);
- contradicted: otherwise, when a window's P(contradicted) is at least 0.5 and its
  largest class (a name, number, date or polarity of the claim conflicts with it);
- not_found: otherwise.
Satisfies the evaluation `Judge` protocol (`rag eval calibrate --judge support`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from service.errors import ModelNotInstalled
from service.verify.support_features import TokenEncoder, names, numbers, pair_features
from service.verify.windows import Window, windows, with_title

MODEL_DIR = Path(__file__).resolve().parent / "model"
CONTRADICTION_FLOOR = 0.5
_WORDS = re.compile(r"\w+")
Verdict = Literal["supported", "contradicted", "not_found"]


@dataclass(frozen=True)
class Evidence:
    """One cited text: windows are cut from `text`; offsets are relative to it."""

    text: str
    title: str | None = None


@dataclass(frozen=True)
class Cell:
    """A claim against one evidence text: its best window."""

    score: float  # P(supported) of the best window
    p_contradicted: float  # the largest P(contradicted) among its windows
    contradicted: bool  # some window's largest class is "contradicted", P >= floor
    start: int  # the window to show (best, or the contradicting one), offsets in the text
    end: int


class SupportTable:
    """Claims x evidence texts; evidence numbered from 1 (passage markers). Cells asked
    for up front are scored in one batch; any other is scored when first read (the
    re-citing of an unsupported claim), so a supported answer never pays for passages
    it does not cite."""

    def __init__(self, fill: Callable[[list[tuple[int, int]]], dict[tuple[int, int], Cell]],
                 claims: int, evidence: int, threshold: float) -> None:
        self._fill = fill
        self.cells: list[list[Cell | None]] = [[None] * evidence for _ in range(claims)]
        self.threshold = threshold

    def ensure(self, wanted: Sequence[tuple[int, int]]) -> None:
        """Score the (claim, evidence index from 0) cells not scored yet, in one batch."""
        missing = list(dict.fromkeys((c, e) for c, e in wanted if self.cells[c][e] is None))
        for (c, e), cell in self._fill(missing).items() if missing else ():
            self.cells[c][e] = cell

    def _row(self, claim: int, numbers: Sequence[int]) -> list[tuple[int, Cell]]:
        row = self.cells[claim]
        valid = [n for n in numbers if 1 <= n <= len(row)]
        self.ensure([(claim, n - 1) for n in valid])
        return [(n, c) for n in valid if (c := row[n - 1]) is not None]

    def score(self, claim: int, numbers: Sequence[int]) -> float:
        return max((c.score for _, c in self._row(claim, numbers)), default=0.0)

    def verdict(self, claim: int, numbers: Sequence[int]) -> Verdict:
        cells = self._row(claim, numbers)
        if any(c.score >= self.threshold for _, c in cells):
            return "supported"
        return "contradicted" if any(c.contradicted for _, c in cells) else "not_found"

    def spans(self, claim: int, numbers: Sequence[int]) -> list[tuple[int, int, int]]:
        """(evidence number, start, end) of the windows behind the verdict."""
        verdict = self.verdict(claim, numbers)
        cells = self._row(claim, numbers)
        if verdict == "supported":
            keep = [(n, c) for n, c in cells if c.score >= self.threshold]
        elif verdict == "contradicted":
            keep = [(n, c) for n, c in cells if c.contradicted]
        else:
            keep = []
        return [(n, c.start, c.end) for n, c in keep]


@dataclass(frozen=True)
class _Pair:
    claim: int
    evidence: int
    window: Window


def _plain(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


class SupportModel:
    name = "support"
    _shared: ClassVar[dict[tuple[str, float | None, bool], SupportModel]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path = MODEL_DIR, threshold: float | None = None,
                 threads: int = 0, rules: bool = False) -> None:
        import onnxruntime as ort

        from service.embed.minilm import model_files

        head = model_dir / "support_head.onnx"
        if not head.is_file():
            raise ModelNotInstalled(f"{head} is missing: run `make train-verifier`")
        self.meta = json.loads((model_dir / "meta.json").read_text())
        self.threshold = float(self.meta["threshold"] if threshold is None else threshold)
        #: Hard rules on top of the head: a window lacking a name or a number of the claim
        #: does not support it (measured in docs/benchmarks.md, "Verifier (issue 13)").
        self.rules = rules
        if rules:
            self.name = "support+rules"
        self._encoder = TokenEncoder(*model_files(), threads=threads)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._head = ort.InferenceSession(str(head), options,
                                          providers=["CPUExecutionProvider"])
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._cache_lock = threading.Lock()

    @classmethod
    def shared(cls, threshold: float | None = None, rules: bool = False) -> SupportModel:
        """One loaded model per process, threshold and rules."""
        key = (str(MODEL_DIR), threshold, rules)
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = cls(threshold=threshold, rules=rules)
            return cls._shared[key]

    def _states(self, texts: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        with self._cache_lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            for text, state in zip(missing, self._encoder.encode(missing), strict=True):
                self._cache[text] = state
            found = {t: self._cache[t] for t in texts}
            if len(self._cache) > 4096:  # bounded: passages change with every question
                self._cache = dict(found)
            return found

    def probabilities(self, pairs: Sequence[tuple[str, str]],
                      probes: Sequence[str] | None = None) -> np.ndarray:
        """[n, 3] P(supported, contradicted, not_found) for (claim, window) pairs: one
        encoder call for every distinct text, one head call for every pair. `probes`: the
        text the encoder reads for each claim (the claim with its question), if not it."""
        if not pairs:
            return np.zeros((0, 3), dtype=np.float32)
        probes = list(probes) if probes is not None else [c for c, _ in pairs]
        states = self._states([*probes, *(w for _, w in pairs)])
        features = np.stack([pair_features(claim, window, states[probe], states[window])
                             for (claim, window), probe in zip(pairs, probes, strict=True)])
        probs = self._head.run(None, {"features": features})[0]
        for i, (claim, window) in enumerate(pairs):
            if _plain(claim) in _plain(window):  # word for word: supported, whatever it says
                probs[i] = (1.0, 0.0, 0.0)
        if self.rules:
            for i, (claim, window) in enumerate(pairs):
                lowered = window.lower()
                if not (numbers(claim) <= numbers(window)
                        and all(n in lowered for n in names(claim, first=True))):
                    probs[i, 0] = 0.0
                    probs[i] /= max(float(probs[i].sum()), 1e-9)
        return probs

    def table(self, claims: Sequence[str], evidence: Sequence[Evidence],
              questions: Sequence[str | None] | None = None,
              cited: Sequence[Sequence[int]] | None = None) -> SupportTable:
        """Claims against evidence texts. `cited`: per claim, the evidence numbers (from
        1) to score now, in one batch (default: all); the rest are scored when read."""
        asked = questions or [None] * len(claims)
        cut: dict[int, list[Window]] = {}

        def fill(cells: list[tuple[int, int]]) -> dict[tuple[int, int], Cell]:
            pairs = []
            for c, e in cells:
                if e not in cut:
                    cut[e] = windows(evidence[e].text)
                pairs += [_Pair(c, e, w) for w in cut[e]]
            probs = self.probabilities(
                [(claims[p.claim], with_title(evidence[p.evidence].title, p.window.text))
                 for p in pairs],
                [f"{asked[p.claim]} {claims[p.claim]}" if asked[p.claim] else claims[p.claim]
                 for p in pairs])
            grouped: dict[tuple[int, int], list[int]] = {}
            for i, p in enumerate(pairs):
                grouped.setdefault((p.claim, p.evidence), []).append(i)
            return {key: self._cell(rows, pairs, probs) for key, rows in grouped.items()}

        table = SupportTable(fill, len(claims), len(evidence), self.threshold)
        numbers = cited if cited is not None else [range(1, len(evidence) + 1)] * len(claims)
        table.ensure([(c, n - 1) for c, ns in enumerate(numbers) for n in ns
                      if 1 <= n <= len(evidence)])
        return table

    def _cell(self, rows: list[int], pairs: list[_Pair], probs: np.ndarray) -> Cell:
        best = max(rows, key=lambda i: probs[i, 0])
        contra = max(rows, key=lambda i: probs[i, 1])
        contradicted = bool(probs[contra, 1] >= CONTRADICTION_FLOOR
                            and probs[contra].argmax() == 1)
        shown = pairs[contra if contradicted and probs[best, 0] < self.threshold else best]
        return Cell(round(float(probs[best, 0]), 4), round(float(probs[contra, 1]), 4),
                    contradicted, shown.window.start, shown.window.end)

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        """Judge protocol: P(supported) of the evidence's best window."""
        return self.table([claim], [Evidence(evidence)], [question]).score(0, [1])

    def verdict(self, claim: str, evidence: str, question: str | None = None) -> Verdict:
        return self.table([claim], [Evidence(evidence)], [question]).verdict(0, [1])
