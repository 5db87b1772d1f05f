"""Who added each uploaded document. A document with no row here was found in the index's
folder (bundled by the operator). Ingest copies the row into the document record, so
answers and the documents API show it without asking this store."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from service.config import Settings
from service.records import Provenance
from service.state.db import StateStore, document_provenance


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

    def forget(self, index: str, doc_id: str) -> None:
        with self._engine.begin() as db:
            db.execute(delete(document_provenance).where(
                document_provenance.c.index_name == index,
                document_provenance.c.doc_id == doc_id))

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
