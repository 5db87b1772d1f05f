"""Uploaded documents: who added each one, and its bytes.

A document with no provenance row was found in the index's folder (bundled by the
operator). Ingest copies the row into the document record, so answers and the documents
API show it without asking this store. The bytes stay here for as long as the document is
in the index, so a worker on any host can lay out the upload folder before it ingests
(`sync_folder`); a deleted document keeps a row without bytes, telling every host's worker
to remove its copy.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, insert, select

from service.config import Settings
from service.records import Provenance
from service.state.db import StateStore
from service.state.schema import document_provenance, uploaded_documents


class ProvenanceStore:
    def __init__(self, state: StateStore) -> None:
        self._engine = state.engine

    def record(self, index: str, doc_ids: list[str], provenance: Provenance) -> None:
        with self._engine.begin() as db:
            db.execute(delete(document_provenance).where(
                document_provenance.c.index_name == index,
                document_provenance.c.doc_id.in_(doc_ids)))
            db.execute(insert(document_provenance), [
                {"index_name": index, "doc_id": doc_id, "origin": provenance.origin,
                 "api_key": provenance.api_key, "job_id": provenance.job_id,
                 "added_at": provenance.added_at} for doc_id in doc_ids])

    def keep_files(self, index: str, files: list[tuple[str, bytes]]) -> None:
        """Store (or replace) the bytes of uploaded documents."""
        self._put(index, [(name, data) for name, data in files])

    def forget(self, index: str, doc_id: str) -> None:
        """Drop a deleted document's provenance and bytes (leaving its tombstone)."""
        with self._engine.begin() as db:
            db.execute(delete(document_provenance).where(
                document_provenance.c.index_name == index,
                document_provenance.c.doc_id == doc_id))
        self._put(index, [(doc_id, None)])

    def _put(self, index: str, files: list[tuple[str, bytes | None]]) -> None:
        if not files:
            return
        now = time.time()
        with self._engine.begin() as db:
            db.execute(delete(uploaded_documents).where(
                uploaded_documents.c.index_name == index,
                uploaded_documents.c.doc_id.in_([name for name, _ in files])))
            db.execute(insert(uploaded_documents), [
                {"index_name": index, "doc_id": name, "data": data, "updated_at": now,
                 "sha256": hashlib.sha256(data).hexdigest() if data is not None else None}
                for name, data in files])

    def files(self, index: str) -> list[tuple[str, bytes | None]]:
        """(doc id, bytes) of every uploaded document; bytes None: deleted."""
        with self._engine.connect() as db:
            rows = db.execute(select(uploaded_documents.c.doc_id, uploaded_documents.c.data)
                              .where(uploaded_documents.c.index_name == index)
                              .order_by(uploaded_documents.c.doc_id)).all()
        return [(r.doc_id, r.data) for r in rows]

    def sync_folder(self, index: str, folder: Path,
                    write: Callable[[Path, bytes], None]) -> None:
        """Make `folder` hold exactly the stored bytes of the index's uploaded documents
        (other files, the bundled ones, are left alone)."""
        for name, data in self.files(index):
            path = folder / name
            if data is None:
                path.unlink(missing_ok=True)
            elif not (path.is_file() and path.read_bytes() == data):
                write(path, data)

    def for_index(self, index: str) -> dict[str, Provenance]:
        with self._engine.connect() as db:
            rows = db.execute(select(document_provenance).where(
                document_provenance.c.index_name == index)).all()
        return {r.doc_id: Provenance(origin=r.origin, api_key=r.api_key, job_id=r.job_id,
                                     added_at=r.added_at) for r in rows}


def provenance_for_index(settings: Settings, index: str) -> dict[str, Provenance]:
    """Uploaded documents of an index; empty when no state store was ever created."""
    state = StateStore.existing(settings)
    if state is None:
        return {}
    try:
        return ProvenanceStore(state).for_index(index)
    finally:
        state.close()
