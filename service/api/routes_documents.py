"""Documents of an index over HTTP: upload (ingested in the background), list, fetch,
delete; and the status of ingestion jobs. Queries keep answering from the committed
generation while a job runs.

An upload is checked before anything is stored: name, type and size, then a full read
and clean in a parse worker process within RAG_PARSE_BUDGET_S (the event loop never
parses), then the guards of service/ingest/guard.py. Accepted files are committed with
their job to the state store before the 202, so a crash after it loses nothing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.api.schemas import IndexName
from service.errors import (
    BadRequest,
    IndexNotBuilt,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from service.index.config import IndexConfig, load_index_config
from service.ingest.formats import file_type
from service.ingest.guard import (
    check_upload_label,
    check_upload_name,
    protected_labels,
    upload_title,
)
from service.ingest.load import SIDECAR_SUFFIX, SUPPORTED_SUFFIXES
from service.ingest.pipeline import ATTACHMENT_SEPARATOR
from service.records import Document
from service.retrieval.retriever import Retriever
from service.state.ingest_worker import upload_dir

router = APIRouter()
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,150}$")


def _doc_summary(doc: Document, chunks: int) -> dict[str, Any]:
    return {"id": doc.doc_id, "object": "document", "title": doc.meta.title,
            "source": doc.meta.source, "date": doc.meta.date.isoformat() if doc.meta.date
            else None, "url": doc.meta.url, "author": doc.meta.author,
            "type": file_type(Path(doc.doc_id.rsplit(ATTACHMENT_SEPARATOR, 1)[-1]).suffix),
            "chars": len(doc.text), "chunks": chunks,
            "parent": doc.parent, "ocr": any(s.ocr for s in doc.sections),
            "provenance": doc.provenance.model_dump(),
            "flags": [flag.model_dump() for flag in doc.flags]}


def key_fingerprint(request: Request) -> str | None:
    """A short, stable tag of the API key that made the request (never the key itself);
    None when the server runs without keys."""
    if not request.app.state.settings.api_key_set():
        return None
    _, _, token = request.headers.get("authorization", "").partition(" ")
    return "key-" + hashlib.sha256(token.strip().encode()).hexdigest()[:12]


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while block := await upload.read(1 << 20):
        data += block
        if len(data) > limit:
            raise PayloadTooLarge(f"{upload.filename}: larger than {limit} bytes "
                                  "(RAG_MAX_UPLOAD_BYTES)")
    return bytes(data)


async def _receive(upload: UploadFile, limit: int) -> tuple[str, bytes]:
    name = upload.filename or ""
    if not _SAFE_NAME.match(name) or name.endswith(SIDECAR_SUFFIX) or ".." in name:
        raise BadRequest(f"invalid file name {upload.filename!r}: use letters, digits, "
                         "'.', '_', '-' and spaces")
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnsupportedMediaType(
            f"{name}: unsupported type; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    return name, await _read_limited(upload, limit)


def _retriever(request: Request, index: str) -> Retriever:
    return request.app.state.pipeline.resources.retriever(index)


def _current_documents(request: Request, index: str) -> Iterator[Document]:
    """The index's documents, read a page at a time (none while it is unbuilt)."""
    retriever = _retriever(request, index)
    try:
        generation = retriever.manifest().generation
    except IndexNotBuilt:
        return iter(())
    return retriever.store.iter_documents(generation)


def _check_uploads(request: Request, config: IndexConfig,
                   received: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """Read each file in a parse worker and apply the guards; blocking (a worker thread)."""
    state = request.app.state
    labels = protected_labels(_current_documents(request, config.name))
    uploaded = set(state.jobs.provenance.for_index(config.name))
    target = upload_dir(config)
    checked = []
    for name, data in received:
        check_upload_name(name, (target / name).exists(), name in uploaded)
        parsed = state.jobs.parser.parse(Path(name), data, config.sources.encoding)
        title = upload_title(name, parsed)
        if not state.settings.uploads_may_claim_sources:
            check_upload_label(name, title, labels)
        checked.append({"id": name, "title": title,
                        "flags": [flag.model_dump() for flag in parsed.flags]})
    return checked


@router.post("/v1/indexes/{index}/documents", status_code=202)
async def upload_documents(index: IndexName, files: list[UploadFile],
                           request: Request) -> dict[str, Any]:
    state = request.app.state
    config = load_index_config(state.settings, index)
    received = [await _receive(upload, state.settings.max_upload_bytes) for upload in files]
    if not received:
        raise BadRequest("no files in the request (multipart field `files`)")
    checked = await run_in_threadpool(_check_uploads, request, config, received)
    job = await run_in_threadpool(state.jobs.submit_upload, index, received,
                                  key_fingerprint(request))
    return {"job": job.public(), "documents": [c["id"] for c in checked], "checked": checked}


@router.get("/v1/indexes/{index}/documents")
def list_documents(index: IndexName, request: Request) -> dict[str, Any]:
    retriever = _retriever(request, index)
    generation = retriever.manifest().generation
    counts = retriever.store.chunk_counts(generation)
    skipped = retriever.store.skipped()
    summaries = sorted((_doc_summary(doc, counts.get(doc.doc_id, 0))
                        for doc in retriever.store.iter_documents(generation)),
                       key=lambda d: d["id"])
    return {"object": "list", "generation": generation, "data": summaries,
            "skipped": skipped, "types": _types(summaries, skipped)}


def _types(documents: list[dict[str, Any]],
           skipped: list[dict[str, str]]) -> dict[str, dict[str, int]]:
    """Per file type: documents indexed (their summaries), and files not indexed by why."""
    counts: dict[str, dict[str, int]] = {}
    for doc in documents:
        kind = doc["type"]
        counts.setdefault(kind, {}).setdefault("indexed", 0)
        counts[kind]["indexed"] += 1
    for entry in skipped:
        row = counts.setdefault(entry["type"], {})
        row[entry["kind"]] = row.get(entry["kind"], 0) + 1
    return dict(sorted(counts.items()))


def _find(request: Request, index: str, doc_id: str) -> tuple[Document, int]:
    retriever = _retriever(request, index)
    generation = retriever.manifest().generation
    doc = retriever.store.documents([doc_id], generation).get(doc_id)
    if doc is None:
        raise NotFound(f"index {index!r} has no document {doc_id!r}")
    return doc, retriever.store.chunk_counts(generation, [doc_id]).get(doc_id, 0)


@router.get("/v1/indexes/{index}/documents/{doc_id:path}")
def get_document(index: IndexName, doc_id: str, request: Request) -> dict[str, Any]:
    doc, chunks = _find(request, index, doc_id)
    return {**_doc_summary(doc, chunks), "text": doc.text,
            "sections": [s.model_dump(exclude_defaults=True) for s in doc.sections]}


@router.delete("/v1/indexes/{index}/documents/{doc_id:path}", status_code=202)
def delete_document(index: IndexName, doc_id: str, request: Request) -> dict[str, Any]:
    state = request.app.state
    config = load_index_config(state.settings, index)
    doc, _ = _find(request, index, doc_id)
    if doc.parent:
        raise BadRequest(f"{doc_id!r} is an attachment of {doc.parent!r}; delete the "
                         "message to delete its attachments")
    # The path on this host: a worker on another host may have ingested it (doc.path).
    path = (Path(doc.path) if Path(doc.root).is_absolute()
            else config.directory / doc.root / doc.doc_id).resolve()
    if not any(path.is_relative_to(root) for root in config.source_paths()):
        raise BadRequest(f"{doc_id!r} was ingested from outside the index's sources; "
                         "remove it there and run `rag ingest`")
    path.unlink(missing_ok=True)
    path.with_name(path.name + SIDECAR_SUFFIX).unlink(missing_ok=True)
    job = state.jobs.submit_delete(index, doc_id, key_fingerprint(request))
    return {"job": job.public(), "deleted": doc_id}


@router.get("/v1/jobs/{job_id}")
def get_job(job_id: str, request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.jobs.get(job_id).public())
