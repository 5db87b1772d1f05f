"""The API's handle on ingestion: the state store, the parse worker processes and, when
RAG_INPROCESS_WORKER is on (the single-machine default), a background ingest worker in
this process (service/state/ingest_worker.py); otherwise `rag worker` processes run the
jobs this replica queues.

Jobs live in the state store, so their ids resolve on every replica sharing it and after
a restart; an in-process worker starts with the server and first takes up what a crash
left."""

from __future__ import annotations

from service.config import Settings
from service.ingest.sandbox import DocumentParser
from service.state.db import StateStore
from service.state.ingest_worker import IngestWorker
from service.state.jobs import JobRecord


class JobRunner:
    def __init__(self, settings: Settings, state: StateStore) -> None:
        self.state = state
        self.parser = DocumentParser(settings.parse_budget_s, settings.parse_workers,
                                     settings.parse_memory_mb)
        self.worker = IngestWorker(settings, self.state, self.parser.parse)
        self.jobs = self.worker.jobs
        self.provenance = self.worker.provenance
        self.inprocess = settings.inprocess_worker
        if self.inprocess:
            self.worker.start()

    def submit_upload(self, index: str, files: list[tuple[str, bytes]],
                      api_key: str | None) -> JobRecord:
        """Durably queue an upload: when this returns, a crash no longer loses it."""
        job = self.jobs.create(index, "upload", f"upload of {len(files)} file(s)",
                               files=files, api_key=api_key)
        self.worker.wake()
        return job

    def submit_delete(self, index: str, doc_id: str, api_key: str | None) -> JobRecord:
        job = self.jobs.create(index, "delete", f"delete of {doc_id}", api_key=api_key,
                               target=doc_id)
        self.worker.wake()
        return job

    def get(self, job_id: str) -> JobRecord:
        return self.jobs.get(job_id)

    def shutdown(self) -> None:
        self.worker.stop()
        self.parser.close()
