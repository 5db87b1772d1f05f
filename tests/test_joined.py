"""A detail restated from the question, found in another passage than the one cited: the
sentence is cited to both (`joined`), and only under the conditions of
service/verify/joined.py. Real support model, passages from the news corpus."""

from __future__ import annotations

import pytest

from service.records import Passage
from service.verify.joined import Claim
from service.verify.support_model import SupportModel
from service.verify.verifier import verify_text

TITLE = "Hegseth skips Ramstein"
WHO = ("The Pentagon urged the press not to dramatize the situation. After all, the United "
       "States is still present at the Ramstein meeting. They were represented by Matthew "
       "Whitaker, the Ambassador to NATO, for the first time since the introduction of such "
       "a format.")
WHEN = ("US Secretary of Defense Peter Hegseth is skipping two events that address the supply "
        "of Western ammunition and weapons to Kiev – the Ramstein meeting (which took place "
        "on June 4) and the Ukraine–NATO Council, scheduled for June 5.")
FEBRUARY = ("At the February Ramstein meeting, Hegseth did not make the statements that had "
            "become customary for American officials.")
DELEGATIONS = ("Umerov headed the Ukrainian delegation at the talks in Istanbul.",
               "The Russian delegation arrived in Istanbul on Thursday evening.")
QUESTION = "Who represented the United States at the Ramstein meeting in June?"
ANSWER = "Matthew Whitaker represented the United States at the Ramstein meeting in June [1]."


def passages(*texts: str) -> list[Passage]:
    return [Passage(chunk_id=f"c{i}", doc_id=f"d{i}.txt", title=TITLE, source=None, text=t,
                    start=100 * i, end=100 * i + len(t), score=1.0, rank=i)
            for i, t in enumerate(texts, start=1)]


@pytest.fixture(scope="module")
def model() -> SupportModel:
    return SupportModel.shared()


def test_a_question_detail_another_passage_holds_cites_both(model: SupportModel) -> None:
    given = passages(WHO, FEBRUARY, WHEN)
    [check] = verify_text(ANSWER, given, model, "mark", question=QUESTION).checks
    assert check.supported and check.action == "joined" and check.verdict == "supported"
    assert check.markers == [1, 3]
    held = [span for span in check.evidence if span.doc_id == "d3.txt"]
    assert held and "June 4" in held[0].text
    assert held[0].start == 300 + WHEN.index(held[0].text)
    # Without the question nothing is borrowed: passage 1 alone lacks "June".
    [alone] = verify_text(ANSWER, given, model, "mark").checks
    assert not alone.supported and alone.action == "marked"


def test_no_join_when_no_other_passage_holds_the_detail(model: SupportModel) -> None:
    [check] = verify_text(ANSWER, passages(WHO, FEBRUARY), model, "mark",
                          question=QUESTION).checks
    assert not check.supported and check.action == "marked"


def test_a_detail_the_question_lacks_is_not_borrowed(model: SupportModel) -> None:
    """Passage 2 holds "February Ramstein meeting" and nothing against the claim, but the
    answer's February is its own."""
    claim = ("Matthew Whitaker represented the United States at the Ramstein meeting in "
             "February [1].")
    held = "The February Ramstein meeting was held at the air base in Germany."
    [check] = verify_text(claim, passages(WHO, held), model, "mark",
                          question="Who represented the United States at the Ramstein meeting?"
                          ).checks
    assert not check.supported


def test_a_claim_its_passage_contradicts_is_not_joined(model: SupportModel) -> None:
    """The demo's wrong answer borrows "Russian" from the question; another passage says
    "Russian delegation", but passage 1 puts Umerov at the head of the other one."""
    [check] = verify_text("Umerov headed the Russian delegation at the talks [1].",
                          passages(*DELEGATIONS), model, "mark",
                          question="Who headed the Russian delegation at the talks?").checks
    assert not check.supported and check.verdict == "contradicted"


def test_the_claim_without_the_borrowed_details_reads_as_a_sentence() -> None:
    claim = Claim("Matthew Whitaker represented the United States at the Ramstein meeting in June.")
    assert claim.without(claim.missing(WHO)) == (
        "Matthew Whitaker represented the United States at the Ramstein meeting.")
    call = Claim("The March 18 phone call between Putin and Trump began at about 17:00.")
    missing = call.missing("The phone call between Putin and Trump began at about 17:00.")
    assert [m.group() for m in missing] == ["March", "18"]
    assert call.without(missing) == "The phone call between Putin and Trump began at about 17:00."
    dated = Claim("They met on June 4, 2025, in Istanbul.")
    assert dated.without(dated.missing("They met in Istanbul.")) == "They met in Istanbul."


def test_a_borrowed_detail_is_about_its_nearest_words() -> None:
    claim = Claim("Steve Witkoff is the Special Envoy for Ukraine mentioned alongside Rubio.")
    assert claim.beside(claim.missing("special envoy Steve Witkoff, Ukraine")) == {"along"}
    june = Claim("Matthew Whitaker represented the United States at the Ramstein meeting in June.")
    assert june.beside(june.missing(WHO)) == {"meeti"}


def test_the_verify_stage_reads_the_question(model: SupportModel) -> None:
    """Answers are verified with their question: the stage joins what verify_text joins."""
    from service.generation.generators import Draft, GenerationInput
    from service.generation.strategy import PlainAnswer
    from service.pipeline.verify import VerifyStage

    job = GenerationInput(question=QUESTION, passages=passages(WHO, FEBRUARY, WHEN),
                          idf=lambda term: 1.0, strategy=PlainAnswer(sentences=3))
    stage = VerifyStage(lambda: model, "mark")
    verified = stage.run(job, Draft(text=ANSWER, abstained=False, generator="test"),
                         generator=None)  # type: ignore[arg-type]  # no second look asked
    assert verified is not None
    [check] = verified.checks
    assert check.action == "joined" and "[1][3]" in verified.text
