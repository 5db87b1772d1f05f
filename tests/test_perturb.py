"""The training and benchmark rewrites (tools/train_verifier/perturb.py): restructured
sentences keep the facts of the sentence they restate, and leave alone what they cannot
restate safely."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "train_verifier"))
import perturb  # noqa: E402

RAMSTEIN = "After all, the United States is still present at the Ramstein meeting."
WHITAKER = ("They were represented by Matthew Whitaker, the Ambassador to NATO, for the first "
            "time since the introduction of such a format.")


@pytest.fixture
def rng() -> random.Random:
    return random.Random(13)


def test_a_pronoun_is_resolved_to_the_subject_of_the_sentence_before(rng: random.Random) -> None:
    assert perturb.referent(RAMSTEIN) == "the United States"
    assert perturb.referent("Putin made a harsh statement at a meeting.") == "Putin"
    assert perturb.resolve_pronoun(WHITAKER, RAMSTEIN, rng).startswith(
        "The United States were represented by Matthew Whitaker")
    # Not a subject: a possessive, a noun before the name, an opener.
    assert perturb.referent("On Monday, Tony Blair's spokesman declined to comment.") is None
    assert perturb.referent("Spain captain Jordi Arrese chose to rest Nadal.") is None
    assert perturb.referent("Among the accused were Altria and Liggett.") is None


def test_passive_and_active_voice_swap_keeps_who_did_what(rng: random.Random) -> None:
    resolved = perturb.resolve_pronoun(WHITAKER, RAMSTEIN, rng)
    assert perturb.to_active(resolved, "", rng) == (
        "Matthew Whitaker represented the United States.")
    assert perturb.to_active(WHITAKER, "", rng) == "Matthew Whitaker represented them."
    assert perturb.to_passive("Steve Witkoff visited the Russian delegation in Jeddah.", "",
                              rng) == "The Russian delegation was visited by Steve Witkoff."
    # A subject that is a clause, or a verb that takes a clause, is left alone.
    assert perturb.to_active("Labour knows it has been damaged by accusations of spin.", "",
                             rng) is None
    assert perturb.to_passive("Aragones insisted the comments were meant to motivate.", "",
                              rng) is None


def test_a_quote_is_told_as_reported_speech_by_its_speaker(rng: random.Random) -> None:
    quote = ("“The recent bombing of railway tracks in the Bryansk and Kursk regions is, of "
             "course, a terrorist act,” he said.")
    assert perturb.reported(quote, "Putin made a harsh statement at a meeting.", rng) == (
        "Putin said that the recent bombing of railway tracks in the Bryansk and Kursk "
        "regions is, of course, a terrorist act.")
    # First-person quotes would change meaning; an unknown speaker is not guessed.
    assert perturb.reported("“We will not give up,” he said.", "Zelensky spoke.", rng) is None
    assert perturb.reported(quote, "The talks were tense.", rng) is None


def test_an_apposition_is_stated_as_a_sentence(rng: random.Random) -> None:
    sentence = ("In connection with the negotiations in Istanbul, the US Ambassador to Turkey, "
                "Tom Barrack, threw a mysterious phrase.")
    out = {perturb.apposition(sentence, "", random.Random(seed)) for seed in range(8)}
    assert out == {"Tom Barrack is the US Ambassador to Turkey.",
                   "The US Ambassador to Turkey is Tom Barrack."}
    # The name after a prepositional phrase is not that phrase's apposition.
    cescau = "Under the restructuring plans, Patrick Cescau, the UK-based co-chairman, will lead."
    assert {perturb.apposition(cescau, "", random.Random(seed)) for seed in range(8)} == {
        "Patrick Cescau is the UK-based co-chairman.",
        "The UK-based co-chairman is Patrick Cescau."}


def test_the_restructured_suite_leaves_the_word_level_suite_as_it_was(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.verifier import perturbation_cases, restructured_cases

    dataset, docs = ROOT / "eval" / "datasets" / "news.jsonl", ROOT / "indexes" / "news" / "docs"
    cases = perturbation_cases(dataset, docs)
    monkeypatch.setattr(perturb, "RESTRUCTURES", {})
    assert [c for c in cases if c.get("suite") != "restructured"] == perturbation_cases(
        dataset, docs)  # earlier runs' figures stay comparable
    restructured = [c for c in cases if c.get("suite") == "restructured"]
    assert {c["label"] for c in restructured} == {0, 1}
    monkeypatch.undo()
    made = restructured_cases(WHITAKER, RAMSTEIN, "evidence", ["Pete Hegseth"],
                              random.Random(13))
    faithful = [c["claim"] for c in made if c["label"] == 1]
    assert "Matthew Whitaker represented them." in faithful
    assert all(c["kind"].startswith("restructured:") for c in made)


def test_premise_errors_put_the_questions_detail_in_the_sentences_place() -> None:
    from bench.verifier_context import premise_errors

    out = set(premise_errors("Umerov headed the Ukrainian delegation on May 16.",
                             "Who headed the Russian delegation on June 2?"))
    assert "Umerov headed the Russian delegation on May 16." in out
    assert "Umerov headed the Ukrainian delegation on June 16." in out
    assert "Umerov headed the Ukrainian delegation on May 2." in out
    assert not any("Who" in s for s in out)  # the question's opener is not a name
    opened = set(premise_errors("Thune said the bill waits for the Senate.",
                                "Which Republican senator said Trump told Thune?"))
    assert opened and not any("Which" in s for s in opened)
    # A rare first word is a name: the subject itself can be put in another's place.
    assert "Umerov headed the Russian delegation." in set(premise_errors(
        "Medinsky headed the Russian delegation.", "Did Umerov meet the Russian delegation?"))


def test_answer_errors_replace_the_reference_and_keep_the_citations() -> None:
    from bench.verifier_context import answer_errors
    from service.records import Passage

    text = "Umerov headed the Ukrainian delegation. Medinsky led the Russian one."
    given = [Passage(chunk_id="c1", doc_id="d1", title="T", source=None, text=text, start=0,
                     end=len(text), score=1.0, rank=1)]
    draft = {"id": "x", "question": "Who headed the Ukrainian delegation?", "reference": "Umerov",
             "abstained": False, "draft": "Umerov headed the Ukrainian delegation [1]."}
    cases = answer_errors(draft, given, random.Random(0))
    texts = {case["text"] for case in cases}
    assert "Medinsky headed the Ukrainian delegation [1]." in texts
    assert all(t.endswith(" headed the Ukrainian delegation [1].") and "Umerov" not in t
               for t in texts)
    assert {case["label"] for case in cases} == {0}
