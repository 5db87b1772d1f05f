"""The model process: `python -m service.generation.model_host`, started and supervised by
local_llm.py. It loads the GGUF, proves it can generate (the start-up self-test), then
answers requests one at a time, as JSON frames (service/pipes.py) on stdin/stdout:

    in   {"op": "load", "path": P, "options": {...}}      once, first
    out  {"event": "ready", "load_ms", "test_ms", "system_info"} | {"event": "error", ...}
    in   {"op": "generate", "messages", "max_tokens", "temperature"}
    out  {"event": "prompt", "tokens"}, {"event": "text", "delta"}..., then
         {"event": "done", "completion_tokens", "prefix_restores"} | "cancelled" | "error"
    in   {"op": "cancel"}                                  while generating: stop now
    in   {"op": "probs", "messages", "answers"}  ->  {"event": "probs", "probs"}

A native fault kills this process only; the server sees its pipe close, answers with the
labelled extractive fallback and starts a new one.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from service import pipes
from service.errors import RagError
from service.generation.llama_engine import LlamaEngine, LlamaOptions, system_info


def _cancelled(requests: int) -> bool:
    """Whether the server asked to stop the generation in progress."""
    if not pipes.readable(requests, 0):
        return False
    try:
        message = pipes.receive(requests)
    except EOFError:
        return True  # the server went away: stop, the next read ends the loop
    return message.get("op") == "cancel"


def _generate(engine: LlamaEngine, request: dict[str, Any], requests: int,
              replies: int) -> None:
    steps = engine.generate(request["messages"], int(request["max_tokens"]),
                            float(request["temperature"]))
    try:
        for event in steps:
            pipes.send(replies, event)
            if event["event"] == "text" and _cancelled(requests):
                pipes.send(replies, {"event": "cancelled"})
                return
    finally:
        steps.close()


def serve(requests: int, replies: int) -> None:
    try:
        load = pipes.receive(requests)
    except EOFError:
        return  # the server went away before asking
    t0 = time.perf_counter()
    try:
        engine = LlamaEngine(Path(load["path"]), LlamaOptions(**load["options"]))
        t1 = time.perf_counter()
        engine.self_test()
    except RagError as exc:
        pipes.send(replies, {"event": "error", "message": str(exc)})
        return
    pipes.send(replies, {"event": "ready", "load_ms": round((t1 - t0) * 1000),
                         "test_ms": round((time.perf_counter() - t1) * 1000),
                         "system_info": system_info(), "pid": os.getpid()})
    while True:
        try:
            request = pipes.receive(requests)
        except EOFError:
            return  # the server went away
        try:
            if request["op"] == "generate":
                _generate(engine, request, requests, replies)
            elif request["op"] == "probs":
                pipes.send(replies, {"event": "probs", "probs": engine.first_token_probabilities(
                    request["messages"], request["answers"])})
            # a "cancel" that arrives after its generation finished has nothing to stop
        except RagError as exc:
            pipes.send(replies, {"event": "error", "message": str(exc)})


def _exit_with(parent: int) -> None:
    """End this process when the server that started it (`parent`, its pid as the server
    gave it: it may be gone before this line runs) is gone, even while loading the model
    or generating, when no request arrives that would tell it."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def main() -> None:
    faulthandler.enable()  # a native fault prints its Python stack to the server's log
    server = int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid()
    threading.Thread(target=_exit_with, args=(server,), name="server-watch",
                     daemon=True).start()
    serve(sys.stdin.fileno(), pipes.claim_stdout())


if __name__ == "__main__":
    main()
