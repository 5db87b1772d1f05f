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
from service.generation.llm import Completion, Message
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
