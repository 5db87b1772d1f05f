"""The cross-encoder support model: a claim and its evidence read together.

all-MiniLM-L6-v2 fine-tuned end to end on "[CLS] claim [SEP] evidence window [SEP]"
pairs (tools/train_verifier/train_cross.py, `make train-verifier`; docs/verifier.md),
exported to int8 ONNX (service/verify/model/cross_encoder.onnx) and run with onnxruntime
and tokenizers only: no torch at run time. It gives P(supported), P(contradicted),
P(not_found) per (claim, reading window) pair, one pair a call: onnxruntime's dynamic
int8 scales activations per call, so a batch would make a pair's score depend on its
batch-mates (and their padding).

Two judges, registered in backends.py:
- `cross`: the model alone;
- `cross+rules`: the model with the rules that the frozen-feature head's measurements
  kept (service/verify/rules.py): a name, number or month in conflict with the window
  is contradicted whatever the model says; "contradicted" needs a conflict the checks
  can point at (else not found); word-for-word quotes are supported; claims about
  nothing or no one the window names are not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from service.errors import ModelNotInstalled
from service.verify.rules import apply_hard_rules, conflict, plain
from service.verify.sessions import open_session
from service.verify.support_features import pair_ids, pair_tokenizer, surface
from service.verify.windowed import WindowedJudge
from service.verify.windows import Window, reading_windows

MODEL_DIR = Path(__file__).resolve().parent / "model"
#: The surface checks that overrule the model: a number of the claim the window has
#: another of, two names in each other's place, a name where one of the aligned
#: sentence's own stands (`support_features.surface`). A flipped polarity is not among
#: them: "the lack of communication" reads as one against "do not communicate".
_HARD_CONFLICTS = (3, 9, 16)


class CrossEncoder(WindowedJudge):
    name = "cross"
    _shared: ClassVar[dict[tuple[str, float | None, bool], CrossEncoder]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path = MODEL_DIR, threshold: float | None = None,
                 rules: bool = False, threads: int = 0) -> None:
        meta_path = model_dir / "meta.json"
        meta = json.loads(meta_path.read_text()).get("cross_encoder") if (
            meta_path.is_file()) else None
        path = model_dir / (meta or {}).get("file", "cross_encoder.onnx")
        if meta is None or not path.is_file():
            raise ModelNotInstalled(f"{path} (or its entry in meta.json) is missing: run "
                                    "`make train-verifier`")
        self.meta = meta
        self.threshold = float(meta["threshold"] if threshold is None else threshold)
        self.rules = rules
        if rules:
            self.name = "cross+rules"
        self._tokenizer = pair_tokenizer()
        self._max_tokens = int(meta["max_tokens"])
        self._session = open_session(path, threads)
        self._run_lock = threading.Lock()

    @classmethod
    def shared(cls, threshold: float | None = None, rules: bool = False) -> CrossEncoder:
        """One loaded model per process, threshold and rules."""
        key = (str(MODEL_DIR), threshold, rules)
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = cls(threshold=threshold, rules=rules)
            return cls._shared[key]

    def cut(self, text: str) -> list[Window]:
        return reading_windows(text)

    def model_probabilities(self, firsts: Sequence[str], windows: Sequence[str]) -> np.ndarray:
        """The model's own [n, 3] probabilities, one pair a call; repeated pairs once."""
        out = np.zeros((len(firsts), 3), dtype=np.float32)
        done: dict[tuple[str, str], np.ndarray] = {}
        for i, key in enumerate(zip(firsts, windows, strict=True)):
            if key not in done:
                ids, types = pair_ids(self._tokenizer, *key, self._max_tokens)
                row = np.array([ids], dtype=np.int64)
                with self._run_lock:
                    done[key] = self._session.run(None, {
                        "input_ids": row, "attention_mask": np.ones_like(row),
                        "token_type_ids": np.array([types], dtype=np.int64)})[0][0]
            out[i] = done[key]
        return out

    def probabilities(self, pairs: Sequence[tuple[str, str]],
                      probes: Sequence[str] | None = None,
                      titles: Sequence[str | None] | None = None) -> np.ndarray:
        if not pairs:
            return np.zeros((0, 3), dtype=np.float32)
        probes = list(probes) if probes is not None else [c for c, _ in pairs]
        titles = list(titles) if titles is not None else [None] * len(pairs)
        probs = self.model_probabilities(probes, [w for _, w in pairs])
        if not self.rules:
            return probs
        for i, ((claim, window), title) in enumerate(zip(pairs, titles, strict=True)):
            if plain(claim) in plain(window):
                continue  # the hard rules below call it supported
            checks = surface(claim, window, title)
            if any(checks[k] > 0 for k in _HARD_CONFLICTS):
                probs[i] = (0.0, 1.0, 0.0)
            elif probs[i].argmax() == 1 and not conflict(claim, window, title):
                probs[i, 2] += probs[i, 1]
                probs[i, 1] = 0.0
        return apply_hard_rules(probs, pairs)
