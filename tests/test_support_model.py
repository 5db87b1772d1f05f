"""The trained support model (service/verify/support_model.py): real int8 ONNX files, no
torch. Clear cases only; its measured quality is in docs/benchmarks.md."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from service.config import Settings
from service.embed.minilm import model_files
from service.verify.support_features import (
    SURFACE,
    TokenEncoder,
    calendar_conflict,
    name_in_place_of,
    names_swapped,
    surface,
)
from service.verify.support_model import MODEL_DIR, SupportModel
from service.verify.table import Evidence
from service.verify.windows import sentence_spans, windows, with_title

EVIDENCE = ("Talks in Istanbul. The head of the Russian delegation, Vladimir Medinsky, met "
            "Ukrainian Defence Minister Rustem Umerov in Istanbul on May 16. They agreed to "
            "exchange 1,000 prisoners of war for 1,000. The exchange was carried out later "
            "with the mediation of Minsk.")


@pytest.fixture(scope="module")
def model() -> SupportModel:
    return SupportModel.shared()


def test_model_loads_without_torch(model: SupportModel) -> None:
    assert "torch" not in sys.modules
    assert (MODEL_DIR / "support_head.onnx").stat().st_size < 30_000_000
    assert 0.0 < model.threshold < 1.0
    import hashlib

    sums = {name: digest for digest, name in
            (line.split() for line in (MODEL_DIR / "SHA256SUMS").read_text().splitlines())}
    head = MODEL_DIR / "support_head.onnx"
    assert hashlib.sha256(head.read_bytes()).hexdigest() == sums[head.name]


def test_batch_scores_every_pair_at_once(model: SupportModel) -> None:
    pairs = [("Medinsky met Umerov in Istanbul.", EVIDENCE),
             ("The sky over Paris was green.", EVIDENCE)]
    probs = model.probabilities(pairs)
    assert probs.shape == (2, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    one_by_one = np.vstack([model.probabilities([p]) for p in pairs])
    assert np.allclose(probs, one_by_one, atol=1e-4)
    assert probs[0, 0] > probs[1, 0]


def test_paraphrase_is_supported(model: SupportModel) -> None:
    claim = "According to the report, Medinsky and Umerov met in Istanbul on May 16."
    assert model.verdict(claim, EVIDENCE) == "supported"


def test_swapped_name_is_contradicted(model: SupportModel) -> None:
    claim = "The exchange was carried out later with the mediation of Ankara."
    assert model.verdict(claim, EVIDENCE) == "contradicted"


def test_changed_number_is_contradicted(model: SupportModel) -> None:
    claim = "They agreed to exchange 1,200 prisoners of war for 1,000."
    assert model.verdict(claim, EVIDENCE) == "contradicted"


def test_unrelated_claim_is_not_found(model: SupportModel) -> None:
    claim = "The central bank raised interest rates to curb inflation in Brazil."
    assert model.verdict(claim, EVIDENCE) == "not_found"


def test_table_points_at_the_supporting_window(model: SupportModel) -> None:
    other = Evidence("Markets were calm on Friday. Oil prices fell slightly in Asia.", "Markets")
    cited = Evidence(EVIDENCE, None)
    claims = ["The prisoner exchange was mediated by Minsk.", "Oil prices fell in Asia."]
    table = model.table(claims, [other, cited])
    assert table.verdict(0, [2]) == "supported"
    assert table.verdict(0, [1]) == "not_found"
    assert table.score(0, [1, 2]) == table.score(0, [2]) > table.score(0, [1])
    [(number, start, end)] = table.spans(0, [1, 2])
    assert number == 2 and "Minsk" in EVIDENCE[start:end]
    assert table.verdict(1, [1]) == "supported"


def test_windows_keep_offsets() -> None:
    text = "Mr. Smith went to Washington. He said \"yes.\" Then 2.5 million left.\nNew line"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Mr. Smith went to Washington.", "He said \"yes.\"", "Then 2.5 million left.",
        "New line"]
    for w in windows(text * 3):
        assert (text * 3)[w.start:w.end] == w.text
    byline = ("Channels have been flung open, writes M.K. Bhadrakumar. Zelensky addressed "
              "the U.N. Russia walked out at 10 a.m. Talks resumed.")
    assert [byline[s:e] for s, e in sentence_spans(byline)] == [
        "Channels have been flung open, writes M.K. Bhadrakumar.",
        "Zelensky addressed the U.N.", "Russia walked out at 10 a.m.", "Talks resumed."]
    quoted = "Zelensky flew to the U.S. “Peace is possible,” Trump said. He spoke in L.A. “Yes.”"
    assert [quoted[s:e] for s, e in sentence_spans(quoted)] == [
        "Zelensky flew to the U.S.", "“Peace is possible,” Trump said.", "He spoke in L.A.",
        "“Yes.”"]


def test_meta_records_dev_calibration() -> None:
    meta = json.loads((MODEL_DIR / "meta.json").read_text())
    assert {"threshold", "temperature", "dev"} <= meta.keys()
    assert {"auroc", "balanced_accuracy", "ece", "n"} <= meta["dev"].keys()
    assert Path(MODEL_DIR / "reliability_dev.png").is_file()


def test_verification_rows_carry_verdicts_and_document_offsets(model: SupportModel) -> None:
    from service.records import Passage
    from service.verify.verifier import verify_text

    doc = ("x" * 40 + " The head of the Russian delegation, Medinsky, confirmed the position. "
           "The prisoner exchange was carried out later with the mediation of Minsk.")
    first = doc.index("The head")
    passage = Passage(chunk_id="c1", doc_id="000.txt", title="Talks", source=None,
                      text=doc[first:], start=first, end=len(doc), score=1.0, rank=1)
    text = ("Medinsky headed the Russian delegation [1]. "
            "The prisoner exchange was carried out with the mediation of Ankara [1]. "
            "The prisoner exchange was mediated by Ankara [1].")
    verified = verify_text(text, [passage], model, "mark")
    supported, contradicted, reworded = verified.checks
    assert supported.verdict == "supported" and supported.supported
    [span] = supported.evidence
    assert span.doc_id == "000.txt" and doc[span.start:span.end] == span.text
    assert "Medinsky" in span.text
    assert contradicted.verdict == "contradicted" and not contradicted.supported
    assert "(contradicted) The prisoner exchange was carried out with the mediation of " \
           "Ankara" in verified.text
    # Reworded, the swap leaves no check a conflict to point at ("mediated by Ankara",
    # "mediation of Minsk"): still not supported, shown as not found.
    assert reworded.verdict == "not_found" and not reworded.supported


def test_a_word_for_word_quote_is_supported_even_with_a_negation(model: SupportModel) -> None:
    """A passage of the news corpus: its negations made the head say "contradicted"."""
    title = "Negotiations between Russia and Ukraine stumbled over memoranda and terrorist attacks"
    evidence = ("On Wednesday, it became clear that "
                "this does not mean the immediate introduction of secondary sanctions in "
                "accordance with the bill prepared in the US Senate. Republican Senator John "
                "Wicker said that Trump had instructed Republican Majority leader John Thune "
                "not to submit the document for consideration this week.\n\nHowever, there "
                "are signs that the US president will react to the current situation in a "
                "different way: simply by withdrawing from the Russian-Ukrainian conflict.")
    claim = ("Republican Senator John Wicker said that Trump had instructed Republican "
             "Majority leader John Thune not to submit the document for consideration "
             "this week.")
    assert model.table([claim], [Evidence(evidence, title)]).verdict(0, [1]) == "supported"


class CountingEncoder(TokenEncoder):
    """The real encoder, recording what it is asked to encode."""

    def __init__(self) -> None:
        super().__init__(*model_files())
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        self.texts += texts
        return super().encode(texts)


def test_warmed_sentences_are_not_encoded_again_at_answer_time() -> None:
    encoder = CountingEncoder()
    claim = "Medinsky met Umerov in Istanbul on May 16."
    cold = SupportModel(encoder=encoder).probabilities([(claim, EVIDENCE)])
    assert len(encoder.texts) == 1 + len(sentence_spans(EVIDENCE))  # claim, each sentence
    model = SupportModel(encoder=encoder)  # a new, empty cache
    assert model.warm([EVIDENCE]) == len(sentence_spans(EVIDENCE))
    encoder.texts.clear()
    warm = model.probabilities([(claim, EVIDENCE)])
    assert encoder.texts == [claim]  # only the claim: the evidence's sentences were warm
    assert np.allclose(cold, warm, atol=1e-4)


def test_a_subject_object_swap_is_seen_and_a_reworded_name_is_not() -> None:
    sentence = ("The head of the Russian delegation, Vladimir Medinsky, met Ukrainian Defence "
                "Minister Rustem Umerov in Istanbul on May 16.")
    swapped = sentence.replace("Vladimir Medinsky", "\0").replace(
        "Rustem Umerov", "Vladimir Medinsky").replace("\0", "Rustem Umerov")
    assert names_swapped(swapped, sentence) == 1.0
    assert names_swapped("Umerov met Medinsky in Istanbul.",
                         "Medinsky met Umerov in Istanbul.") == 1.0
    for faithful in ("Medinsky headed the Russian delegation.",  # a name moved, not swapped
                     "On May 16, Medinsky met Umerov in Istanbul.",  # a clause moved
                     sentence):
        assert names_swapped(faithful, sentence) == 0.0


@pytest.mark.parametrize("question", [
    "Who headed the Russian delegation?",
    # From the article titled "… direct negotiations with the U.S.": split as one text,
    # its title and a window's first sentence were one unit, encoded at every answer.
    "Who founded the political analysis firm R. Politik?",
    "Who is the director of the Carnegie Russia Eurasia Center?"])
def test_an_index_warmed_ahead_leaves_only_the_claims_to_encode(
        news_settings: Settings, question: str) -> None:
    from service.pipeline import AskRequest, Pipeline
    from service.pipeline.resources import Resources

    encoder = CountingEncoder()  # and a support model with its own cache
    judge = SupportModel(encoder=encoder)
    pipeline = Pipeline(news_settings, Resources(news_settings, judge=judge))
    assert pipeline.resources.warm_judge("news") > 100
    encoder.texts.clear()
    answer = pipeline.ask(AskRequest(question=question, generator="extractive"))
    claims = [c.sentence for c in answer.verification]
    assert claims and len(encoder.texts) == len(claims), encoder.texts  # no passage text


def test_another_month_or_weekday_is_contradicted(model: SupportModel) -> None:
    evidence = "Pistorius spoke on Thursday. The talks were held in Istanbul on May 16."
    assert model.verdict("Pistorius spoke on Wednesday.", evidence) == "contradicted"
    assert model.verdict("The talks were held in Istanbul on June 16.", evidence) \
        == "contradicted"
    assert model.verdict("Pistorius spoke on Thursday.", evidence) == "supported"


def test_an_added_detail_is_not_found_not_contradicted(model: SupportModel) -> None:
    """"Contradicted" needs a conflict the checks can point at (another number, a flipped
    polarity, names swapped or in another's place); a place the passage never names
    contradicts nothing."""
    passage = ("The context of the preparation for the dialogue was intense. On March 11, in "
               "Jeddah, the United States and Ukraine agreed on a 30-day truce.")
    claim = ("The United States and Ukraine agreed on a 30-day truce on March 11 in Jeddah, "
             "Saudi Arabia.")
    assert model.verdict(claim, passage) == "not_found"
    assert model.verdict(claim.replace("30-day", "60-day"), passage) == "contradicted"


def test_a_date_is_changed_only_against_the_sentence_the_claim_restates() -> None:
    window = ("The telephone conversation between Putin and Trump began at about 17:00 Moscow "
              "time. It followed their first conversation on February 12.")
    # "March 18" comes from the question; February is another call's date.
    assert not calendar_conflict("The March 18 phone call between Putin and Trump began at "
                                 "about 17:00 Moscow time.", window)
    assert calendar_conflict("It followed their first conversation on March 12.", window)


def test_a_claim_about_names_or_words_the_passage_never_mentions_is_not_found(
        model: SupportModel) -> None:
    assert model.score("Putin visited Paris last week.", EVIDENCE) == 0.0
    assert model.verdict("The talks collapsed after an hour.", EVIDENCE) == "not_found"
    # A paraphrase sharing one name or word is left to the head.
    assert model.verdict("Medinsky led Russia's delegation.", EVIDENCE) == "supported"


def test_a_name_in_another_names_place_is_a_swap_and_a_name_merely_absent_is_not() -> None:
    sentence = "The exchange was carried out later with the mediation of Minsk."
    assert name_in_place_of(["ankara"], "The exchange was mediated by Ankara.", sentence) == 0.0
    assert name_in_place_of(["ankara"], "It was carried out with the mediation of Ankara.",
                            sentence) == 1.0  # "of Ankara" where the passage has "of Minsk"
    # A stopword anchors only with the word beyond it: "according to" is not "flights to".
    # Nor does the start of the text or a comma: "In Ankara …" is not "In Minsk …".
    assert name_in_place_of(["ankara"], "In Ankara officials met.", "In Minsk talks went on.") \
        == 0.0
    assert name_in_place_of(["meloyan"], "Russia resumed uranium supplies to the United "
                            "States, according to Meloyan.", "These include uranium supplies "
                            "to the United States and flights to Mars.") == 0.0
    truce = ("On March 11, in Jeddah, the United States and Ukraine agreed on a 30-day truce, "
             "and on March 13, Witkoff met Putin in the Kremlin.")
    assert name_in_place_of(["saudi", "arabia"], "The United States and Ukraine agreed on a "
                            "30-day truce on March 11 in Jeddah, Saudi Arabia.", truce) == 0.0


MISSING_FROM_ALIGNED, IN_PLACE_OF = SURFACE - 2, SURFACE - 1
REPORTS_SPEECH = 10  # whether the claim reports speech (a lead-in may reorder names)


def test_a_name_told_by_a_pronoun_is_not_missing_from_the_sentence() -> None:
    window = ("Putin made a harsh statement at a meeting with the government. “The bombing of "
              "railway tracks in the Bryansk and Kursk regions is a terrorist act,” he said.")
    claim = "The railway bombing that Putin called a terrorist act was in the Bryansk region."
    checks = surface(claim, window)
    assert checks[MISSING_FROM_ALIGNED] == 0.0 and checks[IN_PLACE_OF] == 0.0
    no_pronoun = window.replace("he said", "the statement said")
    assert surface(claim, no_pronoun)[MISSING_FROM_ALIGNED] > 0.0


def test_a_claim_joining_a_sentence_and_the_one_going_on_about_it_misses_no_name() -> None:
    window = ("After all, the United States is still present at the Ramstein meeting. They were "
              "represented by Matthew Whitaker, the Ambassador to NATO, for the first time.")
    claim = "Matthew Whitaker represented the United States at the Ramstein meeting."
    assert surface(claim, window)[MISSING_FROM_ALIGNED] == 0.0
    # A next sentence about something else does not lend its names.
    unrelated = window.replace("They were represented", "The talks were chaired")
    assert surface(claim, unrelated)[MISSING_FROM_ALIGNED] > 0.0


def test_a_name_swapped_in_from_the_next_sentence_is_still_a_swap(model: SupportModel) -> None:
    """Only a claim that draws on the next sentence's words borrows its names: sharing
    just a name with it is what a swap looks like (found in review: 23 of 25 such swaps
    on news windows passed before)."""
    window = "Rustem Umerov headed the Ukrainian delegation. He met Vladimir Medinsky there."
    claim = "Vladimir Medinsky headed the Ukrainian delegation."
    checks = surface(claim, window)
    assert checks[MISSING_FROM_ALIGNED] > 0.0 and checks[IN_PLACE_OF] == 1.0
    assert model.verdict(claim, window) != "supported"


def test_the_demo_questions_wrong_answer_is_not_supported_by_the_other_delegation(
        model: SupportModel) -> None:
    """The local model's answer to the demo question names the head of the other side's
    delegation; the words it restates from the question ("the Russian delegation") are
    what make it wrong, so they are never excused."""
    title = "Negotiations between Russia and Ukraine stumbled over memoranda and terrorist attacks"
    passage = ("The Ukraine–NATO Council is, in essence, negotiations between the Ukrainian "
               "Defense Minister Rustem Umerov (by the way, who headed the Ukrainian delegation "
               "at the talks in Istanbul) and the heads of the defense departments of NATO "
               "countries.")
    claim = "Rustem Umerov headed the Russian delegation at the Istanbul talks."
    assert model.table([claim], [Evidence(passage, title)]).verdict(0, [1]) != "supported"


def test_a_name_in_the_windows_title_is_not_missing_from_its_sentences() -> None:
    title = "Trump's turn on Ukraine and the first Istanbul talks"
    window = with_title(title, "The parties agreed on the terms of the prisoner exchange "
                               "according to the “1000 to 1000” formula, later mediated by Minsk.")
    claim = "The prisoner exchange formula agreed at the Istanbul meeting was “1000 to 1000”."
    assert surface(claim, window, title)[MISSING_FROM_ALIGNED] == 0.0
    assert surface(claim, window)[MISSING_FROM_ALIGNED] == 1.0  # not told it is the title


def test_a_name_the_title_holds_still_stands_in_another_names_place() -> None:
    """The title is the setting of every sentence: a name in it is not missing. But put
    where the sentence has another name, beside the same words, it is a swap."""
    title = "Trump's turn on Ukraine and the first Istanbul talks"
    window = with_title(title, "The head of the Russian delegation, Medinsky, generally "
                               "confirmed the immutability of our position.")
    swapped = "The head of the Istanbul delegation, Medinsky, confirmed the position."
    assert surface(swapped, window, title)[MISSING_FROM_ALIGNED] == 0.0
    assert surface(swapped, window, title)[IN_PLACE_OF] == 1.0
    # A title name merely added, beside no word of the sentence's other names, is no swap.
    met = with_title(title, "The head of the Russian delegation, Medinsky, met Umerov.")
    assert surface("At the Istanbul talks, Medinsky met Umerov.", met, title)[IN_PLACE_OF] == 0.0


def test_called_reports_speech() -> None:
    """ "X called it a terrorist act" reports what X said, as "X said it was" does: a
    lead-in that may reorder the passage's names (found on a correct golden-set answer
    restating a quote, which the head read as not found)."""
    window = ("“The recent bombing of railway tracks in the Bryansk and Kursk regions is, "
              "of course, a terrorist act,” he said.")
    assert surface("The bombing that Putin called a terrorist act was in Bryansk.",
                   window)[REPORTS_SPEECH] == 1.0
    assert surface("The bombing was in Bryansk.", window)[REPORTS_SPEECH] == 0.0
    for urged in ("Macron called on Europe to arm itself.", "The so-called truce held.",
                  "Trump called off the strikes."):
        assert surface(urged, window)[REPORTS_SPEECH] == 0.0, urged


def test_the_hard_rules_read_names_as_the_features_do(model: SupportModel) -> None:
    """`rules=True`: every number and name of the claim in the window. A capitalised
    first word is a name only when rare, so a lead-in ("Reports say that …") is not a
    name the window must hold; a rare one ("Umerov …") is."""
    strict = copy.copy(model)
    strict.rules = True
    window = ("The head of the Russian delegation, Medinsky, generally confirmed the "
              "immutability of our position.")
    lead_in = "Reports say that Medinsky headed the Russian delegation."
    assert strict.score(lead_in, window) == model.score(lead_in, window) >= strict.threshold
    assert strict.score("Umerov headed the Russian delegation.", window) == 0.0
    assert strict.score("Medinsky headed the Russian delegation for 3 days.", window) == 0.0
