"""Error types of the service. Surfaces map these to exit codes / HTTP statuses once."""

from __future__ import annotations


class RagError(Exception):
    """Base class: every error a user can see carries a message saying how to fix it."""

    http_status: int = 500
    code: str = "internal_error"

    def public_message(self) -> str:
        """The message for a remote client: like str(self), minus server-side details
        (file paths, other names) that only the operator should see."""
        return str(self)


class ConfigError(RagError):
    http_status = 500
    code = "config_error"


class IndexNotFound(RagError):
    """A well-formed index name with no index behind it."""

    http_status = 404
    code = "index_not_found"

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(f"index {name!r} not found" + (f": {detail}" if detail else ""))
        self.name = name

    def public_message(self) -> str:
        return f"index {self.name!r} not found; GET /v1/models lists the indexes"


class IndexNotBuilt(RagError):
    http_status = 503
    code = "index_not_built"


class IndexBusy(RagError):
    http_status = 409
    code = "index_busy"


class EmbedderMismatch(RagError):
    http_status = 500
    code = "embedder_mismatch"


class BadDocument(RagError):
    """A single input file cannot be ingested; the run skips it and goes on.

    `kind` names why, for the per-type counts of an ingest run and the documents page:
    BadDocument (unreadable: corrupt, binary, undecodable) → UnsupportedType, EmptyDocument,
    EncryptedDocument, OverBudget (too big once unpacked or decoded: zip and decompression
    bombs, giant sheets) → ParseBudgetExceeded (too slow), NoTextFound (nothing to read,
    OCR included)."""

    http_status = 422
    code = "bad_document"
    kind = "unreadable"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedType(BadDocument):
    """A file of a type no reader handles (audio, video, archives, …)."""

    code = "unsupported_type"
    kind = "unsupported"


class EmptyDocument(BadDocument):
    code = "empty_document"
    kind = "empty"


class EncryptedDocument(BadDocument):
    """Password-protected: nothing can be read without the password."""

    code = "encrypted_document"
    kind = "encrypted"


class OverBudget(BadDocument):
    """Bigger than the readers allow once unpacked or decoded (a zip bomb inside a .docx,
    an image of billions of pixels, a sheet of a million columns)."""

    code = "over_budget"
    kind = "over-budget"


class ParseBudgetExceeded(OverBudget):
    """Reading and cleaning one document took longer than RAG_PARSE_BUDGET_S."""

    code = "parse_budget_exceeded"


class NoTextFound(BadDocument):
    """The file holds no text to index: a scan where OCR found none, an empty sheet."""

    code = "no_text_found"
    kind = "no-text"


#: Each BadDocument class by its kind, to rebuild one that crossed a process boundary.
BAD_DOCUMENT_KINDS: dict[str, type[BadDocument]] = {
    cls.kind: cls for cls in (BadDocument, UnsupportedType, EmptyDocument, EncryptedDocument,
                              OverBudget, NoTextFound)}


class DocumentConflict(RagError):
    """An upload would replace a bundled document or take the name of an existing source."""

    http_status = 409
    code = "document_conflict"


class BadRequest(RagError):
    http_status = 400
    code = "invalid_request"


class InvalidIndexName(BadRequest):
    """An index name that breaks the naming rule (it could never name a folder)."""

    code = "invalid_index_name"


class GeneratorNotAllowed(BadRequest):
    """A client asked for a generator the operator did not open to clients
    (RAG_CLIENT_GENERATORS)."""

    code = "generator_not_allowed"


class ModelNotInstalled(RagError):
    http_status = 503
    code = "model_not_installed"


class LLMUnavailable(RagError):
    """The generator backend is down, timed out or answered with an error."""

    http_status = 503
    code = "llm_unavailable"


class EmbedderUnavailable(RagError):
    http_status = 503
    code = "embedder_unavailable"


class PayloadTooLarge(RagError):
    """A question or an upload over the configured size."""

    http_status = 413
    code = "payload_too_large"


class UnsupportedMediaType(RagError):
    http_status = 415
    code = "unsupported_media_type"


class InvalidSlackSignature(RagError):
    """A request to the Slack endpoint without a valid, fresh Slack signature."""

    http_status = 401
    code = "invalid_slack_signature"


class NotFound(RagError):
    """A document or job that does not exist."""

    http_status = 404
    code = "not_found"


class Unauthorized(RagError):
    http_status = 401
    code = "invalid_api_key"


class UnknownBackend(BadRequest):
    """A generator, embedder or judge name that no registry knows."""

    code = "unknown_backend"


class StateStoreUnavailable(RagError):
    """The state store (SQLite file or PostgreSQL, RAG_DATABASE_URL) cannot be reached or
    migrated."""

    http_status = 503
    code = "state_store_unavailable"
