"""Verifier benchmark (issues 13 and 29): the support head, the cross-encoder (alone and
with the rules) and the fast checker, side by side in one run. Results go in
docs/benchmarks.md ("Verifier (issue 13)", "Verifier (issue 29)").

    python -m bench.verifier drafts --out build/verifier/drafts.jsonl   # local generator
    python -m bench.verifier drafts --dataset bench/data/unseen_news.jsonl \
        --out build/verifier/drafts-unseen.jsonl
    python -m bench.verifier run --drafts build/verifier/drafts.jsonl \
        build/verifier/drafts-unseen.jsonl --out bench/results/verifier.json

- HaluEval QA and dialogue, held-out records only (index % 10 == 0, never trained on):
  AUROC and balanced accuracy at each judge's own threshold.
- Perturbation suite: each golden-set gold quote's sentence, next to its passage (two
  sentences either side, under the title), with seeded errors (name, number, date,
  negation, roles; tools/train_verifier/perturb.py) — share caught (not supported) — and
  faithful rewrites — share passed; apart from those, the same sentences restated in
  another structure (passive <-> active, reported speech, a pronoun resolved, an
  apposition as a sentence) and each with the seeded errors that apply (`restructured_*`).
- Drafts of the local generator (generated once, then every judge verifies the same
  drafts), per drafts file: on the news golden set, and on 30 questions written later
  (bench/data/unseen_news.jsonl; nothing is trained on them, but head v7's features were
  chosen after reading v6's flags there): false-flag rate on correct answers
  (the draft contains the reference and some sentence is not supported) with its 95 %
  Wilson interval and the flagged ids, supported share, verification latency per answer
  p50/p95.
- Speakers (bench/verifier_speakers.py): who the reported speech of 130 corpus sentences
  is attributed to, against hand labels; and per drafts file, the answer sentences the
  verifier attributed to a speaker.
- Seeded errors in context (bench/verifier_context.py): the same kinds, and a question's
  detail or a wrong answer in the reference's place, verified among all the passages
  retrieved for the question; and bare answers (a fragment: right, and a wrong one from
  the same passage).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "train_verifier"))
import perturb  # noqa: E402

from bench.run import emit  # noqa: E402
from bench.verifier_context import (  # noqa: E402
    bare_cases,
    bare_suite,
    context_cases,
    context_suite,
)
from bench.verifier_speakers import speaker_suite  # noqa: E402
from service.config import Settings  # noqa: E402
from service.evaluation.dataset import load_dataset  # noqa: E402
from service.evaluation.halueval import auroc, balanced  # noqa: E402
from service.evaluation.metrics import contains_reference, percentile  # noqa: E402
from service.records import Passage  # noqa: E402
from service.verify.backends import JUDGES  # noqa: E402
from service.verify.judge import Judge  # noqa: E402
from service.verify.windows import sentence_spans  # noqa: E402

UNSEEN = ROOT / "bench" / "data" / "unseen_news.jsonl"
HALUEVAL = {"qa": "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl",
            "dialogue": "eval_suite/benchs/halueval/dataset_halueval_dialogue.jsonl"}


def halueval_pairs(kind: str, n: int, seed: int = 13) -> list[tuple[str, str, str | None, int]]:
    import importlib.metadata
    import re

    path = Path(str(importlib.metadata.distribution("eval-suite").locate_file(HALUEVAL[kind])))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()][::10]
    pairs = []
    for d in random.Random(seed).sample(records, min(n // 2, len(records))):
        knowledge = re.sub(r"\.(?=[A-Z])", ". ", d["knowledge"])
        if kind == "qa":
            pairs += [(d["right_answer"], knowledge, d["question"], 1),
                      (d["hallucinated_answer"], knowledge, d["question"], 0)]
        else:
            pairs += [(d["right_response"], knowledge, None, 1),
                      (d["hallucinated_response"], knowledge, None, 0)]
    return pairs


def measure(judge: Judge, pairs: list[tuple[str, str, str | None, int]]) -> dict[str, float]:
    started = time.perf_counter()
    scores = [judge.score(c, e, question=q) for c, e, q, _ in pairs]
    labels = [y for *_, y in pairs]
    return {"auroc": round(auroc(scores, labels), 4),
            "balanced_accuracy": round(balanced(scores, labels, judge.threshold), 4),
            "n": len(pairs), "pairs_per_s": round(len(pairs) / (time.perf_counter() - started), 1)}


def perturbation_cases(dataset: Path, docs: Path, seed: int = 13) -> list[dict[str, Any]]:
    """(claim, evidence, kind, label) cases from the golden set's gold quotes."""
    rng = random.Random(seed)
    restructure_rng = random.Random(seed + 1)  # the word-level cases stay as they were
    cases, seen = [], set()
    for item in load_dataset(dataset):
        for gold in item.gold_quotes:
            text = (docs / gold.doc_id).read_text(encoding="utf-8")
            title, _, body = text.partition("\n")
            spans = sentence_spans(body)
            hits = [i for i, (s, e) in enumerate(spans) if gold.quote in body[s:e]]
            if not hits or (gold.doc_id, hits[0]) in seen:
                continue
            i = hits[0]
            seen.add((gold.doc_id, i))
            sentence = body[spans[i][0]:spans[i][1]]
            passage = body[spans[max(0, i - 2)][0]:spans[min(len(spans) - 1, i + 2)][1]]
            evidence = f"{title.strip()}.\n{passage}"
            names = sorted({n for s, e in spans for n in perturb.names_in(body[s:e])})
            cases.append({"claim": sentence, "evidence": evidence, "kind": "exact", "label": 1})
            for kind, change in {**perturb.ERRORS, **perturb.REWRITES}.items():
                out = change(sentence, names, rng)
                if out and out != sentence:
                    cases.append({"claim": out, "evidence": evidence, "kind": kind,
                                  "label": int(kind in perturb.REWRITES)})
            cases += restructured_cases(sentence, body[spans[i - 1][0]:spans[i - 1][1]] if i
                                        else "", evidence, names, restructure_rng)
    return cases


def restructured_cases(sentence: str, previous: str, evidence: str, names: list[str],
                       rng: random.Random) -> list[dict[str, Any]]:
    """The sentence restated in another structure (passive <-> active, reported speech, a
    pronoun resolved, an apposition as a sentence): faithful; each also with every seeded
    error that applies to it. Their own suite, so the word-level figures stay comparable
    with earlier runs."""
    cases = []
    for kind, out in perturb.restructurings(sentence, previous, rng):
        cases.append({"claim": out, "evidence": evidence, "kind": f"restructured:{kind}",
                      "label": 1, "suite": "restructured"})
        for error_kind, error in perturb.ERRORS.items():
            wrong = error(out, names, rng)
            if wrong and wrong != out:
                cases.append({"claim": wrong, "evidence": evidence, "label": 0,
                              "kind": f"restructured:{kind}+{error_kind}",
                              "suite": "restructured"})
    return cases


def perturbation_suite(judges: dict[str, Judge], cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Seeded errors caught and faithful rewrites passed (word-level rewrites), the same
    for restructured sentences (`restructured_*`), and the pass rate by kind."""
    word = [c for c in cases if c.get("suite") != "restructured"]
    out: dict[str, Any] = {"cases": len(word), "errors": sum(1 for c in word if not c["label"]),
                           "restructured_cases": len(cases) - len(word)}
    for name, judge in judges.items():
        passed = [judge.score(c["claim"], c["evidence"]) >= judge.threshold for c in cases]
        kinds = sorted({c["kind"] for c in cases})
        out[name] = {
            **_rates(passed, cases, "word"), **_rates(passed, cases, "restructured"),
            "by_kind": {k: round(sum(p for p, c in zip(passed, cases, strict=True)
                                     if c["kind"] == k) / sum(c["kind"] == k for c in cases), 3)
                        for k in kinds}}
        if hasattr(judge, "verdict"):
            out[name]["errors_contradicted"] = round(sum(
                judge.verdict(c["claim"], c["evidence"]) == "contradicted"
                for c in word if not c["label"]) / max(out["errors"], 1), 4)
    return out


def _rates(passed: list[bool], cases: list[dict[str, Any]], suite: str) -> dict[str, float]:
    prefix = "" if suite == "word" else f"{suite}_"
    mine = [(p, c["label"]) for p, c in zip(passed, cases, strict=True)
            if c.get("suite", "word") == suite]
    errors = [p for p, label in mine if not label]
    faithful = [p for p, label in mine if label]
    return {f"{prefix}errors_caught": round(1 - sum(errors) / max(len(errors), 1), 4),
            f"{prefix}faithful_passed": round(sum(faithful) / max(len(faithful), 1), 4)}


def issue_examples(docs: Path) -> list[dict[str, Any]]:
    """Correct answers that the fast checker marked "(unverified)" (issue 13)."""
    text = (docs / "001.txt").read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    spans = sentence_spans(body)
    cases = []
    for claim, needle in [
            ("Matthew Whitaker represented the United States at the Ramstein meeting on "
             "June 4.", "Matthew Whitaker"),
            ("The range of the Taurus missiles Germany is sending is 500 km.", "500 km")]:
        i = next(k for k, (s, e) in enumerate(spans) if needle in body[s:e])
        passage = body[spans[max(0, i - 2)][0]:spans[min(len(spans) - 1, i + 2)][1]]
        cases.append({"claim": claim, "evidence": f"{title.strip()}.\n{passage}"})
    return cases


def make_drafts(settings: Settings, dataset: Path, out: Path, generator: str,
                limit: int | None) -> None:
    """The generator's raw drafts (passage-numbered markers) with their passages."""
    from service.pipeline import Pipeline
    from service.records import AskRequest

    pipeline = Pipeline(settings)
    items = [i for i in load_dataset(dataset) if i.reference][:limit]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for item in items:
            flight = pipeline._prepare(AskRequest(question=item.question, generator=generator))
            draft = pipeline._early_draft(flight) or flight.generator.generate(flight.job)
            f.write(json.dumps({
                "id": item.id, "question": item.question, "reference": item.reference,
                "draft": draft.text, "abstained": draft.abstained,
                "generator": draft.generator,
                # as the generator read them (budgeted): its markers' numbering
                "passages": [p.model_dump(mode="json") for p in flight.job.passages],
            }, ensure_ascii=False) + "\n")
            f.flush()
            print(f"{item.id}: {draft.text[:80]!r}", file=sys.stderr)


def timed_verify(judge: Judge, passages: list[Passage], text: str) -> tuple[Any, float, float]:
    """The verification of one draft, and its time cold (nothing cached: the first question
    on a passage) and warm (the index's sentences cached, as `rag serve` has them after
    its start-up warm-up, so only the answer's claims are encoded). A warmable judge must
    have been warmed with the index first (`verify_drafts`); its cache is left as it was
    found. Other judges are timed once, from an empty cache."""
    from service.verify.judge import Warmable
    from service.verify.verifier import verify_text

    cache = getattr(judge, "_cache", None)
    if cache is None or not isinstance(judge, Warmable):  # nothing to warm: one timing
        if cache is not None:
            cache.clear()
        t0 = time.perf_counter()
        verified = verify_text(text, passages, judge, "mark")
        cold = (time.perf_counter() - t0) * 1000
        return verified, cold, cold
    warmed = dict(cache)
    timings = []
    for start in ({}, warmed):
        cache.clear()
        cache.update(start)
        t0 = time.perf_counter()
        verified = verify_text(text, passages, judge, "mark")
        timings.append((time.perf_counter() - t0) * 1000)
    cache.clear()
    cache.update(warmed)
    return verified, timings[0], timings[1]


def verify_drafts(judges: dict[str, Judge], drafts: list[dict[str, Any]],
                  index_texts: list[str]) -> dict[str, Any]:
    from service.generation.citations import resolve_citations
    from service.verify.judge import Warmable

    usable = [d for d in drafts if not d["abstained"] and d["draft"].strip()]
    out: dict[str, Any] = {"drafts": len(drafts), "answered": len(usable),
                           "correct": sum(contains_reference(d["draft"], d["reference"])
                                          for d in usable)}
    for name, judge in judges.items():
        flagged: list[str] = []
        attributed: list[list[str]] = []  # [id, speaker, the sentence as shown]
        supported, sentences = 0, 0
        latency: list[float] = []
        warm_latency: list[float] = []
        claims: list[float] = []  # per answer: its checked sentences
        windows: list[float] = []  # and the windows of the passages they cite
        # The combined judge reads the head's windows (and the cross-encoder's, where it
        # runs); its count is the head's.
        cut = getattr(judge, "cut", None) or getattr(getattr(judge, "head", None), "cut", None)
        if isinstance(judge, Warmable):
            judge.warm(index_texts)  # as `rag serve` does at start
        for d in usable:
            passages = [Passage.model_validate(p) for p in d["passages"]]
            cited = resolve_citations(d["draft"], passages, renumber=False)
            verified, cold, warm = timed_verify(judge, passages, cited.text)
            latency.append(cold)
            warm_latency.append(warm)
            sentences += len(verified.checks)
            claims.append(len(verified.checks))
            if cut is not None:
                windows.append(sum(len(cut(passages[n - 1].text))
                                   for c in verified.checks for n in c.markers))
            supported += sum(c.supported for c in verified.checks)
            if contains_reference(d["draft"], d["reference"]) and verified.unsupported:
                flagged.append(d["id"])
            attributed += [[d["id"], c.speaker, verified.text] for c in verified.checks
                           if c.speaker]
        low, high = wilson(len(flagged), out["correct"])
        out[name] = {
            "false_flag_rate_on_correct": round(len(flagged) / max(out["correct"], 1), 4),
            "false_flag_95": [round(low, 4), round(high, 4)], "flagged": flagged,
            "sentences": sentences, "attributed_to_a_speaker": attributed,
            "supported_share": round(supported / max(sentences, 1), 4),
            "latency_ms_p50": round(percentile(latency, 0.5), 1),
            "latency_ms_p95": round(percentile(latency, 0.95), 1),
            "warm_latency_ms_p50": round(percentile(warm_latency, 0.5), 1),
            "warm_latency_ms_p95": round(percentile(warm_latency, 0.95), 1),
            "claims_per_answer_mean_p95": [round(sum(claims) / max(len(claims), 1), 1),
                                           percentile(claims, 0.95) if claims else 0],
            "cited_windows_per_answer_mean_p95": [
                round(sum(windows) / max(len(windows), 1), 1),
                percentile(windows, 0.95) if windows else 0]}
    return out


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a rate of hits in n: 3 of 33 is 3-24 %."""
    if n == 0:
        return 0.0, 1.0
    rate = hits / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((rate * (1 - rate) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def judges_for(settings: Settings) -> dict[str, Judge]:
    import copy

    support = JUDGES.get("support")(settings)
    with_rules = copy.copy(support)  # same sessions and encoder cache, hard rules on
    with_rules.rules, with_rules.name = True, "support+rules"  # type: ignore[attr-defined]
    judges = {"support": support, "support+rules": with_rules}
    # The cross-encoder (issue 29): the model alone and with the rules beside it.
    judges |= {name: JUDGES.get(name)(settings) for name in ("cross", "cross+rules", "combined")}
    return {**judges, "fast": JUDGES.get("fast")(settings)}


def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    judges = judges_for(settings)
    if args.judges:
        judges = {k: j for k, j in judges.items() if k in args.judges}
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"),
                              "thresholds": {k: j.threshold for k, j in judges.items()}}
    for kind in ("qa", "dialogue") if "halueval" in args.parts else ():
        pairs = halueval_pairs(kind, args.n)
        result[f"halueval_{kind}"] = {k: measure(j, pairs) for k, j in judges.items()}
        print(kind, json.dumps(result[f"halueval_{kind}"]), file=sys.stderr)
    if "perturbation" in args.parts:
        cases = perturbation_cases(args.dataset, ROOT / "indexes" / "news" / "docs")
        result["perturbation"] = perturbation_suite(judges, cases)
        examples = issue_examples(ROOT / "indexes" / "news" / "docs")
        result["issue_examples_passed"] = {
            k: [round(j.score(c["claim"], c["evidence"]), 3) for c in examples]
            for k, j in judges.items()}
        print(json.dumps(result["perturbation"]), file=sys.stderr)
    if "speakers" in args.parts:
        result["speakers"] = speaker_suite(ROOT / "indexes" / "news" / "docs")
        print("speakers", json.dumps(result["speakers"]), file=sys.stderr)
    files = args.drafts if "drafts" in args.parts else []
    if missing := [f for f in files if not f.is_file()]:
        raise SystemExit(f"{missing[0]}: no such drafts file; make it with "
                         f"`python -m bench.verifier drafts --out {missing[0]}`")
    if files:
        from service.pipeline.resources import Resources, judged_texts

        retriever = Resources(settings).retriever(settings.index)
        texts = list(judged_texts(retriever.store.iter_documents(
            retriever.manifest().generation)))
        drafts = {f: [json.loads(line) for line in f.open(encoding="utf-8")] for f in files}
        result["drafts"] = {str(f): verify_drafts(judges, d, texts) for f, d in drafts.items()}
        if "context" in args.parts:
            everything = [d for ds in drafts.values() for d in ds]
            cases = context_cases(everything, [args.dataset, UNSEEN],
                                  ROOT / "indexes" / "news" / "docs")
            bare = bare_cases(everything, [args.dataset, UNSEEN])
            result["context"] = {"cases": len(cases), "bare_cases": len(bare)}
            for name, judge in judges.items():
                result["context"][name] = {**context_suite(judge, cases),
                                           "bare": bare_suite(judge, bare)}
                print(name, json.dumps({k: v for k, v in result["context"][name].items()
                                        if k != "errors_passed"}), file=sys.stderr)
    elif "context" in args.parts:
        raise SystemExit("--parts context needs drafts: add `drafts` to --parts")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("drafts", help="generate the drafts once")
    d.add_argument("--out", type=Path, default=Path("build/verifier/drafts.jsonl"))
    d.add_argument("--generator", default="local")
    d.add_argument("--limit", type=int)
    r = sub.add_parser("run", help="measure every judge")
    r.add_argument("--drafts", type=Path, nargs="+",
                   default=[Path("build/verifier/drafts.jsonl")],
                   help="drafts files (from `drafts`), each measured on its own")
    r.add_argument("--n", type=int, default=600, help="HaluEval pairs per file")
    r.add_argument("--out", type=Path)
    r.add_argument("--judges", nargs="+", help="only these judges (default: all)")
    r.add_argument("--parts", nargs="+",
                   default=["halueval", "perturbation", "drafts", "context", "speakers"],
                   choices=["halueval", "perturbation", "drafts", "context", "speakers"],
                   help="context: seeded errors verified among each drafts question's "
                   "retrieved passages (needs drafts); speakers: who says it, against "
                   "hand labels (bench/verifier_speakers.py)")
    for p in (d, r):
        p.add_argument("--dataset", type=Path, default=Path("eval/datasets/news.jsonl"))
    args = parser.parse_args()
    settings = Settings()
    if args.command == "drafts":
        make_drafts(settings, args.dataset, args.out, args.generator, args.limit)
        return 0
    result = run(args, settings)
    emit(result, args.out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
