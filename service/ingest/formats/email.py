"""E-mail (.eml) to text with the standard library's parser (policy.default): the From,
To, Cc, Date and Subject as a visible header and as metadata, the body (plain text, else
the HTML part read like any HTML page) without what it quotes, and its attachments as
documents of their own.

Quoted replies are not indexed twice: lines starting with ">" and the "On … wrote:" line
above them are dropped, and so is everything from an Outlook-style "-----Original
Message-----" or "From: … / Sent: …" block on — the earlier message is its own file in
the folder, or it is not the sender's to vouch for. Forwarded messages are kept: they are
often the only copy.

Attachments become documents with the doc id `<message>#<file name>` (parse.py reads
them, each with its own reader, in the same sandbox and budget); `Document.parent` links
them to their message. A message's own text is one section, so a citation names the
message by sender and date. Outlook's .msg is not read: extract-msg would bring nine
packages (oletools, RTFDE, cryptography, …) for one format Outlook can save as .eml.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from service.errors import BadDocument, NoTextFound
from service.ingest.formats.base import MAX_ATTACHMENTS, Attachment, RawDocument, SectionWriter

_WROTE = re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.S)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.I)
_OUTLOOK_FROM = re.compile(r"^\s*\*?From:\*?\s+\S")
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|To):\*?\s+\S")
_UNSAFE_NAME = re.compile(r"[/\\#\x00-\x1f]+")


def strip_quoted(body: str) -> str:
    """The message's own words: quoted lines, their "On … wrote:" lead and any
    Outlook-style earlier message below it taken out."""
    lines = body.splitlines()
    kept: list[str] = []
    skip_next = False
    for i, line in enumerate(lines):
        if skip_next:
            skip_next = False
            continue
        if line.lstrip().startswith(">"):
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _WROTE.match(line):
            continue
        if following.strip().endswith("wrote:") and line.lstrip().startswith("On ") \
                and _WROTE.match(f"{line} {following}"):
            skip_next = True
            continue
        if _ORIGINAL.match(line) or (_OUTLOOK_FROM.match(line) and any(
                _OUTLOOK_NEXT.match(n) for n in lines[i + 1 : i + 4])):
            break
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # a malformed header the parser kept
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _sent(message: EmailMessage) -> str | None:
    try:
        when = message["Date"].datetime if message.get("Date") is not None else None
    except (AttributeError, ValueError, TypeError, IndexError):
        return None
    return when.isoformat(timespec="minutes") if when else None


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset, bad encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        from service.ingest.html_text import HtmlError, parse_html

        try:
            content, _ = parse_html(content)
        except HtmlError:
            return ""
    return strip_quoted(content.replace("\r\n", "\n"))


def _attachment(part: Any, index: int, taken: set[str]) -> Attachment | None:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_content()
        data = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
        name = part.get_filename() or f"{_header(inner, 'Subject') or 'message'}.eml"
    else:
        name = part.get_filename()
        if not name:
            return None  # an inline image of the body (a logo), not a file sent along
        data = part.get_payload(decode=True) or b""
    name = _UNSAFE_NAME.sub("_", name).strip(" .") or f"attachment-{index}"
    unique, n = name, 2
    while unique in taken:
        stem, dot, suffix = name.rpartition(".")
        unique = f"{stem} ({n}).{suffix}" if dot else f"{name} ({n})"
        n += 1
    taken.add(unique)
    return Attachment(unique, data if isinstance(data, bytes) else bytes(data))


def read_eml(name: str, data: bytes) -> RawDocument:
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not isinstance(message, EmailMessage) or not any(
            _header(message, h) for h in ("From", "Subject", "Date", "Message-ID")):
        raise BadDocument(name, "not an e-mail message (no From, Subject or Date header)")
    fields = {h: _header(message, h) for h in ("From", "To", "Cc", "Subject")}
    sent = _sent(message)
    parts = list(message.iter_attachments())
    attachments: list[Attachment] = []
    taken: set[str] = set()
    for index, part in enumerate(parts, start=1):
        if len(attachments) >= MAX_ATTACHMENTS:
            break
        if (found := _attachment(part, index, taken)) is not None:
            attachments.append(found)
    unread = ([(f"{len(parts) - MAX_ATTACHMENTS} more attachments", "over-budget",
                f"the message has {len(parts)} attachments; the first {MAX_ATTACHMENTS} "
                "are read")] if len(parts) > MAX_ATTACHMENTS else [])
    out = SectionWriter(name)
    out.begin("message", sender=fields["From"] or None, sent=sent)
    for label, value in (("From", fields["From"]), ("To", fields["To"]),
                         ("Cc", fields["Cc"]),
                         ("Date", sent.replace("T", " ") if sent else _header(message, "Date")),
                         ("Subject", fields["Subject"])):
        if value:
            out.line(f"{label}: {value}")
    if attachments:
        out.line("Attachments: " + ", ".join(a.name for a in attachments))
    body = _body(message)
    if body:
        out.blank()
        for line in body.split("\n"):
            out.line(line)
    text, sections = out.finish()
    if not body and not attachments:
        raise NoTextFound(name, "the message has no text and no attachments")
    hints = {k: v for k, v in (("author", fields["From"]),
                               ("date", sent[:10] if sent else "")) if v}
    return RawDocument(text=text, title_hint=fields["Subject"] or None, sections=sections,
                       meta_hints=hints, web_cleaning=False, attachments=attachments,
                       unread=unread)
