"""Read documents in worker processes, each document within a time and memory budget.

Parsing is CPU work in Python and C (pypdf, lxml) that can hold the GIL for as long as a
hostile file makes it: run in the server's process, it stalls every request. Here each
document goes to a long-lived worker process (a fresh interpreter: it inherits no
threads or sockets of the server); a document that
takes longer than the budget gets its worker killed and replaced, and raises
`ParseBudgetExceeded`. Workers are plain `python -m service.ingest.sandbox` processes
speaking frames (service/pipes.py) over their stdin/stdout (multiprocessing's spawn would
re-import the server's __main__ in each). The worker's address space is capped, so a
decompression bomb ends
as `BadDocument`, not as the server's memory.

    parser = DocumentParser(budget_s=30, workers=1)
    parsed = parser.parse(Path("report.pdf"), data, "utf-8")   # blocking: call off the loop
    parser.close()
"""

from __future__ import annotations

import queue
import resource
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from service import pipes
from service.errors import BAD_DOCUMENT_KINDS, BadDocument, OverBudget, ParseBudgetExceeded
from service.ingest.parse import ParsedDocument, parse_document


def _parse_one(path: Path, data: bytes, encoding: str) -> dict[str, Any]:
    try:
        return asdict(parse_document(path, data, encoding))
    except BadDocument as exc:
        return {"bad": exc.reason, "kind": exc.kind}
    except MemoryError:
        return {"bad": "needs more memory than RAG_PARSE_MEMORY_MB allows",
                "kind": OverBudget.kind}
    except Exception as exc:  # a parser bug on a strange file is still a bad file
        return {"bad": f"unreadable ({type(exc).__name__}: {exc})"}


def serve(memory_bytes: int) -> None:
    """Worker process: a JSON frame {path, encoding} and a frame of file bytes in on stdin,
    a JSON frame (the ParsedDocument, or {"bad": reason}) out on stdout. JSON, not pickle,
    so a worker subverted by a hostile file cannot run code in the server."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    requests, replies = sys.stdin.fileno(), pipes.claim_stdout()
    while True:
        try:
            head, data = pipes.receive(requests), pipes.receive_bytes(requests)
        except EOFError:
            return  # the server went away
        reply = _parse_one(Path(head["path"]), data, head["encoding"])
        pipes.send(replies, reply, default=_flag_dict)


def _flag_dict(value: Any) -> Any:
    return value.model_dump()


def _parsed(reply: dict[str, Any], path: Path) -> ParsedDocument:
    if "bad" in reply:
        error = BAD_DOCUMENT_KINDS.get(str(reply.get("kind")), BadDocument)
        raise error(str(path), str(reply["bad"]))
    return ParsedDocument.from_dict(reply)


class _Worker:
    def __init__(self, memory_bytes: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.ingest.sandbox", str(memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.requests = self.process.stdin.fileno()  # type: ignore[union-attr]
        self.replies = self.process.stdout.fileno()  # type: ignore[union-attr]

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, path: Path, data: bytes, encoding: str,
            budget_s: float) -> dict[str, Any] | None:
        """The worker's reply, or None when none started within the budget."""
        pipes.send(self.requests, {"path": str(path), "encoding": encoding})
        pipes.send_bytes(self.requests, data)
        try:
            return pipes.receive(self.replies, budget_s)
        except TimeoutError:
            return None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class DocumentParser:
    """A pool of parse worker processes; `parse` is thread-safe and blocking."""

    def __init__(self, budget_s: float, workers: int = 1, memory_mb: int = 2048) -> None:
        if budget_s <= 0 or workers < 1:
            raise ValueError("budget_s must be > 0 and workers >= 1")
        self.budget_s = budget_s
        self._memory = memory_mb * 1024 * 1024
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(workers):
            self._idle.put(None)  # started on first use
        self._closed = threading.Event()

    def parse(self, path: Path, data: bytes, encoding: str = "utf-8") -> ParsedDocument:
        worker = self._idle.get()
        try:
            if worker is None or not worker.alive():
                worker = _Worker(self._memory)
            try:
                reply = worker.ask(path, data, encoding, self.budget_s)
            except (EOFError, OSError) as exc:
                worker.kill()
                worker = None
                raise OverBudget(str(path), "the parser stopped on it (memory limit "
                                 "RAG_PARSE_MEMORY_MB?)") from exc
            if reply is None:
                worker.kill()
                worker = None
                raise ParseBudgetExceeded(str(path), f"reading it took longer than "
                                          f"{self.budget_s:g} s (RAG_PARSE_BUDGET_S)")
        finally:
            if self._closed.is_set() and worker is not None:
                worker.kill()
                worker = None
            self._idle.put(worker)
        return _parsed(reply, path)

    def close(self) -> None:
        self._closed.set()
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
