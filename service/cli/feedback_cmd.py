"""`rag feedback export`: the 👍/👎 of every surface (Slack, the web page) as JSONL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import ConfigError


def register(sub: Any) -> None:
    fb = sub.add_parser("feedback", help="👍/👎 feedback given in Slack and on the web page")
    fsub = fb.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")
    ex = fsub.add_parser(
        "export", help="write the feedback as JSONL",
        description="One JSON object per verdict: answer_id, surface (slack|web), question, "
        "answer, citations, index, generator, faithfulness, user, verdict (up|down), "
        "comment, time, channel, thread_ts. Read from RAG_SLACK_DB.")
    ex.add_argument("--out", type=Path, help="file to write (default: standard output)")
    ex.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from service.state.feedback import FeedbackStore

    if not settings.slack_db.is_file():
        raise ConfigError(f"no feedback store at {settings.slack_db} (RAG_SLACK_DB): nobody "
                          "has given feedback yet")
    lines = [record.model_dump_json() + "\n"
             for record in FeedbackStore(settings.slack_db).feedback()]
    if args.out:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text("".join(lines), encoding="utf-8")
        tmp.replace(args.out)
        print(f"rag: wrote {len(lines)} feedback records to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write("".join(lines))
    return 0
