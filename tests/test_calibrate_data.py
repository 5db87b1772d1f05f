"""`rag eval calibrate --data FILE.jsonl --json`: the real CLI on the user's own pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunRag, rag_env

EVIDENCE = ("The meeting took place in Istanbul on May 16. The Russian delegation was "
            "headed by Vladimir Medinsky. Both sides agreed to exchange 1,000 prisoners.")
PAIRS = [
    {"claim": "Medinsky headed the Russian delegation.", "evidence": EVIDENCE, "label": 1},
    {"claim": "The talks were held in Istanbul on May 16.", "evidence": EVIDENCE, "label": 1},
    {"claim": "They agreed to swap 1,000 prisoners. Medinsky led Russia's delegation.",
     "evidence": EVIDENCE, "label": 1},
    {"claim": "The meeting took place in Geneva on May 16.", "evidence": EVIDENCE, "label": 0},
    {"claim": "Both sides agreed to exchange 5,000 prisoners.", "evidence": EVIDENCE,
     "label": 0},
    # One supported sentence does not carry an unsupported one: scored by the weakest.
    {"claim": "Medinsky headed the delegation. The talks collapsed after an hour.",
     "evidence": EVIDENCE, "label": 0},
]


@pytest.mark.e2e
def test_calibrate_data_json(tmp_path: Path, run_rag: RunRag) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PAIRS))
    env = rag_env(tmp_path / "indexes", RAG_VERIFIER="support")
    done = run_rag("eval", "calibrate", "--data", str(data), "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # one JSON object, nothing else on stdout
    assert result["judge"] == "support"  # the answer-time verifier is the default
    assert result["n"] == len(PAIRS)
    assert result["auroc"] == 1.0
    assert result["balanced_accuracy"] == 1.0
    assert 0.0 <= result["ece"] <= 1.0


@pytest.mark.e2e
def test_calibrate_data_rejects_bad_lines(tmp_path: Path, run_rag: RunRag) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"claim": "x", "evidence": "y", "label": 2}\n')
    done = run_rag("eval", "calibrate", "--data", str(data), "--json",
                   env=rag_env(tmp_path / "indexes"))
    assert done.returncode != 0
    assert "pairs.jsonl:1" in done.stderr
