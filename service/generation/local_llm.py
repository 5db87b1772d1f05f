"""The bundled GGUF model, run in process by llama-cpp-python."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from service.config import Settings
from service.errors import LLMUnavailable, ModelNotInstalled
from service.generation.chat import Completion, Message
from service.generation.chat_template import ChatTemplate, physical_cores
from service.generation.prefix_cache import PrefixCache
from service.models import require_gguf

#: Tokens prompt-lookup drafts at a time: measured against 2 and 10 (docs/benchmarks.md).
PROMPT_LOOKUP_TOKENS = 10


@dataclass(frozen=True)
class LlamaOptions:
    """How llama.cpp runs the model (RAG_LOCAL_* settings; figures in docs/benchmarks.md)."""

    context_tokens: int = 4096
    threads: int = 0  # 0 = physical cores
    batch_tokens: int = 512
    flash_attention: bool = False
    draft: str = "none"  # or "prompt-lookup"
    prefix_cache: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> LlamaOptions:
        return cls(settings.local_context_tokens, settings.local_threads,
                   settings.local_batch_tokens, settings.local_flash_attention,
                   settings.local_draft, settings.local_prefix_cache)


class LocalLLM:
    _instances: ClassVar[dict[tuple[Path, LlamaOptions], LocalLLM]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path, options: LlamaOptions, timeout_s: float,
                 temperature: float) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
        except ImportError as exc:
            raise ModelNotInstalled(
                "llama-cpp-python is not installed; run `make setup` or choose "
                "RAG_GENERATOR=extractive / openai"
            ) from exc
        self.name = f"local:{path.name}"
        self._timeout_s = timeout_s
        self._temperature = temperature
        self._lock = threading.Lock()  # a llama.cpp context serves one request at a time
        threads = options.threads or physical_cores()
        draft = LlamaPromptLookupDecoding(num_pred_tokens=PROMPT_LOOKUP_TOKENS) if (
            options.draft == "prompt-lookup") else None
        self._model: Any = Llama(model_path=str(path), n_ctx=options.context_tokens,
                                 n_threads=threads, n_threads_batch=threads,
                                 n_batch=options.batch_tokens,
                                 flash_attn=options.flash_attention, draft_model=draft,
                                 verbose=False)
        self._template = ChatTemplate(self._model)
        self.prefixes = PrefixCache() if options.prefix_cache else None

    @classmethod
    def shared(cls, settings: Settings) -> LocalLLM:
        """One loaded model per process and file (loading maps 0.5-1 GB)."""
        path = require_gguf(settings, settings.local_model)
        options = LlamaOptions.from_settings(settings)
        key = (path.resolve(), options)
        with cls._instances_lock:
            if key not in cls._instances:
                cls._instances[key] = cls(path, options, settings.llm_timeout_s,
                                          settings.llm_temperature)
            return cls._instances[key]

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str | Completion]:
        parts: list[str] = []
        prompt_tokens = 0
        # closing(): a consumer that stops early releases the model now, not whenever
        # the garbage collector gets to the abandoned generator.
        with closing(self._generate(messages, max_tokens)) as steps:
            for kind, value in steps:
                if kind != "text":
                    prompt_tokens = int(value)  # as the model reads it, template included
                    continue
                parts.append(str(value))
                yield str(value)
        yield self._completion("".join(parts), prompt_tokens)

    def complete(self, messages: list[Message], max_tokens: int) -> Completion:
        *_, completion = self.stream(messages, max_tokens)
        assert isinstance(completion, Completion)
        return completion

    def _completion(self, text: str, prompt_tokens: int) -> Completion:
        completion_tokens = len(self._model.tokenize(text.encode(), add_bos=False))
        return Completion(text=text, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens)

    def _generate(self, messages: list[Message],
                  max_tokens: int) -> Iterator[tuple[str, str | int]]:
        """("prompt", its token count) once, then ("text", delta) per token written."""
        deadline = time.monotonic() + self._timeout_s
        with self._held():
            try:
                tokens, prefix = self._template.tokens(messages)
                yield "prompt", len(tokens)
                if self.prefixes is not None:
                    self.prefixes.prepare(self._model, tokens[:prefix])
                chunks = self._model.create_completion(
                    prompt=tokens, max_tokens=max_tokens, temperature=self._temperature,
                    stop=self._template.stop, stream=True)
                try:
                    for chunk in chunks:
                        if delta := chunk["choices"][0].get("text"):
                            yield "text", delta
                        if time.monotonic() > deadline:
                            raise LLMUnavailable(
                                f"local model timed out after {self._timeout_s:.0f}s (raise "
                                "RAG_LLM_TIMEOUT_S or lower RAG_LLM_MAX_TOKENS)"
                            )
                finally:
                    chunks.close()  # stops generation when the consumer goes away
            except (ValueError, RuntimeError) as exc:
                raise LLMUnavailable(f"local model failed: {exc}") from exc

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

        with self._held():
            self._model.create_chat_completion(
                messages=messages, max_tokens=1, temperature=0.0,
                logits_processor=LogitsProcessorList([grab]))
        logits = captured[0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        first = {name: {self._model.tokenize(w.encode(), add_bos=False)[0] for w in spellings}
                 for name, spellings in answers.items()}
        return {name: float(sum(probs[i] for i in ids)) for name, ids in first.items()}

    @contextmanager
    def _held(self) -> Iterator[None]:
        """The model for one request. Waiting is bounded: a generation left unfinished
        (a stream its client dropped and nobody closed) must not hang every later
        question; they get LLMUnavailable, and so the labelled extractive answer."""
        if not self._lock.acquire(timeout=self._timeout_s):
            raise LLMUnavailable(
                f"the local model is busy: another answer has held it for over "
                f"{self._timeout_s:.0f}s (RAG_LLM_TIMEOUT_S)")
        try:
            yield
        finally:
            self._lock.release()

    def ping(self) -> str:
        return self.name  # loaded in process: it answers whenever the lock is free

    def busy(self) -> bool:
        """Whether a generation holds the model right now."""
        return self._lock.locked()
