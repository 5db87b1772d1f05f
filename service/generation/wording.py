"""What users read besides the sources' own words: the one owner of each phrase.

Each phrase is a file in prompts/ (so wording changes without code), and each has its
writer and, where answers are parsed again (verification, evaluation, Slack), its
parser here, built from the same template: "According to A," lead-ins, the quoted
accounts of extractive and perspectives answers, the fallback notice, the unverified
mark, the abstention sentence, and the token the model is told to write when the
passages hold no answer.
"""

from __future__ import annotations

import functools
import re

from service.generation import markers
from service.generation.prompts import prompt
from service.records import Origin, Passage

#: What the model is told to write when the passages do not answer the question.
ABSTAIN_TOKEN = "NOT FOUND"
_STRAY_ABSTAIN = re.compile(rf"(?<![^\s.!?\]]){ABSTAIN_TOKEN}\.?(?=\s|$)")
# Ways small models say "not in the sources" instead of the abstain token.
_ABSTAIN_PHRASES = re.compile(
    r"\b(passages?|sources?|documents?|context|provided (text|information))\b[^.]{0,60}\b"
    r"(do|does|did)\s*(not|n't)\s+(contain|mention|provide|say|include|specify|state)", re.I)
#: Templates of a quoted account: "According to A: “…” [1]", "B reports instead: …".
ACCOUNT_TEMPLATES = ("extractive_sentence", "perspective_also", "perspective_instead")
_SLOT = "LABELSLOT"
_SPEAKER_SLOT = "SPEAKERSLOT"


def abstention() -> str:
    """What an answer says when the sources hold no answer."""
    return prompt("abstain")


def is_abstention(text: str) -> bool:
    """The model said the sources hold no answer, and cited nothing for anything else."""
    plain = text.strip().lower()
    if not plain:
        return True
    if markers.has_marker(plain):
        return False
    return ABSTAIN_TOKEN.lower() in plain or bool(_ABSTAIN_PHRASES.search(plain))


def may_be_abstain_token(text: str) -> bool:
    """The start of a streamed answer may be the abstain token ("NOT", "NOT FOUND", "NOT
    FOUND."): held back until it is not."""
    stripped = text.strip()
    return ABSTAIN_TOKEN.startswith(stripped) or (
        stripped.startswith(ABSTAIN_TOKEN) and not stripped[len(ABSTAIN_TOKEN):].strip(" .!"))


def drop_stray_abstain(text: str) -> str:
    """A cited answer that also says NOT FOUND: that part goes."""
    return _STRAY_ABSTAIN.sub("", text).strip() if markers.has_marker(text) else text


def fallback_notice() -> str:
    return prompt("fallback_notice")


def in_front(note: str, text: str) -> str:
    """A note before the answer: on a line of its own when the answer has lines (a list),
    so a first bullet still opens a line."""
    return f"{note}\n\n{text}" if "\n" in text else f"{note} {text}"


def with_fallback_notice(text: str) -> str:
    return in_front(fallback_notice(), text)


def with_quoted_notice(text: str) -> str:
    return in_front(prompt("quoted_notice"), text)


def is_fallback_notice(sentence: str) -> bool:
    """The fallback or the quoted notice: the service's words, not a claim."""
    return sentence.strip() in (fallback_notice(), prompt("quoted_notice"))


def unverified_mark() -> str:
    return prompt("unverified_mark")


def mark_unverified(sentence: str) -> str:
    return f"{unverified_mark()} {sentence}"


def contradicted_mark() -> str:
    """In front of a sentence the cited passage contradicts (a name, number, date or
    polarity differs); `unverified_mark` is for one the passages do not say."""
    return prompt("contradicted_mark")


def mark_contradicted(sentence: str) -> str:
    return f"{contradicted_mark()} {sentence}"


def strip_unverified(text: str) -> str:
    return text.replace(unverified_mark(), "").replace(contradicted_mark(), "").strip()


def slack_contradicted_mark() -> str:
    """How Slack shows the contradicted mark: a warning."""
    return prompt("verify_contradicted_mark")


def slack_not_found_mark() -> str:
    """How Slack shows the unverified mark: a soft note."""
    return prompt("verify_not_found_mark")


def contradicted_note(count: int) -> str:
    return prompt("verify_contradicted_note", count=count)


def not_found_note(count: int) -> str:
    return prompt("verify_not_found_note", count=count)


def source_label(source: str | None, title: str, provenance: Origin = "bundled") -> str:
    """How answers name a document: the outlet when known, else the title in quotes; an
    uploaded document's name says so ('“X” (uploaded)', prompts/provenance_uploaded.md)."""
    label = source or f"“{title}”"
    return prompt("provenance_uploaded", label=label) if provenance == "uploaded" else label


def passage_label(passage: Passage) -> str:
    """How answers (and the passage headers of the prompt) name a passage's document."""
    return source_label(passage.source, passage.title, passage.provenance)


def join_labels(labels: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def lead_in(labels: list[str]) -> str:
    """"According to A and B," — who makes the claim that follows."""
    return prompt("lead_in", sources=join_labels(labels))


def speaker_lead_in(speaker: str, labels: list[str]) -> str:
    """"According to Putin, as reported by A," — a claim the source only reports
    somebody as saying (service/verify/speakers.py)."""
    return prompt("lead_in_speaker", speaker=speaker, sources=join_labels(labels))


def lead_in_prefix() -> str:
    """"According to " — the lead-in's words before the sources."""
    return prompt("lead_in").split("{sources}")[0]


def account(template: str, label: str, sentence: str, marker: int) -> str:
    """A quoted account, one of ACCOUNT_TEMPLATES: 'According to A: “…” [1]'."""
    return prompt(template, label=label, sentence=sentence, marker=marker)


@functools.cache
def _heads() -> tuple[str, ...]:
    """The parts of our lead-in and account templates before the claim, label slotted."""
    heads = [prompt("lead_in").replace("{sources}", _SLOT),
             prompt("lead_in_speaker").replace("{speaker}", _SPEAKER_SLOT)
             .replace("{sources}", _SLOT)]
    for name in ACCOUNT_TEMPLATES:
        head = prompt(name).split("{sentence}")[0].rstrip(" “\"")
        heads.append(head.replace("{label}", _SLOT))
    return tuple(dict.fromkeys(heads))


def lead_in_pattern(sources: str) -> str:
    """Regex source matching any lead-in we write, with `sources` matching its labels.
    A model copying one may double the comma or put it inside a quote: tolerated."""
    alternatives = [re.escape(head.rstrip(",:")).replace(_SLOT, sources)
                    .replace(_SPEAKER_SLOT, r"[^,:“”\"]{1,80}?") + r"[,:]+[”\"]?"
                    for head in _heads()]
    return rf"^(?:{'|'.join(alternatives)}) (?=\S)"


def generic_lead_in_pattern() -> str:
    """A lead-in of our shape naming a source we do not know (a model's own wording)."""
    return rf"^{re.escape(lead_in_prefix())}[^,:]{{1,160}}?[”\"]?[,:] (?=\S)"


def single_source_note(label: str | None) -> str:
    """"Only one of the sources found addresses this[: A]." (a perspectives answer)."""
    if label is None:
        return prompt("perspectives_single")
    return prompt("perspectives_single_named", label=label)


def is_single_source_note(sentence: str) -> bool:
    return sentence.strip().startswith(prompt("perspectives_single").rstrip("."))
