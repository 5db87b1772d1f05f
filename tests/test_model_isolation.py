"""The local model runs in a supervised process of its own (service/generation/local_llm.py):
a native fault in llama.cpp becomes an answer's labelled fallback, never the death of the
server, the CLI or the other requests in flight, and the model comes back."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.errors import LLMUnavailable
from service.generation.generators import ExtractiveGenerator, FallbackGenerator, LLMGenerator
from service.generation.llama_engine import LlamaOptions
from service.generation.local_llm import UNUSABLE, LocalLLM
from service.generation.model_process import ModelProcess
from tests.conftest import (
    ROOT,
    Server,
    ask,
    build_news_copy,
    bundled_gguf,
    pipeline_with_llm,
    rag_env,
)

TEST_MODEL = "qwen2.5-coder-0.5b"
MEDINSKY_Q = "Who headed the Russian delegation at the Istanbul talks?"
LONG = [{"role": "user", "content": "Count from one to fifty in words, one per line."}]


def _model_process(parent: int, seconds: float = 120) -> int:
    """The pid of `parent`'s model process, once it exists."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent and (
                    b"service.generation.model_host" in cmdline):
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError(f"no model process under pid {parent}")


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _segfault_once_busy(pid: int, ticks: int = 10, seconds: float = 120) -> None:
    """SIGSEGV to the model process once it has worked `ticks` more clock ticks than now:
    it is then in the middle of a request."""
    start = _cpu_ticks(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _cpu_ticks(pid) >= start + ticks:
            os.kill(pid, signal.SIGSEGV)
            return
        time.sleep(0.01)
    raise AssertionError("the model process never got to work")


@pytest.fixture
def llm() -> LocalLLM:
    model = LocalLLM(bundled_gguf(TEST_MODEL), LlamaOptions(context_tokens=2048), 60.0, 0.0)
    yield model
    model.close()


@pytest.mark.llm
def test_a_model_process_killed_mid_stream_is_an_error_and_comes_back(llm: LocalLLM) -> None:
    assert llm.down is None and llm.info["test_ms"] >= 0
    first, deaths = llm.pid, LocalLLM.deaths_total
    stream = llm.stream(LONG, 200)
    assert isinstance(next(stream), str)  # generating
    os.kill(first, signal.SIGSEGV)
    with pytest.raises(LLMUnavailable, match="SIGSEGV"):
        list(stream)
    assert LocalLLM.deaths_total == deaths + 1
    # restarted in the background: the next request waits for it, then gets the model
    assert llm.complete(LONG, 4).completion_tokens > 0
    assert llm.pid not in (None, first) and llm.down is None


@pytest.mark.llm
def test_an_answer_whose_model_dies_is_the_labelled_fallback(
        llm: LocalLLM, news_settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = pipeline_with_llm(news_settings, llm, name="local", prompt_budget=300)
    killer = threading.Thread(target=_segfault_once_busy, args=(llm.pid,))
    killer.start()
    answer = ask(pipeline, MEDINSKY_Q, generator="local")
    killer.join()
    assert answer.fallback and "SIGSEGV" in answer.fallback
    assert answer.citations and "Medinsky" in answer.answer  # the extractive answer
    again = ask(pipeline, MEDINSKY_Q, generator="local")
    assert again.fallback is None and again.generator == "local"


@pytest.mark.e2e
def test_a_model_that_faults_in_its_self_test_is_reported_unusable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for a llama.cpp build this CPU cannot run: it reads the load request
    and dies of SIGSEGV, as the AMX build did on its first forward pass."""
    monkeypatch.setattr(ModelProcess, "command", (sys.executable, "-c", (
        "import os, signal, sys; sys.stdin.buffer.read(8); "
        "os.kill(os.getpid(), signal.SIGSEGV)")))
    deaths = LocalLLM.deaths_total
    model = LocalLLM(bundled_gguf(TEST_MODEL), LlamaOptions(), 30.0, 0.0, restart_limit=2)
    assert model.down and model.down.startswith(f"{UNUSABLE}: ")
    assert "SIGSEGV" in model.down and "self-test" in model.down
    generator = FallbackGenerator(LLMGenerator("local", model, 64), ExtractiveGenerator(0.3))
    ok, detail = generator.ready()  # what /readyz reports
    assert not ok and detail.startswith(UNUSABLE)
    with pytest.raises(LLMUnavailable, match="SIGSEGV"):
        model.complete(LONG, 4)  # tried once more: the second death
    with pytest.raises(LLMUnavailable, match="left down"):
        model.complete(LONG, 4)  # past the limit: no third start
    assert LocalLLM.deaths_total == deaths + 2


@pytest.mark.llm
def test_the_server_keeps_serving_when_its_model_process_dies(tmp_path: Path) -> None:
    indexes_dir = build_news_copy(tmp_path)
    server = Server(rag_env(indexes_dir, RAG_GENERATOR="local", RAG_LOCAL_MODEL=TEST_MODEL),
                    tmp_path / "serve.log").wait_ready()
    try:
        deadline = time.monotonic() + 120
        while httpx.get(f"{server.url}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.3)
        first = _model_process(server.proc.pid)
        killer = threading.Thread(target=_segfault_once_busy, args=(first,))
        killer.start()
        reply = httpx.post(f"{server.url}/v1/ask", json={"question": MEDINSKY_Q},
                           timeout=120)
        killer.join()
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert "SIGSEGV" in (body["fallback"] or "") and body["citations"]
        assert server.proc.poll() is None  # the server lives
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        assert "rag_local_model_deaths_total 1.0" in metrics
        assert 'outcome="fallback"} 1.0' in metrics
        # the model comes back: /readyz turns ready again and the next answer is its own
        deadline = time.monotonic() + 120
        while httpx.get(f"{server.url}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.3)
        assert _model_process(server.proc.pid) != first
        body = httpx.post(f"{server.url}/v1/ask", json={"question": MEDINSKY_Q},
                          timeout=120).json()
        assert body["generator"] == "local" and body["fallback"] is None
    finally:
        server.stop()


@pytest.mark.llm
def test_the_cli_answers_when_its_model_process_dies(
        tmp_path: Path) -> None:
    import subprocess

    indexes_dir = build_news_copy(tmp_path)
    cli = subprocess.Popen(
        [sys.executable, "-m", "service.cli.main", "ask", MEDINSKY_Q, "--json",
         "--generator", "local"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=rag_env(indexes_dir, RAG_LOCAL_MODEL=TEST_MODEL), text=True)
    _segfault_once_busy(_model_process(cli.pid))
    out, err = cli.communicate(timeout=300)
    assert cli.returncode == 0, err  # not 139
    answer = json.loads(out)
    assert answer["citations"] and "Medinsky" in answer["answer"]
    # Killed while generating: the labelled fallback. Killed in its start-up self-test
    # (the CLI starts the model just before it asks): started again, and it answered.
    assert ("SIGSEGV" in (answer["fallback"] or "")) or (
        answer["generator"] == "local" and answer["fallback"] is None), answer


@pytest.mark.llm
@pytest.mark.parametrize("when", ["loading", "answering"])
def test_a_model_process_does_not_outlive_its_server(when: str) -> None:
    """A server killed outright (no chance to close its model), while its model loads or
    while it answers, leaves no model process behind holding a GB of memory and both
    cores: gone within 3 s (loading the 1.5B model and its self-test take longer)."""
    import subprocess

    start = (f"m = ModelProcess.start(Path({str(bundled_gguf('qwen2.5-coder-1.5b'))!r}), "
             "LlamaOptions(), 300); m.send({'op': 'generate', 'messages': [{'role': 'user', "
             "'content': 'Count to 500 in words.'}], 'max_tokens': 2000, 'temperature': 0}); "
             "m.next_event(60)") if when == "answering" else (
             "import subprocess; from service import pipes; m = subprocess.Popen("
             "[*ModelProcess.command, str(os.getpid())], stdin=subprocess.PIPE, "
             "stdout=subprocess.PIPE); pipes.send(m.stdin.fileno(), {'op': 'load', 'path': "
             f"{str(bundled_gguf('qwen2.5-coder-1.5b'))!r}, 'options': LlamaOptions().as_dict()"
             "}); import time; time.sleep(1.5)")
    script = ("import os; from pathlib import Path; "
              "from service.generation.llama_engine import LlamaOptions; "
              "from service.generation.model_process import ModelProcess; "
              f"{start}; print(m.pid, flush=True); os.kill(os.getpid(), 9)")
    # stderr not captured: the model process inherits it, and run() would wait for it
    server = subprocess.run([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, timeout=300)
    model = int(server.stdout.split()[0])
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{model}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return  # gone
        if state == "Z":
            return  # exited, not yet reaped by init
        time.sleep(0.1)
    os.kill(model, signal.SIGKILL)
    raise AssertionError(f"the model process outlived its server ({when})")
