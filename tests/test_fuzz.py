"""Schemathesis fuzzes a real `rag serve` (extractive generator, API keys on) from the
app's own OpenAPI schema: schema-valid and schema-breaking requests to every operation
(its coverage and fuzzing phases). Checks on every response: no 5xx (Schemathesis'
`not_a_server_error`), an X-Request-ID, and errors in OpenAI's shape
(tests/fuzz/checks.py).

The bounded run here is part of `make test`. `make fuzz` runs the long one (more
examples per operation, a fresh seed each time): FUZZ_EXAMPLES, FUZZ_SEED and
FUZZ_MAX_TIME set them here too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, Server, build_news_copy, rag_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KEY = "fuzz-key"
CHECKS = "not_a_server_error,request_id_on_every_response,errors_in_openai_shape"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("fuzz")
    env = rag_env(build_news_copy(base), RAG_GENERATOR="extractive", RAG_API_KEYS=KEY,
                  RAG_MAX_UPLOAD_BYTES="200000")
    srv = Server(env, base / "server.log").wait_ready()
    yield srv
    srv.stop()


def run_schemathesis(server: Server, report_dir: Path) -> subprocess.CompletedProcess[str]:
    examples = os.environ.get("FUZZ_EXAMPLES", "25")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(ROOT / "tests" / "fuzz" / "schemathesis.toml"),
        "run", f"{server.url}/openapi.json", "-H", f"Authorization: Bearer {KEY}",
        "--checks", CHECKS, "--max-examples", examples, "--workers", "1",
        "--phases", "examples,coverage,fuzzing", "--request-timeout", "60",
        "--report", "json", "--report-dir", str(report_dir),
        "--max-time", os.environ.get("FUZZ_MAX_TIME", "90")]
    if seed := os.environ.get("FUZZ_SEED", "" if os.environ.get("FUZZ_EXAMPLES") else "12"):
        command += ["--seed", seed]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.checks", "PYTHONPATH": str(ROOT),
           "NO_COLOR": "1"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=int(os.environ.get("FUZZ_MAX_TIME", "90")) + 120)


def test_fuzzing_the_openapi_schema_finds_no_5xx(server: Server, tmp_path: Path) -> None:
    result = run_schemathesis(server, tmp_path)
    summary = result.stdout[result.stdout.find("SUMMARY"):]
    reports = list(tmp_path.glob("json-*.json"))
    assert reports, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(reports[0].read_text())
    assert report["failures"] == [] and report["errors"] == [], summary
    assert result.returncode == 0, summary
    assert report["operations"]["tested"] == report["operations"]["total"] >= 9
    assert report["test_cases"]["generated"] >= 300
    statuses = Counter(re.findall(r'"status": (\d{3})', server.log()))
    assert not [s for s in statuses if s.startswith("5")], statuses
    print(f"\nfuzz: {report['test_cases']['generated']} test cases over "
          f"{report['operations']['tested']} operations in {report['running_time']:.0f}s "
          f"(seed {report['seed']}); "
          f"responses by status: {dict(sorted(statuses.items()))}")
