"""`rag serve`: the HTTP API on uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from service.config import Settings
from service.index.config import load_index_config
from service.index.store import IndexStore


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="run the web page and the HTTP API (OpenAI chat, documents, metrics)",
        description="Serve the web page (/), the OpenAI-compatible chat endpoint "
        "(/v1/chat/completions, model = index name), /v1/ask, the documents API, /healthz, "
        "/readyz and /metrics. "
        "Set RAG_API_KEYS to require bearer tokens. With --workers > 1 use a Chroma "
        "server (RAG_CHROMA_URL): the embedded store is single-process.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers > 1 and not settings.chroma_url:
        print("rag: --workers > 1 needs RAG_CHROMA_URL (a `chroma run` server); the embedded "
              "store is single-process", file=sys.stderr)
        return 2
    config = load_index_config(settings, settings.index)
    IndexStore(config, settings).require_manifest()  # fail now, not at the first request
    logging.getLogger("service").setLevel(args.log_level.upper())
    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    print(f"rag: serving index {settings.index!r} with generator {settings.generator!r} on "
          f"http://{args.host}:{args.port}  (OpenAI base_url: {base}/v1)", flush=True)
    print(f"rag: web page: {base}/" + ("  (asks for one of RAG_API_KEYS)"
                                       if settings.api_key_set() else ""), flush=True)
    if settings.slack_http_enabled():
        print(f"rag: Slack bot answering at http://{args.host}:{args.port}/slack/events "
              "(events, /ask, interactivity)", flush=True)
    uvicorn.run("service.server:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=False)
    return 0
