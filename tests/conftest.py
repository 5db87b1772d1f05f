"""Shared fixtures: real small indexes in temp dirs, built with the real embedder and Chroma."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import service  # noqa: F401  (sets the offline tokenizer caches)
from service.config import Settings
from service.generation.chat import Completion
from service.generation.generators import LLMGenerator
from service.index.config import load_index_config
from service.ingest.pipeline import ingest
from service.pipeline import Pipeline
from service.pipeline.resources import Resources
from service.records import Answer, AskRequest

ROOT = Path(__file__).resolve().parents[1]
NEWS_DOCS = ROOT / "indexes" / "news" / "docs"
MODELS_DIR = ROOT / "models"

INDEX_TOML = """description = "test index"
[sources]
paths = ["docs"]
encoding = "utf-8"
[chunking]
chunk_tokens = {chunk_tokens}
overlap_tokens = {overlap_tokens}
[embedder]
name = "minilm"
"""


#: Fixtures that start servers or subprocesses: a test using one (directly or through
#: another fixture) is in the e2e tier.
E2E_FIXTURES = frozenset({"run_rag", "server", "openai_server", "chroma_server",
                          "llama_server", "slack_api"})
#: Tiers that may start processes; everything else is a unit test.
PROCESS_TIERS = ("e2e", "llm", "browser", "postgres", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if E2E_FIXTURES & fixtures:
            item.add_marker(pytest.mark.e2e)
        if "postgres_server" in fixtures:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def _unit_tests_start_no_processes(request: pytest.FixtureRequest,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps the tiers honest: `make test-fast` runs the unit tier, which must not start
    servers or subprocesses. A test that does belongs in the e2e tier (mark it)."""
    if any(request.node.get_closest_marker(tier) for tier in PROCESS_TIERS):
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{request.node.nodeid} starts a process: mark it "
                           "@pytest.mark.e2e (or llm/browser/postgres)")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One PostgreSQL server for the session (tests/postgres.py); tests take a fresh
    database each with `postgres_server.new_database()`."""
    from tests.postgres import PostgresServer

    server = PostgresServer(free_port())
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The state store on each backend: an SQLite file (unit tier) and a fresh database on
    the session's PostgreSQL server (postgres tier)."""
    from service.state.db import StateStore

    if request.param == "postgres":
        url = request.getfixturevalue("postgres_server").new_database()
    else:
        url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    store = StateStore(url)
    yield store
    store.close()


@dataclass(frozen=True)
class Backend:
    """A retrieval backend as tests select it: Settings fields and the same as RAG_ env."""

    name: str
    fields: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        return {f"RAG_{k.upper()}": v for k, v in self.fields.items()}


def _backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_server").new_database()
        return Backend("postgres", {"retrieval_backend": "postgres", "database_url": url})
    return Backend("chroma", {})


BACKENDS = ["chroma", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each retrieval backend (service/index/backends.py): the embedded Chroma + FTS5
    store (unit tier) and PostgreSQL with pgvector, a fresh database on the session's
    server (postgres tier). The same tests must pass on both."""
    return _backend(request)


@pytest.fixture(scope="module", params=BACKENDS)
def module_backend(request: pytest.FixtureRequest) -> Backend:
    return _backend(request)


def make_settings(indexes_dir: Path, **overrides: object) -> Settings:
    return Settings(indexes_dir=indexes_dir, models_dir=MODELS_DIR, _env_file=None,
                    **overrides)  # type: ignore[call-arg]


def write_index(indexes_dir: Path, name: str, docs: dict[str, str | bytes],
                chunk_tokens: int = 180, overlap_tokens: int = 30) -> Path:
    directory = indexes_dir / name
    (directory / "docs").mkdir(parents=True, exist_ok=True)
    (directory / "index.toml").write_text(
        INDEX_TOML.format(chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens))
    for rel, content in docs.items():
        path = directory / "docs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


@pytest.fixture
def indexes_dir(tmp_path: Path) -> Path:
    path = tmp_path / "indexes"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def news_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the real `news` index, built once per test session."""
    return build_news(tmp_path_factory, Backend("chroma", {}))


def build_news(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Settings:
    indexes_dir = tmp_path_factory.mktemp("news") / "indexes"
    shutil.copytree(ROOT / "indexes" / "news", indexes_dir / "news",
                    ignore=shutil.ignore_patterns("store"))
    settings = make_settings(indexes_dir, generator="extractive", **backend.fields)
    ingest(load_index_config(settings, "news"), settings, show_progress=False)
    return settings


def rag_env(indexes_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    env.update({"RAG_INDEXES_DIR": str(indexes_dir), "RAG_MODELS_DIR": str(MODELS_DIR),
                "PYTHONUNBUFFERED": "1", **extra})
    return env


RunRag = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_rag() -> RunRag:
    """Run the real `rag` console entry point in a subprocess."""

    def run(*args: str, env: dict[str, str],
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "service.cli.main", *args], env=env,
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)

    return run


def bundled_gguf(name: str) -> Path:
    from service.models import gguf_path

    path = gguf_path(make_settings(Path("indexes")), name)
    if not path.is_file():
        pytest.fail(f"{path} missing: run `make setup` (rag models prepare)")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real `rag serve` (uvicorn) subprocess on 127.0.0.1."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli.main", "serve", "--port", str(self.port)],
            env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, seconds: float = 120) -> Server:
        import time

        import httpx

        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rag serve exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"rag serve not ready: {self.log_path.read_text()[-3000:]}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def wait_job(server: Server, job_id: str, seconds: float = 120) -> dict[str, Any]:
    """The ingestion job once it has succeeded or failed."""
    import time

    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        job = httpx.get(f"{server.url}/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def build_news_copy(base: Path, run: RunRag | None = None, **env: str) -> Path:
    """A fresh copy of the news index under base/indexes, built by a `rag ingest` process."""
    indexes_dir = base / "indexes"
    shutil.copytree(ROOT / "indexes" / "news", indexes_dir / "news",
                    ignore=shutil.ignore_patterns("store"))
    result = subprocess.run([sys.executable, "-m", "service.cli.main", "ingest", "--quiet"],
                            env=rag_env(indexes_dir, **env), cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return indexes_dir


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    """Wait until `url` answers below 500; fail with the server's log if it dies first."""
    import time

    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail(f"{url} not ready after {seconds}s: {log.read_text()[-2000:]}")


# --- answering-pipeline seams and stand-ins --------------------------------------------

def ask(pipeline: Pipeline, question: str, **fields: Any) -> Answer:
    """`pipeline.ask` with the request's fields as keywords."""
    return pipeline.ask(AskRequest(question=question, **fields))


def passage_number(messages: list[dict[str, str]], needle: str) -> int:
    """The number of the first passage in a generator prompt that contains `needle`."""
    blocks = re.findall(r"^\[(\d+)\] Source: .*\n(.*)$", messages[-1]["content"], re.M)
    return next(int(n) for n, text in blocks if needle in text)


class ScriptedLLM:
    """A ChatLLM stand-in for an LLM whose reply matters to a test: `reply(messages)`
    writes its first answer (it can read the passages it was given); later calls go to
    `then` (a real model) when given, else to `reply` again."""

    name = "scripted"

    def __init__(self, reply: Callable[[list[dict[str, str]]], str],
                 then: Any = None) -> None:
        self._reply = reply
        self._then = then
        self.calls: list[list[dict[str, str]]] = []

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> Completion:
        self.calls.append(messages)
        if self._then is not None and len(self.calls) > 1:
            return self._then.complete(messages, max_tokens)
        return Completion(self._reply(messages), prompt_tokens=100, completion_tokens=20)

    def stream(self, messages: list[dict[str, str]],
               max_tokens: int) -> Iterator[str | Completion]:
        completion = self.complete(messages, max_tokens)
        yield completion.text
        yield completion  # usage last, as the local and OpenAI backends send it

    def ping(self) -> str:
        return self.name


def pipeline_with_llm(settings: Settings, llm: Any, name: str = "openai",
                      prompt_budget: int = 0, **overrides: Any) -> Pipeline:
    """A pipeline whose generator `name` is an LLMGenerator over `llm` (reading whole
    passages unless given a `prompt_budget`)."""
    settings = settings.model_copy(update={"generator": name, **overrides})
    generator = LLMGenerator(name, llm, settings.llm_max_tokens, prompt_budget)
    return Pipeline(settings, Resources(settings, generators={name: generator}))
