"""The server's handle on one model process (model_host.py): start it, wait for its
self-test, send requests, read its events, and say how it died when it does.

    process = ModelProcess.start(path, options, load_timeout_s=300)   # ModelProcessDied
    process.send({"op": "generate", ...})
    event = process.next_event(timeout_s=5)    # ModelProcessDied, TimeoutError
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from service import pipes
from service.errors import LLMUnavailable
from service.generation.llama_engine import LlamaOptions

#: Signals of a native fault: the build asked this CPU for something it cannot do.
FAULTS = {signal.SIGSEGV, signal.SIGILL, signal.SIGBUS, signal.SIGFPE, signal.SIGABRT}


class ModelProcessDied(LLMUnavailable):
    """The model process ended; `fault` when a native fault (signal) killed it."""

    def __init__(self, message: str, fault: bool) -> None:
        super().__init__(message)
        self.fault = fault


class ModelProcess:
    #: What runs the model (a test may put a stand-in that faults in its place).
    command: tuple[str, ...] = (sys.executable, "-m", "service.generation.model_host")

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._requests = process.stdin.fileno()  # type: ignore[union-attr]
        self._replies = process.stdout.fileno()  # type: ignore[union-attr]
        self.info: dict[str, Any] = {}

    @classmethod
    def start(cls, path: Path, options: LlamaOptions, load_timeout_s: float) -> ModelProcess:
        """A loaded model that passed its self-test. Raises ModelProcessDied (it died
        loading or testing: `fault` says whether natively) or LLMUnavailable."""
        process = cls(subprocess.Popen([*cls.command, str(os.getpid())],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        try:
            process.send({"op": "load", "path": str(path), "options": options.as_dict()})
            reply = process.next_event(load_timeout_s, during="its start-up self-test")
        except TimeoutError as exc:
            process.kill()
            raise LLMUnavailable(f"local model did not load within {load_timeout_s:.0f}s") \
                from exc
        except ModelProcessDied:
            process.kill()
            raise
        if reply.get("event") != "ready":
            process.kill()
            raise LLMUnavailable(str(reply.get("message", reply)))
        process.info = reply
        return process

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def send(self, message: dict[str, Any]) -> None:
        try:
            pipes.send(self._requests, message)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise self._died("a request") from exc

    def next_event(self, timeout_s: float | None,
                   during: str = "a generation") -> dict[str, Any]:
        """The next event; TimeoutError if none began within `timeout_s`."""
        try:
            return pipes.receive(self._replies, timeout_s)
        except EOFError as exc:
            raise self._died(during) from exc

    def kill(self) -> None:
        if self.alive():
            self._process.kill()
        self._process.wait(10)
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()

    def _died(self, during: str) -> ModelProcessDied:
        try:
            code = self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait(10)
        return ModelProcessDied(f"the local model process {describe_exit(code)} during "
                                f"{during}", fault=-code in FAULTS)


def describe_exit(code: int) -> str:
    """'was killed by SIGSEGV (Segmentation fault)' or 'exited with status 1'."""
    if code >= 0:
        return f"exited with status {code}"
    try:
        sig = signal.Signals(-code)
    except ValueError:
        return f"was killed by signal {-code}"
    return f"was killed by {sig.name} ({signal.strsignal(sig)})"
