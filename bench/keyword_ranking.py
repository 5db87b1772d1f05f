"""Keyword ranking, compared on golden sets: which scoring the keyword channel should use.

    python -m bench.keyword_ranking            # starts its own PostgreSQL (tools/local_postgres.py)
    python -m bench.keyword_ranking --database-url postgresql+psycopg://rag@host:5432/db

For every answerable question of each golden set (news, and contracts as the second
domain), the keyword channel's top chunks alone (no vectors, no fusion), scored four ways:
- `fts5-bm25`: the embedded backend (SQLite FTS5's bm25() over the content words);
- `pg-bm25`: the PostgreSQL backend as built (BM25 in SQL over the `terms` table);
- `pg-ts_rank_cd` and `pg-ts_rank`: PostgreSQL's own rankings over `to_tsvector('english',
  chunk text)`, queried with the question's words OR-ed (`to_tsquery('english', ...)`),
  what a pgvector hybrid without BM25 would use.
Reported: document hit@1/@5/@10 (a gold document among the top k chunks' documents) and
MRR. Both indexes are built in a temporary folder and database schema.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import service  # noqa: F401
from service.config import Settings
from service.evaluation.dataset import load_dataset
from service.index.backends import open_index
from service.index.config import load_index_config
from service.index.terms import content_terms
from service.ingest.pipeline import ingest

ROOT = Path(__file__).resolve().parents[1]
SETS = {"news": "news", "contracts": "contracts"}
DEPTH = 10
_WORD = re.compile(r"(?u)\b\w\w+\b")


def build(work: Path, name: str, **fields: Any) -> Settings:
    indexes = work / (fields.get("retrieval_backend") or "chroma")
    if not (indexes / name).exists():
        shutil.copytree(ROOT / "indexes" / name, indexes / name,
                        ignore=shutil.ignore_patterns("store"))
    settings = Settings(indexes_dir=indexes, models_dir=ROOT / "models", _env_file=None,
                        **fields)  # type: ignore[call-arg]
    ingest(load_index_config(settings, name), settings, show_progress=False)
    return settings


def channel(settings: Settings, name: str) -> Callable[[str], list[str]]:
    """The backend's own keyword channel: doc ids of the top chunks, best first."""
    store = open_index(load_index_config(settings, name), settings)
    gen = store.require_manifest().generation
    vector = np.zeros(384, dtype=np.float32)

    def ranked(question: str) -> list[str]:
        hits = store.search(vector, content_terms(question), DEPTH, gen)
        return [hits.chunks[cid].doc_id for cid in hits.keyword]
    return ranked


def postgres_rankings(settings: Settings, name: str) -> dict[str, Callable[[str], list[str]]]:
    """ts_rank_cd and ts_rank over the chunks' text, in a temporary table."""
    import psycopg

    store = open_index(load_index_config(settings, name), settings)
    gen = store.require_manifest().generation
    url = str(settings.database_url).replace("postgresql+psycopg://", "postgresql://")
    db = psycopg.connect(url, autocommit=True)
    schema = f'"idx_{name}"'
    docs = {d.doc_id: d.text for d in store.iter_documents(gen)}
    rows = db.execute(f"SELECT doc_id, start_char, end_char FROM {schema}.chunks "
                      "WHERE gen_from <= %s AND gen_to > %s", (gen, gen)).fetchall()
    table = f"ts_{name}"
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(f"CREATE TEMP TABLE {table} (doc_id text, body text, tsv tsvector)")
    with db.cursor().copy(f"COPY {table} (doc_id, body) FROM STDIN") as cp:
        for doc_id, start, end in rows:
            cp.write_row((doc_id, docs[doc_id][start:end]))
    db.execute(f"UPDATE {table} SET tsv = to_tsvector('english', body)")

    def ranking(function: str) -> Callable[[str], list[str]]:
        def ranked(question: str) -> list[str]:
            words = _WORD.findall(question.lower())
            if not words:
                return []
            query = " | ".join(f"'{w}'" for w in words)
            got = db.execute(
                f"SELECT doc_id FROM {table}, to_tsquery('english', %s) q "
                f"WHERE tsv @@ q ORDER BY {function}(tsv, q) DESC LIMIT %s",
                (query, DEPTH)).fetchall()
            return [r[0] for r in got]
        return ranked
    return {"pg-ts_rank_cd": ranking("ts_rank_cd"), "pg-ts_rank": ranking("ts_rank")}


def score(ranked: Callable[[str], list[str]], dataset: Path) -> dict[str, float]:
    items = [i for i in load_dataset(dataset) if i.answerable]
    hits = {1: 0, 5: 0, 10: 0}
    rr = 0.0
    for item in items:
        docs = ranked(item.question)
        gold = set(item.gold_doc_ids)
        first = next((r for r, d in enumerate(docs, start=1) if d in gold), None)
        for k in hits:
            hits[k] += first is not None and first <= k
        rr += 1 / first if first else 0.0
    n = len(items)
    return {"questions": n, **{f"hit@{k}": round(v / n, 3) for k, v in hits.items()},
            "mrr": round(rr / n, 3)}


def compare(database_url: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, dataset in SETS.items():
            path = ROOT / "eval" / "datasets" / f"{dataset}.jsonl"
            embedded = build(work, name)
            pg = build(work, name, retrieval_backend="postgres", database_url=database_url)
            rankings = {"fts5-bm25": channel(embedded, name), "pg-bm25": channel(pg, name),
                        **postgres_rankings(pg, name)}
            results[name] = {label: score(f, path) for label, f in rankings.items()}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url",
                        help="a PostgreSQL with pgvector (default: start one for the run)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/keyword_ranking.json")
    args = parser.parse_args()
    server = None
    if not args.database_url:
        from tests.conftest import free_port
        from tools.local_postgres import PostgresServer

        server = PostgresServer(free_port())
        args.database_url = server.new_database()
    try:
        results = compare(args.database_url)
    finally:
        if server is not None:
            server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print("| set | ranking | questions | hit@1 | hit@5 | hit@10 | MRR |")
    print("|---|---|---|---|---|---|---|")
    for name, by_label in results.items():
        for label, m in by_label.items():
            print(f"| {name} | {label} | {m['questions']} | {m['hit@1']} | {m['hit@5']} | "
                  f"{m['hit@10']} | {m['mrr']} |")


if __name__ == "__main__":
    main()
