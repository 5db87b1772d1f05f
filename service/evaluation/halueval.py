"""HaluEval QA (from the `eval-suite` package): judge calibration and a public RAG benchmark.

Each record has a supporting passage (`knowledge`), a question, the right answer and a
hallucinated one. Calibration: (knowledge, right answer) should be judged supported,
(knowledge, hallucinated answer) not. Benchmark: all 10,000 passages are the haystack;
N questions are asked and scored on retrieval hit@k and answer correctness.
"""

from __future__ import annotations

import importlib.metadata
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import ConfigError
from service.evaluation.metrics import contains_reference, mean, percentile, token_f1
from service.index.config import load_index_config
from service.ingest.pipeline import ingest
from service.pipeline import Pipeline
from service.records import AskRequest
from service.retrieval.retriever import Retriever
from service.verify.judge import Judge

HALUEVAL_FILE = "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl"


@dataclass(frozen=True)
class HaluItem:
    knowledge: str
    question: str
    right_answer: str
    hallucinated_answer: str


def load_halueval() -> list[HaluItem]:
    try:
        dist = importlib.metadata.distribution("eval-suite")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigError("HaluEval needs the eval-suite package: run `make setup`") from exc
    path = Path(str(dist.locate_file(HALUEVAL_FILE)))
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        # Sentences in `knowledge` are glued together ("...century.First for Women...").
        knowledge = re.sub(r"\.(?=[A-Z])", ". ", d["knowledge"])
        items.append(HaluItem(knowledge, d["question"], d["right_answer"],
                              d["hallucinated_answer"]))
    return items


def auroc(scores: list[float], labels: list[int]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    ranked = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return 0.5
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average_rank = (i + j + 1) / 2  # 1-based ranks i+1..j
        rank_sum += average_rank * sum(label for _, label in ranked[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _balanced(scores: list[float], labels: list[int], threshold: float) -> float:
    pos = [s >= threshold for s, y in zip(scores, labels, strict=True) if y]
    neg = [s < threshold for s, y in zip(scores, labels, strict=True) if not y]
    return (sum(pos) / max(len(pos), 1) + sum(neg) / max(len(neg), 1)) / 2


def calibrate(judge: Judge, n: int, seed: int = 13,
              show_progress: bool = True) -> dict[str, Any]:
    """Accuracy, balanced accuracy and AUROC of `judge` on n labelled HaluEval pairs."""
    from tqdm import tqdm

    items = random.Random(seed).sample(load_halueval(), (n + 1) // 2)
    pairs = [(item, item.right_answer, 1) for item in items]
    pairs += [(item, item.hallucinated_answer, 0) for item in items]
    pairs = pairs[:n]
    scores, labels = [], []
    started = time.perf_counter()
    for item, answer, label in tqdm(pairs, desc=f"calibrating {judge.name}", unit="pair",
                                    file=sys.stderr, disable=not show_progress):
        scores.append(judge.score(answer, item.knowledge, question=item.question))
        labels.append(label)
    predicted = [s >= judge.threshold for s in scores]
    correct = sum(p == bool(y) for p, y in zip(predicted, labels, strict=True))
    seconds = time.perf_counter() - started
    best = max(sorted(set(scores)), key=lambda t: _balanced(scores, labels, t))
    return {"judge": judge.name, "threshold": judge.threshold, "n": len(labels),
            # Chosen on this same sample, so optimistic: a hint for the threshold setting.
            "best_threshold_in_sample": round(best, 4),
            "balanced_accuracy_at_best": round(_balanced(scores, labels, best), 4),
            "accuracy": round(correct / len(labels), 4),
            "balanced_accuracy": round(_balanced(scores, labels, judge.threshold), 4),
            "auroc": round(auroc(scores, labels), 4),
            "pairs_per_s": round(len(labels) / seconds, 2), "seed": seed,
            "date": time.strftime("%Y-%m-%d")}


def build_haystack(settings: Settings, items: list[HaluItem], name: str = "halueval",
                   show_progress: bool = True) -> tuple[str, dict[str, str]]:
    """Index every distinct passage of `items` as a document; (index, text -> doc_id)."""
    directory = settings.index_dir(name)
    docs = directory / "docs"
    doc_of: dict[str, str] = {}
    for item in items:
        doc_of.setdefault(item.knowledge, f"p{len(doc_of):05d}.txt")
    if not (directory / "index.toml").is_file() or len(list(docs.glob("*.txt"))) != len(doc_of):
        shutil.rmtree(docs, ignore_errors=True)
        docs.mkdir(parents=True)
        (directory / "index.toml").write_text(
            'description = "HaluEval QA passages (eval-suite 2.1.4): the public benchmark '
            'haystack"\n[sources]\npaths = ["docs"]\n[chunking]\nchunk_tokens = 180\n'
            'overlap_tokens = 30\n[embedder]\nname = "minilm"\n')
        for text, doc_id in doc_of.items():
            (docs / doc_id).write_text(text + "\n", encoding="utf-8")
    ingest(load_index_config(settings, name), settings, show_progress=show_progress)
    return name, doc_of


def benchmark(settings: Settings, n: int, generator: str, seed: int = 7,
              haystack: int | None = None, index_name: str = "halueval",
              show_progress: bool = True) -> dict[str, Any]:
    """`haystack` limits the passages to the first N records (tests); default: all."""
    from tqdm import tqdm

    records = load_halueval()[:haystack]
    t0 = time.perf_counter()
    index, doc_of = build_haystack(settings, records, index_name, show_progress)
    build_s = time.perf_counter() - t0
    items = random.Random(seed).sample(records, min(n, len(records)))
    retriever = Retriever(load_index_config(settings, index), settings)
    pipeline = Pipeline(settings)
    hits = {1: [], 5: [], 10: []}  # type: dict[int, list[float]]
    match, f1, latency, tokens, abstained = [], [], [], [], []
    started = time.perf_counter()
    for item in tqdm(items, desc="halueval", unit="q", file=sys.stderr,
                     disable=not show_progress):
        gold = doc_of[item.knowledge]
        ranked = [p.doc_id for p in retriever.retrieve(item.question, top_k=10).passages]
        for k in hits:
            hits[k].append(float(gold in ranked[:k]))
        answer = pipeline.ask(AskRequest(question=item.question, index=index,
                                         generator=generator))
        abstained.append(float(answer.abstained))
        match.append(float(contains_reference(answer.answer, item.right_answer)))
        f1.append(0.0 if answer.abstained else token_f1(answer.answer, item.right_answer))
        latency.append(answer.timings_ms["total"])
        tokens.append(answer.usage.get("prompt_tokens", 0) + answer.usage.get(
            "completion_tokens", 0))
    return {
        "benchmark": "HaluEval QA (eval-suite 2.1.4)", "haystack_passages": len(doc_of),
        "questions": len(items), "generator": generator, "seed": seed,
        **{f"hit@{k}": round(mean(v), 4) for k, v in hits.items()},
        "normalised_match": round(mean(match), 4), "token_f1": round(mean(f1), 4),
        "abstention_rate": round(mean(abstained), 4),
        "latency_ms_p50": round(percentile(latency, 0.5), 1),
        "latency_ms_p95": round(percentile(latency, 0.95), 1),
        "tokens_per_question": round(mean(tokens), 1),
        "index_build_s": round(build_s, 1),
        "run_s": round(time.perf_counter() - started, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
