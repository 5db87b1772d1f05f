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
        "comment, time, channel, thread_ts. Read from the state store (RAG_DATABASE_URL, "
        "else the SQLite file RAG_STATE_DB), which every replica writes to.")
    ex.add_argument("--out", type=Path, help="file to write (default: standard output)")
    ex.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from service.state.db import state_db_path
    from service.state.feedback import FeedbackStore
    from service.state.legacy import open_state

    if not (settings.database_url or state_db_path(settings).is_file()
            or settings.slack_db.is_file()):
        raise ConfigError(f"no state store at {state_db_path(settings)} (RAG_STATE_DB, or "
                          "RAG_DATABASE_URL): nobody has given feedback yet")
    state = open_state(settings)
    try:
        lines = [record.model_dump_json() + "\n" for record in FeedbackStore(state).feedback()]
    finally:
        state.close()
    if args.out:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text("".join(lines), encoding="utf-8")
        tmp.replace(args.out)
        print(f"rag: wrote {len(lines)} feedback records to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write("".join(lines))
    return 0
