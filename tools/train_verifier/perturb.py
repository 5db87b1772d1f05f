"""Seeded errors and faithful rewrites of a supported sentence (stdlib only).

Errors are the ones a small generator makes when it restates a passage: a name swapped
for another of the same document, a number or a date changed, the polarity flipped,
subject and object swapped. Faithful rewrites are what it does when it is right: an
attribution lead-in, a reordered clause, a lighter wording, a shorter clause. The
training data builder and the held-out perturbation benchmark (bench/verifier.py, on
the golden set's gold quotes) both use these functions.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

_NAME = re.compile(r"\b[A-Z][a-z]+(?:[-’'][A-Za-z]+)?(?:\s+[A-Z][a-z]+)*\b")
_POSSESSIVE = re.compile(r"[’']s$")
_NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?(?![\d])")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
_MONTH = re.compile(r"\b(" + "|".join(MONTHS) + r")\b")
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_NOT_NAMES = frozenset({
    "The", "A", "An", "This", "That", "These", "Those", "It", "He", "She", "They", "We",
    "I", "In", "On", "At", "For", "But", "And", "Or", "If", "As", "After", "Before",
    "According", "However", "Also", "Meanwhile", "Then", "There", "Here", "When", "While",
    "His", "Her", "Their", "Our", "Its", "What", "Who", "Why", "How", "Mr", "Mrs", "Ms",
    "Dr", "Since", "Although", "Despite", "During", "From", "To", "With", "By", "Of",
    "Yes", "No", "So", "Now", "Some", "Many", "All", "Both", "Each", "Such", "Other",
    *MONTHS, *_WEEKDAYS,
})
_NEGATABLE = [
    (r"\bis not\b", "is"), (r"\bwas not\b", "was"), (r"\bare not\b", "are"),
    (r"\bwere not\b", "were"), (r"\bdid not (\w+)", r"\1ed"), (r"\bwill not\b", "will"),
    (r"\bcannot\b", "can"), (r"\bhas not\b", "has"), (r"\bhave not\b", "have"),
    (r"\bdoes not\b", "does"), (r"\bnever\b", "always"), (r"\bno longer\b", "still"),
    (r"\bis\b", "is not"), (r"\bwas\b", "was not"), (r"\bare\b", "are not"),
    (r"\bwere\b", "were not"), (r"\bwill\b", "will not"), (r"\bcan\b", "cannot"),
    (r"\bhas\b", "has not"), (r"\bhave\b", "have not"), (r"\bshould\b", "should not"),
    (r"\bwould\b", "would not"), (r"\bcould\b", "could not"), (r"\bmust\b", "must not"),
]
_PAST = re.compile(r"\b(said|announced|agreed|decided|confirmed|approved|rejected|"
                   r"supported|opposed|signed|called|allowed|accepted|refused)\b")
_LEADS = ["According to the report, ", "The article says that ", "It was reported that ",
          "Reports say that ", "As the source notes, "]
_SYNONYMS = [
    ("said", "stated"), ("stated", "said"), ("announced", "said"), ("about", "around"),
    ("approximately", "about"), ("more than", "over"), ("over", "more than"),
    ("began", "started"), ("started", "began"), ("help", "assist"), ("large", "big"),
    ("big", "large"), ("buy", "purchase"), ("bought", "purchased"), ("total", "overall"),
    ("however", "but"), ("also", "as well"), ("because", "as"), ("meeting", "talks"),
    ("talks", "negotiations"), ("government", "authorities"), ("country", "nation"),
    ("people", "individuals"), ("percent", "per cent"), ("per cent", "percent"),
    ("company", "firm"), ("firm", "company"), ("shares", "stock"), ("rose", "increased"),
    ("fell", "dropped"), ("increased", "rose"), ("dropped", "fell"), ("chief", "head"),
]

_QUOTES = "“”\" "
Perturbation = Callable[[str, list[str], random.Random], str | None]


def names_in(sentence: str) -> list[str]:
    """Proper names (runs of capitalised words) not at the sentence start."""
    found = []
    for m in _NAME.finditer(sentence):
        # "He’s", "It’s" are not names, and "Trump’s" is the name "Trump": a swap puts a
        # plain name in, never a contraction or a possessive.
        words = [w for w in (_POSSESSIVE.sub("", w) for w in m.group().split())
                 if w not in _NOT_NAMES]
        if not words or (m.start() == 0 and len(m.group().split()) == 1):
            continue
        name = " ".join(words)
        if name not in found and len(name) > 2:
            found.append(name)
    return found


def swap_name(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    """A name of the sentence replaced by another name of the same document."""
    names = names_in(sentence)
    if not names:
        return None
    target = rng.choice(names)
    others = [n for n in doc_names if n.lower() not in sentence.lower()
              and len(n.split()) == len(target.split())]
    if not others:
        return None
    return sentence.replace(target, rng.choice(others), 1)


def change_number(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    numbers = [m for m in _NUMBER.finditer(sentence)
               if not (1900 <= _value(m.group()) <= 2100 and "," not in m.group())]
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = _value(m.group())
    choices = [value + d for d in (1, 2, 3, 5, 10) if value + d > 0]
    choices += [value - d for d in (1, 2, 5) if value - d > 0]
    choices += [value * 2, value * 3, round(value / 2, 1) if value > 2 else value + 4]
    new = rng.choice([c for c in choices if c != value])
    text = f"{new:,}" if "," in m.group() else (f"{new:g}" if isinstance(new, float) else
                                                    str(new))
    return sentence[: m.start()] + text + sentence[m.end():]


def change_date(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    months = list(_MONTH.finditer(sentence))
    years = [m for m in re.finditer(r"\b(19|20)\d\d\b", sentence)]
    weekdays = [m for m in re.finditer(r"\b(" + "|".join(_WEEKDAYS) + r")\b", sentence)]
    options = [("month", m) for m in months] + [("year", m) for m in years]
    options += [("weekday", m) for m in weekdays]
    if not options:
        return None
    kind, m = rng.choice(options)
    if kind == "month":
        new = rng.choice([x for x in MONTHS if x != m.group()])
    elif kind == "year":
        new = str(int(m.group()) + rng.choice([-3, -2, -1, 1, 2, 3]))
    else:
        new = rng.choice([x for x in _WEEKDAYS if x != m.group()])
    return sentence[: m.start()] + new + sentence[m.end():]


def negate(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    for pattern, replacement in _NEGATABLE:
        if re.search(pattern, sentence):
            return re.sub(pattern, replacement, sentence, count=1)
    m = _PAST.search(sentence)
    if m:
        return sentence[: m.start()] + "did not " + _base(m.group()) + sentence[m.end():]
    return None


def swap_roles(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    """Two names of the sentence exchanged (subject and object)."""
    names = names_in(sentence)
    if len(names) < 2:
        return None
    a, b = rng.sample(names, 2)
    if a in b or b in a:
        return None
    return sentence.replace(a, "\0").replace(b, a).replace("\0", b)


ERRORS: dict[str, Perturbation] = {
    "name": swap_name, "number": change_number, "date": change_date,
    "negation": negate, "roles": swap_roles,
}


def lead_in(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    if not sentence or not sentence[0].isupper() or sentence.split()[0] in ("I", "We"):
        return None
    first = sentence.split()[0]
    body = sentence if first in doc_names or first not in _NOT_NAMES else (
        sentence[0].lower() + sentence[1:])
    return rng.choice(_LEADS) + body


def reorder(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    """A leading adverbial ("On May 16, X did Y.") moved to the end, or back."""
    m = re.match(r"^((?:On|In|At|After|Before|During|Since|By|Last|This)\b[^,]{2,60}),\s+(.+?)"
                 r"([.!?]?)$", sentence)
    if m:
        main = m.group(2)
        return main[0].upper() + main[1:] + " " + m.group(1)[0].lower() + m.group(1)[1:] + (
            m.group(3) or ".")
    m = re.match(r"^(.{20,}?),\s+(said|says|according to) ([^,.]+)([.!?])$", sentence)
    if m:
        verb = "says" if m.group(2) == "says" else "said"
        return f"{m.group(3)} {verb} that {m.group(1).strip(_QUOTES)}{m.group(4)}"
    return None


def reword(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    hits = [(a, b) for a, b in _SYNONYMS if re.search(rf"\b{a}\b", sentence)]
    if not hits:
        return None
    out = sentence
    for a, b in rng.sample(hits, min(len(hits), 2)):
        out = re.sub(rf"\b{a}\b", b, out, count=1)
    out = re.sub(r"(?<=\d),(?=\d{3}\b)", "", out) if rng.random() < 0.3 else out
    return out if out != sentence else None


def shorten(sentence: str, doc_names: list[str], rng: random.Random) -> str | None:
    """The main clause alone: a trailing ", which ..." / ", while ..." clause dropped."""
    m = re.match(r"^(.{30,}?),\s+(?:which|while|who|as|and|but|although|where)\b.*$", sentence)
    if not m:
        return None
    return m.group(1).rstrip() + "."


REWRITES: dict[str, Perturbation] = {
    "lead_in": lead_in, "reorder": reorder, "reword": reword, "shorten": shorten,
}


def _value(text: str) -> float | int:
    plain = text.replace(",", "")
    return float(plain) if "." in plain else int(plain)


def _base(verb: str) -> str:
    irregular = {"said": "say", "agreed": "agree", "decided": "decide",
                 "confirmed": "confirm", "approved": "approve", "refused": "refuse",
                 "opposed": "oppose", "accepted": "accept"}
    return irregular.get(verb, verb[:-2] if verb.endswith("ed") else verb)
