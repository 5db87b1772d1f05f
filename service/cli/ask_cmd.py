"""`rag ask` (one question) and `rag chat` (a conversation in the terminal)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import textwrap
from typing import Any

from pydantic import ValidationError

from service.config import Settings
from service.errors import BadRequest, PayloadTooLarge
from service.generation.backends import GENERATORS
from service.generation.prompts import prompt
from service.pipeline import Pipeline
from service.records import Answer, AskRequest, Filters, Turn, public_answer


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", help="index to ask (default: RAG_INDEX, 'news')")
    p.add_argument("--generator", choices=GENERATORS.names(),
                   help="answer with the bundled local LLM, an OpenAI-compatible endpoint, "
                   "or no LLM (quoted source sentences). Default: RAG_GENERATOR, 'local'")
    p.add_argument("--doc", action="append", dest="doc_ids", metavar="DOC_ID",
                   help="only search this document (repeatable)")
    p.add_argument("--source", action="append", dest="sources", metavar="OUTLET",
                   help="only search documents from this source (repeatable)")
    p.add_argument("--date-from", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                   help="only documents dated on or after this day")
    p.add_argument("--date-to", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                   help="only documents dated on or before this day")
    p.add_argument("--perspectives", action="store_true",
                   help="set out each source's account side by side ('According to A: …; "
                   "B reports instead: …'), from the best passages of every source")


def register(sub: Any) -> None:
    ask = sub.add_parser(
        "ask", help="answer one question with citations",
        description="Answer QUESTION from the index. Every sentence carries [n] markers "
        "pointing at the cited passages listed below it; when the sources do not hold the "
        "answer, the answer says so instead of guessing.",
    )
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true",
                     help="print exactly one JSON object (fields in docs/cli.md)")
    _common(ask)
    ask.set_defaults(handler=run_ask)

    chat = sub.add_parser(
        "chat", help="interactive questions and follow-ups",
        description="A question-and-answer loop. Follow-ups ('and who headed the other "
        "delegation?') are rewritten into standalone questions using the conversation. "
        "Commands: /reset forgets the conversation, /quit (or Ctrl-D) leaves.",
    )
    _common(chat)
    chat.set_defaults(handler=run_chat)


def _filters(args: argparse.Namespace) -> Filters | None:
    try:
        filters = Filters(doc_ids=args.doc_ids, sources=args.sources,
                          date_from=args.date_from, date_to=args.date_to)
    except ValidationError as exc:
        raise BadRequest("; ".join(e["msg"] for e in exc.errors())) from exc
    return None if filters.is_empty() else filters


def answer_json(answer: Answer) -> str:
    return json.dumps(public_answer(answer), ensure_ascii=False)


def render(answer: Answer, width: int = 100) -> str:
    lines = [textwrap.fill(answer.answer, width)]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            who = f"{c.source} — {c.title}" if c.source else c.title
            quote = c.text if len(c.text) <= 240 else c.text[:237].rstrip() + "…"
            where = f"{c.location.label}, " if c.location else ""
            lines.append(f"  [{c.marker}] {who} ({c.doc_id}, {where}chars {c.start}-{c.end})")
            lines.append(textwrap.fill(f"“{quote}”", width, initial_indent="      ",
                                       subsequent_indent="      "))
    if answer.revised:
        lines.append(f"\n({prompt('revised_label')})")
    if answer.fallback:
        lines.append(f"\n(fallback reason: {answer.fallback})")
    return "\n".join(lines)


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = Pipeline(settings)
    answer = pipeline.ask(AskRequest(question=args.question, filters=_filters(args),
                                     index=args.index, generator=args.generator,
                                     perspectives=args.perspectives))
    print(answer_json(answer) if args.json else render(answer))
    return 0


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = Pipeline(settings)
    index = args.index or settings.index
    filters = _filters(args)
    generator = args.generator or settings.generator
    # An unknown or unbuilt index fails here, before the prompt.
    pipeline.resources.retriever(index).manifest()
    history: list[Turn] = []
    mode = ", each source's account side by side" if args.perspectives else ""
    print(f"Ask about the {index!r} collection (generator: {generator}{mode}). "
          "/reset clears the conversation, /quit leaves.")
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            continue
        if question in ("/quit", "/exit"):
            return 0
        if question == "/reset":
            history.clear()
            print("(conversation cleared)")
            continue
        print("…", file=sys.stderr, flush=True)
        try:
            answer = pipeline.ask(AskRequest(
                question=question, history=history, filters=filters, index=index,
                generator=generator, perspectives=args.perspectives))
        except (BadRequest, PayloadTooLarge) as exc:
            print(f"rag: {exc}")
            continue
        print(f"\nrag> {render(answer)}")
        history += [Turn(role="user", content=question),
                    Turn(role="assistant", content=answer.answer)]
