"""Frames over a pipe between the server and a worker process it started (the parse
sandbox, the model process).

A frame is an 8-byte big-endian length and that many bytes: UTF-8 JSON (`send`,
`receive`) or raw bytes (`send_bytes`, `receive_bytes`: a file's contents). JSON, not
pickle: a worker that a hostile input (a file, a prompt) subverted cannot make the server
run code by what it sends back. Raw file descriptors, not buffered streams, so `select`
tells the truth about what has arrived.

    send(fd, {"op": "ping"})
    reply = receive(fd, timeout_s=5)      # TimeoutError if nothing began to arrive
"""

from __future__ import annotations

import json
import os
import select
import struct
import sys
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct("!Q")
#: Larger than any frame the workers exchange (a file is at most 500 MB before it is
#: refused); a corrupt length is an error, not an allocation of 2**64 bytes.
MAX_FRAME = 1 << 31


def send(fd: int, message: Any, default: Callable[[Any], Any] | None = None) -> None:
    """`message` as a JSON frame; `default` as json.dumps takes it."""
    send_bytes(fd, json.dumps(message, ensure_ascii=False, default=default).encode())


def send_bytes(fd: int, data: bytes) -> None:
    for part in (_HEADER.pack(len(data)), data):  # not joined: data may be a large file
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view):]


def claim_stdout() -> int:
    """In a worker: a descriptor for its replies, the stdout its server reads, with fd 1
    and `sys.stdout` pointed at stderr, so that no print, Python's or a native library's,
    can corrupt a reply."""
    replies = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return replies


def readable(fd: int, timeout_s: float | None) -> bool:
    """Whether a frame (or end of file) has begun to arrive within `timeout_s`."""
    ready, _, _ = select.select([fd], [], [], timeout_s)
    return bool(ready)


def receive(fd: int, timeout_s: float | None = None) -> Any:
    """The next JSON frame; EOFError when the other side closed its end (or died),
    TimeoutError when nothing began to arrive within `timeout_s` (None: wait)."""
    return json.loads(receive_bytes(fd, timeout_s))


def receive_bytes(fd: int, timeout_s: float | None = None) -> bytes:
    """The next frame's bytes, as `receive`."""
    if timeout_s is not None and not readable(fd, timeout_s):
        raise TimeoutError(f"no reply within {timeout_s:g}s")
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    if size > MAX_FRAME:
        raise EOFError(f"frame of {size} bytes: the pipe is out of step")
    return _read_exactly(fd, size)


def _read_exactly(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the other process closed its pipe")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)
