"""`rag worker`: run ingestion jobs from the state store (what `rag serve` queues)."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from service.config import Settings

DESCRIPTION = """\
Take ingestion jobs (uploads and deletions queued by `rag serve`) from the state store
and run them against the index's Chroma store (RAG_CHROMA_URL, or the embedded one), one
at a time. A job is leased while it runs (RAG_JOB_LEASE_S); if this process dies, another
worker takes the job up once the lease expires. Run any number, on any host that reaches
the state store and Chroma: each claims different jobs, and one index is written by one
worker at a time.

Use it with a shared state store (RAG_DATABASE_URL=postgresql+psycopg://...) and a Chroma
server, and RAG_INPROCESS_WORKER=0 on the `rag serve` replicas (docs/deploy.md). On one
machine with the defaults, `rag serve` runs a worker itself and this command is not
needed (the embedded Chroma store is single-process: do not run both against it).
SIGTERM or Ctrl-C stops after the job in hand.
"""


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run queued ingestion jobs (uploads, deletions)",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--once", action="store_true",
                   help="run the jobs ready now, then exit (cron, one-off catch-up)")
    p.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    from service.ingest.sandbox import DocumentParser
    from service.state.ingest_worker import IngestWorker
    from service.state.legacy import open_state

    state = open_state(settings)
    parser = DocumentParser(settings.parse_budget_s, settings.parse_workers,
                            settings.parse_memory_mb)
    worker = IngestWorker(settings, state, parser.parse)
    where = settings.chroma_url or "the embedded Chroma store"
    print(f"rag: worker {worker.owner} taking ingestion jobs from {state.describe()} "
          f"into {where}", file=sys.stderr, flush=True)
    try:
        if args.once:
            while worker.run_one():
                pass
        else:
            signal.signal(signal.SIGTERM, lambda *_: worker.stop())
            worker.run_forever()
    finally:
        parser.close()
        state.close()
    return 0
