"""The bundled GGUF model, run in process by llama-cpp-python."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from service.config import Settings
from service.errors import LLMUnavailable, ModelNotInstalled
from service.generation.chat import Completion, Message
from service.models import require_gguf


class LocalLLM:
    _instances: ClassVar[dict[tuple[Path, int, int], LocalLLM]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path, context_tokens: int, threads: int, timeout_s: float,
                 temperature: float) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelNotInstalled(
                "llama-cpp-python is not installed; run `make setup` or choose "
                "RAG_GENERATOR=extractive / openai"
            ) from exc
        self.name = f"local:{path.name}"
        self._timeout_s = timeout_s
        self._temperature = temperature
        self._lock = threading.Lock()  # a llama.cpp context serves one request at a time
        self._model: Any = Llama(model_path=str(path), n_ctx=context_tokens,
                                 n_threads=threads or os.cpu_count() or 1, verbose=False)

    @classmethod
    def shared(cls, settings: Settings) -> LocalLLM:
        """One loaded model per process and file (loading maps 0.5-1 GB)."""
        path = require_gguf(settings, settings.local_model)
        key = (path.resolve(), settings.local_context_tokens, settings.local_threads)
        with cls._instances_lock:
            if key not in cls._instances:
                cls._instances[key] = cls(path, settings.local_context_tokens,
                                          settings.local_threads, settings.llm_timeout_s,
                                          settings.llm_temperature)
            return cls._instances[key]

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        deadline = time.monotonic() + self._timeout_s
        with self._lock:
            try:
                chunks = self._model.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=self._temperature,
                    stream=True,
                )
                try:
                    for chunk in chunks:
                        delta = chunk["choices"][0].get("delta", {}).get("content")
                        if delta:
                            yield delta
                        if time.monotonic() > deadline:
                            raise LLMUnavailable(
                                f"local model timed out after {self._timeout_s:.0f}s (raise "
                                "RAG_LLM_TIMEOUT_S or lower RAG_LLM_MAX_TOKENS)"
                            )
                finally:
                    chunks.close()  # stops generation when the consumer goes away
            except (ValueError, RuntimeError) as exc:
                raise LLMUnavailable(f"local model failed: {exc}") from exc

    def complete(self, messages: list[Message], max_tokens: int) -> Completion:
        text = "".join(self.stream(messages, max_tokens))
        # Token counts of the message texts (the chat template adds a few more).
        prompt_tokens = sum(
            len(self._model.tokenize(m["content"].encode(), add_bos=False)) for m in messages
        )
        completion_tokens = len(self._model.tokenize(text.encode(), add_bos=False))
        return Completion(text=text, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens)

    def first_token_probabilities(self, messages: list[Message],
                                  answers: dict[str, tuple[str, ...]]) -> dict[str, float]:
        """P(the reply starts with one of its spellings) for each answer, e.g.
        {"yes": ("Yes", " yes"), ...}, read from the logits llama.cpp hands a logits
        processor (asking it for `logprobs` would need logits for every position, n_ctx x
        vocabulary floats)."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        captured: list[np.ndarray] = []

        def grab(_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
            if not captured:
                captured.append(np.array(scores, dtype=np.float64))
            return scores

        with self._lock:
            self._model.create_chat_completion(
                messages=messages, max_tokens=1, temperature=0.0,
                logits_processor=LogitsProcessorList([grab]))
        logits = captured[0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        first = {name: {self._model.tokenize(w.encode(), add_bos=False)[0] for w in spellings}
                 for name, spellings in answers.items()}
        return {name: float(sum(probs[i] for i in ids)) for name, ids in first.items()}

    def ping(self) -> str:
        return self.name  # loaded in process: it answers whenever the lock is free

    def busy(self) -> bool:
        """Whether a generation holds the model right now."""
        return self._lock.locked()
