"""Seeded errors in context: the whole verifier, with every passage retrieved for the
question, so re-citing gets its chance to let an error through, and the cited passage
is a retrieved chunk (longer than the two sentences either side the word-level suite
shows), as answers meet it.

Per question of a drafts file (its retrieved passages, as the local generator got them),
each gold quote's sentence in the passage that holds it, cited to that passage:
- as written: faithful, should pass;
- with each seeded error of tools/train_verifier/perturb.py: should be caught;
- with a name, number or month of the question put in place of one of the sentence's
  ("premise" errors: "Umerov headed the *Russian* delegation" for a question about the
  Russian delegation): should be caught.
And each sentence of a correct draft that holds the reference, its citations as the
model wrote them, with the reference replaced by another name its passages hold ("answer"
errors: "Peter Hegseth represented the United States at the Ramstein meeting in June"):
a wrong answer restating the question's premise.

Bare answers (`bare_cases`): each short reference (at most four words) that is a date,
a number or a name, cited as a bare fragment to the passage holding its gold quote, and
a wrong answer of the same kind from that passage (another date or number, another
name): what a fragment answer ("March 18.") gets from a verifier that reads the
fragment, not the answer to the question.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import perturb

from service.evaluation.dataset import GoldItem, load_dataset
from service.evaluation.metrics import contains_reference
from service.records import Passage
from service.verify.judge import Judge
from service.verify.support_features import numbers, rare_first_name
from service.verify.windows import sentence_spans

_MONTHS = "|".join(perturb.MONTHS)
_MONTH = re.compile(rf"\b(?:{_MONTHS})\b")
_FIGURE = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?")


# Words a question opens with, which `names_in` takes for part of a name ("Which
# Republican senator …", "Did Kiev …").
_OPENERS = frozenset({
    "Which", "What", "Who", "Whom", "Whose", "When", "Where", "Why", "How", "Did", "Does",
    "Do", "Is", "Are", "Was", "Were", "Has", "Have", "Had", "Can", "Could", "Will", "Would",
    "Should", "In", "On", "At", "For", "From", "To", "By", "Until", "Since",
})


def names_of(text: str) -> list[str]:
    """The names of a text, read sentence by sentence (a capitalised sentence opener is not
    a name), without a question's opening word; a rare capitalised first word
    ("Medinsky headed …") is a name too."""
    found: list[str] = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        first = sentence.split()[0].strip("“\"‘(,.:;") if sentence.split() else ""
        leading = [first] if first and rare_first_name(sentence) else []
        for name in [*leading, *perturb.names_in(sentence)]:
            words = name.split()
            while words and words[0] in _OPENERS:
                words = words[1:]
            if words and " ".join(words) not in found:
                found.append(" ".join(words))
    return found


def premise_errors(sentence: str, question: str) -> Iterator[str]:
    """The sentence with a name, number or month of the question that it lacks put in
    place of one of its own of the same kind (names of as many words)."""
    theirs = [n for n in names_of(question) if n.lower() not in sentence.lower()]
    for ours in names_of(sentence):
        for name in theirs:
            if len(name.split()) == len(ours.split()):
                yield sentence.replace(ours, name, 1)
    for pattern, held in ((_FIGURE, numbers(sentence)), (_MONTH, set(_MONTH.findall(sentence)))):
        new = [m.group() for m in pattern.finditer(question)
               if m.group().replace(",", "") not in held]
        for m in pattern.finditer(sentence):
            for value in new:
                yield sentence[:m.start()] + value + sentence[m.end():]


def _questions(drafts: list[dict[str, Any]], datasets: list[Path]) -> Iterator[
        tuple[dict[str, Any], GoldItem, list[Passage]]]:
    """Each draft with its golden item (from any of the datasets) and its passages."""
    items = {item.id: item for path in datasets for item in load_dataset(path)}
    for d in drafts:
        if (item := items.get(d["id"])) is not None:
            yield d, item, [Passage.model_validate(p) for p in d["passages"]]


def context_cases(drafts: list[dict[str, Any]], datasets: list[Path], docs: Path,
                  seed: int = 13) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    for d, item, passages in _questions(drafts, datasets):
        for gold in item.gold_quotes:
            holder = next((n for n, p in enumerate(passages, 1) if gold.quote in p.text), None)
            if holder is None:
                continue
            text = passages[holder - 1].text
            at = text.index(gold.quote)
            sentence = next(text[s:e] for s, e in sentence_spans(text) if s <= at < e)
            body = (docs / gold.doc_id).read_text(encoding="utf-8")
            doc_names = sorted(set(names_of(body.partition("\n")[2])))
            base = {"id": d["id"], "question": d["question"], "passages": passages,
                    "marker": holder}
            cases.append({**base, "claim": sentence, "kind": "exact", "label": 1})
            for kind, change in perturb.ERRORS.items():
                out = change(sentence, doc_names, rng)
                if out and out != sentence:
                    cases.append({**base, "claim": out, "kind": kind, "label": 0})
            for out in dict.fromkeys(premise_errors(sentence, d["question"])):
                if out != sentence:
                    cases.append({**base, "claim": out, "kind": "premise", "label": 0})
        cases += answer_errors(d, passages, rng)
    return cases


def answer_errors(draft: dict[str, Any], passages: list[Passage],
                  rng: random.Random, per_sentence: int = 3) -> list[dict[str, Any]]:
    """Sentences of a correct draft holding the reference, with it replaced by another
    name of its passages (as many words), cited as the model cited them."""
    from service.generation.citations import claim_spans, resolve_citations
    from service.generation.markers import numbers as marker_numbers

    reference = draft["reference"]
    if draft["abstained"] or not contains_reference(draft["draft"], reference) or not all(
            w[:1].isupper() for w in reference.split()):  # a name, not "17:00" or "spring 2022"
        return []
    text = resolve_citations(draft["draft"], passages, renumber=False).text
    pool = sorted({n for p in passages for n in names_of(p.text)
                   if len(n.split()) == len(reference.split())})
    cases = []
    for start, end in claim_spans(text):
        sentence = text[start:end]
        cited = marker_numbers(sentence)
        if reference.lower() not in sentence.lower() or not cited:
            continue
        at = sentence.lower().index(reference.lower())
        others = [n for n in pool if n.lower() not in sentence.lower()]
        for name in rng.sample(others, min(per_sentence, len(others))):
            cases.append({"id": draft["id"], "question": draft["question"],
                          "passages": passages, "text": sentence[:at] + name
                          + sentence[at + len(reference):], "kind": "answer", "label": 0})
    return cases


_DATED = re.compile(rf"\b(?:{_MONTHS}) \d{{1,2}}\b|\b\d[\d,.]*\b")


def bare_cases(drafts: list[dict[str, Any]], datasets: list[Path],
               seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    for d, item, passages in _questions(drafts, datasets):
        if not item.reference or len(item.reference.split()) > 4:
            continue
        holder = next((n for n, p in enumerate(passages, 1)
                       for g in item.gold_quotes if g.quote in p.text), None)
        if holder is None:
            continue
        text, reference = passages[holder - 1].text, item.reference.lower()
        if re.search(r"\d", reference):
            pool = [m.group() for m in _DATED.finditer(text)]
        elif all(w[:1].isupper() for w in item.reference.split()):
            pool = names_of(text)
        else:  # "an ultimatum", "three days": no wrong answer of the same kind to draw
            continue
        pool = [x for x in dict.fromkeys(pool)
                if x.lower() not in reference and reference not in x.lower()]
        answers = [(item.reference, 1)] + ([(rng.choice(pool), 0)] if pool else [])
        cases += [{"id": d["id"], "question": d["question"], "passages": passages,
                   "text": f"{answer} [{holder}].", "kind": "bare", "label": label}
                  for answer, label in answers]
    return cases


def bare_suite(judge: Judge, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Right bare answers passed, wrong ones passed (both as answers are verified)."""
    from service.verify.verifier import verify_text

    passed = [not verify_text(c["text"], c["passages"], judge, "mark").unsupported
              for c in cases]
    return {"right": sum(c["label"] for c in cases),
            "right_passed": _share([p for p, c in zip(passed, cases, strict=True) if c["label"]]),
            "wrong": sum(not c["label"] for c in cases),
            "wrong_passed": _share([p for p, c in zip(passed, cases, strict=True)
                                    if not c["label"]])}


def context_suite(judge: Judge, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Errors caught and faithful passed, by kind; the errors that passed, listed. A case
    passes when no sentence of it is unsupported (a splitter may cut it in two)."""
    from service.verify.verifier import verify_text

    passed, through = [], []
    for case in cases:
        text = case.get("text") or f"{case['claim'].rstrip()} [{case['marker']}]"
        verified = verify_text(text, case["passages"], judge, "mark")
        passed.append(not verified.unsupported)
        if passed[-1] and not case["label"]:
            through.append({"id": case["id"], "kind": case["kind"],
                            "claim": case.get("claim") or case["text"],
                            "recited": any(c.action == "recited" for c in verified.checks)})
    pairs = list(zip(passed, cases, strict=True))
    return {
        "cases": len(cases),
        "errors_caught": _share([not p for p, c in pairs if not c["label"]]),
        "faithful_passed": _share([p for p, c in pairs if c["label"]]),
        "by_kind": {k: {"n": sum(c["kind"] == k for c in cases),
                        "passed": _share([p for p, c in pairs if c["kind"] == k])}
                    for k in sorted({c["kind"] for c in cases})},
        "errors_passed_recited": sum(e["recited"] for e in through), "errors_passed": through}


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0
