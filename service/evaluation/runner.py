"""Run the real answering pipeline over a golden dataset and score every answer."""

from __future__ import annotations

import sys
import time
from typing import Any

from service.evaluation.dataset import GoldItem
from service.evaluation.metrics import (
    answer_sentences,
    contains_reference,
    is_attributed,
    mean,
    percentile,
    retrieval_scores,
    score_citations,
    token_f1,
)
from service.pipeline import Pipeline
from service.records import AskRequest, public_answer
from service.verify.judge import Judge

KS = (1, 3, 5)


def score_item(item: GoldItem, answer: Any, documents: dict[str, Any],
               judge: Judge, checker: Judge | None = None) -> dict[str, Any]:
    citations = score_citations(answer, judge) if not answer.abstained else None
    row: dict[str, Any] = {
        "id": item.id, "type": item.type, "question": item.question,
        "reference": item.reference, "answer": answer.answer, "abstained": answer.abstained,
        "generator": answer.generator, "fallback": answer.fallback,
        "timings_ms": answer.timings_ms, "usage": answer.usage,
        "citations": public_answer(answer)["citations"],
        "retrieved": [p.doc_id for p in answer.retrieved or answer.passages],
    }
    if item.answerable:
        row["retrieval"] = retrieval_scores(item, answer, documents, KS)
        row["match"] = not answer.abstained and contains_reference(answer.answer, item.reference)
        row["f1"] = 0.0 if answer.abstained else token_f1(answer.answer, item.reference)
    if citations is not None:
        row["sentences"] = citations.sentences
        row["supported_sentences"] = citations.supported
        row["n_citations"] = citations.citations
        row["relevant_citations"] = citations.relevant
    if item.type == "contested":
        row["attributed"] = is_attributed(answer, item.attribution)
    row["verification"] = [c.model_dump() for c in answer.verification]
    if checker is not None and not answer.abstained:
        row["checker_agreement"] = checker_agreement(answer, judge, checker)
    return row


def checker_agreement(answer: Any, judge: Judge, checker: Judge) -> list[bool]:
    """Per cited sentence: do the answer-time checker and the evaluation judge agree?"""
    by_marker = {c.marker: c.text for c in answer.citations}
    out = []
    for claim, markers in answer_sentences(answer):
        evidence = "\n".join(by_marker[m] for m in markers if m in by_marker)
        if evidence:
            out.append((checker.score(claim, evidence) >= checker.threshold)
                       == (judge.score(claim, evidence) >= judge.threshold))
    return out


def aggregate(rows: list[dict[str, Any]]) -> dict[str, float]:
    m: dict[str, float] = {}
    answerable = [r for r in rows if r["type"] != "unanswerable"]
    for key in answerable[0]["retrieval"] if answerable else []:
        m[f"retrieval.{key}"] = mean([r["retrieval"][key] for r in answerable])
    m["correctness.normalised_match"] = mean([float(r["match"]) for r in answerable])
    m["correctness.token_f1"] = mean([r["f1"] for r in answerable])
    answered = [r for r in rows if not r["abstained"]]
    sentences = sum(r.get("sentences", 0) for r in answered)
    cites = sum(r.get("n_citations", 0) for r in answered)
    m["citations.recall"] = (sum(r.get("supported_sentences", 0) for r in answered) / sentences
                             if sentences else 0.0)
    m["citations.precision"] = (sum(r.get("relevant_citations", 0) for r in answered) / cites
                                if cites else 0.0)
    m["faithfulness"] = mean([r["supported_sentences"] / r["sentences"] for r in answered
                              if r.get("sentences")])
    gold_abstain = {r["id"] for r in rows if r["type"] == "unanswerable"}
    said_abstain = {r["id"] for r in rows if r["abstained"]}
    tp = len(gold_abstain & said_abstain)
    m["abstention.precision"] = tp / len(said_abstain) if said_abstain else 0.0
    m["abstention.recall"] = tp / len(gold_abstain) if gold_abstain else 0.0
    m["abstention.false_rate_on_answerable"] = (
        len(said_abstain - gold_abstain) / len(answerable) if answerable else 0.0)
    contested = [r for r in rows if r["type"] == "contested"]
    m["attribution.rate"] = mean([float(r["attributed"]) for r in contested])
    for stage in ("condense", "retrieve", "generate", "total"):
        values = [r["timings_ms"][stage] for r in rows if stage in r["timings_ms"]]
        m[f"latency_ms.{stage}.p50"] = percentile(values, 0.5)
        m[f"latency_ms.{stage}.p95"] = percentile(values, 0.95)
    m["tokens.prompt_mean"] = mean([r["usage"].get("prompt_tokens", 0) for r in rows])
    m["tokens.completion_mean"] = mean([r["usage"].get("completion_tokens", 0) for r in rows])
    m["fallback.rate"] = mean([float(bool(r["fallback"])) for r in rows])
    checks = [c for r in rows for c in r.get("verification", [])]
    if checks:
        m["verification.unsupported_share"] = mean([float(not c["supported"]) for c in checks])
        m["verification.dropped_share"] = mean([float(c["action"] == "dropped")
                                                for c in checks])
        m["verification.recited_share"] = mean([float(c["action"] == "recited")
                                                for c in checks])
    agreement = [a for r in rows for a in r.get("checker_agreement", [])]
    if agreement:
        m["verification.checker_agreement_with_judge"] = mean([float(a) for a in agreement])
    for stage in ("verify",):
        values = [r["timings_ms"][stage] for r in rows if stage in r["timings_ms"]]
        if values:
            m[f"latency_ms.{stage}.p50"] = percentile(values, 0.5)
            m[f"latency_ms.{stage}.p95"] = percentile(values, 0.95)
    return {k: round(v, 4) for k, v in m.items()}


def run_eval(items: list[GoldItem], pipeline: Pipeline, index: str, generator: str,
             judge: Judge, show_progress: bool = True,
             perspectives: bool = False) -> dict[str, Any]:
    from tqdm import tqdm

    retriever = pipeline.resources.retriever(index)
    checker = pipeline.resources.judge()
    checker = checker if checker.name != judge.name else None
    rows = []
    started = time.perf_counter()
    for item in tqdm(items, desc="evaluating", unit="q", file=sys.stderr,
                     disable=not show_progress):
        answer = pipeline.ask(AskRequest(question=item.question, index=index,
                                         generator=generator, perspectives=perspectives))
        documents = retriever.store.documents(item.gold_doc_ids,
                                              retriever.manifest().generation)
        rows.append(score_item(item, answer, documents, judge, checker))
    return {"metrics": aggregate(rows), "rows": rows,
            "seconds": round(time.perf_counter() - started, 1)}
