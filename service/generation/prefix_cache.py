"""llama.cpp state kept after each fixed system prompt, so a question pays only for the
tokens after it.

llama-cpp-python already reuses the longest common token prefix of consecutive calls on
one `Llama`; what breaks it is a call with another system prompt in between (condensing
a follow-up, the llm judge). `PrefixCache` keeps, per system prompt, the model's state
right after it (`Llama.save_state`), and restores it before a call whose prefix the
context no longer holds. A state is the KV cells of ~100-200 tokens (~3-6 MB for the
1.5B); its logits are cut to one row, since llama.cpp re-evaluates the prompt's last
token after a restore and never reads the earlier rows unless logprobs are asked for.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class PrefixCache:
    """Saved model states by prefix tokens, least recently used dropped past `size`."""

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._states: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        #: How often a saved prefix was restored (for benchmarks and tests).
        self.restored = 0

    def prepare(self, model: Any, prefix: list[int]) -> None:
        """Leave `model` holding `prefix` in its context: already there, restored, or
        evaluated now and saved. Call under the model's lock, just before a generation
        whose prompt starts with `prefix`."""
        if not prefix or len(prefix) >= model.scores.shape[0]:
            return  # a state's logits rows must fit the model's scores buffer
        held = model.n_tokens >= len(prefix) and list(model.input_ids[: len(prefix)]) == prefix
        key = tuple(prefix)
        if held:
            return
        if key in self._states:
            model.load_state(self._states[key])
            self._states.move_to_end(key)
            self.restored += 1
            return
        model.reset()
        model.eval(prefix)
        state = model.save_state()
        state.scores = state.scores[-1:].copy()  # broadcast back on load (see docstring)
        self._states[key] = state
        if len(self._states) > self._size:
            self._states.popitem(last=False)
