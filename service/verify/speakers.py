"""Who says it: the speaker of reported speech in the sentence a claim rests on.

A passage reporting "“The bombing is a terrorist act,” he said" (Putin, named the
sentence before) supports "Putin says the bombing is a terrorist act", not "The bombing
was a terrorist act". The collection's outlets quote partisans on every side, so a claim
the passage only puts in somebody's mouth must be shown as theirs (the verifier writes
"According to Putin, as reported by <source>, …").

Read by rule, and on purpose narrowly: a wrong speaker is worse than none, so a speaker
is returned only when the sentence names one next to its reporting verb ("X said …",
"…, said X, the director of …", "According to X, …"), or says "he"/"she" and the
sentence a few back whose subject or speaker it is names exactly one person. "They",
quotes without a reporting verb (scare quotes: the "22 points" document) and "called"
(also a phone call) are left alone.
"""

from __future__ import annotations

import re

from service.verify.support_features import content_words, numbers
from service.verify.windows import sentence_spans

# Lowercase: "the United States" reports nothing. Not "called" (a phone call too) nor
# "denied" (the claim would be the opposite of what was said).
_SAYS = (r"(?:said|says|say|stated|states|told|tells|claimed|claims|argued|argues|"
         r"insisted|insists|warned|warns|noted|notes|added|adds|believes|believed|"
         r"thinks|thought|alleged|alleges|explained|explains|asserted|wrote|writes)")
# Verbs that report speech only before "that" or a quote when they open the clause:
# "the Senate confirmed Tulsi Gabbard" and "the Pentagon has confirmed the shipments" are
# not somebody's words.
_SAYS_THAT = (r"(?:accused|accuses|announced|announces|declared|declares|emphasi[sz]ed|"
              r"stressed|suggested|suggests|admitted|assured|hinted|confirmed|confirms|"
              r"recalled|acknowledged|predicted|concluded|reiterated)")
_VERB = rf"(?:{_SAYS}|{_SAYS_THAT})"
_LEAD_VERB = rf"(?:{_SAYS}\b|{_SAYS_THAT} (?:that\b|[“\"]))"
# A name: capitalised words, joined by "of", "the", "and", "for" before another
# capital ("British Ministry of Defense", "Institute of the USA and Canada").
_CAP = r"[A-Z][\w’'.-]*(?<![’']s)"
_RUN = rf"{_CAP}(?:(?: (?:of|the|for|and|al|de|von))*(?= [A-Z]) {_CAP})*"
# Speakers without a capital: "Military experts say …", "analysts say …".
_GROUP = (r"(?:[A-Z][a-z]+ )?(?:experts|analysts|officials|observers|diplomats|critics|"
          r"commentators|sources)")
_APPOSITIVE = r"(?:, [^,“”\"]{3,160},)?"

# Between a speaker and the verb: "Moscow has repeatedly said", "Washington also emphasized".
_AUX = r"(?: (?:has|have|had|also|again|earlier|repeatedly|previously|reportedly)){0,2}"
# "X said (that) …", "As X explained, …", "…, as X noted, “…”", "…, X noted that …"
_LEAD = re.compile(rf"(?:^|[,;:] |\bthat |^As |, as )(?:(?:new|former) )?"
                   rf"(?P<name>(?:[Tt]he )?{_RUN}|{_GROUP}){_APPOSITIVE},?{_AUX} {_LEAD_VERB}")
# "…,” said X." / "…, says former CIA analyst X, a …"
_TRAIL = re.compile(rf"[,”\"]\s+{_VERB} (?:[^.“”\"]*? )??(?P<name>{_RUN})"
                    rf"(?:,[^“”\"]*)?[.!?]?[”\"]?\s*$")
# "…,” Putin said in January." / "…,” the Kremlin said in a statement."
_TRAIL_NAME_FIRST = re.compile(rf"[,?!]?[”\"]\s+(?P<name>(?:the )?{_RUN}){_AUX} {_VERB}\b"
                               rf"[^“”\"]*$")
# "…,” he said." / "…,” she told reporters." / "He said …" / "According to him, …"
_TRAIL_PRONOUN = re.compile(rf"[,”\"]\s+(?P<pronoun>he|she) {_VERB}\b[^“”\"]*$")
_LEAD_PRONOUN = re.compile(rf"(?:^|(?<=[,;:] ))(?P<pronoun>[Hh]e|[Ss]he) {_LEAD_VERB}")
_ACCORDING = re.compile(rf"\b[Aa]ccording to (?:(?P<name>(?:the )?{_RUN})|(?P<pronoun>him|her)),")
# A sentence's subject, for "he"/"she" later: "Putin made a harsh statement …",
# "Zelensky, in turn, criticized …" (a past-tense or common verb after it, so
# "Speaking recently, …" is no one).
_SUBJECT = re.compile(rf"^(?P<name>(?:The )?{_RUN}){_APPOSITIVE} (?:[a-z]+ed|made|met|"
                      rf"gave|took|has|had|is|was|sent|held|spoke|went|came|wrote|told|"
                      rf"said|says)\b")

# Words that open a sentence without being anyone's name.
_OPENERS = frozenset("""a an and as at but by for from however if in it meanwhile on
since so that then there these this those thus to we when while with yet he she they
it i""".split())  # noqa: SIM905
# Titles and descriptors: a claim naming only these does not name the speaker.
_TITLES = frozenset("""president minister foreign defense defence secretary state
senator chancellor ambassador general envoy special prime deputy head director analyst
former german russian ukrainian american british french republican democratic
military experts analysts officials observers diplomats critics commentators sources
the of for and""".split())  # noqa: SIM905
_PRONOUN = re.compile(r"\b(?:he|she|him|her)\b", re.I)
_WORDS = re.compile(r"[A-Za-z][\w’'-]*")


def _clean(name: str) -> str | None:
    """The name as a lead-in shows it: opening words that name no one dropped, "The"
    lowercased ("the Kremlin"), a group lowercased ("military experts")."""
    words = name.split()
    while words and words[0].lower() in _OPENERS:
        words = words[1:]
    if not words:
        return None
    if words[-1].endswith(".") and re.search(r"[a-z]\.$", words[-1]):  # "Skabeeva." ends
        words[-1] = words[-1][:-1]  # the sentence; "M.K." is a name
    if words[0] == "The" or re.fullmatch(_GROUP, " ".join(words)):
        words[0] = words[0].lower()
    return " ".join(words)


def _named(sentence: str) -> str | None:
    """The speaker the sentence names next to its reporting verb."""
    for pattern in (_ACCORDING, _TRAIL, _TRAIL_NAME_FIRST, _LEAD):
        if (match := pattern.search(sentence)) and match.group("name"):
            return _clean(match.group("name"))
    return None


def _pronoun(sentence: str) -> bool:
    return any((m := p.search(sentence)) and m.group("pronoun")
               for p in (_TRAIL_PRONOUN, _LEAD_PRONOUN, _ACCORDING))


def _referent(before: list[str]) -> str | None:
    """Who "he"/"she" is: the nearest earlier sentence outside a quote (a quote running
    over several sentences is skipped), if it names its speaker or its subject."""
    for sentence in reversed(before[-3:]):
        sentence = sentence.strip()
        if not sentence or sentence.startswith(("“", '"')):
            continue
        if (name := _named(sentence)) is not None:
            return name
        match = _SUBJECT.match(sentence)
        return _clean(match.group("name")) if match else None
    return None


def _opens(sentence: str) -> bool:
    """A quotation opens in the sentence and runs on past it."""
    straight = sentence.count('"')
    return sentence.count("“") > sentence.count("”") or (
        straight % 2 == 1 and sentence.lstrip().startswith('"'))


def _closes(sentence: str) -> bool:
    """A quotation opened before the sentence closes in it."""
    straight = sentence.count('"')
    return sentence.count("”") > sentence.count("“") or (
        straight % 2 == 1 and not sentence.lstrip().startswith('"'))


def _whole_quote(sentence: str) -> bool:
    """The sentence is one quotation and nothing else: “We are ready.”"""
    text = sentence.strip()
    return (text[:1] in "“\"" and text[-1:] in "”\"" and text.count("“") <= 1
            and text.count('"') in (0, 2))


def speaker_of(sentence: str, before: list[str] | None = None,
               after: list[str] | None = None) -> str | None:
    """Who the sentence reports as saying what it says, when that can be told safely;
    `before` / `after`: the sentences before and after it in its passage, in order.
    A quotation running over several sentences is the words of whoever the sentence
    closing it names; a quotation standing alone after one with its speaker named is
    theirs (“It’s an interim victory,” said Gabuev. “The ultimate victory …”)."""
    before, after = before or [], after or []
    if (name := _named(sentence)) is not None:
        return name
    if _pronoun(sentence):
        return _referent(before)
    if _opens(sentence):
        for i, later in enumerate(after[:3]):
            if _closes(later):
                return speaker_of(later, [*before, sentence, *after[:i]])
        return None
    if _whole_quote(sentence) and before and re.search("[“”\"]", before[-1]):
        return speaker_of(before[-1], before[:-1])
    return None


def names_speaker(claim: str, speaker: str) -> bool:
    """The claim names the speaker (by a word of their name other than a title) or
    reports speech itself ("X said", "according to", a pronoun that may be them)."""
    if _PRONOUN.search(claim) or re.search(
            rf"\b{_VERB}\b|\b[Aa]ccording to\b|\bcall(?:ed|s)\b", claim):
        return True
    own = own_words(speaker)
    return not own or bool(own & content_words(claim))


def own_words(speaker: str) -> set[str]:
    """The words of a speaker's name that are not titles ("Scholz", not "Chancellor")."""
    return content_words(" ".join(w for w in _WORDS.findall(speaker)
                                  if w.lower() not in _TITLES))


def reported_speaker(claim: str, text: str, start: int, end: int) -> str | None:
    """Who the passage `text` reports as saying what the claim restates, when the claim
    does not say so itself: the speaker of the sentence of the window `text[start:end]`
    the claim draws on most (its earlier sentences resolve "he said")."""
    spans = sentence_spans(text)
    inside = [i for i, (s, e) in enumerate(spans) if s < end and e > start]
    if not inside:
        return None
    wanted = content_words(claim) | numbers(claim)
    sentences = [text[s:e] for s, e in spans]
    best = max(inside, key=lambda i: len(wanted & (content_words(sentences[i])
                                                    | numbers(sentences[i]))))
    speaker = speaker_of(sentences[best], sentences[max(0, best - 3):best],
                         sentences[best + 1:best + 4])
    return speaker if speaker is not None and not names_speaker(claim, speaker) else None
