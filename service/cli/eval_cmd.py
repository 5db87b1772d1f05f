"""`rag eval run | compare`: offline evaluation of the answering pipeline."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, get_args

from service.config import Settings
from service.evaluation.dataset import ItemType, load_dataset
from service.evaluation.report import check_gate, compare, load_report, write_report
from service.evaluation.runner import run_eval
from service.generation.backends import GENERATORS
from service.pipeline import Pipeline
from service.verify.backends import JUDGES

CALIBRATION_DIR = Path("eval") / "calibration"


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="evaluate answers offline against a golden dataset")
    esub = p.add_subparsers(dest="eval_command", required=True, metavar="ACTION")
    run = esub.add_parser(
        "run", help="answer every question of a dataset and score the answers",
        description="Runs the real pipeline over the dataset and scores retrieval (hit@k, "
        "recall@k, MRR against gold documents and quotes), correctness (normalised match, "
        "token F1), citation recall/precision and faithfulness (by the judge), abstention "
        "and attribution. Writes report.json, report.md, metrics.png and latency.png.")
    run.add_argument("--dataset", type=Path, default=Path("eval/datasets/news.jsonl"))
    run.add_argument("--index", help="index to ask (default: RAG_INDEX)")
    run.add_argument("--generator", choices=GENERATORS.names(),
                     help="default: RAG_GENERATOR")
    run.add_argument("--judge", choices=JUDGES.names(), default="lexical")
    run.add_argument("--out", type=Path, help="report folder (default eval/reports/<time>)")
    run.add_argument("--limit", type=int, help="only the first N questions")
    run.add_argument("--type", action="append", dest="types", choices=get_args(ItemType),
                     help="only questions of this type (repeatable)")
    run.add_argument("--perspectives", action="store_true",
                     help="ask for each source's account side by side (rag ask --perspectives)")
    run.add_argument("--gate", action="store_true",
                     help="exit 1 when a metric misses eval/thresholds.toml")
    run.add_argument("--thresholds", type=Path, default=Path("eval/thresholds.toml"))
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=run_run)

    _register_calibrate(esub)

    hal = esub.add_parser(
        "halueval", help="public benchmark: HaluEval QA with all 10,000 passages as haystack",
        description="Builds (once; incremental after) the `halueval` index from every "
        "HaluEval QA passage, asks N of its questions and reports retrieval hit@1/5/10 "
        "against each question's own passage, answer correctness against the right answer "
        "(normalised match, token F1), latency and tokens.")
    hal.add_argument("--n", type=int, default=500)
    hal.add_argument("--generator", choices=GENERATORS.names(),
                     default="extractive")
    hal.add_argument("--out", type=Path, help="also write the JSON result here")
    hal.add_argument("--quiet", action="store_true")
    hal.set_defaults(handler=run_halueval)

    cmp_ = esub.add_parser("compare", help="metric deltas between two runs (B - A)")
    cmp_.add_argument("a", type=Path, help="report folder or report.json")
    cmp_.add_argument("b", type=Path)
    cmp_.set_defaults(handler=run_compare)


def _register_calibrate(esub: Any) -> None:
    cal = esub.add_parser(
        "calibrate", help="measure a judge on labelled pairs (HaluEval QA or your own)",
        description="Scores N (passage, answer) pairs from HaluEval QA's held-out records — "
        "half right answers (supported), half hallucinated (not) — and reports accuracy, "
        "balanced accuracy and AUROC; saved to eval/calibration/<judge>.json, which every "
        "later report quotes. With --data, scores your own labelled pairs instead (JSONL, "
        'one {"claim", "evidence", "label": 0|1} a line; a claim of several sentences is '
        "scored by its least-supported sentence) and saves nothing.")
    cal.add_argument("--judge", choices=JUDGES.names(),
                     help="default: the answer-time verifier (RAG_VERIFIER); combined is the "
                     "support head and the cross-encoder together (docs/verifier.md)")
    cal.add_argument("--n", type=int, default=500, help="HaluEval pairs (default 500)")
    cal.add_argument("--data", type=Path, metavar="FILE.jsonl",
                     help="your own labelled pairs instead of HaluEval")
    cal.add_argument("--json", action="store_true",
                     help="print one JSON object (auroc, balanced_accuracy, n, ...)")
    cal.add_argument("--quiet", action="store_true")
    cal.set_defaults(handler=run_calibrate)


def run_run(args: argparse.Namespace, settings: Settings) -> int:
    items = [item for item in load_dataset(args.dataset)
             if not args.types or item.type in args.types][: args.limit or None]
    index = args.index or settings.index
    generator = args.generator or settings.generator
    judge = JUDGES.get(args.judge)(settings.model_copy(update={"generator": generator}))
    run = run_eval(items, Pipeline(settings), index, generator, judge, show_progress=not args.quiet,
                   perspectives=args.perspectives)
    calibration_file = CALIBRATION_DIR / f"{args.judge}.json"
    run["config"] = {
        "dataset": str(args.dataset), "index": index, "generator": generator,
        "judge": judge.name, "judge_threshold": judge.threshold,
        "types": args.types, "perspectives": args.perspectives,
        "judge_calibration": json.loads(calibration_file.read_text())
        if calibration_file.is_file() else None,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    out = args.out or Path("eval/reports") / time.strftime("%Y%m%d-%H%M%S")
    write_report(run, out)
    width = max(len(k) for k in run["metrics"])
    for key, value in run["metrics"].items():
        print(f"{key:<{width}}  {value}")
    calibration = run["config"]["judge_calibration"]
    print(f"judge {judge.name}: " + (
        f"balanced accuracy {calibration['balanced_accuracy']}, AUROC {calibration['auroc']} "
        f"on {calibration['n']} HaluEval pairs" if calibration
        else "not calibrated (rag eval calibrate)"))
    print(f"report: {out}/report.md")
    if args.gate:
        failures = check_gate(run["metrics"], args.thresholds, generator)
        for line in failures:
            print(f"rag: gate: {line}", file=sys.stderr)
        if failures:
            return 1
        print("gate: all thresholds met")
    return 0


def run_compare(args: argparse.Namespace, settings: Settings) -> int:
    a, b = load_report(args.a), load_report(args.b)
    rows = compare(a, b)
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'A':>10}  {'B':>10}  {'B - A':>10}")
    for key, va, vb, delta in rows:
        fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
        print(f"{key:<{width}}  {fmt(va):>10}  {fmt(vb):>10}  {fmt(delta):>10}")
    return 0


def run_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from service.evaluation.calibration import as_text, calibrate_pairs, load_pairs
    from service.evaluation.halueval import calibrate

    show = not (args.quiet or args.json)
    args.judge = args.judge or settings.verifier
    if args.data:
        pairs = load_pairs(args.data)
        result = calibrate_pairs(JUDGES.get(args.judge)(settings), pairs, show_progress=show)
    else:
        result = calibrate(JUDGES.get(args.judge)(settings), args.n, show_progress=show)
        CALIBRATION_DIR.mkdir(parents=True, exist_ok=True)
        (CALIBRATION_DIR / f"{args.judge}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result) if args.json else as_text(result))
    return 0


def run_halueval(args: argparse.Namespace, settings: Settings) -> int:
    from service.evaluation.halueval import benchmark

    result = benchmark(settings, args.n, args.generator, show_progress=not args.quiet)
    text = json.dumps(result)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0
