"""The one settings object. Built once at the edge (CLI, server) and passed down.

Every field reads the environment variable `RAG_<FIELD>` (case-insensitive);
the OpenAI connection also honours the standard `OPENAI_BASE_URL` / `OPENAI_API_KEY`.
docs/configuration.md documents each field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LocalModelName = Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", extra="ignore", populate_by_name=True, validate_default=True
    )

    # --- where things live ---------------------------------------------------------
    indexes_dir: Path = Field(
        default=Path("indexes"), description="Folder holding one sub-folder per named index."
    )
    index: str = Field(default="news", description="Index used when a command names none.")
    models_dir: Path = Field(
        default=Path("models"),
        description="Where `rag models prepare` assembles the bundled GGUF files.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="http://host:port of a `chroma run` server. Unset: an embedded "
        "PersistentClient in indexes/<name>/store/ (one process at a time). The keyword "
        "index stays a file in indexes/<name>/store/: processes sharing a Chroma server "
        "must share that folder (one host); across hosts use RAG_RETRIEVAL_BACKEND=postgres.",
    )
    retrieval_backend: Literal["chroma", "postgres"] = Field(
        default="chroma",
        description="Where indexes live (docs/deploy.md). chroma: Chroma (embedded, or "
        "RAG_CHROMA_URL) for vectors and documents plus an SQLite FTS5 keyword file, "
        "nothing to run. postgres: one PostgreSQL database with pgvector at "
        "RAG_DATABASE_URL (vectors, keywords, documents; hybrid search in one statement), "
        "for stateless replicas on several hosts.",
    )
    keyword_match_budget: int = Field(
        default=20_000, ge=100,
        description="The keyword channel's candidate cap: it matches the question's rarest "
        "words first while the chunks holding them add up to at most this many (the rarest "
        "word always), so a question of common words cannot make it scan a fifth of a "
        "large corpus. Below this many chunks in all, keyword ranking is plain BM25 over "
        "every word.",
    )
    pg_ef_search: int = Field(
        default=100, ge=10, le=1000,
        description="PostgreSQL backend: pgvector's hnsw.ef_search (candidates the HNSW "
        "search keeps; recall against speed).",
    )
    pg_index_build_memory: str = Field(
        default="1GB", pattern=r"^[1-9][0-9]*(MB|GB)$",
        description="PostgreSQL backend: maintenance_work_mem for building the HNSW and GIN "
        "indexes after a first bulk load. The HNSW build is several times faster when the "
        "graph fits (about 2.2 KB per 384-dim chunk: 1GB holds ~450k chunks, 3GB a million); "
        "the memory is taken only while the index is built.",
    )

    # --- generation ----------------------------------------------------------------
    generator: str = Field(
        default="local", description="A registered generator (service/generation/backends.py): "
        "local (bundled GGUF), openai (any OpenAI-compatible server) or extractive (no LLM)."
    )
    local_model: LocalModelName = Field(
        default="qwen2.5-coder-1.5b", description="Which bundled GGUF the local generator runs."
    )
    local_model_path: Path | None = Field(
        default=None, description="A GGUF file to run instead of the bundled one."
    )
    local_threads: int = Field(
        default=0, ge=0, description="llama.cpp threads; 0 = the physical cores (measured "
        "fastest on 2 cores; hyper-threads only contend for the same units).")
    local_context_tokens: int = Field(default=4096, ge=512,
                                      description="llama.cpp context window (prompt + answer).")
    local_batch_tokens: int = Field(
        default=512, ge=32, description="llama.cpp n_batch: prompt tokens evaluated per "
        "decode call.")
    local_flash_attention: bool = Field(
        default=False, description="llama.cpp flash attention (CPU build: measured no faster "
        "on 2 cores).")
    local_draft: Literal["none", "prompt-lookup"] = Field(
        default="none", description="Copy-aware decoding: prompt-lookup drafts the next tokens "
        "from n-grams of the prompt and verifies them in one batch (docs/benchmarks.md).")
    local_prefix_cache: bool = Field(
        default=True, description="Keep llama.cpp's state after each fixed system prompt, so "
        "a question pays only for its own passages even after a condense or judge call.")
    local_isolation: Literal["process", "none"] = Field(
        default="process", description="Where the local model runs: `process`, a supervised "
        "child process (a native fault in llama.cpp becomes the labelled extractive fallback "
        "and the model is restarted); `none`, inside the serving process (a fault kills it; "
        "for measurement only, docs/benchmarks.md).")
    local_restart_limit: int = Field(
        default=3, ge=1, description="Deaths of the local model process within "
        "RAG_LOCAL_RESTART_WINDOW_S after which it is left down for that window (answers use "
        "the extractive fallback meanwhile).")
    local_restart_window_s: float = Field(
        default=300.0, gt=0, description="The window RAG_LOCAL_RESTART_LIMIT counts in.")
    local_prompt_tokens: int = Field(
        default=300, ge=0, description="Evidence budget of the local generator, in tokens: "
        "the retrieved windows' best sentences for the question, with neighbours, up to it. "
        "0 = whole windows (the configuration before issue 16).")
    openai_prompt_tokens: int = Field(
        default=500, ge=0, description="Evidence budget of the openai generator, in tokens "
        "(a hosted model reads faster); 0 = whole windows.")
    llm_model: str = Field(
        default="qwen2.5-coder-1.5b-instruct",
        description="Model name sent to the OpenAI-compatible server (generator=openai).",
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("RAG_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.",
    )
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("RAG_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key for that server (any string for servers that ignore it).",
    )
    llm_timeout_s: float = Field(
        default=120.0, gt=0,
        description="Per LLM call; past it the extractive answer is returned as a fallback.",
    )
    llm_max_retries: int = Field(default=1, ge=0, description="Retries of a failed LLM call.")
    llm_max_tokens: int = Field(default=320, ge=16, description="Answer length cap.")
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0,
                                   description="Sampling temperature; 0 = deterministic.")

    # --- embeddings (used when an index.toml says embedder = "openai") ---------------
    embed_model: str = Field(default="text-embedding-3-small",
                             description="Model of an index whose embedder is 'openai'.")
    embed_base_url: str | None = Field(default=None, description="Defaults to openai_base_url.")
    embed_batch_size: int = Field(default=32, ge=1, le=2048,
                                  description="Texts per embedding call.")

    # --- retrieval -----------------------------------------------------------------
    top_k: int = Field(default=5, ge=1, le=50, description="Passages given to the generator.")
    candidate_k: int = Field(
        default=20, ge=1, le=500, description="Hits taken from each retriever before fusion."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant.")
    rerank_weight: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="Weight of the sentence-level lexical match against the fused rank "
        "score when ordering passages (0 = fused rank only).",
    )
    window_sentences: int = Field(
        default=1, ge=0, le=10, description="Sentences kept on each side of a hit's best one."
    )
    max_passage_tokens: int = Field(default=200, ge=32, description="Cap per passage shown.")

    # --- answering -----------------------------------------------------------------
    min_support: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description="Share of the question's content words a passage must contain for the "
        "service to attempt an answer; below it, it abstains.",
    )
    extractive_sentences: int = Field(default=2, ge=1, le=5,
                                      description="Sentences quoted by the extractive answer.")
    extractive_min_coverage: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="Share of the question's content words a quoted sentence must contain.",
    )
    quote_declined: bool = Field(
        default=True, description="When the model answers that the passages hold no answer "
        "although they hold at least RAG_QUOTE_DECLINED_COVERAGE of the question's content "
        "words, show the passages' sentences that match the question best instead, if they "
        "hold every name and number the question asks about: quoted, attributed and "
        "labelled as possibly not answering it (prompts/quoted_notice.md, Answer.quoted). "
        "The bundled 1.5B model declines many answerable questions (docs/benchmarks.md).")
    quote_declined_coverage: float = Field(
        default=0.7, ge=0.0, le=1.0,
        description="Share of the question's content words the retrieved passages must "
        "hold for a declined answer to be replaced by quotes (RAG_QUOTE_DECLINED).")
    history_turns: int = Field(default=6, ge=0, description="Earlier turns used for follow-ups.")
    max_question_chars: int = Field(default=2000, ge=10,
                                    description="Longer questions are rejected.")

    # --- verification -----------------------------------------------------------------
    verify: bool = Field(
        default=True, description="Check every answer sentence against its citations "
        "(off only to measure what verification changes).")
    unsupported: Literal["mark", "drop", "regenerate"] = Field(
        default="mark",
        description="What happens to an answer sentence its citations do not support: "
        "mark it visibly, drop it, or re-ask the model once with feedback (then mark).",
    )
    reread_contradicted: bool = Field(
        default=True, description="When the verifier finds a sentence contradicted by the "
        "passage it cites (verdicts come from RAG_VERIFIER=support), ask the model once "
        "more with the question put before the passages as well, and show that second "
        "answer if nothing in it is contradicted and no less of it is supported. Costs one "
        "more generation, only for such answers; a streamed answer gets the second one "
        "after a notice (prompts/reread_notice.md).")
    verifier: str = Field(
        default="combined", description="A registered support judge "
        "(service/verify/backends.py) that checks answers: combined (the support head and "
        "the cross-encoder fitted together: verdicts supported / contradicted / not found, "
        "evidence spans; docs/verifier.md), support (the head alone), cross, cross+rules, "
        "fast (names, numbers, words, MiniLM), lexical or llm.")
    support_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="P(supported) at which the support model counts a sentence as "
        "supported; unset: the threshold picked on its dev split (model/meta.json).",
    )
    cross_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="P(supported) at which the cross-encoder (RAG_VERIFIER=cross or "
        "cross+rules) counts a sentence as supported; unset: the threshold picked on its "
        "dev split (model/meta.json, \"cross_encoder\").",
    )
    combined_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Combined P(supported) at which RAG_VERIFIER=combined (support head + "
        "cross-encoder) counts a sentence as supported; unset: the threshold fitted on the "
        "dev split (model/meta.json, \"combiner\").",
    )
    verify_threshold: float = Field(
        default=0.6, ge=0.0, le=1.0,
        description="Support score (fast checker) at which a sentence counts as supported.",
    )

    # --- HTTP service ---------------------------------------------------------------
    api_keys: str | None = Field(
        default=None, repr=False,
        description="Comma-separated bearer tokens; when set, every endpoint but /healthz "
        "and /readyz needs `Authorization: Bearer <key>`.",
    )
    max_upload_bytes: int = Field(default=20_000_000, ge=1,
                                  description="Largest document accepted by the upload API.")
    max_upload_request_bytes: int = Field(
        default=100_000_000, ge=1,
        description="Largest whole upload request (all files of one multipart body); "
        "bigger ones get 413 before they are read.")
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024,
        description="Largest body of any other request (chat, ask, Slack events); bigger "
        "ones get 413 before they are read.")
    client_generators: str | None = Field(
        default=None,
        description="Comma-separated generators a client may ask for per request "
        "(`generator` in /v1/ask); others get 400. Default: the server's own generator "
        "and extractive. 'openai' is offered only when an OpenAI endpoint is configured.")
    insecure: bool = Field(
        default=False,
        description="Allow `rag serve` on a non-loopback address without RAG_API_KEYS "
        "(anyone who reaches the port can then upload and delete documents). Same as "
        "`rag serve --insecure`.")
    log_json: bool = Field(default=True, description="One JSON log line per HTTP request.")

    # --- ingestion of uploads (docs/security.md: Documents and ingestion) -------------------
    parse_budget_s: float = Field(
        default=60.0, gt=0,
        description="Time one document may take to be read and cleaned (in a worker "
        "process); past it the upload gets 422 and an ingest run skips the file.")
    parse_workers: int = Field(
        default=1, ge=1, description="Worker processes reading and cleaning documents.")
    parse_memory_mb: int = Field(
        default=2048, ge=128,
        description="Address-space limit of each parsing worker process (a document that "
        "needs more is rejected as unreadable).")
    uploads_may_claim_sources: bool = Field(
        default=False,
        description="Let an uploaded document take the title or outlet name of a source "
        "already in the index (off: such an upload gets 409).")
    job_lease_s: float = Field(
        default=30.0, gt=1,
        description="Lease of a running ingestion job, renewed while it runs; a job whose "
        "worker died is taken up again once its lease runs out.")

    # --- state store and ingestion workers (docs/deploy.md) ---------------------------------
    state_db: Path | None = Field(
        default=None,
        description="SQLite file of the state store (ingestion jobs, uploaded documents, "
        "provenance, feedback, Slack event dedupe, rate-limit counters), used when "
        "RAG_DATABASE_URL is unset. Default: var/state.sqlite3 beside RAG_INDEXES_DIR.")
    database_url: str | None = Field(
        default=None, repr=False,
        description="SQLAlchemy URL of a shared state store instead of the SQLite file: "
        "postgresql+psycopg://user:password@host:5432/db for several replicas and workers "
        "on several hosts. Migrated to the newest schema at start-up.")
    inprocess_worker: bool = Field(
        default=True,
        description="`rag serve` also runs uploaded ingestion jobs in a background thread "
        "(the single-machine default). Turn off when `rag worker` processes run them.")
    worker_job_delay_s: float = Field(
        default=0.0, ge=0.0,
        description="Testing aid: a worker waits this long in each ingestion job (files "
        "laid out, before indexing), so a test can kill it mid-job. Leave 0 in production.")

    # --- Slack bot (docs/slack.md) -----------------------------------------------------
    slack_bot_token: str | None = Field(
        default=None, repr=False,
        validation_alias=AliasChoices("RAG_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"),
        description="Bot token (xoxb-…). With SLACK_SIGNING_SECRET, `rag serve` answers "
        "Slack at POST /slack/events.")
    slack_signing_secret: str | None = Field(
        default=None, repr=False,
        validation_alias=AliasChoices("RAG_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
        description="Signing secret of the Slack app; requests with a bad or stale signature "
        "get 401.")
    slack_app_token: str | None = Field(
        default=None, repr=False,
        validation_alias=AliasChoices("RAG_SLACK_APP_TOKEN", "SLACK_APP_TOKEN"),
        description="App-level token (xapp-…, scope connections:write) for `rag slack` "
        "(Socket Mode).")
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("RAG_SLACK_API_URL", "SLACK_API_URL"),
        description="Base URL of Slack's Web API (a stand-in server in tests).")
    slack_index: str | None = Field(
        default=None, description="Index the Slack bot answers from (default: RAG_INDEX).")
    slack_user_rate: int = Field(
        default=6, ge=1, description="Questions one Slack user may ask per minute.")
    slack_channel_rate: int = Field(
        default=30, ge=1, description="Questions one Slack channel may ask per minute.")
    slack_api_retries: int = Field(
        default=3, ge=0, description="Retries of a Slack Web API call that was rate-limited "
        "(honouring Retry-After) or failed with a server or connection error.")
    slack_workers: int = Field(
        default=4, ge=1, description="Threads answering Slack questions after the ack.")
    slack_db: Path = Field(
        default=Path("var/slack.sqlite3"),
        description="Where feedback and Slack event ids were kept before they moved into the "
        "state store: a file found there is imported into the store once at start-up "
        "(then renamed *.imported).")

    @field_validator("openai_base_url", "chroma_url", "embed_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("slack_api_url")
    @classmethod
    def _end_slash(cls, value: str) -> str:
        return value.rstrip("/") + "/"  # slack_sdk joins method names onto it

    def slack_http_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    def api_key_set(self) -> frozenset[str]:
        return frozenset(_split(self.api_keys))

    def openai_configured(self) -> bool:
        return bool(self.openai_base_url or self.openai_api_key)

    def client_generator_names(self) -> frozenset[str]:
        """The generators the operator opened to clients (the HTTP edge checks them
        against the registry): RAG_CLIENT_GENERATORS, else the server's own and
        extractive."""
        return frozenset(_split(self.client_generators)) or frozenset(
            {self.generator, "extractive"})

    def index_dir(self, name: str) -> Path:
        return self.indexes_dir / name


def _split(value: str | None) -> list[str]:
    """A comma-separated setting as its non-empty, stripped items."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]
