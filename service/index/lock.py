"""One writer per index: an exclusive, non-blocking lock file held for a whole ingest run.

The kernel drops an flock when its process dies, so a killed run never leaves a stale
lock behind. The lock is per machine; with a shared Chroma server run ingestion from
one place (docs/deploy.md).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.errors import IndexBusy


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
