"""Take out of a cleaned document what could steer the model that reads it.

A passage reaches the answering model as data inside its prompt, so text in a document can
try to act as part of that prompt. Three defences, applied to every document (bundled or
uploaded) after cleaning, before sentences and chunks are made:

- invisible characters (zero-width, bidi overrides, Unicode "tag" characters that can
  carry hidden ASCII) are deleted;
- `[n]` markers become `(n)`, so no passage text can imitate a citation marker or the
  `[n] Source: …` header that prompts/passage.md puts above each passage, and a line that
  still looks like such a header is removed and flagged `forged-header`;
- a sentence that reads like an order to a model ("ignore all previous instructions",
  "you are now …", "system: …", chat-template tokens) is removed and flagged
  `instruction`.

Removed text is kept in `Document.flags` (the documents API shows it), so an operator sees
what was taken out and why; it is never indexed, so no answer can follow or quote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from service.records import Flag

_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
                        "\ufeff\U000e0000-\U000e007f]")
_MARKER = re.compile(r"\[\s*(\d{1,4})\s*\]")
# A header line: a marker (now in parentheses), "Passage n" or "Source:"/"Title:" first.
_HEADER_LINE = re.compile(
    r"^\s*(\(\d{1,4}\)\s*)?((passage|document|doc|source|context)\s*\(?\d{0,4}\)?\s*)?"
    r"(source|title|outlet|publisher)\s*:", re.I)
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}?\b(previous|prior|above|"
    r"earlier|preceding|all|your|system|these|those)\b[^.!?\n]{0,30}?\b(instructions?|"
    r"prompts?|directions?|rules|guidelines|context|messages?|passages?)\b"
    r"|\byou\s+are\s+now\b"
    r"|\bfrom\s+now\s+on\b[^.!?\n]{0,40}\b(answer|respond|reply|say|you)\b"
    r"|\bnew\s+(system\s+)?instructions?\s*:"
    r"|^\s*[#>*\s]*(system|assistant|user|developer)\s*(prompt|message)?\s*:"
    r"|<\|?\s*(im_start|im_end|system|assistant|endoftext|eot_id|start_header_id)\s*\|?>"
    r"|\[/?(INST|SYS)\]|<</?SYS>>"
    r"|\b(answer|respond\s+to|reply\s+to)\s+(every|all|each|any)\s+(question|query|"
    r"request|prompt)s?\s+with\b"
    r"|\b(reveal|print|show|repeat|output)\s+(your|the)\s+(system\s+)?(prompt|instructions)\b"
    r"|\b(as\s+an?\s+)?(ai|language\s+model|assistant|chatbot),?\s+you\s+(must|should|will)\b",
    re.I | re.M)
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+[\"'”’)\]]*|\n|$)")


@dataclass
class ScreenResult:
    text: str
    flags: list[Flag] = field(default_factory=list)


def screen_text(text: str) -> ScreenResult:
    """The text with invisible characters, forged headers and instructions taken out."""
    text = _INVISIBLE.sub("", text)
    text = _MARKER.sub(r"(\1)", text)
    flags: list[Flag] = []
    lines = []
    for line in text.split("\n"):
        if _HEADER_LINE.match(line):
            flags.append(Flag(kind="forged-header", text=line.strip()))
            continue
        lines.append(_drop_instructions(line, flags) if _INSTRUCTION.search(line) else line)
    return ScreenResult(text=re.sub(r"\n{3,}", "\n\n", "\n".join(lines)), flags=flags)


def _drop_instructions(line: str, flags: list[Flag]) -> str:
    """The line without its instruction-like sentences (each flagged)."""
    kept = []
    for match in _SENTENCE.finditer(line):
        sentence = match.group(0)
        if sentence.strip() and _INSTRUCTION.search(sentence):
            flags.append(Flag(kind="instruction", text=sentence.strip()))
        else:
            kept.append(sentence)
    return "".join(kept).strip()
