"""The bundled int8 ONNX MiniLM embedder."""

from __future__ import annotations

import numpy as np

from service.embed.minilm import MiniLMEmbedder


def test_vectors_are_normalised_and_batch_order_is_kept() -> None:
    embedder = MiniLMEmbedder.shared()
    texts = ["short", "a much longer sentence about diplomatic talks in Istanbul " * 3, "mid one"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([embedder.embed([t])[0] for t in texts])
    assert np.allclose(vectors, one_by_one, atol=1e-4)


def test_similar_meaning_scores_higher_than_unrelated_text() -> None:
    embedder = MiniLMEmbedder.shared()
    q, related, unrelated = embedder.embed([
        "Who led the Russian negotiators in Istanbul?",
        "Medinsky was the head of the Russian delegation at the talks in Istanbul.",
        "Bananas are a good source of potassium.",
    ])
    assert q @ related > 0.5 > q @ unrelated


def test_empty_input_gives_an_empty_matrix() -> None:
    assert MiniLMEmbedder.shared().embed([]).shape == (0, 384)
