"""Embeddings from any OpenAI-compatible /v1/embeddings endpoint."""

from __future__ import annotations

import numpy as np

from service.config import Settings
from service.errors import ConfigError, EmbedderUnavailable

# Dimensions of OpenAI's own models; other servers are asked once.
_KNOWN_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}


def _pooled(embedding: object) -> list[float]:
    """One vector per input. Some servers (llama.cpp with a model that has no pooling
    layer) return one vector per token instead; those are mean-pooled."""
    array = np.asarray(embedding, dtype=np.float32)
    if array.ndim == 2:
        array = array.mean(axis=0)
    if array.ndim != 1 or not array.size:
        raise EmbedderUnavailable(f"embedding endpoint returned an array of shape {array.shape}")
    return array.tolist()


class OpenAIEmbedder:
    max_input_tokens = 8191

    def __init__(self, model: str, base_url: str | None, api_key: str | None,
                 batch_size: int, timeout_s: float) -> None:
        import openai

        self.model_id = f"openai:{model}"
        self._model = model
        self._batch_size = batch_size
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=1
        )
        self.dimension = _KNOWN_DIMENSIONS.get(model) or len(self.embed(["dimension probe"])[0])

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIEmbedder:
        base_url = settings.embed_base_url or settings.openai_base_url
        if not base_url and not settings.openai_api_key:
            raise ConfigError(
                "embedder 'openai' needs RAG_EMBED_BASE_URL / OPENAI_BASE_URL or OPENAI_API_KEY"
            )
        return cls(settings.embed_model, base_url, settings.openai_api_key,
                   settings.embed_batch_size, settings.llm_timeout_s)

    def embed(self, texts: list[str]) -> np.ndarray:
        import openai

        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            try:
                response = self._client.embeddings.create(model=self._model, input=batch)
            except openai.OpenAIError as exc:
                raise EmbedderUnavailable(f"embedding endpoint failed: {exc}") from exc
            for item in sorted(response.data, key=lambda d: d.index):
                vectors.append(_pooled(item.embedding))
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.clip(norms, 1e-12, None)
