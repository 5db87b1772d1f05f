"""Stage 4, verify: each sentence of a draft checked against the passages it cites.

Citations are repaired first (invalid markers dropped, uncited sentences cited where one
passage clearly supports them), the strategy trims what it does not want, then every
claim is scored by the support judge and the unsupported-sentence policy applied:
`mark` and `drop` here; `regenerate` asks the generator once more with the sentences
its passages do not support (not for a streamed draft: its text is already out).

A draft with a sentence its own passage contradicts (a verdict of the support model)
gets a second look first: the model is asked afresh, the question read before the
passages too, and the second answer replaces the first if nothing in it is
contradicted and no less of it is supported (`Verified.rewritten`; a streamed draft's
reader is sent the second answer after a notice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from service.generation.citations import has_words, resolve_citations
from service.generation.generators import Draft, GenerationInput, Generator
from service.verify.judge import Judge
from service.verify.verifier import Verified, verify_text

Policy = Literal["mark", "drop", "regenerate"]


class VerifyStage:
    def __init__(self, judge: Callable[[], Judge], policy: Policy, enabled: bool = True,
                 reread: bool = True) -> None:
        self._judge = judge
        self._policy = policy
        self._enabled = enabled
        self._reread = reread

    def run(self, job: GenerationInput, draft: Draft, generator: Generator) -> Verified | None:
        """Passage-numbered, verified text; None when nothing cited survives."""
        cited = resolve_citations(draft.text, job.passages, renumber=False)
        text = job.strategy.trim(cited.text, job.passages)
        if not (cited.citations and has_words(text)):
            return None
        if not self._enabled:
            return Verified(text=text, checks=[])
        first_policy: Policy = "mark" if self._policy == "regenerate" else self._policy
        verified = verify_text(text, job.passages, self._judge(), first_policy)
        second = (self._second_look(job, generator, first_policy, verified)
                  if self._reread and not draft.fallback and _contradicted(verified) else None)
        if second is not None:
            return second
        if self._policy != "regenerate" or draft.streamed or not verified.unsupported:
            return verified
        return self._regenerate(job, draft, generator, text, verified)

    def _second_look(self, job: GenerationInput, generator: Generator, policy: Policy,
                     first: Verified) -> Verified | None:
        """The reread answer, verified, if it is better than `first`; else None."""
        draft = generator.reread(job)
        if draft is None or draft.abstained:
            return None
        cited = resolve_citations(draft.text, job.passages, renumber=False)
        text = job.strategy.trim(cited.text, job.passages)
        if not (cited.citations and has_words(text)):
            return None
        second = verify_text(text, job.passages, self._judge(), policy)
        if _contradicted(second) or second.share_supported < first.share_supported:
            return None
        return Verified(text=second.text, checks=second.checks,
                        first_faithfulness=first.faithfulness, rewritten=True)

    def _regenerate(self, job: GenerationInput, draft: Draft, generator: Generator,
                    text: str, verified: Verified) -> Verified:
        revised = generator.revise(job, draft, [c.sentence for c in verified.unsupported])
        if revised is None:
            return verified
        retry = resolve_citations(revised.text, job.passages, renumber=False)
        if revised.abstained or not (retry.citations and has_words(retry.text)):
            # Asked again, the model has nothing supported to say about them: drop them.
            dropped = verify_text(text, job.passages, self._judge(), "drop")
            return Verified(text=dropped.text, checks=dropped.checks,
                            first_faithfulness=verified.faithfulness)
        second = verify_text(retry.text, job.passages, self._judge(), "mark")
        # `faithfulness` keeps describing the model's first answer; text and checks are
        # the regenerated ones.
        return Verified(text=second.text, checks=second.checks,
                        first_faithfulness=verified.faithfulness)


def _contradicted(verified: Verified) -> bool:
    return any(check.verdict == "contradicted" for check in verified.checks)
