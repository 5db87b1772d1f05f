"""Remove web-page boilerplate from extracted text, line by line.

Scraped articles carry navigation ("Skip to main content"), widget labels, comment
forms ("Leave a Reply"), read-time cards of related articles, photo credits with their
captions (often in another script than the article) and footer links glued to the
next page's title. Each rule below removes one of those kinds; `CleanResult.dropped`
says which rule took which line, so a rule that is too eager shows up in review.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

_EXACT = frozenset(
    s.lower()
    for s in (
        "Skip to main content", "Skip to content", "Advertisement", "Live broadcast",
        "Main slide", "Beginning of the article", "Select important", "On", "Off",
        "Leave a Reply", "Comments", "Information", "Share", "Share this article", "Print",
        "Subscribe", "Read more", "Related", "Related articles", "Menu", "Search", "Close",
        "Most read", "Newsletter", "Sign up", "Log in", "Tags", "Continue reading",
        "Listen to this article", "Accept cookies", "Back to top",
    )
)
_PATTERNS = [
    re.compile(p, re.I)
    for p in (
        r"^\d+\s+mins?\s+read$",
        r"your email address will not be published",
        r"required fields are marked",
        r"^(photo|image|picture|video|credit)s?\s*:\s",
        r"^translated by\b",
        r"^(follow us|share on|click here|sign up for)\b",
        r"^all rights reserved",
        r"^©",
    )
]
_READ_TIME = _PATTERNS[0]
_CREDIT = _PATTERNS[3]
# A cookie banner: a cookie word, then a consent word. Two searches rather than one
# `cookie.*accept` pattern, whose backtracking is quadratic on a long line of "cookie"s.
_COOKIE = re.compile(r"\bcookies?\b", re.I)
_CONSENT = re.compile(r"\b(accept|consent|policy|settings)\b", re.I)
# Letters are counted by deleting them with a regex (C speed; a Python loop over every
# character was most of the cleaning time). `[^\W\d_]` is "alphabetic" as str.isalpha.
_ANY_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile("[" + "".join(re.escape(chr(c)) for c in range(0x250)
                                         if chr(c).isalpha()) + "]")
_SENTENCE_END = tuple('.!?"”»)\'’:;…')
_LEAD_NAV_MAX = 40
_FOOTER_MAX = 100


@dataclass
class CleanResult:
    text: str
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (rule, line)


def _letters_by_script(text: str) -> tuple[int, int]:
    """(letters below U+0250, i.e. Latin; other letters)."""
    letters = len(text) - len(_ANY_LETTER.sub("", text))
    latin = len(text) - len(_LATIN_LETTER.sub("", text))
    return latin, letters - latin


def _is_boilerplate_pattern(line: str) -> bool:
    if any(p.search(line) for p in _PATTERNS):
        return True
    cookie = _COOKIE.search(line)
    return bool(cookie and _CONSENT.search(line, cookie.end()))


def _in_other_script(line: str, latin_doc: bool) -> bool:
    latin, other = _letters_by_script(line)
    if latin + other == 0:
        return False
    share_other = other / (latin + other)
    return share_other > 0.5 if latin_doc else share_other < 0.5


def _is_fragment(line: str) -> bool:
    """Short line without sentence punctuation: a label, a link, a caption or a heading."""
    return not line.rstrip().endswith(_SENTENCE_END)


def clean_text(raw: str) -> CleanResult:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    latin, other = _letters_by_script(text)
    latin_doc = latin >= other
    keep = [True] * len(lines)
    dropped: list[tuple[str, str]] = []

    def drop(i: int, rule: str) -> None:
        if keep[i] and lines[i]:
            keep[i] = False
            dropped.append((rule, lines[i]))

    for i, line in enumerate(lines):
        if not line:
            continue
        if line.lower() in _EXACT:
            drop(i, "boilerplate")
        elif _is_boilerplate_pattern(line):
            drop(i, "boilerplate-pattern")
        elif _in_other_script(line, latin_doc):
            drop(i, "other-script")

    nonblank = [i for i, line in enumerate(lines) if line]
    # A photo credit's caption is the fragment just above it (the translation of a
    # caption in another script ends up there too).
    for pos, i in enumerate(nonblank):
        if _CREDIT.search(lines[i]) and pos > 0:
            prev = nonblank[pos - 1]
            if keep[prev] and _is_fragment(lines[prev]) and len(lines[prev]) < 300:
                drop(prev, "caption")
    # Related-article cards: everything between two read-time lines.
    marks = [i for i in nonblank if _READ_TIME.search(lines[i])]
    for a, b in itertools.pairwise(marks):
        for i in range(a + 1, b):
            drop(i, "read-time-card")
    # Leading navigation: a run of three or more short label lines before the text.
    remaining = [i for i in nonblank if keep[i]]
    lead = []
    for i in remaining:
        if len(lines[i]) < _LEAD_NAV_MAX and _is_fragment(lines[i]):
            lead.append(i)
        else:
            break
    if len(lead) >= 3:
        for i in lead:
            drop(i, "leading-navigation")
    # Footer: up to three short fragments at the very end (links, the next page's title).
    remaining = [i for i in nonblank if keep[i]]
    for i in reversed(remaining[-3:]):
        if len(lines[i]) < _FOOTER_MAX and _is_fragment(lines[i]) and len(remaining) > 3:
            drop(i, "footer")
        else:
            break

    kept = [line if keep[i] else "" for i, line in enumerate(lines)]
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return CleanResult(text=cleaned, dropped=dropped)
