"""Make tokenizer caches resolve to files shipped inside installed packages.

tiktoken downloads its BPE files on first use and NLTK downloads punkt/stopwords;
both fail without network. llama-index-core ships both, so point the libraries there
before anything imports them. An explicit user setting always wins.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _llama_index_static() -> Path | None:
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "_static"


def configure() -> None:
    static = _llama_index_static()
    if static is None:
        return
    tiktoken_cache = static / "tiktoken_cache"
    if tiktoken_cache.is_dir() and any(tiktoken_cache.iterdir()):
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(tiktoken_cache))
    nltk_cache = static / "nltk_cache"
    if nltk_cache.is_dir():
        os.environ.setdefault("NLTK_DATA", str(nltk_cache))
    # Chroma and HF libraries must never phone home from this service.
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
