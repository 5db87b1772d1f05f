"""Entry point of the `rag` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from service.cli import (
    ask_cmd,
    eval_cmd,
    feedback_cmd,
    index_cmd,
    models_cmd,
    serve_cmd,
    slack_cmd,
    worker_cmd,
)
from service.config import Settings
from service.errors import (
    BadDocument,
    BadRequest,
    ConfigError,
    IndexNotBuilt,
    IndexNotFound,
    PayloadTooLarge,
    RagError,
)

EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNAVAILABLE = 4

DESCRIPTION = """\
Ask questions about a document collection and get answers whose every claim cites the
passage it came from. Runs fully offline with the bundled models.

Typical use:
  rag ingest --index news          build or update an index (incremental)
  rag ask "Who headed the Russian delegation at the Istanbul talks?"
  rag chat                         interactive questions with follow-ups
  rag serve                        HTTP API; OpenAI clients use base_url=http://127.0.0.1:8000/v1
                                   (and the Slack bot at /slack/events when configured)
  rag slack                        the Slack bot over Socket Mode
  rag worker                       run queued ingestion jobs (several hosts: docs/deploy.md)

Settings come from RAG_* environment variables (docs/configuration.md).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    index_cmd.register(sub)
    ask_cmd.register(sub)
    models_cmd.register(sub)
    serve_cmd.register(sub)
    eval_cmd.register(sub)
    slack_cmd.register(sub)
    feedback_cmd.register(sub)
    worker_cmd.register(sub)
    return parser


def _exit_code(exc: RagError) -> int:
    if isinstance(exc, BadRequest | BadDocument | ConfigError | PayloadTooLarge):
        return EXIT_USAGE
    if isinstance(exc, IndexNotFound | IndexNotBuilt):
        return EXIT_NOT_FOUND
    if exc.http_status == 503:
        return EXIT_UNAVAILABLE
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                             for e in exc.errors())
        print(f"rag: invalid settings: {problems}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args, settings)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except KeyboardInterrupt:
        print("\nrag: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
