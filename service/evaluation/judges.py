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

    def score(self, claim: str, evidence: str) -> float: ...


def numbers_agree(claim: str, evidence: str) -> bool:
    normalise = lambda s: {n.replace(",", "") for n in _NUMBER.findall(s)}  # noqa: E731
    return normalise(claim) <= normalise(evidence)


class LexicalJudge:
    name = "lexical"

    def __init__(self, threshold: float = 0.6) -> None:
        self.threshold = threshold

    def score(self, claim: str, evidence: str) -> float:
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

    def _messages(self, claim: str, evidence: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": prompt("judge_system")},
                {"role": "user", "content": prompt("judge_user", passage=evidence,
                                                   sentence=claim)}]

    def score(self, claim: str, evidence: str) -> float:
        top = self._top_logprobs(self._messages(claim, evidence))
        yes = sum(math.exp(lp) for tok, lp in top.items() if tok.strip().lower() == "yes")
        no = sum(math.exp(lp) for tok, lp in top.items() if tok.strip().lower() == "no")
        return yes / (yes + no) if yes + no > 0 else 0.5

    def _top_logprobs(self, messages: list[dict[str, str]]) -> dict[str, float]:
        if self._backend == "local":
            with self._local._lock:
                out = self._local._model.create_chat_completion(
                    messages=messages, max_tokens=1, temperature=0.0, logprobs=True,
                    top_logprobs=10)
            content = out["choices"][0]["logprobs"]["content"][0]
            return {t["token"]: t["logprob"] for t in content["top_logprobs"]}
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
    if name == "llm":
        return LLMJudge(settings, "openai" if settings.generator == "openai" else "local")
    raise ConfigError(f"unknown judge {name!r}: lexical or llm")
