"""Embedders behind one interface; backends.py registers them by name (an index's
`embedder` setting)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    #: Identifies the model; an index remembers it and refuses a different one.
    model_id: str
    dimension: int
    #: The longest input, in the model's own tokens, that the model actually reads.
    max_input_tokens: int

    def embed(self, texts: list[str]) -> np.ndarray: ...
