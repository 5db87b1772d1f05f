"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from service.config import Settings
from service.errors import ConfigError, LLMUnavailable
from service.generation.chat import Completion, Message


class OpenAILLM:
    def __init__(self, settings: Settings) -> None:
        import openai

        if not settings.openai_base_url and not settings.openai_api_key:
            raise ConfigError(
                "generator 'openai' needs OPENAI_BASE_URL (any OpenAI-compatible server) "
                "and/or OPENAI_API_KEY"
            )
        self.name = f"openai:{settings.llm_model}"
        self._model = settings.llm_model
        self._temperature = settings.llm_temperature
        self._client = openai.OpenAI(
            base_url=settings.openai_base_url, api_key=settings.openai_api_key or "no-key",
            timeout=settings.llm_timeout_s, max_retries=settings.llm_max_retries,
        )

    def complete(self, messages: list[Message], max_tokens: int) -> Completion:
        with _translated_errors():
            response = self._client.chat.completions.create(
                model=self._model, messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens, temperature=self._temperature,
            )
        if not response.choices:
            raise LLMUnavailable("LLM endpoint returned no choices")
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str | Completion]:
        """Deltas, then a Completion with usage if the server sends it (OpenAI's
        `stream_options.include_usage`; servers that ignore the option send none)."""
        with _translated_errors():
            chunks = self._client.chat.completions.create(
                model=self._model, messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens, temperature=self._temperature, stream=True,
                stream_options={"include_usage": True},
            )
            parts: list[str] = []
            try:
                for chunk in chunks:
                    if chunk.choices and chunk.choices[0].delta.content:
                        parts.append(chunk.choices[0].delta.content)
                        yield parts[-1]
                    if chunk.usage:
                        yield Completion("".join(parts), chunk.usage.prompt_tokens,
                                         chunk.usage.completion_tokens)
            finally:
                chunks.close()  # closes the HTTP response: the server stops generating


    def ping(self) -> str:
        import openai

        try:
            self._client.with_options(timeout=3, max_retries=0).models.list()
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise LLMUnavailable(f"LLM endpoint answered {exc.status_code}") from exc
        except openai.OpenAIError as exc:
            raise LLMUnavailable(f"cannot reach the LLM endpoint: {exc}") from exc
        return self.name


@contextmanager
def _translated_errors() -> Iterator[None]:
    import openai

    try:
        yield
    except openai.APITimeoutError as exc:
        raise LLMUnavailable(f"LLM endpoint timed out: {exc}") from exc
    except openai.APIConnectionError as exc:
        raise LLMUnavailable(f"cannot reach the LLM endpoint: {exc}") from exc
    except openai.APIStatusError as exc:
        raise LLMUnavailable(f"LLM endpoint answered {exc.status_code}: {exc.message}") from exc
    except openai.OpenAIError as exc:
        raise LLMUnavailable(f"LLM call failed: {exc}") from exc
