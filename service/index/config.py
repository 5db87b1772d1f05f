"""An index's own configuration: `indexes/<name>/index.toml`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, model_validator

from service.config import Settings
from service.errors import ConfigError, IndexNotFound, InvalidIndexName

INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,40}[a-z0-9]$")
INDEX_NAME_RULE = "3-42 lowercase letters, digits, '-' or '_', starting and ending with a " \
    "letter or digit"


class SourcesConfig(BaseModel):
    model_config = {"extra": "forbid"}
    paths: list[str] = Field(default_factory=lambda: ["docs"])
    encoding: str = "utf-8"


class ChunkingConfig(BaseModel):
    model_config = {"extra": "forbid"}
    chunk_tokens: int = Field(default=180, ge=16, le=8192)
    overlap_tokens: int = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _overlap_smaller(self) -> ChunkingConfig:
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError("overlap_tokens must be smaller than chunk_tokens")
        return self


class EmbedderConfig(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = "minilm"


class VerifyConfig(BaseModel):
    model_config = {"extra": "forbid"}
    reported_speech: bool = Field(
        default=True, description="Attribute reported speech to its speaker: a sentence "
        "the passages only report as somebody's words (\"..., Lavrov said\") is shown as "
        "theirs, and one putting those words in another's mouth is contradicted "
        "(docs/verifier.md, \"Who says it\"). Built for news; turn it off for documents "
        "that speak for themselves (contracts, manuals, records).")


class IndexConfig(BaseModel):
    model_config = {"extra": "forbid"}
    name: str
    directory: Path
    description: str = ""
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)

    @property
    def store_dir(self) -> Path:
        return self.directory / "store"

    def source_paths(self) -> list[Path]:
        return [(self.directory / p).resolve() for p in self.sources.paths]


def index_name_problem(name: str) -> str | None:
    """Why `name` cannot name an index, or None. Index names arrive from clients (chat
    `model`, `index`, URL paths), so this is input validation, not configuration."""
    if INDEX_NAME.fullmatch(name):
        return None
    shown = repr(name) if len(name) <= 60 else repr(name[:57]) + "..."
    return f"invalid index name {shown}: use {INDEX_NAME_RULE}"


def validate_index_name(name: str) -> str:
    if problem := index_name_problem(name):
        raise InvalidIndexName(problem)
    return name


def load_index_config(settings: Settings, name: str) -> IndexConfig:
    validate_index_name(name)
    directory = settings.index_dir(name)
    path = directory / "index.toml"
    if not path.is_file():
        known = ", ".join(list_index_names(settings)) or "none"
        raise IndexNotFound(name, f"no {path} (known indexes: {known}; create one with "
                            "`rag index create NAME`)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return IndexConfig.model_validate({**raw, "name": name, "directory": directory.resolve()})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc


def list_index_names(settings: Settings) -> list[str]:
    if not settings.indexes_dir.is_dir():
        return []
    return sorted(p.name for p in settings.indexes_dir.iterdir() if (p / "index.toml").is_file())


def create_index(settings: Settings, name: str, description: str = "") -> IndexConfig:
    validate_index_name(name)
    directory = settings.index_dir(name)
    if (directory / "index.toml").exists():
        raise ConfigError(f"index {name!r} already exists at {directory}")
    (directory / "docs").mkdir(parents=True, exist_ok=True)
    (directory / "index.toml").write_text(
        f'description = "{description}"\n\n[sources]\npaths = ["docs"]\nencoding = "utf-8"\n\n'
        "[chunking]\nchunk_tokens = 180\noverlap_tokens = 30\n\n"
        '[embedder]\nname = "minilm"\n',
        encoding="utf-8",
    )
    return load_index_config(settings, name)
