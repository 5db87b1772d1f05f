"""Run ingestion jobs from the state store, one job at a time.
(It sits with the store, above the ingest pipeline it runs, as the layers require.)

`rag worker` runs one in the foreground; `rag serve` runs one in a background thread when
RAG_INPROCESS_WORKER is on (the single-machine default). A worker claims the oldest ready
job (service/state/jobs.py), keeps the job's files in the store for good (provenance and
bytes), lays out the index's upload folder from the store (so a worker on any host sees
every uploaded document, and none that was deleted), runs the ordinary incremental
`ingest` under the store's index lock, and renews its lease while that runs. A job whose
worker died is claimed again once its lease expires: nothing accepted is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import BadRequest, IndexBusy, RagError
from service.index.config import IndexConfig, load_index_config
from service.ingest.load import SIDECAR_SUFFIX
from service.ingest.parse import parse_document
from service.ingest.pipeline import IngestReport, Parser, ingest
from service.records import Provenance
from service.state.db import StateStore
from service.state.jobs import JobRecord, JobStore
from service.state.provenance import ProvenanceStore

log = logging.getLogger("service.ingest.worker")
#: Uploaded files are readable by the operator's other tools (backups, `rag ingest`).
UPLOAD_MODE = 0o644
_BUSY_RETRY_S = 2.0


def upload_dir(config: IndexConfig) -> Path:
    """The index's first source folder: where uploads land, beside the bundled files."""
    roots = [p for p in config.source_paths() if not p.suffix]
    if not roots:
        raise BadRequest(f"index {config.name!r} has no source folder to upload into")
    return roots[0]


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write beside the target under a hidden name, then rename: an ingest running now
    never reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, UPLOAD_MODE)
    os.replace(tmp, path)


def report_dict(report: IngestReport) -> dict[str, Any]:
    return {"generation": report.generation, "added": report.added,
            "updated": report.updated, "deleted": report.deleted,
            "unchanged": report.unchanged, "chunks_embedded": report.chunks_embedded,
            "skipped": [s.public() for s in report.skipped],
            "types": {kind: dict(counts) for kind, counts in sorted(report.types.items())},
            "seconds": round(report.seconds, 3)}


class IngestWorker:
    def __init__(self, settings: Settings, state: StateStore,
                 parser: Parser = parse_document) -> None:
        self._settings = settings
        self._state = state
        self.jobs = JobStore(state)
        self.provenance = ProvenanceStore(state)
        self._parser = parser
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="ingest-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        poll_s = min(2.0, self._settings.job_lease_s / 3)
        while not self._stop.is_set():
            try:
                worked = self.run_one()
            except Exception:  # the loop must survive a broken store for a moment
                log.exception("ingest worker: claiming a job failed")
                worked = False
            if not worked:
                self._wake.wait(poll_s)
                self._wake.clear()

    def run_one(self) -> bool:
        """Claim and run one job; False when none was ready."""
        job = self.jobs.claim(self.owner, self._settings.job_lease_s)
        if job is None:
            return False
        stop_renewing = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(job.job_id, stop_renewing),
                                   daemon=True, name="ingest-lease")
        renewer.start()
        try:
            report = self._execute(job)
        except IndexBusy:  # another process is ingesting this index: try again shortly
            self.jobs.release(job.job_id, self.owner, _BUSY_RETRY_S)
            return True
        except RagError as exc:
            self.jobs.finish(job.job_id, self.owner, error=str(exc))
            return True
        except Exception as exc:  # a job must end in a state, whatever happened
            log.exception("ingest job %s failed", job.job_id)
            self.jobs.finish(job.job_id, self.owner, error=f"{type(exc).__name__}: {exc}")
            return True
        finally:
            stop_renewing.set()
        self.jobs.finish(job.job_id, self.owner, report=report_dict(report))
        log.info("ingest job %s done: %s", job.job_id, report_dict(report))
        return True

    def run_forever(self) -> None:
        """The worker loop in this thread, until `stop()`."""
        self._loop()

    def _renew(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(self._settings.job_lease_s / 3):
            self.jobs.renew(job_id, self.owner, self._settings.job_lease_s)

    def _execute(self, job: JobRecord) -> IngestReport:
        config = load_index_config(self._settings, job.index)
        if job.kind == "upload":
            self._keep(job)
        elif job.kind == "delete" and job.target:
            path = upload_dir(config) / job.target
            path.with_name(path.name + SIDECAR_SUFFIX).unlink(missing_ok=True)
            self.provenance.forget(job.index, job.target)
        self.provenance.sync_folder(job.index, upload_dir(config), write_file_atomically)
        if self._settings.worker_job_delay_s:  # a testing aid (docs/configuration.md)
            time.sleep(self._settings.worker_job_delay_s)
        return ingest(config, self._settings, show_progress=False, parser=self._parser,
                      provenance=self.provenance.for_index(job.index),
                      lock=self._state.index_lock)

    def _keep(self, job: JobRecord) -> None:
        """The job's files and their provenance, kept in the store for good."""
        files = self.jobs.files(job.job_id)
        self.provenance.keep_files(job.index, files)
        added = dt.datetime.fromtimestamp(job.created, dt.UTC).isoformat(timespec="seconds")
        self.provenance.record(job.index, [name for name, _ in files], Provenance(
            origin="uploaded", api_key=job.api_key, job_id=job.job_id, added_at=added))
