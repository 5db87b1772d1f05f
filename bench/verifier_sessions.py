"""How onnxruntime's sessions are laid out for the combined verifier, measured inside an
answer's verification (docs/benchmarks.md, "Verifier latency (issue 29)").

Layouts (the head's claim encoder / the cross-encoder), all two cores:
- before: both spinning (onnxruntime's default: idle threads spin after a run);
- head spinning: the encoder spinning, the cross-encoder not;
- cross spinning: the cross-encoder spinning, the encoder not;
- now: neither spinning (the service's sessions);
- side by side: neither spinning, and the cross-encoder's pairs read side by side by two
  one-thread sessions (an alternative not taken: no faster inside an answer).

Each draft of a `bench.verifier drafts` file is verified warm (the index's sentences
encoded, as `rag serve` has them), in rounds that interleave the layouts (the order
reversed every other round), so the machine's drift falls on all of them alike. Reports
per layout: the p95 of each round, the p95 and p50 of every draft's median time,
whether the verified texts are the same as the first layout's, and answers verified a
second with one and with two answers at once.

    RAG_INDEX=contracts python -m bench.verifier_sessions \
        --drafts build/verifier/drafts-contracts.jsonl --rounds 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from service.config import Settings


class SideBySide:
    """The cross-encoder with an answer's pairs read two at a time, each by a one-thread
    copy of it (the same scores: one pair a run either way)."""

    def __init__(self, copies: list[Any]) -> None:
        import queue

        self.free: queue.SimpleQueue = queue.SimpleQueue()
        for copy in copies:
            self.free.put(copy)
        self.readers = ThreadPoolExecutor(len(copies))

    def read(self, pair: tuple[str, str]) -> np.ndarray:
        copy = self.free.get()
        try:
            return copy.model_probabilities([pair[0]], [pair[1]])[0]
        finally:
            self.free.put(copy)

    def model_probabilities(self, firsts: list[str], windows: list[str]) -> np.ndarray:
        keys = list(zip(firsts, windows, strict=True))
        unique = list(dict.fromkeys(keys))
        done = dict(zip(unique, self.readers.map(self.read, unique), strict=True))
        return np.array([done[k] for k in keys], dtype=np.float32).reshape(len(keys), 3)


def layouts(texts: list[str]) -> dict[str, Any]:
    """The judges to compare, each with its own head (and so its own warm cache)."""
    from service.embed.minilm import model_files
    from service.verify.combined import CombinedJudge
    from service.verify.cross_encoder import MODEL_DIR, CrossEncoder
    from service.verify.sessions import open_session
    from service.verify.support_model import SupportModel

    encoder_file = str(model_files()[0])
    cross_file = str(MODEL_DIR / "cross_encoder.onnx")

    def head(spinning: bool) -> SupportModel:
        model = SupportModel()
        if spinning:
            model._encoder._session = open_session(encoder_file, spinning=True)
        model.warm(texts)
        return model

    def cross(spinning: bool) -> CrossEncoder:
        model = CrossEncoder()
        if spinning:
            model._session = open_session(cross_file, spinning=True)
        return model

    side_by_side = cross(False)
    side_by_side.model_probabilities = SideBySide(  # type: ignore[method-assign]
        [CrossEncoder(threads=1), CrossEncoder(threads=1)]).model_probabilities
    return {
        "before": CombinedJudge(head=head(True), cross=cross(True)),
        "head spinning": CombinedJudge(head=head(True), cross=cross(False)),
        "cross spinning": CombinedJudge(head=head(False), cross=cross(True)),
        "now": CombinedJudge(head=head(False), cross=cross(False)),
        "side by side": CombinedJudge(head=head(False), cross=side_by_side),
    }


def measure(judges: dict[str, Any], drafts: list[dict[str, Any]], rounds: int
            ) -> dict[str, Any]:
    from service.generation.citations import resolve_citations
    from service.records import Passage
    from service.verify.verifier import verify_text

    items = []
    for d in drafts:
        if d["abstained"] or not d["draft"].strip():
            continue
        passages = [Passage.model_validate(p) for p in d["passages"]]
        items.append((passages, resolve_citations(d["draft"], passages, renumber=False).text))
    warmed = {name: dict(judge.head._cache) for name, judge in judges.items()}
    times = {name: np.zeros((rounds, len(items))) for name in judges}
    texts: dict[str, list[str]] = {name: [] for name in judges}
    order = list(judges)
    for r in range(rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            judge = judges[name]
            for i, (passages, text) in enumerate(items):
                judge.head._cache.clear()
                judge.head._cache.update(warmed[name])
                t0 = time.perf_counter()
                verified = verify_text(text, passages, judge, "mark")
                times[name][r, i] = (time.perf_counter() - t0) * 1000
                if r == 0:
                    texts[name].append(verified.text)
        print(f"round {r + 1}/{rounds}", file=sys.stderr)
    first = order[0]
    out: dict[str, Any] = {"answers": len(items), "rounds": rounds}
    for name in judges:
        medians = np.median(times[name], axis=0)
        out[name] = {
            "p95_per_round_ms": [round(float(np.percentile(t, 95)), 1) for t in times[name]],
            "p95_of_medians_ms": round(float(np.percentile(medians, 95)), 1),
            "p50_of_medians_ms": round(float(np.percentile(medians, 50)), 1),
            "same_text_as_" + first.replace(" ", "_"): texts[name] == texts[first],
            "answers_per_s_1_2_at_once": [throughput(judges[name], items, n) for n in (1, 2)]}
    return out


def throughput(judge: Any, items: list[tuple[Any, str]], at_once: int) -> float:
    """Answers verified a second with `at_once` answers in flight (as concurrent
    requests to `rag serve`), every draft three times; the claims' encodings stay
    cached after the first."""
    from service.verify.verifier import verify_text

    work = items * 3
    with ThreadPoolExecutor(at_once) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda item: verify_text(item[1], item[0], judge, "mark"), work))
        return round(len(work) / (time.perf_counter() - t0), 1)


def retrieval_spinning(retriever: Any, questions: list[str], rounds: int) -> dict[str, Any]:
    """The query embedder's session spinning or not, on retrieval alone (the question
    embedded, both channels searched, windows focused): interleaved rounds, p50 and p95
    of each question's median time."""
    from service.embed.minilm import model_files
    from service.verify.sessions import open_session

    sessions = {"spinning": open_session(model_files()[0], spinning=True),
                "not spinning": open_session(model_files()[0], spinning=False)}
    embedder = retriever.embedder
    kept = embedder._session
    times = {name: np.zeros((rounds, len(questions))) for name in sessions}
    try:
        for r in range(rounds):
            for name in list(sessions) if r % 2 == 0 else list(sessions)[::-1]:
                embedder._session = sessions[name]
                for i, question in enumerate(questions):
                    t0 = time.perf_counter()
                    retriever.retrieve(question)
                    times[name][r, i] = (time.perf_counter() - t0) * 1000
    finally:
        embedder._session = kept
    out: dict[str, Any] = {"questions": len(questions), "rounds": rounds}
    for name in sessions:
        medians = np.median(times[name], axis=0)
        out[name] = {"p50_ms": round(float(np.percentile(medians, 50)), 1),
                     "p95_ms": round(float(np.percentile(medians, 95)), 1)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Compare onnxruntime session layouts for the combined verifier on "
        "the drafts of `python -m bench.verifier drafts` (RAG_INDEX names their index).")
    parser.add_argument("--drafts", type=Path, required=True,
                        help="a drafts file (build/verifier/drafts*.jsonl)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="interleaved rounds per layout (default 10)")
    parser.add_argument("--questions", type=Path,
                        help="a golden set (eval/datasets/*.jsonl): also time retrieval "
                        "with the query embedder spinning or not")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    if not args.drafts.is_file():
        raise SystemExit(f"{args.drafts}: no such drafts file; make it with "
                         f"`python -m bench.verifier drafts --out {args.drafts}`")
    from service.pipeline.resources import Resources, judged_texts

    settings = Settings()
    retriever = Resources(settings).retriever(settings.index)
    texts = list(judged_texts(retriever.store.iter_documents(
        retriever.manifest().generation)))
    drafts = [json.loads(line) for line in args.drafts.open(encoding="utf-8")]
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "index": settings.index,
              "drafts": str(args.drafts), **measure(layouts(texts), drafts, args.rounds)}
    if args.questions:
        questions = [json.loads(line)["question"]
                     for line in args.questions.open(encoding="utf-8")]
        result["retrieval"] = retrieval_spinning(retriever, questions, args.rounds)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
