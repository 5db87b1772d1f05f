"""Judges: does this evidence support this claim? A score in [0, 1] and a threshold.

`lexical` — no model: share of the claim's content words found in the evidence, with every
number in the claim required to appear in it (a wrong figure is the commonest
unsupported claim). `llm` — an LLM asked "Does the passage support the sentence?",
scored by P(Yes) from the logprobs of its one-token reply (local GGUF in process or any
OpenAI-compatible endpoint). `rag eval calibrate` measures either on labelled pairs.
"""

from __future__ import annotations

import math
import re
from typing import Protocol

from service.config import Settings
from service.errors import ConfigError, LLMUnavailable
from service.generation.citations import lexical_support
from service.generation.prompts import prompt

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class Judge(Protocol):
    name: str
    threshold: float

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        """Support of `claim` by `evidence`, in [0, 1]; `question` is context for a short
        answer ("Arthur's Magazine") that is no sentence on its own."""
        ...


def numbers_agree(claim: str, evidence: str) -> bool:
    normalise = lambda s: {n.replace(",", "") for n in _NUMBER.findall(s)}  # noqa: E731
    return normalise(claim) <= normalise(evidence)


class LexicalJudge:
    name = "lexical"

    def __init__(self, threshold: float = 0.6) -> None:
        self.threshold = threshold

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        if not numbers_agree(claim, evidence):
            return 0.0
        return lexical_support(claim, evidence)


class LLMJudge:
    """P(Yes) of a yes/no support question, from the model's top logprobs."""

    def __init__(self, settings: Settings, backend: str, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.name = f"llm:{backend}"
        self._backend = backend
        self._settings = settings
        if backend == "local":
            from service.generation.local_llm import LocalLLM

            self._local = LocalLLM.shared(settings)
        elif backend == "openai":
            import openai

            if not settings.openai_base_url and not settings.openai_api_key:
                raise ConfigError("the openai judge needs OPENAI_BASE_URL or OPENAI_API_KEY")
            self._client = openai.OpenAI(base_url=settings.openai_base_url,
                                         api_key=settings.openai_api_key or "no-key",
                                         timeout=settings.llm_timeout_s, max_retries=1)
        else:
            raise ConfigError(f"unknown judge backend {backend!r}: local or openai")

    def _messages(self, claim: str, evidence: str,
                  question: str | None) -> list[dict[str, str]]:
        sentence = f"(answering “{question}”) {claim}" if question else claim
        return [{"role": "system", "content": prompt("judge_system")},
                {"role": "user", "content": prompt("judge_user", passage=evidence,
                                                   sentence=sentence)}]

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        messages = self._messages(claim, evidence, question)
        if self._backend == "local":
            yes, no = self._local_yes_no(messages)
        else:
            top = self._remote_top_logprobs(messages)
            yes = sum(math.exp(lp) for tok, lp in top.items() if tok.strip().lower() == "yes")
            no = sum(math.exp(lp) for tok, lp in top.items() if tok.strip().lower() == "no")
        return yes / (yes + no) if yes + no > 0 else 0.5

    def _local_yes_no(self, messages: list[dict[str, str]]) -> tuple[float, float]:
        """P(Yes), P(No) for the first reply token, read from the logits llama.cpp hands a
        logits processor (asking it for `logprobs` would need logits for every position,
        n_ctx x vocabulary floats)."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        model = self._local._model
        captured: list[np.ndarray] = []

        def grab(_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
            if not captured:
                captured.append(np.array(scores, dtype=np.float64))
            return scores

        with self._local._lock:
            model.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0,
                                         logits_processor=LogitsProcessorList([grab]))
        logits = captured[0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()

        def first_ids(words: tuple[str, ...]) -> set[int]:
            return {model.tokenize(w.encode(), add_bos=False)[0] for w in words}

        yes = sum(probs[i] for i in first_ids(("Yes", " Yes", "yes", " yes")))
        no = sum(probs[i] for i in first_ids(("No", " No", "no", " no")))
        return float(yes), float(no)

    def _remote_top_logprobs(self, messages: list[dict[str, str]]) -> dict[str, float]:
        import openai

        try:
            out = self._client.chat.completions.create(
                model=self._settings.llm_model, messages=messages,  # type: ignore[arg-type]
                max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=10)
        except openai.OpenAIError as exc:
            raise LLMUnavailable(f"judge endpoint failed: {exc}") from exc
        first = out.choices[0].logprobs.content[0]  # type: ignore[union-attr]
        return {t.token: t.logprob for t in first.top_logprobs}


def make_judge(name: str, settings: Settings) -> Judge:
    if name == "lexical":
        return LexicalJudge()
    if name == "fast":
        from service.embed.minilm import MiniLMEmbedder
        from service.verify.checker import FastChecker

        return FastChecker(MiniLMEmbedder.shared(), settings.verify_threshold)
    if name == "support":
        from service.verify.support_model import SupportModel

        return SupportModel.shared(settings.support_threshold)
    if name == "llm":
        return LLMJudge(settings, "openai" if settings.generator == "openai" else "local")
    raise ConfigError(f"unknown judge {name!r}: {', '.join(JUDGES)}")


#: Every judge make_judge knows; the first is the default of `rag eval`.
JUDGES = ("support", "fast", "lexical", "llm")
