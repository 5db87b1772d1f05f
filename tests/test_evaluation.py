"""The evaluation harness: the golden dataset's integrity, the metrics, the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.evaluation.dataset import GoldItem, load_dataset
from service.evaluation.metrics import (
    contains_reference,
    is_attributed,
    score_citations,
    token_f1,
)
from service.evaluation.report import check_gate, compare
from service.ingest.clean import clean_text
from service.records import Answer, Citation
from service.verify.judge import LexicalJudge, numbers_agree
from tests.conftest import NEWS_DOCS, ROOT, RunRag, rag_env

DATASET = ROOT / "eval" / "datasets" / "news.jsonl"


def test_every_gold_quote_is_verbatim_in_its_cleaned_document() -> None:
    items = load_dataset(DATASET)
    texts = {p.name: clean_text(p.read_text(encoding="utf-8")).text
             for p in NEWS_DOCS.glob("*.txt")}
    for item in items:
        for q in item.gold_quotes:
            assert q.quote in texts[q.doc_id], (item.id, q.quote)


def test_dataset_covers_the_required_question_kinds() -> None:
    items = load_dataset(DATASET)
    kinds = [i.type for i in items]
    assert sum(k != "unanswerable" for k in kinds) >= 40
    assert kinds.count("unanswerable") >= 10
    assert kinds.count("contested") >= 6
    assert kinds.count("multi") >= 3 and kinds.count("number") >= 5
    assert all(len(i.gold_doc_ids) >= 2 for i in items if i.type == "multi")


def test_inconsistent_items_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        GoldItem(id="x", type="unanswerable", question="Why?", reference="because",
                 gold_doc_ids=[], gold_quotes=[])
    with pytest.raises(ValueError):
        GoldItem(id="x", type="contested", question="Who?", reference="A",
                 gold_doc_ids=["a"], gold_quotes=[{"doc_id": "a", "quote": "A did"}])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "type": "fact"}\n')
    with pytest.raises(Exception, match=r"bad\.jsonl:1"):
        load_dataset(bad)


def test_answer_correctness_metrics() -> None:
    assert contains_reference("According to X, Medinsky headed it [1].", "Medinsky")
    assert contains_reference("about 2,500 drones were downed", "about 2,500 drones")
    assert not contains_reference("Umerov headed it", "Medinsky")
    assert token_f1("The head was Medinsky", "Medinsky") == pytest.approx(2 * (1 / 3) / (4 / 3))
    assert token_f1("", "x") == 0.0


def test_lexical_judge_requires_matching_numbers() -> None:
    judge = LexicalJudge()
    evidence = "Russian air defense forces shot down about 2,500 drones from May 20 to May 27."
    assert judge.score("Air defense shot down about 2,500 drones.", evidence) >= judge.threshold
    assert judge.score("Air defense shot down about 3,500 drones.", evidence) == 0.0
    assert numbers_agree("2500 drones", evidence)


def _answer(text: str, citations: list[str]) -> Answer:
    return Answer(answer=text, abstained=False, generator="test", question="q",
                  standalone_question="q", index="news", timings_ms={}, citations=[
                      Citation(marker=i, doc_id="d", title="T", source=None, text=t,
                               start=0, end=len(t)) for i, t in enumerate(citations, 1)])


def test_alce_citation_recall_and_precision() -> None:
    judge = LexicalJudge()
    answer = _answer("Medinsky headed the Russian delegation [1][2]. Bananas are yellow [1].",
                     ["Medinsky headed the Russian delegation in Istanbul.",
                      "The weather in Istanbul was warm."])
    scores = score_citations(answer, judge)
    assert (scores.sentences, scores.supported) == (2, 1)
    # [2] neither supports the first sentence nor is needed by it: irrelevant.
    assert (scores.citations, scores.relevant) == (3, 2)


def test_attribution_needs_a_named_source_framed_as_a_claim() -> None:
    yes = _answer("According to Izvestia, his statements contradict reality [1].", ["x"])
    bare = _answer("His statements contradict reality, Izvestia [1].", ["x"])
    assert is_attributed(yes, ["Izvestia"])
    assert not is_attributed(bare, ["Izvestia"])
    assert not is_attributed(yes, ["NG"])


def test_gate_and_compare(tmp_path: Path) -> None:
    thresholds = tmp_path / "t.toml"
    thresholds.write_text('[extractive.min]\n"faithfulness" = 0.9\n'
                          '[extractive.max]\n"latency_ms.total.p95" = 100\n')
    assert check_gate({"faithfulness": 0.95, "latency_ms.total.p95": 50}, thresholds,
                      "extractive") == []
    failures = check_gate({"faithfulness": 0.5, "latency_ms.total.p95": 500}, thresholds,
                          "extractive")
    assert len(failures) == 2 and "faithfulness = 0.5 < 0.9" in failures
    rows = compare({"metrics": {"a": 0.5, "b": 1.0}}, {"metrics": {"a": 0.75}})
    assert rows == [("a", 0.5, 0.75, 0.25), ("b", 1.0, None, None)]


def test_eval_run_writes_reports_and_gates(news_settings, run_rag: RunRag,  # type: ignore[no-untyped-def]
                                           tmp_path: Path) -> None:
    env = rag_env(news_settings.indexes_dir)
    out = tmp_path / "report"
    ok = run_rag("eval", "run", "--generator", "extractive", "--limit", "12", "--out", str(out),
                 "--quiet", env=env)
    assert ok.returncode == 0, ok.stderr
    report = json.loads((out / "report.json").read_text())
    assert len(report["rows"]) == 12 and report["metrics"]["retrieval.doc_hit@5"] > 0.8
    assert (out / "metrics.png").stat().st_size > 1000 and (out / "latency.png").is_file()
    assert "## Questions to read" in (out / "report.md").read_text()
    strict = tmp_path / "strict.toml"
    strict.write_text('[extractive.min]\n"correctness.normalised_match" = 1.01\n')
    gated = run_rag("eval", "run", "--generator", "extractive", "--limit", "3", "--out",
                    str(tmp_path / "r2"), "--gate", "--thresholds", str(strict), "--quiet",
                    env=env)
    assert gated.returncode == 1 and "gate: correctness.normalised_match" in gated.stderr
    compared = run_rag("eval", "compare", str(out), str(tmp_path / "r2"), env=env)
    assert compared.returncode == 0 and "retrieval.mrr" in compared.stdout


def test_auroc_matches_its_definition() -> None:
    from service.evaluation.halueval import auroc

    assert auroc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]) == 0.0
    assert auroc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]) == 0.5
    assert auroc([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0]) == 0.75


def test_lexical_judge_calibration_on_halueval_pairs() -> None:
    from service.evaluation.halueval import calibrate

    result = calibrate(LexicalJudge(), 100, show_progress=False)
    assert result["n"] == 100
    assert result["auroc"] > 0.75  # right answers are found in the passage far more often
    assert 0.5 < result["balanced_accuracy"] <= 1.0


def test_halueval_benchmark_on_a_small_haystack(indexes_dir: Path) -> None:
    from service.evaluation.halueval import benchmark
    from tests.conftest import make_settings

    result = benchmark(make_settings(indexes_dir, generator="extractive"), n=20,
                       generator="extractive", haystack=300, index_name="halutest",
                       show_progress=False)
    assert result["questions"] == 20 and result["haystack_passages"] <= 300
    # In a 300-passage haystack each question's own passage ranks first (measured 20/20).
    assert result["hit@1"] >= 0.9
    # Extractive answers quote the right answer for some questions (measured 0.30).
    assert result["normalised_match"] >= 0.2
