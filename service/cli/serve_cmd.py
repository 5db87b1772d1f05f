"""`rag serve`: the HTTP API on uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from typing import Any

from service.config import Settings
from service.index.backends import open_index
from service.index.config import load_index_config


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
    p.add_argument("--insecure", action="store_true",
                   help="serve on a non-loopback address without RAG_API_KEYS (anyone who "
                   "reaches the port may upload and delete documents); also RAG_INSECURE=1")
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.api.http_protocol import PROTOCOL

    if args.workers > 1 and not settings.chroma_url:
        print("rag: --workers > 1 needs RAG_CHROMA_URL (a `chroma run` server); the embedded "
              "store is single-process", file=sys.stderr)
        return 2
    if problem := exposure_problem(args.host, settings, insecure=args.insecure):
        print(f"rag: {problem}", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and not settings.api_key_set():
        print(f"rag: WARNING: serving on {args.host} without API keys (--insecure): anyone "
              "who reaches this port can upload and delete documents", file=sys.stderr)
    config = load_index_config(settings, settings.index)
    open_index(config, settings).require_manifest()  # fail now, not at the first request
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
                workers=args.workers, log_level=args.log_level, access_log=False,
                http=PROTOCOL)
    return 0


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def exposure_problem(host: str, settings: Settings, insecure: bool) -> str | None:
    """Why serving on `host` is refused, or None: a reachable server with no API keys lets
    anyone ask, upload, delete and plant documents."""
    if is_loopback(host) or settings.api_key_set() or insecure or settings.insecure:
        return None
    return (f"refusing to serve on {host} without API keys: anyone who can reach this "
            "address could ask questions and upload, replace or delete documents. Set "
            "RAG_API_KEYS=key1,key2 (clients send `Authorization: Bearer <key>`), or bind "
            "127.0.0.1, or pass --insecure (RAG_INSECURE=1) when something in front of the "
            "server (a proxy with auth, a private network) already controls access.")
