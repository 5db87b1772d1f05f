"""When the model declines: quote the passages instead, if they seem to hold the answer.

Small models answer NOT FOUND with the answer whole in passage [1] (docs/benchmarks.md:
7 of the bundled 1.5B model's 9 declines on answerable golden questions). When the
passages hold most of the question's words (`RAG_QUOTE_DECLINED_COVERAGE`, measured on
the standalone question) and every name and number the question asks about, the
extractive generator's quotes are shown instead, under a notice that they may not answer
the question (`Answer.quoted`). Otherwise, and when the quotes find nothing, the decline
stands. A draft that already replaced an unavailable LLM is left as it is.
"""

from __future__ import annotations

import re

from service.generation import wording
from service.generation.citations import claim_spans
from service.generation.generators import Draft, GenerationInput, Generator
from service.index.terms import content_terms
from service.retrieval.windows import weighted_overlap
from service.verify.support_features import names, numbers
from service.verify.verifier import claim_of

_DOTS = re.compile(r"\b([A-Z])\.")  # "U.S." is "US"


def question_coverage(question: str, job: GenerationInput) -> float:
    """Share of the question's IDF-weighted words held by its best passage."""
    terms = set(content_terms(question))
    return max((weighted_overlap(terms, p.text, job.idf) for p in job.passages), default=0.0)


def holds_what_is_asked(question: str, quotes: str) -> bool:
    """Every name (acronyms too) and number of the question is in the quoted sentences:
    "When did Russia join NATO?" is not answered by a sentence on Ukraine's wish to join
    it, nor "… Zelensky and Trump … on March 18" by one on Putin's call with Trump. A name
    matches by its first five letters, as the verifier compares words ("Russia's" and
    "Russian", "Zelensky" and "Zelenskyy"); an acronym as written, dots aside ("U.S.")."""
    undotted = _DOTS.sub(r"\1", quotes)
    lowered = undotted.lower()
    asked = {part for name in names(question, first=True) for part in re.split(r"[-–]", name)
             if part}
    if not question.isupper():  # in a shouted question every word looks like an acronym
        acronyms = set(re.findall(r"\b[A-Z]{2,}\b", _DOTS.sub(r"\1", question)))
        if not all(re.search(rf"\b{a}\b", undotted) for a in acronyms):
            return False
        asked -= {a.lower() for a in acronyms}
    return all(re.search(rf"\b{re.escape(name[:5])}", lowered) for name in asked) and (
        numbers(question) <= numbers(quotes))


def quoted_sentences(text: str, job: GenerationInput) -> str:
    """The quotes of an extractive draft without their "According to <source>:" (a
    title's words are not the passage's)."""
    labels = list(dict.fromkeys(wording.passage_label(p) for p in job.passages))
    return " ".join(claim_of(text[s:e], labels) for s, e in claim_spans(text))


class QuoteDeclined:
    def __init__(self, enabled: bool, min_coverage: float) -> None:
        self.enabled = enabled
        self.min_coverage = min_coverage

    def run(self, draft: Draft, question: str, job: GenerationInput,
            backup: Generator) -> Draft | None:
        """The quotes to show in place of a declined `draft`, or None. `job`: the
        question's full retrieved passages (the quotes' marker numbers point into them)."""
        if not (self.enabled and draft.abstained and not draft.replaced
                and question_coverage(question, job) >= self.min_coverage):
            return None
        quoted = backup.generate(job)
        if quoted.abstained or not holds_what_is_asked(
                question, quoted_sentences(quoted.text, job)):
            return None
        quoted.quoted = True
        return quoted
