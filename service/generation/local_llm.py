"""The bundled GGUF model as a ChatLLM, run in a supervised process of its own.

llama.cpp is native code: one fault in it (an instruction this CPU cannot run, the AMX
path on some virtualised Sapphire Rapids hosts) kills the process that loaded it. So the
model lives in a child process (model_host.py) and this class is its supervisor:

- a request to a dead or failing model raises LLMUnavailable, which the generators turn
  into the labelled extractive fallback: the server, its other requests and the
  in-process ingestion worker never go down with the model;
- a model that dies is started again at once, in the background, so the next question
  gets the model once it is back; a model that keeps dying (RAG_LOCAL_RESTART_LIMIT
  times within RAG_LOCAL_RESTART_WINDOW_S) is left down for that window;
- every start runs the self-test (one tiny generation) before a question reaches it, and
  /readyz, `rag serve` and `rag models prepare` report what it said;
- a timeout stops the generation in the child, or kills a child that no longer answers.

RAG_LOCAL_ISOLATION=none keeps the model in this process (measured against the isolated
one in bench/latency.py; a native fault then takes the process down).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import closing, contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar

from service.config import Settings
from service.errors import LLMUnavailable, ModelNotInstalled
from service.generation.chat import Completion, Message
from service.generation.llama_engine import LlamaEngine, LlamaOptions, system_info
from service.generation.model_process import ModelProcess, ModelProcessDied

#: How long a cancelled generation may take to stop before its process is killed.
CANCEL_GRACE_S = 5.0
UNUSABLE = "local model unusable on this CPU"


class LocalLLM:
    _instances: ClassVar[dict[tuple[Path, LlamaOptions, bool], LocalLLM]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()
    #: Model processes that died in this server process, for /metrics.
    deaths_total: ClassVar[int] = 0

    def __init__(self, path: Path, options: LlamaOptions, timeout_s: float,
                 temperature: float, *, isolated: bool = True, restart_limit: int = 3,
                 restart_window_s: float = 300.0) -> None:
        if find_spec("llama_cpp") is None:
            raise ModelNotInstalled("llama-cpp-python is not installed; run `make setup` or "
                                    "choose RAG_GENERATOR=extractive / openai")
        self.name = f"local:{path.name}"
        self._path, self._options = path, options
        self._timeout_s, self._temperature = timeout_s, temperature
        self._isolated = isolated
        self._restart_limit, self._restart_window_s = restart_limit, restart_window_s
        self._lock = threading.Lock()  # one generation at a time
        self._process: ModelProcess | None = None
        self._engine: LlamaEngine | None = None
        self._deaths: deque[float] = deque()
        #: Why the model cannot answer now (None: it can).
        self.down: str | None = None
        #: What the last successful start reported (load and self-test times, CPU features).
        self.info: dict[str, Any] = {}
        #: Saved system-prompt states restored so far (prefix_cache.py).
        self.prefix_restores = 0
        with self._lock:
            self._start()

    @classmethod
    def shared(cls, settings: Settings) -> LocalLLM:
        """One model per server process and file (loading maps 0.5-1 GB)."""
        from service.models import require_gguf

        path = require_gguf(settings, settings.local_model)
        options = LlamaOptions.from_settings(settings)
        isolated = settings.local_isolation == "process"
        key = (path.resolve(), options, isolated)
        with cls._instances_lock:
            if key not in cls._instances:
                cls._instances[key] = cls(
                    path, options, settings.llm_timeout_s, settings.llm_temperature,
                    isolated=isolated, restart_limit=settings.local_restart_limit,
                    restart_window_s=settings.local_restart_window_s)
            return cls._instances[key]

    # --- ChatLLM ---------------------------------------------------------------------

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str | Completion]:
        parts: list[str] = []
        prompt_tokens = completion_tokens = 0
        request = {"op": "generate", "messages": messages, "max_tokens": max_tokens,
                   "temperature": self._temperature}
        # closing(): a consumer that stops early stops the model now, not whenever the
        # garbage collector gets to the abandoned generator.
        with self._held(), closing(self._events(request)) as events:
            for event in events:
                if event["event"] == "prompt":
                    prompt_tokens = int(event["tokens"])
                elif event["event"] == "text":
                    parts.append(event["delta"])
                    yield event["delta"]
                elif event["event"] == "done":
                    completion_tokens = int(event["completion_tokens"])
                    self.prefix_restores = int(event["prefix_restores"])
        yield Completion("".join(parts), prompt_tokens, completion_tokens)

    def complete(self, messages: list[Message], max_tokens: int) -> Completion:
        *_, completion = self.stream(messages, max_tokens)
        assert isinstance(completion, Completion)
        return completion

    def ping(self) -> str:
        if self.down:
            raise LLMUnavailable(self.down)
        if self._isolated and (self._process is None or not self._process.alive()):
            raise LLMUnavailable("the local model process is not running; it starts again "
                                 "on the next question")
        cpu = self.info.get("cpu", "")
        return f"{self.name} ({'process ' + str(self.pid) if self._isolated else 'in process'}" \
               f"{', ' + cpu if cpu else ''})"

    # --- for the LLM judge, readiness and tests ------------------------------------------

    def first_token_probabilities(self, messages: list[Message],
                                  answers: dict[str, tuple[str, ...]]) -> dict[str, float]:
        """P(the reply starts with one of its spellings) for each answer (llama_engine.py)."""
        spelled = {name: list(spellings) for name, spellings in answers.items()}
        with self._held():
            if self._engine is not None:
                return self._engine.first_token_probabilities(messages, spelled)
            events = self._events({"op": "probs", "messages": messages, "answers": spelled})
            with closing(events):
                return {k: float(v) for k, v in next(events)["probs"].items()}

    def busy(self) -> bool:
        """Whether a generation holds the model right now."""
        return self._lock.locked()

    @property
    def pid(self) -> int | None:
        """The model process's id (None in process or while it is down)."""
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                self._process.kill()
                self._process = None
            self.down = "closed"

    # --- supervision -------------------------------------------------------------------

    def _start(self) -> None:
        """Start the model (under the lock); on failure record why in `down`."""
        try:
            if self._isolated:
                self._process = ModelProcess.start(self._path, self._options,
                                                   max(self._timeout_s, 300.0))
                self.info = dict(self._process.info)
            else:
                t0 = time.perf_counter()
                self._engine = LlamaEngine(self._path, self._options)
                self._engine.self_test()
                self.info = {"load_ms": round((time.perf_counter() - t0) * 1000),
                             "system_info": system_info()}
        except ModelProcessDied as exc:
            self._died(exc, starting=True)
            return
        except LLMUnavailable as exc:
            self.down = f"local model could not be started: {exc}"
            return
        self.info["cpu"] = _features(str(self.info.get("system_info", "")))
        self.down = None

    def _died(self, exc: ModelProcessDied, starting: bool = False) -> None:
        """Record a death; start again in the background unless it keeps dying."""
        LocalLLM.deaths_total += 1
        self._process = None
        now = time.monotonic()
        self._deaths.append(now)
        while self._deaths and now - self._deaths[0] > self._restart_window_s:
            self._deaths.popleft()
        reason = f"{UNUSABLE}: {exc}" if exc.fault and starting else str(exc)
        if exc.fault and starting:
            reason += (" (llama.cpp may have been built for another CPU: `make setup` "
                       "rebuilds it portably; docs/deploy.md)")
        if len(self._deaths) >= self._restart_limit:
            self.down = (f"{reason}; it died {len(self._deaths)} times within "
                         f"{self._restart_window_s:.0f}s, so it is left down until "
                         f"{self._restart_window_s:.0f}s after the first of them")
            return
        self.down = f"{reason}; restarting"
        if not starting:
            threading.Thread(target=self._restart, name="local-model-restart",
                             daemon=True).start()

    def _restart(self) -> None:
        with self._lock:
            if self._process is None and self._engine is None:
                self._start()

    def _ready(self) -> None:
        """Under the lock: a running model, started now if it is not and may be."""
        if self._engine is not None or (self._process is not None and self._process.alive()):
            return
        now = time.monotonic()
        if self._deaths and len(self._deaths) >= self._restart_limit and (
                now - self._deaths[0] <= self._restart_window_s):
            raise LLMUnavailable(self.down or UNUSABLE)
        self._start()
        if self.down:
            raise LLMUnavailable(self.down)

    @contextmanager
    def _held(self) -> Iterator[None]:
        """The model for one request. Waiting is bounded: a generation left unfinished
        (a stream its client dropped and nobody closed) must not hang every later
        question; they get LLMUnavailable, and so the labelled extractive answer."""
        if not self._lock.acquire(timeout=self._timeout_s):
            raise LLMUnavailable(
                f"the local model is busy: another answer has held it for over "
                f"{self._timeout_s:.0f}s (RAG_LLM_TIMEOUT_S)")
        try:
            self._ready()
            yield
        finally:
            self._lock.release()

    def _events(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The request's events up to its last, within RAG_LLM_TIMEOUT_S (under the lock)."""
        if self._engine is not None:
            yield from _in_process(self._engine, request, self._timeout_s)
            return
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self._timeout_s
        finished = False
        try:
            process.send(request)
            while True:
                event = process.next_event(max(0.0, deadline - time.monotonic()))
                if event["event"] == "error":
                    finished = True
                    raise LLMUnavailable(str(event["message"]))
                finished = event["event"] in ("done", "probs", "cancelled")
                yield event
                if finished:
                    return
        except ModelProcessDied as exc:
            finished = True
            self._died(exc)
            raise
        except TimeoutError as exc:
            raise _timed_out(self._timeout_s) from exc
        finally:
            if not finished:
                self._stop(process)

    def _stop(self, process: ModelProcess) -> None:
        """Stop a generation nobody reads any more; kill the process if it will not."""
        try:
            process.send({"op": "cancel"})
            deadline = time.monotonic() + CANCEL_GRACE_S
            while process.next_event(max(0.0, deadline - time.monotonic()))["event"] not in (
                    "done", "cancelled", "error", "probs"):
                pass
        except (LLMUnavailable, TimeoutError):
            LocalLLM.deaths_total += 1
            process.kill()
            self._process = None
            self.down = "the local model stopped answering; restarting"
            threading.Thread(target=self._restart, name="local-model-restart",
                             daemon=True).start()


def _in_process(engine: LlamaEngine, request: dict[str, Any],
                timeout_s: float) -> Iterator[dict[str, Any]]:
    """The same events as the model process sends, from an engine in this process."""
    deadline = time.monotonic() + timeout_s
    with closing(engine.generate(request["messages"], request["max_tokens"],
                                 request["temperature"])) as events:
        for event in events:
            yield event
            if event["event"] == "text" and time.monotonic() > deadline:
                raise _timed_out(timeout_s)


def _timed_out(timeout_s: float) -> LLMUnavailable:
    return LLMUnavailable(f"local model timed out after {timeout_s:.0f}s (raise "
                          "RAG_LLM_TIMEOUT_S or lower RAG_LLM_MAX_TOKENS)")


def _features(system_info: str) -> str:
    """The instruction sets a build uses, from llama.cpp's system info ("AVX2 FMA F16C")."""
    used = re.findall(r"\b([A-Z][A-Z0-9_]+) = 1\b", system_info)
    return " ".join(f for f in used if f.startswith(("AVX", "AMX", "FMA", "F16C", "SSE")))
