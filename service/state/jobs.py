"""Ingestion jobs as a queue in the state store.

A job is committed, with the bytes of its files, before the API answers 202. Workers
`claim` the oldest claimable job with a lease they renew while it runs; a job whose worker
died (its lease ran out) is claimed again, so a `kill -9` loses no accepted upload.

A claim reads the oldest claimable row `FOR UPDATE SKIP LOCKED` (PostgreSQL: concurrent
claimers each get a different job and never wait on each other) and sets its lease with a
compare-and-set UPDATE. On SQLite the transaction starts with BEGIN IMMEDIATE, so claims
run one after another (service/state/db.py) and the same code is safe.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, delete, insert, or_, select, update

from service.errors import NotFound
from service.state.db import StateStore
from service.state.schema import ingest_job_files, ingest_jobs

JobStatus = Literal["queued", "running", "succeeded", "failed"]
JobKind = Literal["upload", "delete"]
#: A job claimed this many times without finishing is failed (it may kill its worker).
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    index: str
    kind: JobKind
    reason: str
    status: JobStatus
    created: float
    finished: float | None
    attempts: int
    api_key: str | None
    target: str | None
    report: dict[str, Any] | None
    error: str | None

    def public(self) -> dict[str, Any]:
        """The job as GET /v1/jobs/{id} shows it."""
        return {"id": self.job_id, "object": "ingest.job", "index": self.index,
                "reason": self.reason, "status": self.status, "created": int(self.created),
                "finished": int(self.finished) if self.finished else None,
                "report": self.report, "error": self.error}


def _record(row: Any) -> JobRecord:
    return JobRecord(
        job_id=row.job_id, index=row.index_name, kind=row.kind, reason=row.reason,
        status=row.status, created=row.created_at, finished=row.finished_at,
        attempts=row.attempts, api_key=row.api_key, target=row.target,
        report=json.loads(row.report) if row.report else None, error=row.error)


class JobStore:
    def __init__(self, state: StateStore) -> None:
        self._engine = state.engine

    def create(self, index: str, kind: JobKind, reason: str, *,
               files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
               api_key: str | None = None, target: str | None = None) -> JobRecord:
        """Record a queued job and its files in one transaction."""
        job_id = f"job-{uuid.uuid4().hex[:16]}"
        with self._engine.begin() as db:
            db.execute(insert(ingest_jobs).values(
                job_id=job_id, index_name=index, kind=kind, reason=reason, status="queued",
                api_key=api_key, target=target, created_at=time.time(), attempts=0))
            if files:
                db.execute(insert(ingest_job_files), [
                    {"job_id": job_id, "name": name, "data": data,
                     "sha256": hashlib.sha256(data).hexdigest()} for name, data in files])
        return self.get(job_id)

    def get(self, job_id: str) -> JobRecord:
        with self._engine.connect() as db:
            row = db.execute(select(ingest_jobs).where(ingest_jobs.c.job_id == job_id)).first()
        if row is None:
            raise NotFound(f"no ingestion job {job_id!r}")
        return _record(row)

    def files(self, job_id: str) -> list[tuple[str, bytes]]:
        with self._engine.connect() as db:
            rows = db.execute(select(ingest_job_files.c.name, ingest_job_files.c.data)
                              .where(ingest_job_files.c.job_id == job_id)
                              .order_by(ingest_job_files.c.name)).all()
        return [(r.name, r.data) for r in rows]

    def claim(self, owner: str, lease_s: float) -> JobRecord | None:
        """The oldest job ready to run (queued, or running under an expired lease), now
        leased to `owner`; None when there is none."""
        now = time.time()
        claimable = or_(
            and_(ingest_jobs.c.status == "queued",
                 or_(ingest_jobs.c.lease_until.is_(None), ingest_jobs.c.lease_until < now)),
            and_(ingest_jobs.c.status == "running", ingest_jobs.c.lease_until < now))
        with self._engine.begin() as db:
            job_id = db.execute(select(ingest_jobs.c.job_id).where(claimable)
                                .order_by(ingest_jobs.c.created_at).limit(1)
                                .with_for_update(skip_locked=True)).scalar()
            if job_id is None or not db.execute(update(ingest_jobs).where(
                    ingest_jobs.c.job_id == job_id, claimable).values(
                    status="running", lease_owner=owner, lease_until=now + lease_s,
                    attempts=ingest_jobs.c.attempts + 1)).rowcount:
                return None
        job = self.get(job_id)
        if job.attempts > MAX_ATTEMPTS:
            self.finish(job_id, owner, error=f"gave up after {MAX_ATTEMPTS} attempts (the "
                        "worker running it stopped each time)")
            return self.claim(owner, lease_s)
        return job

    def renew(self, job_id: str, owner: str, lease_s: float) -> bool:
        """Extend the lease; False when the job is no longer this owner's."""
        return self._set(job_id, owner, lease_until=time.time() + lease_s)

    def release(self, job_id: str, owner: str, delay_s: float) -> bool:
        """Put a claimed job back in the queue (e.g. its index is busy), not before delay_s."""
        return self._set(job_id, owner, status="queued", lease_owner=None,
                         lease_until=time.time() + delay_s,
                         attempts=ingest_jobs.c.attempts - 1)

    def finish(self, job_id: str, owner: str, *, report: dict[str, Any] | None = None,
               error: str | None = None) -> bool:
        """Mark the job succeeded (report) or failed (error), and drop its file bytes."""
        with self._engine.begin() as db:
            done = db.execute(update(ingest_jobs).where(
                ingest_jobs.c.job_id == job_id, ingest_jobs.c.lease_owner == owner).values(
                status="failed" if error else "succeeded", finished_at=time.time(),
                report=json.dumps(report) if report is not None else None, error=error,
                lease_until=None)).rowcount
            if done:
                db.execute(delete(ingest_job_files).where(ingest_job_files.c.job_id == job_id))
        return bool(done)

    def _set(self, job_id: str, owner: str, **values: Any) -> bool:
        with self._engine.begin() as db:
            return bool(db.execute(update(ingest_jobs).where(
                ingest_jobs.c.job_id == job_id, ingest_jobs.c.lease_owner == owner,
                ingest_jobs.c.status == "running").values(**values)).rowcount)
