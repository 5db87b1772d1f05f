"""Render an Answer as Slack messages (Block Kit): the answer with its [n] markers, a
numbered list of the cited passages, verification flags and 👍/👎 buttons.

Slack's limits are kept here, in one place: a section's text holds at most 3,000
characters and a message at most 50 blocks. A long answer is split at sentence
boundaries into several sections and, past the block limit, into several messages (the
first replaces the "searching…" message, the others follow in the thread).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from service.generation import wording
from service.records import Answer, Citation

SECTION_MAX_CHARS = 3000
MESSAGE_MAX_BLOCKS = 50
#: The plain-text fallback (notifications, old clients); Slack truncates past 40,000.
TEXT_MAX_CHARS = 3000
QUOTE_MAX_CHARS = 280
ACTION_UP = "feedback_up"
ACTION_DOWN = "feedback_down"

Block = dict[str, Any]


class SlackMessage(BaseModel):
    text: str
    blocks: list[Block]


def escape(text: str) -> str:
    """Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int = SECTION_MAX_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut after a sentence or line when possible."""
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind(". "), window.rfind("\n"), window.rfind("? "), window.rfind("! "))
        cut = cut + 1 if cut > limit // 3 else (window.rfind(" ") if " " in window else limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text.strip():
        pieces.append(text.rstrip())
    return pieces


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": trim(text, 2000)}]}


def _answer_mrkdwn(answer: Answer) -> str:
    # Contradicted: a warning; not found in the passages: a soft note.
    text = escape(answer.answer).replace(escape(wording.contradicted_mark()),
                                         wording.slack_contradicted_mark())
    return text.replace(escape(wording.unverified_mark()), wording.slack_not_found_mark())


def _citation_block(citation: Citation) -> Block:
    title = escape(trim(citation.title, 150))
    if citation.url:
        title = f"<{citation.url}|{title}>"
    source = f" — {escape(citation.source)}" if citation.source else ""
    where = f" · _{escape(citation.location.label)}_" if citation.location else ""
    quote = escape(trim(" ".join(citation.text.split()), QUOTE_MAX_CHARS))
    return _section(f"*[{citation.marker}]* {title}{source}{where}\n>{quote}")


def feedback_actions(answer_id: str) -> Block:
    def button(emoji: str, label: str, action_id: str) -> dict[str, Any]:
        return {"type": "button", "action_id": action_id, "value": answer_id,
                "text": {"type": "plain_text", "text": f"{emoji} {label}", "emoji": True}}

    return {"type": "actions", "block_id": f"feedback:{answer_id}",
            "elements": [button("👍", "Helpful", ACTION_UP),
                         button("👎", "Not helpful", ACTION_DOWN)]}


def render_answer(answer: Answer, answer_id: str, asked_by: str | None = None) -> list[
        SlackMessage]:
    """One or more messages; the first carries the answer's start, the last the buttons."""
    head: list[Block] = []
    if asked_by:
        head.append(_context(f"<@{asked_by}> asked: {escape(trim(answer.question, 500))}"))
    if answer.abstained:
        body = [_section(f":mag: {escape(answer.answer)}")]
        sources: list[Block] = []
    else:
        body = [_section(part) for part in split_text(_answer_mrkdwn(answer))]
        marked = [c for c in answer.verification if c.action == "marked"]
        contradicted = sum(1 for c in marked if c.verdict == "contradicted")
        if contradicted:
            body.append(_context(wording.contradicted_note(contradicted)))
        if len(marked) > contradicted:
            body.append(_context(wording.not_found_note(len(marked) - contradicted)))
        sources = [{"type": "divider"}, _section("*Sources*"),
                   *(_citation_block(c) for c in answer.citations)]
    footer = [_context(_footer(answer)), feedback_actions(answer_id)]
    blocks = head + body + sources + footer
    chunks = [blocks[i:i + MESSAGE_MAX_BLOCKS]
              for i in range(0, len(blocks), MESSAGE_MAX_BLOCKS)]
    fallback = trim(answer.answer, TEXT_MAX_CHARS)
    return [SlackMessage(text=fallback if i == 0 else "(continued)", blocks=chunk)
            for i, chunk in enumerate(chunks)]


def _footer(answer: Answer) -> str:
    parts = [f"index `{answer.index}`", f"generator `{answer.generator}`"]
    if answer.fallback:  # the answer text itself opens with the fallback notice
        parts.append("fallback answer")
    if answer.quoted:  # the model declined; the answer opens with the quoted notice
        parts.append("quoted: the model found no answer")
    if answer.revised:  # the first answer contradicted its source; this is the second
        parts.append("answered again after checking")
    shown = [c for c in answer.verification if c.action != "dropped"]
    if shown and not answer.abstained:  # of the sentences shown, not of the first draft
        parts.append(f"verified support {sum(c.supported for c in shown) / len(shown):.0%}")
    if total := answer.timings_ms.get("total"):
        parts.append(f"{total / 1000:.1f} s")
    return " · ".join(parts)


def searching_message() -> SlackMessage:
    return SlackMessage(text="Searching the collection…",
                        blocks=[_context(":hourglass_flowing_sand: Searching the collection…")])


def notice_message(text: str) -> SlackMessage:
    return SlackMessage(text=text, blocks=[_section(escape(text))])
