"""The bundled GGUF model in this process, through llama-cpp-python: what runs inside the
model process (model_host.py), never in the server itself unless RAG_LOCAL_ISOLATION=none.

llama.cpp is native code: a fault in it (a CPU instruction the build chose that this CPU
cannot run, the AMX path on some virtualised hosts) kills the process that loaded it.
`LlamaEngine` therefore knows nothing of locks, timeouts or restarts; local_llm.py owns
those, around a process that can die alone.

    engine = LlamaEngine(Path("models/qwen.gguf"), LlamaOptions())
    for event in engine.generate(messages, max_tokens=64, temperature=0.0):
        ...   # {"event": "prompt", ...}, {"event": "text", "delta": ...}..., {"event": "done"}
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import LLMUnavailable, ModelNotInstalled
from service.generation.chat import Message
from service.generation.chat_template import ChatTemplate, physical_cores
from service.generation.prefix_cache import PrefixCache

#: Tokens prompt-lookup drafts at a time: measured against 2 and 10 (docs/benchmarks.md).
PROMPT_LOOKUP_TOKENS = 10
#: The start-up self-test: one tiny generation through the whole path a question takes.
SELF_TEST: list[Message] = [{"role": "user", "content": "Reply with the word OK."}]
SELF_TEST_TOKENS = 2


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_cpu_backends() -> None:
    """Load llama.cpp's CPU backend: of the modules the portable build compiled for
    several x86-64 levels (scripts/build_llama_cpp.py), the best this CPU runs. llama.cpp
    would look for them beside the Python executable; they are in the package's lib/.
    A build without such modules (one CPU backend linked in) needs nothing."""
    import ctypes

    import llama_cpp

    lib = Path(llama_cpp.__file__).parent / "lib"
    if not any(lib.glob("libggml-cpu-*.so")):
        return
    # The ggml that libllama linked, by the name it linked (the wheel holds copies, not
    # links: libggml.so would be a second ggml with a registry of its own).
    linked = next(lib.glob("libggml.so.[0-9]"), lib / "libggml.so")
    libggml = ctypes.CDLL(str(linked))
    libggml.ggml_backend_reg_count.restype = ctypes.c_size_t
    if libggml.ggml_backend_reg_count() == 0:
        from llama_cpp._utils import suppress_stdout_stderr

        libggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        with suppress_stdout_stderr(disable=False):  # "load_backend: loaded ..." each time
            libggml.ggml_backend_load_all_from_path(str(lib).encode())


class LlamaEngine:
    """One loaded model; one generation at a time (the caller serialises)."""

    def __init__(self, path: Path, options: LlamaOptions) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
        except ImportError as exc:
            raise ModelNotInstalled(
                "llama-cpp-python is not installed; run `make setup` or choose "
                "RAG_GENERATOR=extractive / openai"
            ) from exc
        load_cpu_backends()
        threads = options.threads or physical_cores()
        draft = LlamaPromptLookupDecoding(num_pred_tokens=PROMPT_LOOKUP_TOKENS) if (
            options.draft == "prompt-lookup") else None
        try:
            self._model: Any = Llama(model_path=str(path), n_ctx=options.context_tokens,
                                     n_threads=threads, n_threads_batch=threads,
                                     n_batch=options.batch_tokens,
                                     flash_attn=options.flash_attention, draft_model=draft,
                                     verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise LLMUnavailable(f"local model could not be loaded from {path}: {exc}") \
                from exc
        self._template = ChatTemplate(self._model)
        self.prefixes = PrefixCache() if options.prefix_cache else None

    def generate(self, messages: list[Message], max_tokens: int,
                 temperature: float) -> Iterator[dict[str, Any]]:
        """The model process's events (model_host.py): {"event": "prompt", "tokens"} (its
        token count, template included) once, {"event": "text", "delta"} per token
        written, then {"event": "done", "completion_tokens", "prefix_restores"}. Closing
        the iterator stops generation."""
        written: list[str] = []
        try:
            tokens, prefix = self._template.tokens(messages)
            yield {"event": "prompt", "tokens": len(tokens)}
            if self.prefixes is not None:
                self.prefixes.prepare(self._model, tokens[:prefix])
            chunks = self._model.create_completion(
                prompt=tokens, max_tokens=max_tokens, temperature=temperature,
                stop=self._template.stop, stream=True)
            try:
                for chunk in chunks:
                    if delta := chunk["choices"][0].get("text"):
                        written.append(delta)
                        yield {"event": "text", "delta": delta}
            finally:
                chunks.close()
        except (ValueError, RuntimeError) as exc:
            raise LLMUnavailable(f"local model failed: {exc}") from exc
        yield {"event": "done", "completion_tokens": self.count_tokens("".join(written)),
               "prefix_restores": self.prefixes.restored if self.prefixes else 0}

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenize(text.encode(), add_bos=False))

    def first_token_probabilities(self, messages: list[Message],
                                  answers: dict[str, list[str]]) -> dict[str, float]:
        """P(the reply starts with one of its spellings) for each answer, e.g.
        {"yes": ["Yes", " yes"], ...}, read from the logits llama.cpp hands a logits
        processor (asking it for `logprobs` would need logits for every position, n_ctx x
        vocabulary floats)."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        captured: list[np.ndarray] = []

        def grab(_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
            if not captured:
                captured.append(np.array(scores, dtype=np.float64))
            return scores

        self._model.create_chat_completion(
            messages=messages, max_tokens=1, temperature=0.0,
            logits_processor=LogitsProcessorList([grab]))
        logits = captured[0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        first = {name: {self._model.tokenize(w.encode(), add_bos=False)[0] for w in spellings}
                 for name, spellings in answers.items()}
        return {name: float(sum(probs[i] for i in ids)) for name, ids in first.items()}

    def self_test(self) -> str:
        """One tiny generation, as a question's would run; returns what it wrote."""
        return "".join(e["delta"] for e in self.generate(SELF_TEST, SELF_TEST_TOKENS, 0.0)
                       if e["event"] == "text")


def system_info() -> str:
    """The CPU features this llama.cpp build uses ("AVX2 = 1 | AVX512 = 0 | ...")."""
    import llama_cpp

    load_cpu_backends()
    return llama_cpp.llama_print_system_info().decode(errors="replace").strip()
