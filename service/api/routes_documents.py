"""Documents of an index over HTTP: upload (ingested in the background), list, fetch,
delete; and the status of ingestion jobs. Queries keep answering from the committed
generation while a job runs."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import JSONResponse

from service.errors import (
    BadDocument,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from service.index.config import IndexConfig, load_index_config
from service.ingest.load import SIDECAR_SUFFIX, SUPPORTED_SUFFIXES, load_document
from service.records import Document

router = APIRouter()
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,150}$")


def _doc_summary(doc: Document, chunks: int) -> dict[str, Any]:
    return {"id": doc.doc_id, "object": "document", "title": doc.meta.title,
            "source": doc.meta.source, "date": doc.meta.date.isoformat() if doc.meta.date
            else None, "url": doc.meta.url, "chars": len(doc.text), "chunks": chunks}


def _upload_dir(config: IndexConfig) -> Path:
    roots = [p for p in config.source_paths() if not p.suffix]
    if not roots:
        raise BadRequest(f"index {config.name!r} has no source folder to upload into")
    roots[0].mkdir(parents=True, exist_ok=True)
    return roots[0]


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while block := await upload.read(1 << 20):
        data += block
        if len(data) > limit:
            raise PayloadTooLarge(f"{upload.filename}: larger than {limit} bytes "
                                  "(RAG_MAX_UPLOAD_BYTES)")
    return bytes(data)


@router.post("/v1/indexes/{index}/documents", status_code=202)
async def upload_documents(index: str, files: list[UploadFile],
                           request: Request) -> dict[str, Any]:
    state = request.app.state
    config = load_index_config(state.settings, index)
    target = _upload_dir(config)
    checked: list[tuple[str, bytes]] = []
    for upload in files:
        name = upload.filename or ""
        if not _SAFE_NAME.match(name) or name.endswith(SIDECAR_SUFFIX) or ".." in name:
            raise BadRequest(f"invalid file name {upload.filename!r}: use letters, digits, "
                             "'.', '_', '-' and spaces")
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise UnsupportedMediaType(
                f"{name}: unsupported type; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        data = await _read_limited(upload, state.settings.max_upload_bytes)
        try:  # reject unusable files now, with the reason, before anything is written
            load_document(Path(name), data, config.sources.encoding)
        except BadDocument as exc:
            raise BadDocument(name, exc.reason) from exc
        checked.append((name, data))
    if not checked:
        raise BadRequest("no files in the request (multipart field `files`)")
    for name, data in checked:
        # Write beside the target under a hidden name, then rename: an ingest running
        # now never reads a half-written file.
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target / name)
    job = state.jobs.submit(index, reason=f"upload of {len(checked)} file(s)")
    return {"job": job.public(), "documents": [name for name, _ in checked]}


@router.get("/v1/indexes/{index}/documents")
def list_documents(index: str, request: Request) -> dict[str, Any]:
    snap = request.app.state.pipeline.resources.retriever(index).snapshot()
    counts: dict[str, int] = {}
    for chunk in snap.chunks:
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    return {"object": "list", "generation": snap.generation, "data": [
        _doc_summary(doc, counts.get(doc_id, 0))
        for doc_id, doc in sorted(snap.documents.items())]}


def _find(request: Request, index: str, doc_id: str) -> tuple[Document, int]:
    snap = request.app.state.pipeline.resources.retriever(index).snapshot()
    doc = snap.documents.get(doc_id)
    if doc is None:
        raise NotFound(f"index {index!r} has no document {doc_id!r}")
    return doc, sum(1 for c in snap.chunks if c.doc_id == doc_id)


@router.get("/v1/indexes/{index}/documents/{doc_id:path}")
def get_document(index: str, doc_id: str, request: Request) -> dict[str, Any]:
    doc, chunks = _find(request, index, doc_id)
    return {**_doc_summary(doc, chunks), "text": doc.text}


@router.delete("/v1/indexes/{index}/documents/{doc_id:path}", status_code=202)
def delete_document(index: str, doc_id: str, request: Request) -> dict[str, Any]:
    state = request.app.state
    config = load_index_config(state.settings, index)
    doc, _ = _find(request, index, doc_id)
    path = Path(doc.path).resolve()
    if not any(path.is_relative_to(root) for root in config.source_paths()):
        raise BadRequest(f"{doc_id!r} was ingested from outside the index's sources; "
                         "remove it there and run `rag ingest`")
    path.unlink(missing_ok=True)
    path.with_name(path.name + SIDECAR_SUFFIX).unlink(missing_ok=True)
    job = state.jobs.submit(index, reason=f"delete of {doc_id}")
    return {"job": job.public(), "deleted": doc_id}


@router.get("/v1/jobs/{job_id}")
def get_job(job_id: str, request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.jobs.get(job_id).public())
