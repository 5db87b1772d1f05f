"""Support judges registered by name: the answer-time checker (`RAG_VERIFIER`) and
`rag eval calibrate --judge`. A factory gets the settings and returns a Judge."""

from __future__ import annotations

from collections.abc import Callable

from service.config import Settings
from service.embed.minilm import MiniLMEmbedder
from service.registry import Registry
from service.verify.checker import FastChecker
from service.verify.judge import Judge, LexicalJudge
from service.verify.llm_judge import LLMJudge

JudgeFactory = Callable[[Settings], Judge]
JUDGES: Registry[JudgeFactory] = Registry("judge", setting="RAG_VERIFIER")


def _fast(settings: Settings) -> Judge:
    return FastChecker(MiniLMEmbedder.shared(), settings.verify_threshold)


def _support(settings: Settings) -> Judge:
    from service.verify.support_model import SupportModel

    return SupportModel.shared(settings.support_threshold)


def _cross(settings: Settings, rules: bool) -> Judge:
    from service.verify.cross_encoder import CrossEncoder

    return CrossEncoder.shared(settings.cross_threshold, rules=rules)


def _combined(settings: Settings) -> Judge:
    from service.verify.combined import CombinedJudge

    return CombinedJudge.shared(settings.combined_threshold)


def _llm(settings: Settings) -> Judge:
    return LLMJudge(settings, "openai" if settings.generator == "openai" else "local")


JUDGES.register("combined", _combined)  # the default (RAG_VERIFIER)
JUDGES.register("support", _support)
JUDGES.register("cross", lambda settings: _cross(settings, rules=False))
JUDGES.register("cross+rules", lambda settings: _cross(settings, rules=True))
JUDGES.register("fast", _fast)
JUDGES.register("lexical", lambda settings: LexicalJudge())
JUDGES.register("llm", _llm)
