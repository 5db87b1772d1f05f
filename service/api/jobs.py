"""Background ingestion jobs: one worker thread per process, so runs never overlap here
(the index lock also refuses a concurrent run from another process)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from service.config import Settings
from service.errors import NotFound, RagError
from service.index.config import load_index_config
from service.ingest.pipeline import ingest

JobStatus = Literal["queued", "running", "succeeded", "failed"]


@dataclass
class Job:
    job_id: str
    index: str
    reason: str
    status: JobStatus = "queued"
    created: float = field(default_factory=time.time)
    finished: float | None = None
    report: dict[str, Any] | None = None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return {"id": self.job_id, "object": "ingest.job", "index": self.index,
                "reason": self.reason, "status": self.status, "created": int(self.created),
                "finished": int(self.finished) if self.finished else None,
                "report": self.report, "error": self.error}


class JobRunner:
    def __init__(self, settings: Settings, keep: int = 200) -> None:
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, index: str, reason: str) -> Job:
        job = Job(job_id=f"job-{uuid.uuid4().hex[:16]}", index=index, reason=reason)
        with self._lock:
            self._jobs[job.job_id] = job
            for old in list(self._jobs)[: max(len(self._jobs) - self._keep, 0)]:
                del self._jobs[old]
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            if job_id not in self._jobs:
                raise NotFound(f"no job {job_id!r} on this server (jobs live in the process "
                               "that accepted the upload)")
            return self._jobs[job_id]

    def _run(self, job: Job) -> None:
        job.status = "running"
        try:
            config = load_index_config(self._settings, job.index)
            report = ingest(config, self._settings, show_progress=False)
            job.report = {
                "generation": report.generation, "added": report.added,
                "updated": report.updated, "deleted": report.deleted,
                "unchanged": report.unchanged, "chunks_embedded": report.chunks_embedded,
                "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
                "seconds": round(report.seconds, 3),
            }
            job.status = "succeeded"
        except RagError as exc:
            job.error, job.status = str(exc), "failed"
        except Exception as exc:  # a job must end in a state, whatever happened
            job.error, job.status = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            job.finished = time.time()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
