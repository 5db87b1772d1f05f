"""The generators, registered by name (`RAG_GENERATOR`, a request's `generator`).

A factory gets the settings and returns a Generator; it raises ModelNotInstalled or
LLMUnavailable when its backend cannot be loaded, and the pipeline then answers with
the extractive backup, labelled. To add a backend: write a module with a ChatLLM (see
chat.py) or a Generator, and register its factory here.
"""

from __future__ import annotations

from collections.abc import Callable

from service.config import Settings
from service.generation.generators import ExtractiveGenerator, Generator, LLMGenerator
from service.generation.local_llm import LocalLLM
from service.generation.openai_llm import OpenAILLM
from service.registry import Registry

GeneratorFactory = Callable[[Settings], Generator]
GENERATORS: Registry[GeneratorFactory] = Registry("generator", setting="RAG_GENERATOR")
#: The generator that answers when the requested one is down: no LLM, always there.
BACKUP = "extractive"


def _local(settings: Settings) -> Generator:
    return LLMGenerator("local", LocalLLM.shared(settings), settings.llm_max_tokens,
                        settings.local_prompt_tokens)


def _openai(settings: Settings) -> Generator:
    return LLMGenerator("openai", OpenAILLM(settings), settings.llm_max_tokens,
                        settings.openai_prompt_tokens)


def _extractive(settings: Settings) -> Generator:
    return ExtractiveGenerator(settings.extractive_min_coverage)


GENERATORS.register("local", _local)
GENERATORS.register("openai", _openai)
GENERATORS.register(BACKUP, _extractive)
