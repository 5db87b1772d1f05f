"""The cross-encoder support model (service/verify/cross_encoder.py): its packaged int8
ONNX file, run without torch. Clear cases only; its measured quality is in
docs/benchmarks.md ("Verifier (issue 29)")."""

from __future__ import annotations

import hashlib
import sys

import pytest

from service.config import Settings
from service.evaluation.calibration import LabelledPair, calibrate_pairs
from service.verify.backends import JUDGES
from service.verify.cross_encoder import MODEL_DIR, CrossEncoder
from service.verify.support_features import pair_ids, pair_tokenizer
from service.verify.table import Evidence
from service.verify.windows import reading_windows

EVIDENCE = ("Talks in Istanbul. The head of the Russian delegation, Vladimir Medinsky, met "
            "Ukrainian Defence Minister Rustem Umerov in Istanbul on May 16. They agreed to "
            "exchange 1,000 prisoners of war for 1,000. The exchange was carried out later "
            "with the mediation of Minsk.")
DEMO_TITLE = ("Negotiations between Russia and Ukraine stumbled over memoranda and terrorist "
              "attacks")
# The passage the bundled 1.5B model cites for its wrong answer to the demo question, and
# the one naming the Russian delegation's head.
UMEROV_PASSAGE = ("The Ukraine–NATO Council is, in essence, negotiations between the Ukrainian "
                  "Defense Minister Rustem Umerov (by the way, who headed the Ukrainian "
                  "delegation at the talks in Istanbul) and the heads of the defense "
                  "departments of NATO countries.")
MEDINSKY_PASSAGE = ("The head of the Russian delegation, Vladimir Medinsky, said Moscow was "
                    "ready for a long war. Ukraine's delegation was headed by Defense Minister "
                    "Rustem Umerov.")
WRONG = "Rustem Umerov headed the Russian delegation at the Istanbul talks."


@pytest.fixture(scope="module")
def model() -> CrossEncoder:
    return CrossEncoder.shared()


@pytest.fixture(scope="module")
def combined() -> CrossEncoder:
    return CrossEncoder.shared(rules=True)


def test_the_cross_encoder_loads_from_its_packaged_files_without_torch(
        model: CrossEncoder) -> None:
    assert "torch" not in sys.modules
    path = MODEL_DIR / model.meta["file"]
    assert path.stat().st_size <= 30_000_000
    sums = {name: digest for digest, name in
            (line.split() for line in (MODEL_DIR / "SHA256SUMS").read_text().splitlines())}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[path.name]
    assert 0.0 < model.threshold < 1.0
    assert JUDGES.get("cross")(Settings()) is model  # one loaded model per process


def test_a_supported_claim_scores_above_an_unsupported_one(model: CrossEncoder) -> None:
    supported = model.score("Medinsky led Russia's delegation at the Istanbul talks.", EVIDENCE)
    unsupported = model.score("Medinsky led Russia's delegation at the talks in Geneva, "
                              "where 5,000 prisoners were freed.", EVIDENCE)
    # Ranked, not yet passed: on news text the model trained on 7,359 pairs puts most
    # faithful sentences below its threshold (docs/benchmarks.md, "Verifier (issue 29)").
    assert supported > unsupported and unsupported < model.threshold


def test_a_claim_about_something_else_is_not_supported(model: CrossEncoder) -> None:
    assert model.score("The central bank raised interest rates to 7 percent.",
                       EVIDENCE) < model.threshold


@pytest.mark.parametrize("passage", [UMEROV_PASSAGE, MEDINSKY_PASSAGE])
def test_the_demo_questions_wrong_answer_is_contradicted(combined: CrossEncoder,
                                                         passage: str) -> None:
    table = combined.table([WRONG], [Evidence(passage, DEMO_TITLE)])
    assert table.verdict(0, [1]) == "contradicted"
    right = "Vladimir Medinsky headed the Russian delegation at the Istanbul talks."
    assert combined.table([right], [Evidence(MEDINSKY_PASSAGE, DEMO_TITLE)]).verdict(
        0, [1]) != "contradicted"


def test_the_default_verifier_contradicts_the_demo_questions_wrong_answer() -> None:
    judge = JUDGES.get(Settings().verifier)(Settings())
    table = judge.table([WRONG], [Evidence(UMEROV_PASSAGE, DEMO_TITLE)])  # type: ignore[attr-defined]
    assert table.verdict(0, [1]) == "contradicted"


def test_calibration_keeps_its_shape(model: CrossEncoder) -> None:
    """`rag eval calibrate --data FILE --json` prints these keys, whichever judge."""
    pairs = [LabelledPair(claim=c, evidence=EVIDENCE, label=y) for c, y in [
        ("Medinsky headed the Russian delegation.", 1),
        ("They agreed to exchange 1,000 prisoners of war for 1,000.", 1),
        ("The exchange was later mediated by Ankara.", 0),
        ("The talks were held in Geneva.", 0)]]
    result = calibrate_pairs(model, pairs, show_progress=False)
    assert set(result) == {"judge", "threshold", "n", "positives", "auroc",
                           "balanced_accuracy", "accuracy", "ece", "pairs_per_s", "date"}
    assert result["judge"] == "cross" and result["n"] == 4 and result["positives"] == 2
    assert 0.0 <= result["auroc"] <= 1.0 and 0.0 <= result["ece"] <= 1.0


def test_reading_windows_pack_sentences_and_overlap_by_one() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(30))
    found = reading_windows(text, words=21)
    assert [len(w.text.split()) for w in found][:3] == [21, 21, 21]
    first, second = found[0].text, found[1].text
    assert second.startswith(first.rsplit(". ", 1)[-1])  # the last sentence starts the next
    assert found[-1].end == len(text)
    assert [w.text for w in reading_windows("One short text. And another.")] == [
        "One short text. And another."]


def test_a_long_evidence_is_cut_before_the_claim() -> None:
    tokenizer = pair_tokenizer()
    ids, types = pair_ids(tokenizer, "Medinsky headed it.", "word " * 500, 64)
    assert len(ids) == len(types) == 64
    claim = tokenizer.encode("Medinsky headed it.", add_special_tokens=False).ids  # type: ignore[attr-defined]
    assert ids[1:1 + len(claim)] == claim and types.count(0) == len(claim) + 2


def test_the_verifiers_sessions_do_not_spin_after_a_run(model: CrossEncoder) -> None:
    # onnxruntime's idle threads spin by default, holding the cores the next model needs:
    # nearly twice an answer's verification time (docs/benchmarks.md, "Verifier latency").
    from service.verify.sessions import SPINNING
    from service.verify.support_model import SupportModel

    for session in (model._session, SupportModel.shared()._encoder._session):
        assert session.get_session_options().get_session_config_entry(SPINNING) == "0"
