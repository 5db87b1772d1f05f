"""Who says it: the speaker of reported speech in the sentence a claim rests on.

A passage reporting "“The bombing is a terrorist act,” he said" (Putin, named the
sentence before) supports "Putin says the bombing is a terrorist act", not "The bombing
was a terrorist act". The collection's outlets quote partisans on every side, so a claim
the passage only puts in somebody's mouth must be shown as theirs (the verifier writes
"According to Putin, as reported by <source>, …"), and a claim putting it in somebody
else's mouth is contradicted.

Read by rule, and on purpose narrowly: a wrong speaker is worse than none. A speaker is
returned only when the sentence names one next to its reporting verb ("X said …", "…,
said X, the director of …", "According to X, …"); or says "he"/"she" and the nearest
earlier sentence outside the quotation names exactly one name, its subject or speaker;
or continues a quotation whose speaker is named so. Each report knows which words are
the reported ones: a claim drawing on the rest of the sentence ("Russia launched 90
drones; Zelensky said Moscow must pay") is nobody's words. "They", quotes without a
reporting verb (scare quotes: the "22 points" document) and "called" (also a phone call)
are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.verify.support_features import content_words, terms
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
_RUN = rf"{_CAP}(?:(?: (?:of|the|for|and|al|de|von)){{0,3}}(?= [A-Z]) {_CAP}){{0,8}}"
# Speakers without a capital: "Military experts say …", "analysts say …".
_GROUP = (r"(?:[A-Z][a-z]+ )?(?:experts|analysts|officials|observers|diplomats|critics|"
          r"commentators|sources)")
_APPOSITIVE = r"(?:, [^,“”\"]{3,160},)?"
# Between a speaker and the verb: "Moscow has repeatedly said", "Washington also emphasized".
_AUX = r"(?: (?:has|have|had|also|again|earlier|repeatedly|previously|reportedly)){0,2}"
# Words between a trailing verb and its speaker: "says former CIA analyst X", "said one
# of Russia’s main TV anchors, X" (no digits, no clause: "believed to be … 2022, hit X").
_DESCRIPTOR = r"(?:(?:[a-z][\w’'-]*|[A-Z]{2,}|[A-Z][\w’'-]*’s),? ){0,7}?"

# "X said (that) …", "As X explained, …", "…, as X noted, “…”", "…, X noted that …"
_LEAD = re.compile(rf"(?:^|[,;:] |\bthat |^As |, as )(?:(?:new|former) )?"
                   rf"(?P<name>(?:[Tt]he )?{_RUN}|{_GROUP}){_APPOSITIVE},?{_AUX} {_LEAD_VERB}")
# "…,” said X." / "…, says former CIA analyst X, a …"
_TRAIL = re.compile(rf"[,”\"]\s+{_VERB} (?P<descriptor>{_DESCRIPTOR})(?P<name>{_RUN})"
                    rf"(?:,[^“”\"]*)?[.!?]?[”\"]?\s*$")
# "…,” Putin said in January." / "…,” the Kremlin said in a statement."
_TRAIL_NAME_FIRST = re.compile(rf"[,?!][”\"]\s+(?P<name>(?:the )?{_RUN}){_AUX} {_VERB}\b"
                               rf"[^“”\"]*$")
# "…,” he said." / "…,” she told reporters." / "He said …" / "According to him, …"
_TRAIL_PRONOUN = re.compile(rf"[,”\"]\s+(?P<pronoun>he|she) {_VERB}\b[^“”\"]*$")
_LEAD_PRONOUN = re.compile(rf"(?:^|[,;:] )(?P<pronoun>[Hh]e|[Ss]he) {_LEAD_VERB}")
_ACCORDING = re.compile(rf"\b[Aa]ccording to (?:(?P<name>(?:the )?{_RUN})|(?P<pronoun>him|her)),")
# A sentence's subject, for "he"/"she" later: "Putin made a harsh statement …",
# "Zelensky, in turn, criticized …" (a past-tense or common verb after it, so
# "Speaking recently, …" is no one).
_SUBJECT = re.compile(rf"^(?P<name>(?:The )?{_RUN}){_APPOSITIVE} (?:[a-z]+ed|made|met|"
                      rf"gave|took|has|had|is|was|sent|held|spoke|went|came|wrote|told|"
                      rf"said|says)\b")
_ANY_NAME = re.compile(_RUN)
# "As Zelensky had warned, the ceasefire collapsed": the outlet's fact, which X foresaw.
_FORESEEN = re.compile(r"(?:, as|As) .*\b(?:warned|warns|predicted|predicts|feared|expected|"
                       r"foresaw|forecast)$")
# A descriptor ending in one of these links the speaker to the name after it: "said a
# spokesman for President Zelensky", "an aide to Trump", "a source close to the Kremlin".
_LINKS = frozenset("""for to of in at from with by near close about on under behind
around within""".split())  # noqa: SIM905
# A frame that does not report the words as said: denied, negated, conditional, asked
# ("Peskov denied that Putin said …", "If Putin says no, …", "Did Putin say …?").
_NOT_SAID = re.compile(r"\b(?:not|never|no|denied|denies|deny|denying|rejected|rejects|"
                       r"dismissed|dismisses|refuted|if|unless|whether|would|could|might|"
                       r"should)\b|n't\b|\?|^(?:Did|Does|Do|Will|Would|Can|Could|Is|Was|Has|"
                       r"Have|Had)\b", re.I)
# A report inside the reported words: second hand ("Zelensky said Putin claimed …",
# "According to Interfax, Zelensky said …"): nobody's words safely.
_NESTED = re.compile(rf"\b{_VERB}\b|\b[Aa]ccording to\b")
_QUOTED = re.compile(r"“[^”]*”?|\"[^\"]*\"?")

_CALENDAR = """yesterday today tomorrow monday tuesday wednesday thursday friday saturday
sunday january february march april may june july august september october november
december"""
# Words that open a sentence (or a name run) without being anyone's name.
_OPENERS = frozenset(f"""a an and as at but by for from however if in it meanwhile on
since so that then there these this those thus to we when while with yet he she they
it i earlier later last next moreover still nevertheless nonetheless furthermore indeed
besides instead now again also did does do will would can could should is was were are
has have had why how what who where unless although though because after before during
despite even {_CALENDAR}""".split())
# Titles and descriptors: a claim naming only these does not name the speaker.
_TITLES = frozenset("""president minister foreign defense defence secretary state
senator chancellor ambassador general envoy special prime deputy head director analyst
former german russian ukrainian american british french republican democratic
military the of for and""".split())  # noqa: SIM905
# A group's first word that is not a proper adjective: "military experts say".
_COMMON_FIRST = frozenset("""military many some several independent leading senior top
local political western two three four five six seven eight nine ten""".split())  # noqa: SIM905
# Words of an institution's name: "the Russian Defense Ministry said" may be its
# spokesman's words, so it is never compared with the speaker a passage names.
_INSTITUTION = re.compile(r"\b(?:Ministry|Department|Office|House|Kremlin|Pentagon|Council|"
                          r"Committee|Commission|Agency|Service|Government|Administration|"
                          r"Embassy|Institute|Center|Centre|Party|Army|Forces|Command|Staff|"
                          r"Union|Organi[sz]ation|Bank|Court|Parliament|Congress|Senate|Duma|"
                          r"Rada|Cabinet|Bureau|Press|Guard|Police)\b")
# What ends the words after "X said" without "that": "…, Gerasimov told Putin after
# Russian troops captured …" — the clause after is the outlet's narration.
_CLAUSE_END = re.compile(r"\b(?:after|before|when|while|as|because|since|during|following|"
                         r"once|until|amid|whereas)\b")
_PRONOUN = re.compile(r"\b(?:he|she|him|her)\b", re.I)
# The person spoken to: "Lavrov told Rubio that …" names Rubio, but not as a speaker.
_ADDRESSEE = re.compile(rf"\b(?:told|tells|assured|assures|warned|warns|reminded|reminds|"
                        rf"informed|informs)\s+(?:the\s+)?(?P<name>{_RUN})")
# What may follow a trailing "…, Lavrov said": the sentence's end, a time or place, or a
# clause of the outlet's own ("…, Gerasimov told Putin after …" stops at "after").
_PLACE_OR_TIME = (r"(?:(?:on|in|at|during|with|after|before)\s+(?:(?:a|an|the)\s+)?[\w’'-]+"
                  r"(?:\s+[A-Z][\w’'-]*)?|earlier|later|yesterday|today|tonight|"
                  r"(?:last|this|next)\s+[a-z]+)")
_TAGGED_TAIL = re.compile(rf"\s*(?:{_PLACE_OR_TIME}(?:\s+{_PLACE_OR_TIME})?)?\s*[.!?]?\s*")
# First words of an opening phrase, not of a clause: "Once …", "Hours after …".
_INTRODUCERS = frozenset("""after before once when whenever while since until till ahead
within unlike despite following amid amidst as if unless although though because during
upon on in at by for from with without throughout meanwhile however then late early
earlier later hours days weeks months minutes moments shortly soon just speaking asked
responding referring commenting addressing noting citing answering talking
writing""".split())  # noqa: SIM905
_QUANTITIES = frozenset("""a an one two three four five six seven eight nine ten several
few some many""".split())  # noqa: SIM905
# A later mention of somebody by title: "the U.S. president", "the French leader".
_TITLE_REFERENCE = re.compile(r"\b[Tt]he (?:[\w.-]+ ){0,2}(?:president|leader|secretary|"
                              r"minister|envoy|chancellor|premier|diplomat|senator|official|"
                              r"chief|head|spokesman|spokeswoman)\b")
_AGREED = re.compile(r"\b(?:they|them|their|his|both|latter|counterpart|guest|host|agree[ds]?|"
                     r"repeated|repeats|echoed|echoes|concurred|endorsed|seconded|shared)\b",
                     re.I)
_WORDS = re.compile(r"[A-Za-z][\w’'-]*")
#: Longer sentences are not read (no speaker), so no input makes the rules slow.
MAX_SENTENCE = 1200
#: A longer "speaker" is a clause caught by a rule, not a name.
MAX_SPEAKER = 60


@dataclass(frozen=True)
class Report:
    """A sentence's speaker, and where in it the reported words are."""

    speaker: str
    start: int
    end: int

    def frame(self, sentence: str) -> str:
        """The words that report the others: before them ("Putin said that …",
        "According to X,") or, for a trailing tag, after them ("…,” said X")."""
        return sentence[:self.start] if self.start > 0 else sentence[self.end:]


def _clean(name: str) -> str | None:
    """The name as a lead-in shows it: opening words that name no one dropped ("On
    Tuesday Putin" is Putin), "The" lowercased ("the Kremlin"), a common first word of
    a group lowercased ("military experts")."""
    words = name.split()
    while words and words[0].lower().strip(",") in _OPENERS:
        words = words[1:]
    if words and words[-1].endswith(".") and re.search(r"[a-z]\.$", words[-1]):
        words[-1] = words[-1][:-1]  # "Skabeeva." ends the sentence; "M.K." is a name
    if not words or len(" ".join(words)) > MAX_SPEAKER:
        return None
    if words[0] == "The" or words[0].lower() in _COMMON_FIRST:
        words[0] = words[0].lower()
    return " ".join(words)


def _named(sentence: str) -> Report | None:
    """The speaker the sentence names next to its reporting verb, and the reported
    words: after the verb (or "According to X,"), or before a trailing "…,” said X"."""
    for pattern, after in ((_ACCORDING, True), (_TRAIL, False), (_TRAIL_NAME_FIRST, False),
                           (_LEAD, True)):
        if (match := pattern.search(sentence)) and match.group("name"):
            descriptor = match.group("descriptor").split() if pattern is _TRAIL else []
            while descriptor and descriptor[-1] in ("the", "a", "an"):
                descriptor.pop()
            if descriptor and descriptor[-1].rstrip(",") in _LINKS:
                return None  # "said a spokesman for X": X is not the speaker
            if pattern is _LEAD and (_listed(sentence, match) or _FORESEEN.match(match.group())):
                return None
            name = _clean(match.group("name"))
            if name is None:
                return None
            if pattern is _LEAD and _tags_before(sentence, match):
                after = False
            report = (Report(name, *_words_after(sentence, match.end())) if after
                      else Report(name, 0, _before_appositive(sentence, match.start())))
            return report if _as_said(sentence, report) else None
    return None


def _words_after(sentence: str, start: int) -> tuple[int, int]:
    """The reported words after a verb ending at `start`: after the addressee of "told"
    ("told Putin that …": Putin is not the words), and, unless "that", a colon or a
    quotation opens them, up to a clause of the outlet's own ("…, Gerasimov told Putin
    after Russian troops captured …")."""
    if sentence[:start].endswith(("told", "tells")) and (
            addressee := re.match(rf"\s+(?:the\s+)?(?:{_RUN}|[a-z]+)", sentence[start:])):
        start += addressee.end()
    if re.match(r"\s*(?:that\b|:|[“\"])", sentence[start:]):
        return start, len(sentence)
    end = _CLAUSE_END.search(sentence, start)
    return start, end.start() if end else len(sentence)


def _before_appositive(sentence: str, end: int) -> int:
    """Where the words before a tag end, without a title standing before the name: "The
    strikes killed 12 people, the regional governor, Oleh Syniehubov, said"."""
    title = re.search(r",\s*(?:the|a|an)\s+(?:[a-z’'-]+\s+){0,3}(?:governor|minister|"
                      r"president|spokes(?:man|woman|person)|head|chief|director|analyst|envoy|"
                      r"secretary|ambassador|mayor|leader|commander|official|advis[eo]r|aide|"
                      r"expert)$", sentence[:end])
    return title.start() if title else end


def _tags_before(sentence: str, match: re.Match[str]) -> bool:
    """"X said" after a comma, with no words of its own after it, tags the clause before:
    "Russia is ready to restore relations, Lavrov said (on Tuesday / in a statement)."
    Not when "that", a colon or a quotation follows, more than a time or place follows,
    the part before is an opening phrase ("Hours after a missile hit Kharkiv, Zelensky
    said …", "After talks in Riyadh, Lavrov told reporters."), or the tag is "as X
    warned" (the outlet's own fact, which X foresaw)."""
    if not match.group().startswith(",") or match.group().startswith(", as "):
        return False
    start, end = _words_after(sentence, match.end())
    return not re.search(r"\bthat\b|[:“\"]", sentence[match.end():]) and (
        _TAGGED_TAIL.fullmatch(sentence[start:end]) is not None) and not _opening_phrase(
        sentence[:match.start()])


def _opening_phrase(words: str) -> bool:
    """The words open with a phrase leading into a clause, not with a clause: "Once the
    talks ended", "Hours after a missile hit Kharkiv", "Two days after …", "Speaking in
    Kyiv", "Unlike the talks in Riyadh, which collapsed"."""
    first = [w.strip(",").lower() for w in words.split()[:3]]
    return bool(first) and (first[0] in _INTRODUCERS or (
        first[0] in _QUANTITIES and bool(set(first[1:]) & _INTRODUCERS)))


def _listed(sentence: str, match: re.Match[str]) -> bool:
    """The name is the end of a list ("Germany, France and Britain said"): one of a
    group, not the speaker."""
    before = sentence[:match.start("name")].rstrip()
    return " and " in match.group("name") and bool(re.search(r"[A-Z][\w’'.-]*,$", before))


def _as_said(sentence: str, report: Report) -> bool:
    """The frame around the reported words reports them as said (not denied, asked or
    supposed), and the words are not a report of a report ("Zelensky said Putin
    claimed …", "Putin said the talks were useful, said Zelensky")."""
    said = sentence[report.start:report.end]
    return not _NOT_SAID.search(_QUOTED.sub(" ", report.frame(sentence)).strip()) and not (
        _NESTED.search(said))


def _pronoun(sentence: str) -> tuple[int, int] | None:
    """Where the words are that the sentence reports "he"/"she" as saying."""
    for pattern, after in ((_TRAIL_PRONOUN, False), (_LEAD_PRONOUN, True),
                           (_ACCORDING, True)):
        if (match := pattern.search(sentence)) and match.group("pronoun"):
            span = _words_after(sentence, match.end()) if after else (0, match.start())
            return span if _as_said(sentence, Report("", *span)) else None
    return None


def _only_name(sentence: str, name: str) -> bool:
    """The sentence names nobody but `name` outside its quotations (a weekday, a sentence
    opener or an acronym aside)."""
    frame = _QUOTED.sub(" ", sentence)
    others = [n for n in (_clean(m.group()) for m in _ANY_NAME.finditer(frame))
              if n and n.lower() not in _OPENERS and not n.isupper()  # "CIA" is no "he"
              and not set(n.split()) <= set(name.split())]
    return not others


def _referent(before: list[str]) -> str | None:
    """Who "he"/"she" is: the nearest earlier sentence that names its speaker (“…,”
    Peskov told reporters) or, outside a quotation (one running over several sentences
    is skipped), its subject; and names no other name: "Putin spoke with Merkel" leaves
    "she" to no one."""
    for sentence in reversed(before[-3:]):
        sentence = sentence.strip()
        report = _named(sentence) if sentence else None
        if report is None and (not sentence or sentence.startswith(("“", '"'))):
            continue
        if report is not None:  # the reported words may name anyone: not them
            return report.speaker if _only_name(report.frame(sentence),
                                                report.speaker) else None
        match = _SUBJECT.match(sentence)
        name = _clean(match.group("name")) if match else None
        return name if name is not None and _only_name(sentence, name) else None
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


def report_of(sentence: str, before: list[str] | None = None,
              after: list[str] | None = None) -> Report | None:
    """Who the sentence reports as saying what, when that can be told safely; `before`
    / `after`: the sentences before and after it in its passage, in order. A quotation
    running over several sentences is the words of whoever the sentence closing it
    names; a quotation standing alone after one with its speaker named is theirs
    (“It’s an interim victory,” said Gabuev. “The ultimate victory …”)."""
    before, after = before or [], after or []
    if len(sentence) > MAX_SENTENCE:
        return None
    if (report := _named(sentence)) is not None:
        return report
    if (span := _pronoun(sentence)) is not None:
        name = _referent(before)
        return Report(name, *span) if name else None
    speaker: str | None = None
    if _opens(sentence):
        closing = next((i for i, later in enumerate(after[:3]) if _closes(later)), None)
        if closing is not None:
            speaker = speaker_of(after[closing], [*before, sentence, *after[:closing]])
    elif _whole_quote(sentence) and before and re.search("[“”\"]", before[-1]):
        speaker = speaker_of(before[-1], before[:-1])
    return Report(speaker, 0, len(sentence)) if speaker else None


def speaker_of(sentence: str, before: list[str] | None = None,
               after: list[str] | None = None) -> str | None:
    """`report_of`'s speaker."""
    report = report_of(sentence, before, after)
    return report.speaker if report else None


def own_words(speaker: str) -> set[str]:
    """The words of a speaker's name that are not titles ("Scholz", not "Chancellor")."""
    return content_words(" ".join(w for w in _WORDS.findall(speaker)
                                  if w.lower() not in _TITLES))


def reports_speech(text: str) -> bool:
    """The text says somebody said it ("X said", "according to", "NG reports", "in X's
    view") or has a pronoun that may be the speaker."""
    return bool(_PRONOUN.search(text) or re.search(
        rf"\b{_VERB}\b|\b[Aa]ccording to\b|\bcall(?:ed|s)\b|\breport(?:s|ed)?\b"
        r"|\b[Ii]n [A-Z][\w.-]*(?:’|')s? (?:view|words|opinion)\b|\bin the (?:view|words) of\b",
        text))


def names_speaker(claim: str, speaker: str) -> bool:
    """The claim names the speaker (by a word of their name other than a title) or
    reports speech itself."""
    if reports_speech(claim):
        return True
    own = own_words(speaker)
    return not own or bool(own & content_words(claim))


def _drawn_on(claim: str, text: str, start: int, end: int) -> Report | None:
    """The report of the sentence of the window `text[start:end]` the claim draws on
    most, if the claim draws on its reported words more than on the rest of it."""
    spans = sentence_spans(text)
    inside = [i for i, (s, e) in enumerate(spans) if s < end and e > start]
    if not inside:
        return None
    wanted = terms(claim)
    sentences = [text[s:e] for s, e in spans]
    best = max(inside, key=lambda i: len(wanted & terms(sentences[i])))
    sentence = sentences[best]
    report = report_of(sentence, sentences[max(0, best - 3):best], sentences[best + 1:best + 4])
    if report is None:
        return None
    wanted -= own_words(report.speaker)
    said = sentence[report.start:report.end]
    rest = sentence[:report.start] + " " + sentence[report.end:]
    reported = wanted & terms(said)
    unreported = (wanted & terms(rest)) - reported
    return report if len(reported) > len(unreported) else None


def reported_speaker(claim: str, text: str, start: int, end: int) -> str | None:
    """Who the passage `text` reports as saying what the claim restates, when the claim
    does not say so itself: the speaker of the sentence of the window `text[start:end]`
    the claim draws on (its neighbours resolve "he said" and quotations)."""
    report = _drawn_on(claim, text, start, end)
    if report is None or names_speaker(claim, report.speaker):
        return None
    return report.speaker


def _unaddressed(window: str) -> str:
    """The window without the names of people spoken to ("Lavrov told Rubio that …"),
    unless a pronoun or a title may refer to them later ("…, and the president agreed"),
    or anybody agreed or repeated it ("Washington later repeated the demand")."""
    if _PRONOUN.search(window) or _TITLE_REFERENCE.search(window) or _AGREED.search(window):
        return window

    def drop(match: re.Match[str]) -> str:
        name = re.split(r"(?<=\.)\s", match.group("name"))[0]  # not into the next sentence
        said = match.group()[:match.start("name") - match.start()]
        return said + match.group("name")[len(name):]

    return _ADDRESSEE.sub(drop, window)


def misattributed(claim: str, text: str, start: int, end: int) -> str | None:
    """The speaker the passage gives for words the claim puts in somebody else's mouth:
    "President Trump argued that Russia should make no compromises [1]" against "Russia
    should not make any compromises at all, says former CIA analyst Larry Johnson". Only
    when the claim names a person by two capitalised words at least, not an institution
    ("Russia said", "the Russian Defense Ministry said" may be their spokesman), the
    passage names its speaker properly, and the claim's speaker is nowhere in the
    window but as the one spoken to ("Lavrov told Rubio that …" is not Rubio's word)."""
    claimed = report_of(claim)
    said_by = _drawn_on(claim, text, start, end) if claimed else None
    if claimed is None or said_by is None:
        return None
    ours, theirs = own_words(claimed.speaker), own_words(said_by.speaker)
    person = len(re.findall(r"\b[A-Z]", claimed.speaker)) >= 2 and claimed.speaker[
        :1].isupper() and not _INSTITUTION.search(claimed.speaker)
    window = _unaddressed(text[start:end])
    if not (person and said_by.speaker[:1].isupper() and ours and theirs) or (
            ours & (theirs | content_words(window))):
        return None
    return said_by.speaker
