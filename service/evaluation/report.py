"""Reports (report.json, report.md, PNG charts), run comparison and the threshold gate."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from service.errors import BadRequest

CHART_METRICS = ("retrieval.doc_hit@5", "retrieval.quote_hit@5", "retrieval.mrr",
                 "correctness.normalised_match", "correctness.token_f1", "citations.recall",
                 "citations.precision", "faithfulness", "abstention.precision",
                 "abstention.recall", "attribution.rate")


def write_report(run: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md"]
    paths[0].write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(render_markdown(run))
    paths += _charts(run, out)
    return paths


def render_markdown(run: dict[str, Any]) -> str:
    cfg, m = run["config"], run["metrics"]
    lines = [f"# Evaluation: {cfg['dataset']} on index `{cfg['index']}`", "",
             f"generator `{cfg['generator']}`, judge `{cfg['judge']}` "
             f"(threshold {cfg['judge_threshold']}), {len(run['rows'])} questions, "
             f"{run['seconds']} s, {cfg['date']}", ""]
    calibration = cfg.get("judge_calibration")
    if calibration:
        lines += [f"Judge reliability (`rag eval calibrate`, n={calibration['n']} HaluEval "
                  f"pairs): accuracy {calibration['accuracy']:.3f}, balanced accuracy "
                  f"{calibration['balanced_accuracy']:.3f}, AUROC {calibration['auroc']:.3f}.",
                  ""]
    else:
        lines += ["Judge reliability: not calibrated (run `rag eval calibrate`).", ""]
    lines += ["| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in m.items()]
    failures = [r for r in run["rows"] if _failed(r)]
    lines += ["", f"## Questions to read ({len(failures)})", "",
              "Answerable but missed or abstained, unanswerable but answered, contested but "
              "not attributed, or with unsupported sentences.", ""]
    for r in failures:
        lines += [f"### {r['id']} ({r['type']}): {r['question']}", "",
                  f"- reference: {r['reference'] or '(unanswerable)'}",
                  f"- answer: {r['answer']}",
                  f"- retrieved: {', '.join(r['retrieved'])}", ""]
    return "\n".join(lines) + "\n"


def _failed(row: dict[str, Any]) -> bool:
    if row["type"] == "unanswerable":
        return not row["abstained"]
    if row["type"] == "contested" and not row.get("attributed"):
        return True
    unsupported = row.get("sentences", 0) > row.get("supported_sentences", 0)
    return not row.get("match") or unsupported


def _charts(run: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = run["metrics"]
    names = [k for k in CHART_METRICS if k in m]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.barh(names[::-1], [m[k] for k in names[::-1]], color="#3a6ea5")
    ax.set_xlim(0, 1)
    for y, k in enumerate(names[::-1]):
        ax.text(min(m[k] + 0.01, 0.93), y, f"{m[k]:.2f}", va="center", fontsize=8)
    ax.set_title(f"{run['config']['generator']} on {run['config']['index']}")
    fig.tight_layout()
    metrics_png = out / "metrics.png"
    fig.savefig(metrics_png, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    totals = [r["timings_ms"]["total"] for r in run["rows"]]
    ax.hist(totals, bins=20, color="#a5573a")
    ax.set_xlabel("answer latency (ms)")
    ax.set_ylabel("questions")
    ax.set_title("latency distribution")
    fig.tight_layout()
    latency_png = out / "latency.png"
    fig.savefig(latency_png, dpi=110)
    plt.close(fig)
    return [metrics_png, latency_png]


def load_report(path: Path) -> dict[str, Any]:
    file = path / "report.json" if path.is_dir() else path
    if not file.is_file():
        raise BadRequest(f"no report at {file}")
    return json.loads(file.read_text())


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, float | None,
                                                                  float | None, float | None]]:
    keys = list(dict.fromkeys([*a["metrics"], *b["metrics"]]))
    rows = []
    for k in keys:
        va, vb = a["metrics"].get(k), b["metrics"].get(k)
        rows.append((k, va, vb, round(vb - va, 4) if va is not None and vb is not None
                     else None))
    return rows


def check_gate(metrics: dict[str, float], thresholds_file: Path,
               generator: str) -> list[str]:
    """Failures as readable lines; [] when every threshold of the generator holds."""
    data = tomllib.loads(thresholds_file.read_text())
    section = data.get(generator)
    if section is None:
        raise BadRequest(f"{thresholds_file} has no [{generator}] thresholds")
    failures = []
    for key, minimum in section.get("min", {}).items():
        value = metrics.get(key)
        if value is None or value < minimum:
            failures.append(f"{key} = {value} < {minimum}")
    for key, maximum in section.get("max", {}).items():
        value = metrics.get(key)
        if value is None or value > maximum:
            failures.append(f"{key} = {value} > {maximum}")
    return failures
