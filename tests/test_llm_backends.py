"""The `openai` generator against a real llama.cpp OpenAI-compatible server, and the
`local` generator in process, both running the bundled 0.5B test model."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from service.config import Settings
from service.errors import LLMUnavailable
from service.generation.condense import condense_question
from service.generation.local_llm import LlamaOptions, LocalLLM
from service.generation.messages import answer_messages
from service.generation.openai_llm import OpenAILLM
from service.generation.prompts import prompt
from service.models import gguf_path
from service.pipeline import AskRequest, Pipeline
from service.records import Answer, Turn
from tests.conftest import ask, bundled_gguf, wait_http
from tests.test_answer import MEDINSKY_Q, assert_citations_consistent

pytestmark = pytest.mark.llm
TEST_MODEL = "qwen2.5-coder-0.5b"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    # The server logs a lot; a pipe nobody reads would fill up and stall it.
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    log = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.generation.llama_server", "--model",
         str(bundled_gguf(TEST_MODEL)),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
         "--model_alias", "test-model"],
        stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_http(f"{base}/models", proc, log_path, 180)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def openai_settings(news_settings: Settings, llama_server: str) -> Settings:
    return news_settings.model_copy(update={
        "generator": "openai", "openai_base_url": llama_server, "openai_api_key": "test",
        "llm_model": "test-model", "llm_max_retries": 0, "llm_timeout_s": 120.0})


def test_openai_generator_gives_a_cited_answer_from_the_real_server(
        openai_settings: Settings) -> None:
    answer = ask(Pipeline(openai_settings), MEDINSKY_Q)
    assert answer.generator == "openai" and answer.fallback is None
    assert answer.usage["prompt_tokens"] > 100 and answer.usage["completion_tokens"] > 0
    assert not answer.abstained, answer.answer
    assert "Medinsky" in answer.answer
    assert any("Medinsky" in c.text for c in answer.citations)
    assert_citations_consistent(answer, openai_settings)


def test_openai_generator_output_never_shows_a_dangling_marker(
        openai_settings: Settings) -> None:
    service = Pipeline(openai_settings)
    for question in ("How many drones did Russian air defense shoot down from May 20 to May 27?",
                     "What did Zelensky call the Russian memorandum?"):
        answer = ask(service, question)
        assert_citations_consistent(answer, openai_settings)
        for marker in re.findall(r"\[(\d+)\]", answer.answer):
            assert 1 <= int(marker) <= len(answer.citations)


def test_follow_up_is_rewritten_by_the_llm(openai_settings: Settings) -> None:
    llm = OpenAILLM(openai_settings)
    history = [Turn(role="user", content=MEDINSKY_Q),
               Turn(role="assistant", content="Medinsky headed the Russian delegation [1].")]
    rewritten, tokens = condense_question("what did he confirm?", history, llm, 6)
    assert tokens > 0
    assert rewritten != "what did he confirm?"
    assert "medinsky" in rewritten.lower()


def test_server_error_status_falls_back_to_extractive(openai_settings: Settings) -> None:
    settings = openai_settings.model_copy(update={
        "openai_base_url": openai_settings.openai_base_url.replace("/v1", "/nope")})
    answer = ask(Pipeline(settings), MEDINSKY_Q)
    assert answer.generator == "extractive" and answer.fallback
    assert "404" in answer.fallback


def test_local_generator_runs_the_bundled_model_in_process(news_settings: Settings) -> None:
    bundled_gguf(TEST_MODEL)
    settings = news_settings.model_copy(update={
        "generator": "local", "local_model": TEST_MODEL, "llm_timeout_s": 120.0})
    answer = ask(Pipeline(settings), MEDINSKY_Q)
    assert answer.generator == "local" and answer.fallback is None
    assert answer.usage["completion_tokens"] > 0
    assert not answer.abstained, answer.answer
    assert "Medinsky" in answer.answer
    assert_citations_consistent(answer, settings)
    streamed = next(e for e in Pipeline(settings).stream(AskRequest(question=MEDINSKY_Q))
                    if isinstance(e, Answer))
    assert streamed.usage["prompt_tokens"] == answer.usage["prompt_tokens"] > 0


def test_default_local_model_answers_the_demo_question(news_settings: Settings) -> None:
    """The 1.5B model `make run` uses: the answer names Medinsky and cites his passage.
    Its first answer names the Ukrainian delegation's head, which its passage contradicts;
    the second look (the question read before the passages too) answers right."""
    bundled_gguf("qwen2.5-coder-1.5b")
    settings = news_settings.model_copy(update={"generator": "local", "llm_timeout_s": 180.0})
    answer = ask(Pipeline(settings), MEDINSKY_Q)
    assert answer.generator == "local" and not answer.abstained, answer.answer
    assert "Medinsky" in answer.answer
    medinsky = [c for c in answer.citations if "Medinsky" in c.text]
    assert medinsky and f"[{medinsky[0].marker}]" in answer.answer
    assert_citations_consistent(answer, settings)
    assert [c.verdict for c in answer.verification] == ["supported"], answer.verification
    # ... reading the prompt budget's evidence, not the whole windows (on each reading).
    given = sum(len(p.text) for p in answer.passages)
    assert given < 0.6 * sum(len(p.text) for p in answer.retrieved)
    readings = 2 if answer.revised else 1
    assert answer.usage["prompt_tokens"] < readings * (settings.local_prompt_tokens + 200)


def test_an_answer_after_another_system_prompt_restores_the_kept_prefix(
        news_settings: Settings) -> None:
    """A condense call in between does not cost the next answer its system prompt, and
    the restored state answers exactly as a fresh one."""
    bundled_gguf(TEST_MODEL)
    settings = news_settings.model_copy(update={"local_model": TEST_MODEL})
    llm = LocalLLM.shared(settings)
    retrieval = Pipeline(settings).resources.retriever("news").retrieve(MEDINSKY_Q)
    messages = answer_messages(MEDINSKY_Q, retrieval.passages[:2])
    first = llm.complete(messages, 24)
    llm.complete([{"role": "system", "content": prompt("condense_system")},
                  {"role": "user", "content": "Last message: and the other one?"}], 8)
    assert llm.prefix_restores == 0
    again = llm.complete(messages, 24)
    assert llm.prefix_restores == 1
    assert again.text == first.text and again.prompt_tokens == first.prompt_tokens


@pytest.mark.llm
def test_llm_judge_reads_p_yes_from_an_openai_compatible_endpoint(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """logprobs need llama.cpp's logits_all, so this server gets a small context."""
    from service.verify.llm_judge import LLMJudge

    port = _free_port()
    log_path = tmp_path_factory.mktemp("judge") / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.generation.llama_server", "--model",
             str(bundled_gguf(TEST_MODEL)), "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", "1024", "--logits_all", "true", "--model_alias", "judge"],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}/v1"
            wait_http(f"{base}/models", proc, log_path, 180)
            settings = Settings(openai_base_url=base, openai_api_key="x", llm_model="judge")
            judge = LLMJudge(settings, "openai")
            evidence = "The head of the Russian delegation, Medinsky, confirmed the position."
            supported = judge.score("Medinsky headed the Russian delegation.", evidence)
            assert 0.0 < supported < 1.0 and supported != 0.5  # real P(Yes), not the default
            assert judge.score("Medinsky headed the Russian delegation.", evidence) == (
                pytest.approx(supported, abs=1e-3))  # deterministic
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_a_stream_left_open_does_not_hang_the_next_question(news_settings: Settings) -> None:
    """A client that drops a stream nobody closes leaves the model held: the next caller
    waits at most RAG_LLM_TIMEOUT_S, then gets LLMUnavailable (so the extractive answer),
    instead of hanging for ever."""
    bundled_gguf(TEST_MODEL)
    settings = news_settings.model_copy(update={"local_model": TEST_MODEL})
    llm = LocalLLM(gguf_path(settings, TEST_MODEL), LlamaOptions.from_settings(settings),
                   timeout_s=120.0, temperature=0.0)
    messages = [{"role": "user", "content": "Say yes."}]
    abandoned = llm.stream(messages, 4)
    next(abandoned)  # started: the model is held, and the stream is never read again
    # The wait under test is short; loading the model and the other answers are not
    # (on a loaded machine the first token alone can take over a second).
    llm._timeout_s = 1.0
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="busy"):
        llm.complete(messages, 4)
    assert time.monotonic() - started < 10
    llm._timeout_s = 120.0
    abandoned.close()
    assert llm.complete(messages, 4).completion_tokens > 0  # free again once closed
