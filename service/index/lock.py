"""One writer per index: an exclusive, non-blocking lock file held for a whole ingest run.

The kernel drops an flock when its process dies, so a killed run never leaves a stale
lock behind. The file lock is per machine: writers on several hosts (a shared Chroma
server) take the state store's lock instead (`StateStore.index_lock`, a PostgreSQL
advisory lock), handed to `ingest` as an `IndexLock`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from service.errors import IndexBusy
from service.index.config import IndexConfig

#: Holds an index's write lock for a `with` block; raises IndexBusy when another has it.
IndexLock = Callable[[IndexConfig], AbstractContextManager[None]]


def file_lock(config: IndexConfig) -> AbstractContextManager[None]:
    """The per-host lock: a file in the index's store folder."""
    return index_write_lock(config.store_dir, config.name)


@contextmanager
def index_write_lock(store_dir: Path, index_name: str) -> Iterator[None]:
    store_dir.mkdir(parents=True, exist_ok=True)
    path = store_dir / "ingest.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IndexBusy(
                f"index {index_name!r} is being ingested by {holder}; wait for it to finish"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock from a lock's name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
