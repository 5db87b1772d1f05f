"""Score (claim, evidence) pairs with the support head and the cross-encoder, cell by cell
(a claim against one evidence text, its best window), with the combination's inputs
(`service.verify.combined.features`), for fit_combiner.py. Runs in the service's
environment: onnxruntime only.

    python tools/train_verifier/score_pairs.py --data build/cross/dev.jsonl \
        --out build/combiner/dev-scores.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from service.generation.citations import lexical_support  # noqa: E402
from service.verify.combined import FEATURES, CombinedJudge, features, logit  # noqa: E402
from service.verify.cross_encoder import CrossEncoder  # noqa: E402
from service.verify.support_model import SupportModel  # noqa: E402
from service.verify.table import Cell, Evidence  # noqa: E402


def cells_of(judge: CombinedJudge, claim: str, evidence: str,
             question: str | None) -> dict[str, Cell]:
    """The head's cell and the cross-encoder's, read as the combined judge reads them."""
    args = ([claim], [Evidence(evidence)], [question], [(0, 0)])
    head = judge.head.cells(*args, {})
    return {"head": head[(0, 0)],
            "cross": judge.cross_cells(*args, head, {})[(0, 0)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="pairs (build_cross_data.py)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    judge = CombinedJudge(head=SupportModel(), cross=CrossEncoder(), fitted=False)
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")][:args.limit]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for row in tqdm(rows, desc="scoring pairs", unit="pair", file=sys.stderr):
            cells = cells_of(judge, row["claim"], row["evidence"], row.get("question"))
            f.write(json.dumps({**row, **{f"{name}_{key}": getattr(cell, key)
                                          for name, cell in cells.items()
                                          for key in ("score", "p_contradicted",
                                                      "contradicted")},
                                "features": FEATURES,
                                "x": features(cells["head"], logit(cells["cross"].score),
                                              row["claim"], lexical_support(
                                                  row["claim"], row["evidence"])).tolist()}
                               ) + "\n")


if __name__ == "__main__":
    main()
