"""The LLM judge: the model asked "Does the passage support the sentence?", scored by
P(Yes) from the logprobs of its one-token reply — the local GGUF in process (logits read
through a logits processor) or any OpenAI-compatible endpoint. Slow (~1.5 pairs/s on 2
cores with the 1.5B model) and the most reliable judge we have offline: evaluation uses
it to measure the fast checkers.
"""

from __future__ import annotations

import math

from service.config import Settings
from service.errors import ConfigError, LLMUnavailable
from service.generation.local_llm import LocalLLM
from service.generation.prompts import prompt


class LLMJudge:
    """P(Yes) of a yes/no support question, from the model's top logprobs."""

    def __init__(self, settings: Settings, backend: str, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.name = f"llm:{backend}"
        self._backend = backend
        self._settings = settings
        if backend == "local":
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
        probs = self._local.first_token_probabilities(messages, {
            "yes": ("Yes", " Yes", "yes", " yes"), "no": ("No", " No", "no", " no")})
        return probs["yes"], probs["no"]

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
