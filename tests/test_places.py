"""World knowledge the judges may assume: a city's country or US state (verify/places.py)."""

from __future__ import annotations

import pytest

from service.config import Settings
from service.embed.minilm import MiniLMEmbedder
from service.evaluation.metrics import answer_sentences
from service.records import Answer, Citation
from service.verify.checker import FastChecker
from service.verify.combined import CombinedJudge
from service.verify.places import known_pairs, without_known_regions
from service.verify.verifier import verify_text
from tests.test_verification import passages

TRUCE = passages("The United States and Ukraine agreed on a 30-day truce in Jeddah on "
                 "March 11, and on March 13 Russia said it would study the proposal.")


@pytest.fixture(scope="module")
def checker() -> FastChecker:
    return FastChecker(MiniLMEmbedder.shared())


@pytest.mark.parametrize(("claim", "judged"), [
    ("They agreed on a truce in Jeddah, Saudi Arabia", "They agreed on a truce in Jeddah"),
    ("Talks were held in Jeddah, Saudi Arabia, on March 11 [1].",
     "Talks were held in Jeddah, on March 11 [1]."),
    ("He was born in Berlin, Germany, educated in Boston.",
     "He was born in Berlin, educated in Boston."),
    ("Officials met in Istanbul, Turkey [2].", "Officials met in Istanbul [2]."),
    ("A plant in Portland, Oregon closed.", "A plant in Portland closed."),
    ("He flew to Miami, U.S. on Monday.", "He flew to Miami on Monday."),
    ("He moved to Paris, France.", "He moved to Paris."),
])
def test_a_citys_own_country_or_state_is_dropped_before_judging(claim: str,
                                                                judged: str) -> None:
    assert without_known_regions(claim) == judged


@pytest.mark.parametrize("claim", [
    "They met in Jeddah, Egypt.",  # not Jeddah's country: judged as written
    "Talks in Paris, Texas were held.",  # the passage's Paris may be the larger one
    "A plant in Portland, Maine closed.",
    "Talks in Paris, France and Berlin.",  # a list, not a city and its country
    "Talks in Riyadh, Saudi Arabia's capital.",
    "Ukraine, Russia and the US met.",
])
def test_anything_but_a_known_city_and_its_region_is_kept(claim: str) -> None:
    assert without_known_regions(claim) == claim


def test_a_claim_placing_a_cited_city_in_its_country_is_supported(
        checker: FastChecker) -> None:
    # The names judge zeroes a claim naming a place its passage does not name: the
    # country of a city the passage names is not such a place, another country is.
    out = verify_text("The United States and Ukraine agreed on a 30-day truce on March 11 "
                      "in Jeddah, Saudi Arabia [1].", TRUCE, checker, "mark")
    assert out.checks[0].supported, out.checks[0]
    assert "in Jeddah, Saudi Arabia [1]." in out.text  # the answer keeps its words
    wrong = verify_text("The United States and Ukraine agreed on a 30-day truce on March 11 "
                        "in Jeddah, Egypt [1].", TRUCE, checker, "mark")
    assert not wrong.checks[0].supported


def test_the_default_verifier_passes_the_truce_placed_in_its_country() -> None:
    # The news golden set's fac38, with the passage's two dated clauses: the default judge
    # supports the claim that places Jeddah in Saudi Arabia, not one placing it elsewhere
    # or moving the truce to another city of that country.
    passage = passages("On March 11, in Jeddah, the United States and Ukraine agreed on a "
                       "30-day truce, and on March 13, Russia said it would study it.")
    claim = "The United States and Ukraine agreed on a 30-day truce on March 11 in {} [1]."
    verdicts = {place: verify_text(claim.format(place), passage, CombinedJudge.shared(),
                                   "mark").checks[0].supported
                for place in ("Jeddah, Saudi Arabia", "Jeddah, Egypt", "Riyadh, Saudi Arabia")}
    assert verdicts == {"Jeddah, Saudi Arabia": True, "Jeddah, Egypt": False,
                        "Riyadh, Saudi Arabia": False}


def test_the_evaluation_judges_claims_as_the_service_does() -> None:
    text = TRUCE[0].text
    answer = Answer(question="Where was the truce agreed?", standalone_question="",
                    answer="The truce was agreed in Jeddah, Saudi Arabia [1].",
                    abstained=False, generator="test", index="news", timings_ms={},
                    citations=[Citation(marker=1, doc_id="d1", title="T1", source=None,
                                        text=text, start=0, end=len(text))])
    assert answer_sentences(answer) == [("The truce was agreed in Jeddah.", [1])]


def test_the_servers_warm_up_reads_the_table(news_settings: Settings) -> None:
    # The first answer after start-up does not wait for the table (~70 ms).
    from service.pipeline.resources import Resources

    known_pairs.cache_clear()
    Resources(news_settings, judge=FastChecker(MiniLMEmbedder.shared())).warm_judge("news")
    assert known_pairs.cache_info().currsize == 1
