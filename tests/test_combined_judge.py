"""The combined verifier (service/verify/combined.py): the support head and the
cross-encoder, fitted together. Its measured quality is in docs/benchmarks.md ("Verifier
(issue 29)"); here, what its code promises."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.config import Settings
from service.errors import ModelNotInstalled
from service.evaluation.calibration import LabelledPair, calibrate_pairs
from service.verify.backends import JUDGES
from service.verify.combined import MODEL_DIR, CombinedJudge
from service.verify.table import Cell, Evidence
from tests.test_cross_encoder import (
    DEMO_TITLE,
    EVIDENCE,
    MEDINSKY_PASSAGE,
    UMEROV_PASSAGE,
    WRONG,
)

CLAIMS = [
    "Medinsky led Russia's delegation at the Istanbul talks.",
    "They agreed to exchange 1,000 prisoners of war for 1,000.",
    "The two sides agreed to swap a thousand prisoners each.",
    "They agreed to exchange 5,000 prisoners of war.",
    "Umerov led the Russian delegation.",
    "The exchange was carried out with the mediation of Ankara.",
    "The central bank raised interest rates to 7 percent.",
    "Medinsky met Umerov in Istanbul, and the talks collapsed after an hour.",
]
KNOWLEDGE = ("The Dark Knight is directed by Christopher Nolan. The Dark Knight is starring "
             "Heath Ledger.")
PARAPHRASE = "Heath Ledger was in it, and Nolan directed it."


@pytest.fixture(scope="module")
def judge() -> CombinedJudge:
    return CombinedJudge.shared()


class CountingCross:
    """The real cross-encoder, counting the cells it is asked to score."""

    def __init__(self, judge: CombinedJudge) -> None:
        self.inner, self.cells_scored = judge.cross, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def cells(self, claims, evidence, asked, wanted, cut, pick=None):  # type: ignore[no-untyped-def]
        self.cells_scored += len(wanted)
        return self.inner.cells(claims, evidence, asked, wanted, cut, pick)


def test_skipping_the_cross_encoder_never_changes_a_verdict(judge: CombinedJudge) -> None:
    counting = CountingCross(judge)
    lazy = CombinedJudge(head=judge.head, cross=counting)  # type: ignore[arg-type]
    claims = [*CLAIMS, PARAPHRASE]
    evidence = [Evidence(EVIDENCE), Evidence(MEDINSKY_PASSAGE, DEMO_TITLE), Evidence(KNOWLEDGE)]
    fast = lazy.table(claims, evidence)
    exact = judge.table(claims, evidence, exact=True)
    for n in (1, 2, 3):
        assert [fast.verdict(c, [n]) for c in range(len(claims))] == [
            exact.verdict(c, [n]) for c in range(len(claims))]
    assert 0 < counting.cells_scored < len(claims) * len(evidence)  # some cells skipped


def test_a_paraphrase_the_head_misses_passes_by_the_cross_encoders_reading(
        judge: CombinedJudge) -> None:
    assert judge.head.score(PARAPHRASE, KNOWLEDGE) < judge.head.threshold
    assert judge.verdict(PARAPHRASE, KNOWLEDGE) == "supported"
    assert judge.verdict("Heath Ledger was in it, and Steven Spielberg directed it.",
                         KNOWLEDGE) != "supported"
    assert judge.verdict("Heath Ledger was not in it, and Nolan directed it.",
                         KNOWLEDGE) == "contradicted"


def test_a_restated_sentence_passes_and_a_changed_figure_does_not(judge: CombinedJudge) -> None:
    assert judge.score("They agreed to exchange 1,000 prisoners of war for 1,000.",
                       EVIDENCE) >= judge.threshold
    assert judge.verdict("They agreed to exchange 5,000 prisoners of war for 5,000.",
                         EVIDENCE) == "contradicted"
    assert judge.verdict("The central bank raised interest rates to 7 percent.",
                         EVIDENCE) != "supported"


@pytest.mark.parametrize("passage", [UMEROV_PASSAGE, MEDINSKY_PASSAGE])
def test_the_demo_questions_wrong_answer_is_contradicted(judge: CombinedJudge,
                                                         passage: str) -> None:
    assert judge.table([WRONG], [Evidence(passage, DEMO_TITLE)]).verdict(
        0, [1]) == "contradicted"


def test_the_cross_encoder_reads_the_window_around_the_heads(judge: CombinedJudge) -> None:
    """A long passage is several reading windows; the cross-encoder reads only the one
    holding the head's window (where the claim's words are)."""
    filler = " ".join(f"Paragraph {i} is about the weather in spring and nothing else."
                      for i in range(20))
    passage = f"{filler} {EVIDENCE} {filler}"
    claim = "They agreed to exchange 1,000 prisoners of war for 1,000."
    args = ([claim], [Evidence(passage)], [None], [(0, 0)])
    head = judge.head.cells(*args, {})
    cross = judge.cross_cells(*args, head, {})[(0, 0)]
    assert passage[cross.start:cross.end].count("1,000 prisoners") == 1
    assert cross.start <= head[(0, 0)].start < head[(0, 0)].end <= cross.end


CLAUSE = ("5.1 The Contractor shall keep a site manager and a pipe-fitting crew of at least "
          "eight fitters on site from 1 June 2025 until mechanical completion. 5.2 The "
          "Contractor's site manager is Miriam Kolb, who has held the post since July 2025.")
PRICE = "2.1 The contract price is a lump sum of EUR 3,860,000, excluding VAT."
PRICE_TITLE = "CONSTRUCTION CONTRACT No. SWK-2025-014"


class VetoingCross(CountingCross):
    """The real cross-encoder's windows, with a score that vetoes every claim: what the
    combination does when the cross-encoder under-reads a faithful sentence."""

    def cells(self, claims, evidence, asked, wanted, cut, pick=None):  # type: ignore[no-untyped-def]
        real = super().cells(claims, evidence, asked, wanted, cut, pick)
        return {k: Cell(0.001, c.p_contradicted, c.contradicted, c.start, c.end)
                for k, c in real.items()}


@pytest.fixture()
def vetoed(judge: CombinedJudge) -> CombinedJudge:
    return CombinedJudge(head=judge.head, cross=VetoingCross(judge))  # type: ignore[arg-type]


def test_a_restatement_the_head_passes_stays_passed_unless_a_name_or_number_is_new(
        vetoed: CombinedJudge) -> None:
    """The cross-encoder may not veto the head's "supported" on a claim made of the
    passage's words, names and numbers (`restated`); a new name or number, or a changed
    one, is not a restatement."""
    faithful = "Miriam Kolb has been the Contractor's site manager since July 2025."
    assert vetoed.verdict(faithful, CLAUSE) == "supported"
    assert vetoed.verdict("Peter Kolb has been the Contractor's site manager since July "
                          "2025.", CLAUSE) != "supported"
    assert vetoed.verdict("Miriam Kolb has been the Contractor's site manager since July "
                          "2024.", CLAUSE) == "contradicted"


def test_a_sentence_initial_function_word_is_no_name_the_passage_must_hold(
        vetoed: CombinedJudge) -> None:
    """"The" that starts a claim is capitalised for its place, not a name: a line with no
    "the" ("Next site walk: …") can still be restated."""
    notes = "Agenda | Next site walk: 4 March 2026. | Attendees: Employer, Contractor."
    assert vetoed.verdict("The next site walk will be on 4 March 2026.", notes) == "supported"
    assert vetoed.verdict("Peter leads the next site walk on 4 March 2026.",
                          notes) != "supported"


def test_a_restatement_reads_its_passage_under_the_documents_title(
        vetoed: CombinedJudge) -> None:
    """A claim may name what only the cited document's title holds (its contract number):
    the models read the window under the title, so the restatement rule does too."""
    claim = "The original contract price of contract SWK-2025-014 was EUR 3,860,000."
    titled = vetoed.table([claim], [Evidence(PRICE, PRICE_TITLE)]).verdict(0, [1])
    assert titled == "supported"
    assert vetoed.table([claim], [Evidence(PRICE)]).verdict(0, [1]) != "supported"


def test_it_is_registered_and_keeps_the_calibration_shape(judge: CombinedJudge) -> None:
    assert JUDGES.get("combined")(Settings()) is judge  # one loaded judge per process
    pairs = [LabelledPair(claim=c, evidence=EVIDENCE, label=y) for c, y in [
        ("Medinsky headed the Russian delegation.", 1),
        ("The talks were held in Geneva.", 0)]]
    result = calibrate_pairs(judge, pairs, show_progress=False)
    assert result["judge"] == "combined" and result["n"] == 2
    assert result["auroc"] == 1.0


def test_a_combiner_fitted_on_other_features_is_refused(judge: CombinedJudge,
                                                        tmp_path: Path) -> None:
    for name in ("meta.json", "support_head.onnx"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    meta = json.loads((tmp_path / "meta.json").read_text())
    meta["combiner"]["features"] = ["head", "cross"]
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelNotInstalled, match="refit"):
        CombinedJudge(tmp_path, head=judge.head, cross=judge.cross)
