"""A chat as the local model reads it: the GGUF's own chat template rendered and
tokenized here (as llama-cpp-python's chat handler does), so the generator knows the
exact prompt tokens and where the fixed system prompt ends (prefix_cache.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from service.generation.chat import Message


class ChatTemplate:
    def __init__(self, model: Any) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos = model._model.token_get_text(model.token_eos())
        bos_id = model.token_bos()
        bos = model._model.token_get_text(bos_id) if bos_id != -1 else ""
        template = model.metadata["tokenizer.chat_template"]
        self._model = model
        self._chat = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._head = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos,
                                         add_generation_prompt=False)
        self.stop = [eos]

    def tokens(self, messages: list[Message]) -> tuple[list[int], int]:
        """The prompt's tokens, and how many of them are its system message (the
        prefix every question with that system prompt shares; 0 without one)."""
        tokens = self._tokenize(self._chat(messages=messages).prompt)
        if not messages or messages[0]["role"] != "system":
            return tokens, 0
        head = self._tokenize(self._head(messages=messages[:1]).prompt)
        shared = 0
        for a, b in zip(head, tokens, strict=False):
            if a != b:
                break
            shared += 1
        return tokens, shared

    def _tokenize(self, text: str) -> list[int]:
        return list(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def physical_cores() -> int:
    """Cores, not hyper-threads (llama.cpp runs no faster with a thread per sibling)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return os.cpu_count() or 1
    cores = set(re.findall(r"physical id\s*:\s*(\d+)[^\n]*\n(?:.*\n)*?core id\s*:\s*(\d+)",
                           text))
    count = len(cores) or os.cpu_count() or 1
    return min(count, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") \
        else count
