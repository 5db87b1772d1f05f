"""The support model's hard rules, each switched off in turn (docs/benchmarks.md,
"Verifier (issue 13): support head v3"):

    python -m bench.verifier_rules --drafts build/verifier/drafts-local.jsonl

For each setting: seeded errors caught and faithful rewrites passed on the perturbation
suite, correct local-generator answers flagged (drafts from `python -m bench.verifier
drafts --generator local`), and HaluEval dialogue AUROC. One model, one encoder cache:
only the first setting pays for encoding.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import service.verify.support_model as support
from bench.verifier import halueval_pairs, measure, perturbation_cases, perturbation_suite
from service.evaluation.metrics import contains_reference
from service.generation.citations import resolve_citations
from service.records import Passage
from service.verify.verifier import verify_text

RULES = ("calendar_conflict", "_names_absent", "_words_absent")
ROOT = Path(__file__).resolve().parents[1]


def _flagged(model: support.SupportModel, drafts: list[dict[str, Any]]) -> int:
    flagged = 0
    for d in drafts:
        passages = [Passage.model_validate(p) for p in d["passages"]]
        cited = resolve_citations(d["draft"], passages, renumber=False)
        flagged += bool(verify_text(cited.text, passages, model, "mark").unsupported)
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=Path, required=True)
    parser.add_argument("--n", type=int, default=300, help="HaluEval dialogue pairs")
    args = parser.parse_args()
    model = support.SupportModel()
    cases = perturbation_cases(ROOT / "eval" / "datasets" / "news.jsonl",
                               ROOT / "indexes" / "news" / "docs")
    drafts = [d for d in map(json.loads, args.drafts.read_text().splitlines())
              if not d["abstained"] and contains_reference(d["draft"], d["reference"])]
    dialogue = halueval_pairs("dialogue", args.n)
    kept: dict[str, Callable[..., bool]] = {n: getattr(support, n) for n in RULES}
    for off in (None, *RULES, "all"):
        for name, rule in kept.items():
            setattr(support, name, (lambda *_: False) if off in (name, "all") else rule)
        suite = perturbation_suite({"support": model}, cases)
        print(json.dumps({
            "rule_off": off, "errors_caught": suite["support"]["errors_caught"],
            "errors": suite["errors"], "faithful_passed": suite["support"]["faithful_passed"],
            "correct_flagged": _flagged(model, drafts), "correct": len(drafts),
            "dialogue_auroc": measure(model, dialogue)["auroc"]}), flush=True)


if __name__ == "__main__":
    main()
