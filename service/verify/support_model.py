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
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from service.errors import ModelNotInstalled
from service.verify.support_features import (
    FEATURES,
    State,
    TokenEncoder,
    calendar_conflict,
    claim_names,
    common_words,
    content_words,
    join,
    names,
    numbers,
    pair_features,
    shows_conflict,
)
from service.verify.table import Cell, Evidence, SupportTable, Verdict
from service.verify.windows import Window, sentences_of, window_units, windows, with_title

MODEL_DIR = Path(__file__).resolve().parent / "model"
CONTRADICTION_FLOOR = 0.5
#: Sentences whose encoder states are kept (float16, ~25 KB each): an index's sentences
#: recur across questions; `warm` encodes them before the first one.
CACHE_SENTENCES = 8192
_WARM_BATCH = 32
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class _Pair:
    claim: int
    evidence: int
    window: Window


def _plain(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def _names_absent(claim: str, window: str) -> bool:
    """The claim names people or places and the window (with its title) holds none of
    them: the head, trained partly on HaluEval answers whose names the knowledge need not
    hold, can still score such a claim as plausible."""
    named, lowered = names(claim), window.lower()
    return bool(named) and not any(n in lowered for n in named)


def _words_absent(claim: str, window: str) -> bool:
    """Not one of the claim's (two or more) content words is in the window."""
    words = content_words(claim)
    return len(words) >= 2 and not words & content_words(window)


class SupportModel:
    name = "support"
    _shared: ClassVar[dict[tuple[str, float | None, bool], SupportModel]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path = MODEL_DIR, threshold: float | None = None,
                 threads: int = 0, rules: bool = False,
                 encoder: TokenEncoder | None = None) -> None:
        import onnxruntime as ort

        from service.embed.minilm import model_files

        head = model_dir / "support_head.onnx"
        if not head.is_file():
            raise ModelNotInstalled(f"{head} is missing: run `make train-verifier`")
        self.meta = json.loads((model_dir / "meta.json").read_text())
        if self.meta.get("features") != FEATURES:
            raise ModelNotInstalled(
                f"{head} reads {self.meta.get('features')} features, the code computes "
                f"{FEATURES}: retrain it with `make train-verifier`")
        self.threshold = float(self.meta["threshold"] if threshold is None else threshold)
        common_words()  # the names check's word list, read now rather than at an answer
        #: Hard rules on top of the head: a window lacking a name or a number of the claim
        #: does not support it (measured in docs/benchmarks.md, "Verifier (issue 13)").
        self.rules = rules
        if rules:
            self.name = "support+rules"
        self._encoder = encoder or TokenEncoder(*model_files(), threads=threads)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1  # five small MLPs (1 MB): a thread pool only waits
        self._head = ort.InferenceSession(str(head), options,
                                          providers=["CPUExecutionProvider"])
        self._cache: OrderedDict[str, State] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._encode_lock = threading.Lock()

    @classmethod
    def shared(cls, threshold: float | None = None, rules: bool = False) -> SupportModel:
        """One loaded model per process, threshold and rules."""
        key = (str(MODEL_DIR), threshold, rules)
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = cls(threshold=threshold, rules=rules)
            return cls._shared[key]

    def _states(self, texts: Sequence[str]) -> dict[str, State]:
        """Encoder states of texts, from the cache or encoded now in one batch."""
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for text in found:
                self._cache.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            with self._encode_lock:
                encoded = self._encoder.encode(missing)
            with self._cache_lock:
                for text, (tokens, pooled) in zip(missing, encoded, strict=True):
                    found[text] = self._cache[text] = (tokens.astype(np.float16), pooled)
                while len(self._cache) > CACHE_SENTENCES:
                    self._cache.popitem(last=False)
        return found

    def warm(self, texts: Iterable[str]) -> int:
        """Encode the sentences of these texts (an index's chunks and titles) ahead of
        the questions that will cite them, up to the cache's size; returns how many were
        encoded now."""
        todo = list(dict.fromkeys(u for t in texts for u in sentences_of(t)))
        with self._cache_lock:
            todo = [u for u in todo if u not in self._cache][:CACHE_SENTENCES]
        for i in range(0, len(todo), _WARM_BATCH):
            self._states(todo[i:i + _WARM_BATCH])
        return len(todo)

    def probabilities(self, pairs: Sequence[tuple[str, str]],
                      probes: Sequence[str] | None = None,
                      titles: Sequence[str | None] | None = None) -> np.ndarray:
        """[n, 3] P(supported, contradicted, not_found) for (claim, window) pairs: one
        encoder call for every distinct text, one head call for every pair. `probes`: the
        text the encoder reads for each claim (the claim with its question), if not it;
        `titles`: the title each window is shown under, if any (it leads the window)."""
        if not pairs:
            return np.zeros((0, 3), dtype=np.float32)
        probes = list(probes) if probes is not None else [c for c, _ in pairs]
        titles = list(titles) if titles is not None else [None] * len(pairs)
        units = {w: window_units(w, t) for (_, w), t in zip(pairs, titles, strict=True)}
        states = self._states([*probes, *(u for us in units.values() for u in us)])
        window_states = {w: join([states[u] for u in us]) for w, us in units.items()}
        features = np.stack([
            pair_features(claim, window, join([states[probe]]), window_states[window], title)
            for (claim, window), probe, title in zip(pairs, probes, titles, strict=True)])
        probs = self._head.run(None, {"features": features})[0]
        for i, row in enumerate(features):
            # "Contradicted" needs a conflict the checks can point at; without one the
            # claim is not found (the rules below may still say otherwise).
            if probs[i].argmax() == 1 and not shows_conflict(row):
                probs[i, 2] += probs[i, 1]
                probs[i, 1] = 0.0
        for i, (claim, window) in enumerate(pairs):
            if _plain(claim) in _plain(window):  # word for word: supported, whatever it says
                probs[i] = (1.0, 0.0, 0.0)
            elif calendar_conflict(claim, window):  # another month or weekday: contradicted
                probs[i] = (0.0, 1.0, 0.0)
            elif _words_absent(claim, window):  # about something it never mentions
                probs[i] = (0.0, 0.0, 1.0)
            elif _names_absent(claim, window):  # about no one it names: not supported;
                probs[i, 0] = 0.0  # contradicted (a swapped name) or not found, as the head says
                probs[i] /= max(float(probs[i].sum()), 1e-9)
        if self.rules:
            for i, (claim, window) in enumerate(pairs):
                lowered = window.lower()
                if not (numbers(claim) <= numbers(window)
                        and all(n in lowered for n in claim_names(claim))):
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
                 for p in pairs],
                [evidence[p.evidence].title for p in pairs])
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
