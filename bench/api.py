"""HTTP benchmarks: throughput and latency of /v1/chat/completions at several concurrency
levels (extractive generator, load from this process against a `rag serve` process on
loopback, bounded in time), and the service's own time-to-first-token overhead over the
llama.cpp server it streams from. Prints one JSON object.

    python -m bench.api [--seconds 15] [--skip-ttft]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.run import NEWS_QUESTIONS, emit, percentile
from service.config import Settings
from service.generation.messages import answer_messages
from service.models import gguf_path
from service.pipeline import Pipeline
from tests.conftest import Server, free_port, rag_env

ROOT = Path(__file__).resolve().parents[1]


def build_news(base: Path) -> Path:
    indexes = base / "indexes"
    shutil.copytree(ROOT / "indexes" / "news", indexes / "news",
                    ignore=shutil.ignore_patterns("store"))
    subprocess.run([sys.executable, "-m", "service.cli.main", "ingest", "--quiet"], check=True,
                   env=rag_env(indexes), cwd=ROOT)
    return indexes


async def _load(url: str, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            question = NEWS_QUESTIONS[i % len(NEWS_QUESTIONS)]
            i += concurrency
            t0 = time.perf_counter()
            response = await client.post(f"{url}/v1/chat/completions", json={
                "model": "news", "messages": [{"role": "user", "content": question}]})
            if response.status_code == 200:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(worker(n, client) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors,
            "throughput_rps": round(len(latencies) / elapsed, 1),
            "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99)}


def bench_load(indexes: Path, work: Path, seconds: float) -> dict[str, object]:
    server = Server(rag_env(indexes, RAG_GENERATOR="extractive", RAG_LOG_JSON="false"),
                    work / "load.log").wait_ready()
    try:
        asyncio.run(_load(server.url, 4, 2))  # warm up
        return {f"concurrency_{c}": asyncio.run(_load(server.url, c, seconds))
                for c in (1, 8, 32)}
    finally:
        server.stop()


def first_token_ms(url: str, body: dict[str, object]) -> float:
    t0 = time.perf_counter()
    with httpx.stream("POST", url, json=body, timeout=300) as response:
        for line in response.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            delta = json.loads(line[5:])["choices"][0].get("delta", {})
            if delta.get("content"):
                ttft = (time.perf_counter() - t0) * 1000
                break
        else:
            raise RuntimeError("stream ended without content")
    return ttft


def bench_ttft(indexes: Path, work: Path, rounds: int) -> dict[str, object]:
    settings = Settings(indexes_dir=indexes)
    port = free_port()
    log = open(work / "llama.log", "w")  # noqa: SIM115
    llama = subprocess.Popen(
        [sys.executable, "-m", "service.generation.llama_server", "--model",
         str(gguf_path(Settings(), settings.local_model)), "--host", "127.0.0.1", "--port",
         str(port), "--n_ctx", "4096", "--model_alias", "bench"], stdout=log,
        stderr=subprocess.STDOUT)
    llama_url = f"http://127.0.0.1:{port}/v1"
    server = Server(rag_env(indexes, RAG_GENERATOR="openai", OPENAI_BASE_URL=llama_url,
                            OPENAI_API_KEY="x", RAG_LLM_MODEL="bench", RAG_LOG_JSON="false"),
                    work / "ttft.log")
    try:
        deadline = time.time() + 180
        while True:
            try:
                if httpx.get(f"{llama_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
            if time.time() > deadline:
                raise RuntimeError("llama.cpp server did not start")
        server.wait_ready()
        # The exact prompt the service sends (same index copy, same retrieval).
        pipeline = Pipeline(settings.model_copy(update={"generator": "extractive"}))
        overheads, ours, direct = [], [], []
        for question in NEWS_QUESTIONS[:rounds]:
            passages = pipeline.resources.retriever("news").retrieve(question).passages
            direct_body = {"model": "bench", "stream": True, "max_tokens": 320,
                           "temperature": 0.0, "messages": answer_messages(question, passages)}
            our_body = {"model": "news", "stream": True,
                        "messages": [{"role": "user", "content": question}]}
            # First call fills llama.cpp's prompt cache; then both sides are measured warm,
            # so the difference is the service's own work (retrieval, HTTP hop, framing).
            first_token_ms(f"{llama_url}/chat/completions", direct_body)
            for _ in range(2):
                d = first_token_ms(f"{llama_url}/chat/completions", direct_body)
                o = first_token_ms(f"{server.url}/v1/chat/completions", our_body)
                direct.append(d)
                ours.append(o)
                overheads.append(o - d)
        return {"ttft_llama_p50_ms": round(statistics.median(direct), 1),
                "ttft_service_p50_ms": round(statistics.median(ours), 1),
                "ttft_overhead_p50_ms": round(statistics.median(overheads), 1),
                "ttft_overhead_max_ms": round(max(overheads), 1), "ttft_pairs": len(overheads)}
    finally:
        server.stop()
        llama.terminate()
        llama.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="per concurrency level")
    parser.add_argument("--ttft-rounds", type=int, default=5)
    parser.add_argument("--skip-ttft", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result: dict[str, object] = {"date": time.strftime("%Y-%m-%d"),
                                 "machine": f"{platform.machine()}, 2 cores"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        indexes = build_news(work)
        result["load_extractive"] = bench_load(indexes, work, args.seconds)
        if not args.skip_ttft:
            result.update(bench_ttft(indexes, work, args.ttft_rounds))
    emit(result, args.out)


if __name__ == "__main__":
    main()
