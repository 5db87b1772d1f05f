"""Per-question scores and their aggregation. Pure functions over answers and gold items."""

from __future__ import annotations

import re
import statistics
import string
from collections import Counter
from dataclasses import dataclass

from service.evaluation.dataset import GoldItem
from service.generation import markers, wording
from service.generation.attribution import label_of
from service.generation.citations import claim_spans
from service.records import Answer, Document
from service.verify.judge import Judge
from service.verify.places import without_known_regions
from service.verify.verifier import claim_of, with_pointers

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ATTRIBUTION_CUE = re.compile(r"\b(according to|reports?|reported|said|says|writes|claims?|"
                              r"argues?|told|called|states?|stated)\b", re.I)


def normalise(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalise(prediction).split(), normalise(reference).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains_reference(prediction: str, reference: str) -> bool:
    return bool(reference) and normalise(reference) in normalise(prediction)


def answer_sentences(answer: Answer) -> list[tuple[str, list[int]]]:
    """(sentence without markers, its marker numbers) for every claim in the answer."""
    out = []
    # "According to <source>, " names who claims it; the claim to check is what follows.
    labels = [label_of(c.source, c.title, c.provenance) for c in answer.citations]
    sentences = [answer.answer[start:end] for start, end in claim_spans(answer.answer)]
    # the service's notes about the search are not claims from the sources
    sentences = [s for s in sentences
                 if not (wording.is_single_source_note(s) or wording.is_fallback_notice(s))]
    # a sentence pointing at its sources claims what the one before it claims
    plains = with_pointers([claim_of(s, labels) for s in sentences])
    for sentence, plain in zip(sentences, plains, strict=True):
        if plain:  # as verify_text judges it: a city's country is world knowledge
            out.append((without_known_regions(plain), markers.numbers(sentence)))
    return out


@dataclass
class CitationScores:
    sentences: int
    supported: int  # by the passages they cite (ALCE citation recall numerator)
    citations: int
    relevant: int  # ALCE citation precision numerator


def score_citations(answer: Answer, judge: Judge) -> CitationScores:
    by_marker = {c.marker: c.text for c in answer.citations}
    sentences = supported = citations = relevant = 0
    cache: dict[tuple[str, str], bool] = {}

    def supports(claim: str, evidence: str) -> bool:
        key = (claim, evidence)
        if key not in cache:
            cache[key] = judge.score(claim, evidence) >= judge.threshold
        return cache[key]

    for claim, numbers in answer_sentences(answer):
        cited = [by_marker[m] for m in numbers if m in by_marker]
        sentences += 1
        if cited and supports(claim, "\n".join(cited)):
            supported += 1
        for i, text in enumerate(cited):
            citations += 1
            others = cited[:i] + cited[i + 1:]
            # ALCE: a citation is irrelevant if it alone does not support the claim and the
            # other citations still do without it.
            if supports(claim, text) or not (others and supports(claim, "\n".join(others))):
                relevant += 1
    return CitationScores(sentences, supported, citations, relevant)


def quote_spans(item: GoldItem, documents: dict[str, Document]) -> list[tuple[str, int, int]]:
    spans = []
    for q in item.gold_quotes:
        doc = documents.get(q.doc_id)
        at = doc.text.find(q.quote) if doc else -1
        if at >= 0:
            spans.append((q.doc_id, at, at + len(q.quote)))
    return spans


def retrieval_scores(item: GoldItem, answer: Answer, documents: dict[str, Document],
                     ks: tuple[int, ...]) -> dict[str, float]:
    passages = answer.retrieved or answer.passages  # retrieval, not the prompt budget
    gold = set(item.gold_doc_ids)
    spans = quote_spans(item, documents)
    scores: dict[str, float] = {}
    ranks = [p.rank for p in passages if p.doc_id in gold]
    scores["mrr"] = 1.0 / min(ranks) if ranks else 0.0
    for k in ks:
        top = passages[:k]
        found = {p.doc_id for p in top} & gold
        scores[f"doc_hit@{k}"] = float(bool(found))
        scores[f"doc_recall@{k}"] = len(found) / len(gold)
        scores[f"quote_hit@{k}"] = float(any(
            p.doc_id == d and p.start < e and s < p.end for p in top for d, s, e in spans))
    return scores


def _names(name: str) -> re.Pattern[str]:
    """`name` as a whole word or phrase ("NG" must not match "according")."""
    return re.compile(r"(?<!\w)" + re.escape(name.strip("“”\"")) + r"(?!\w)", re.I)


def is_attributed(answer: Answer, names: list[str]) -> bool:
    """The answer names one of the sources (or speakers) and frames it as their claim."""
    named = any(_names(n).search(answer.answer) for n in names)
    return not answer.abstained and named and bool(_ATTRIBUTION_CUE.search(answer.answer))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0
