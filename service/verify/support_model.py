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
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from service.errors import ModelNotInstalled
from service.verify.rules import apply_hard_rules
from service.verify.sessions import open_session
from service.verify.support_features import (
    FEATURES,
    State,
    TokenEncoder,
    claim_names,
    common_words,
    join,
    numbers,
    pair_features,
    shows_conflict,
)
from service.verify.windowed import WindowedJudge
from service.verify.windows import sentences_of, window_units

MODEL_DIR = Path(__file__).resolve().parent / "model"
#: Sentences whose encoder states are kept (float16, ~25 KB each): an index's sentences
#: recur across questions; `warm` encodes them before the first one.
CACHE_SENTENCES = 8192
_WARM_BATCH = 32


class SupportModel(WindowedJudge):
    name = "support"
    _shared: ClassVar[dict[tuple[str, float | None, bool], SupportModel]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path = MODEL_DIR, threshold: float | None = None,
                 threads: int = 0, rules: bool = False,
                 encoder: TokenEncoder | None = None) -> None:
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
        # five small MLPs (1 MB): a thread pool only waits
        self._head = open_session(head, threads=1)
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
        todo: dict[str, None] = {}
        for text in texts:  # read lazily: a large index fills the cache long before its end
            with self._cache_lock:
                todo.update((u, None) for u in sentences_of(text) if u not in self._cache)
            if len(todo) >= CACHE_SENTENCES:
                break
        units = list(todo)[:CACHE_SENTENCES]
        for i in range(0, len(units), _WARM_BATCH):
            self._states(units[i:i + _WARM_BATCH])
        return len(units)

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
        apply_hard_rules(probs, pairs)
        if self.rules:
            for i, (claim, window) in enumerate(pairs):
                lowered = window.lower()
                if not (numbers(claim) <= numbers(window)
                        and all(n in lowered for n in claim_names(claim))):
                    probs[i, 0] = 0.0
                    probs[i] /= max(float(probs[i].sum()), 1e-9)
        return probs
