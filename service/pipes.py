"""JSON frames over a pipe between the server and a worker process it started.

A frame is an 8-byte big-endian length and that many bytes of UTF-8 JSON. JSON, not
pickle: a worker that a hostile input (a file, a prompt) subverted cannot make the
server run code by what it sends back. Raw file descriptors, not buffered streams, so
`select` tells the truth about what has arrived.

    send(fd, {"op": "ping"})
    reply = receive(fd, timeout_s=5)      # TimeoutError if nothing began to arrive
"""

from __future__ import annotations

import json
import os
import select
import struct
from typing import Any

_HEADER = struct.Struct("!Q")
#: Larger than any message the workers exchange; a corrupt length is an error, not 2**64 B.
MAX_FRAME = 256 * 1024 * 1024


def send(fd: int, message: Any) -> None:
    data = json.dumps(message, ensure_ascii=False).encode()
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def readable(fd: int, timeout_s: float | None) -> bool:
    """Whether a frame (or end of file) has begun to arrive within `timeout_s`."""
    ready, _, _ = select.select([fd], [], [], timeout_s)
    return bool(ready)


def receive(fd: int, timeout_s: float | None = None) -> Any:
    """The next frame; EOFError when the other side closed its end (or died),
    TimeoutError when nothing began to arrive within `timeout_s` (None: wait)."""
    if timeout_s is not None and not readable(fd, timeout_s):
        raise TimeoutError(f"no reply within {timeout_s:g}s")
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    if size > MAX_FRAME:
        raise EOFError(f"frame of {size} bytes: the pipe is out of step")
    return json.loads(_read_exactly(fd, size))


def _read_exactly(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the other process closed its pipe")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)
