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
from collections.abc import Callable, Iterator

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

# Faithful rewrites that restructure the sentence, and read the one before it (the
# referent of a pronoun): passive <-> active voice, a quote told as reported speech, a
# pronoun replaced by the name it stands for, an apposition stated as a sentence. A small
# generator does all of these when it answers from a passage ("They were represented by
# Matthew Whitaker" -> "Matthew Whitaker represented the United States"); word-level
# rewrites never show them.
Restructure = Callable[[str, str, random.Random], str | None]
_SUBJECT_PRONOUNS = {"he": "him", "she": "her", "they": "them", "we": "us"}
# Case matters: "US" is the country, "us" the speaker.
_FIRST_PERSON = re.compile(r"\b(?:I|[Mm]e|[Mm]y|[Ww]e|us|[Oo]urs?|[Mm]yself|[Oo]urselves)\b")
_PASSIVE = re.compile(
    r"^(?P<subj>[A-Z][^,;:“”\"]{1,60}?) (?P<aux>was|were|has been|have been) "
    r"(?P<verb>[a-z]{3,}ed) (?P<mid>(?:[a-z]+ ){0,3}?)by (?P<agent>[^,;.“”\"]{2,60}?)"
    r"(?:[,;.].*)?$")
_ACTIVE = re.compile(
    r"^(?P<agent>(?:[A-Z][\w'’-]+ ){0,3}[A-Z][\w'’-]+) (?P<verb>[a-z]{3,}ed) "
    r"(?P<obj>(?:the|a|an|its|his|her|their) [^,;.“”\"]{2,60}?)(?:[,;.].*)?$")
# Where a noun phrase ends: a conjunction, a clause or an adjunct begins.
_PHRASE_END = re.compile(r" (?:and|but|or|that|which|who|while|as|in|on|at|after|before|of|"
                         r"to|for|with|from|during|since|when|because)\b.*$")
# A noun phrase that is only that: a pronoun, a determiner and its words, or a name.
_SIMPLE_SUBJECT = re.compile(r"^(?:(?:He|She|They|We)|(?:The|A|An|His|Her|Its|Their|This|"
                             r"That|These|Those)(?: [\w'’-]+)+|[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)$")
_CLAUSE = re.compile(r"\b(?:and|but|or|was|were|had|has|have|is|are|that|which|said|says)\b")
_QUOTE = re.compile(
    r"^[“\"](?P<q>[^“”\"]{15,}?)[,.]?[”\"],? (?:(?P<who>[A-Za-z][\w'’ .-]{1,60}?) "
    r"(?:said|says|added|told [a-z ]+?)|(?:said|says|added) (?P<who2>[A-Z][\w'’ .-]{1,60}?))"
    r"(?:[.,;].*)?$")
_LEADING_PRONOUN = re.compile(r"^(He|She|They) ")
# Verbs that take a clause ("Aragones insisted the comments were …"), not an object.
_NOT_TRANSITIVE = frozenset("""
agreed appeared seemed happened remained warned added noted stated used expected insisted
argued explained suggested believed stressed admitted complained hoped wanted needed
claimed reported revealed estimated predicted feared assumed demanded announced
""".split())  # noqa: SIM905
# What follows a subject: a verb ("Putin made", "the United States is", "Melcher died").
_VERB_NEXT = re.compile(r"^(?:\w+ed|is|are|was|were|has|had|have|will|would|can|could|"
                        r"may|might|must|should|does|did|made|said|says|told|took|gave|"
                        r"went|came|met|held|led|won|lost|left|became|began|wrote|spoke|"
                        r"saw|knew|thought|got|put|set|ran|sent|kept|brought|found|also)\b")
# A sentence's subject: after an opening adverbial ("After all, ", "On Monday, "), an
# optional article and honorific, a run of capitalised words not followed by "’s".
_ADVERBIAL = re.compile(r"^(?:[A-Z][\w'’-]*(?: [\w'’-]+){0,4}), ")
_SUBJECT = re.compile(r"^(?:(?P<article>[Tt]he) )?(?:(?:Mr|Mrs|Ms|Dr)\.? )?"
                      r"(?P<name>[A-Z][\w’'-]+(?: [A-Z][\w’'-]+)*)(?P<after>[’']s\b| |,|$)")
_NOT_SUBJECTS = frozenset({"Among", "Under", "Over", "Last", "Next", "Earlier", "Later",
                           "Until", "Without", "Within", "Asked", "Speaking", "Having",
                           "One", "Two", "Three", "Four", "Five", "Several", "Most", "Few",
                           "Only", "Even", "Just", "Instead", "Still", "Yet", "Once"})


def referent(previous: str) -> str | None:
    """The name the sentence before opens with, as its subject ("the United States is …",
    "Mr Learmount pointed out …"): what a leading "He", "She" or "They" most often
    stands for. None when it does not open with one ("Tony Blair’s spokesman said")."""
    clause = _ADVERBIAL.sub("", previous, count=1)
    m = _SUBJECT.match(clause)
    if not m or m.group("after") in ("’s", "'s") or _POSSESSIVE.search(m.group("name")):
        return None
    if not _VERB_NEXT.match(clause[m.end():].lstrip(", ")):
        return None  # "Spain captain Jordi Arrese chose …": Spain is not the subject
    words = m.group("name").split()
    if words[0] in _NOT_NAMES or words[0] in _NOT_SUBJECTS:
        return None
    return f"the {m.group('name')}" if m.group("article") else m.group("name")


def _capital(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def _object(subject: str) -> str:
    lowered = subject.lower()
    if lowered in _SUBJECT_PRONOUNS:
        return _SUBJECT_PRONOUNS[lowered]
    first = subject.split()[0]
    return subject[0].lower() + subject[1:] if first in _NOT_NAMES else subject


def to_active(sentence: str, previous: str, rng: random.Random) -> str | None:
    """ "They were represented by Matthew Whitaker, …" -> "Matthew Whitaker represented them." """
    m = _PASSIVE.match(sentence)
    if not m or m.group("subj").lower() in ("it", "there") or _FIRST_PERSON.search(m.group()):
        return None
    subject, agent = m.group("subj"), _PHRASE_END.sub("", m.group("agent").strip())
    if (len(subject.split()) > 7 or _CLAUSE.search(subject) or len(agent.split()) > 7
            or not _SIMPLE_SUBJECT.match(subject)):
        return None
    has = "has " if m.group("aux").startswith("ha") else ""
    mid = m.group("mid").strip()
    return f"{_capital(agent)} {has}{m.group('verb')} {_object(subject)}{' ' + mid if mid else ''}."


def to_passive(sentence: str, previous: str, rng: random.Random) -> str | None:
    """ "Witkoff visited the Russian delegation in Jeddah." -> "The Russian delegation was
    visited by Witkoff." (the adjunct after the object dropped)."""
    m = _ACTIVE.match(sentence)
    if not m or m.group("agent").split()[0] in _NOT_NAMES or m.group("verb") in _NOT_TRANSITIVE:
        return None
    obj = _PHRASE_END.sub("", m.group("obj"))
    if not 2 <= len(obj.split()) <= 7 or re.search(r"\d", obj):
        return None
    last = obj.split()[-1]
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is"))
    return f"{_capital(obj)} {'were' if plural else 'was'} {m.group('verb')} by {m.group('agent')}."


def speaker(who: str, previous: str) -> str | None:
    """The quote's speaker: a pronoun stands for the name of the sentence before."""
    if who.lower() in ("he", "she", "they"):
        return referent(previous)
    return None if who.split()[0] in _NOT_NAMES else who


def reported(sentence: str, previous: str, rng: random.Random) -> str | None:
    """ "“The bombing is a terrorist act,” he said." -> "Putin said that the bombing is a
    terrorist act." (first-person quotes are left alone: their pronouns would change)."""
    m = _QUOTE.match(sentence)
    if not m or _FIRST_PERSON.search(m.group("q")):
        return None
    who = speaker((m.group("who") or m.group("who2") or "").strip(), previous)
    if not who:
        return None
    quote = m.group("q").strip()
    first = re.sub(r"[’'](?:s|re|ll|ve|d)$", "", quote.split()[0])  # "It’s" is "It"
    if first in _NOT_NAMES and first != "I":
        quote = quote[0].lower() + quote[1:]
    return f"{_capital(who)} said that {quote.rstrip('.,')}."


def resolve_pronoun(sentence: str, previous: str, rng: random.Random) -> str | None:
    """A leading "He"/"She"/"They" replaced by the name it stands for."""
    m = _LEADING_PRONOUN.match(sentence)
    name = referent(previous) if m else None
    if not name:
        return None
    return f"{_capital(name)} {sentence[m.end():]}"


_ROLE_NAME = re.compile(r"\b(?P<article>[Tt]he|[Aa]n?) (?P<role>[^,;:“”\"()]{3,60}?), "
                        r"(?P<name>[A-Z][\w'’-]+(?: [A-Z][\w'’-]+){1,3}),")
_NAME_ROLE = re.compile(r"(?P<name>\b[A-Z][\w'’-]+(?: [A-Z][\w'’-]+){1,3}), "
                        r"(?P<article>the|an?) (?P<role>[^,;:“”\"()]{3,60}?)[,.]")


_PREPOSITION = re.compile(r"\b(?:under|in|on|at|for|with|by|from|of|to|after|before|during|"
                          r"since|among|despite|through|over|into)\s*$", re.I)


def apposition(sentence: str, previous: str, rng: random.Random) -> str | None:
    """An apposition stated as a sentence: "…, the US Ambassador to Turkey, Tom Barrack,
    threw …" -> "Tom Barrack is the US Ambassador to Turkey." (or "The US Ambassador to
    Turkey is Tom Barrack.")."""
    m = _ROLE_NAME.search(sentence)
    if m and _PREPOSITION.search(sentence[:m.start()]):
        m = None  # "Under the restructuring plans, Patrick Cescau, …": not a role
    m = m or _NAME_ROLE.search(sentence)
    if not m or len(m.group("role").split()) > 8 or _CLAUSE.search(m.group("role")):
        return None
    name, role = m.group("name"), f"{m.group('article').lower()} {m.group('role').strip()}"
    if name.split()[0] in _NOT_NAMES:
        return None
    return f"{name} is {role}." if rng.random() < 0.5 else f"{_capital(role)} is {name}."


RESTRUCTURES: dict[str, Restructure] = {
    "active": to_active, "passive": to_passive, "reported": reported,
    "pronoun": resolve_pronoun, "apposition": apposition,
}


def restructurings(sentence: str, previous: str,
                   rng: random.Random) -> Iterator[tuple[str, str]]:
    """(kind, restated sentence) for each restructuring that applies, lazily: a caller
    drawing from `rng` between them (its seeded errors) keeps its sequence."""
    for kind, restructure in RESTRUCTURES.items():
        out = restructure(sentence, previous, rng)
        if out and out != sentence:
            yield kind, out


def _value(text: str) -> float | int:
    plain = text.replace(",", "")
    return float(plain) if "." in plain else int(plain)


def _base(verb: str) -> str:
    irregular = {"said": "say", "agreed": "agree", "decided": "decide",
                 "confirmed": "confirm", "approved": "approve", "refused": "refuse",
                 "opposed": "oppose", "accepted": "accept"}
    return irregular.get(verb, verb[:-2] if verb.endswith("ed") else verb)
