"""Golden datasets (JSONL): one question per line with its reference and gold evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from service.errors import BadRequest

ItemType = Literal["fact", "number", "multi", "contested", "unanswerable"]


class GoldQuote(BaseModel):
    model_config = {"extra": "forbid"}
    doc_id: str
    quote: str = Field(min_length=3, description="Copied verbatim from the cleaned text.")


class GoldItem(BaseModel):
    model_config = {"extra": "forbid"}
    id: str
    type: ItemType
    question: str = Field(min_length=3)
    reference: str = Field(description="Short reference answer; empty when unanswerable.")
    gold_doc_ids: list[str]
    gold_quotes: list[GoldQuote]
    attribution: list[str] = Field(
        default_factory=list,
        description="Contested items: names (source, title or speaker) a faithful answer "
        "must attribute the claim to; any one suffices.")

    @model_validator(mode="after")
    def _consistent(self) -> GoldItem:
        if self.type == "unanswerable":
            if self.reference or self.gold_doc_ids or self.gold_quotes:
                raise ValueError("an unanswerable item has no reference, documents or quotes")
        else:
            if not (self.reference and self.gold_doc_ids and self.gold_quotes):
                raise ValueError("an answerable item needs reference, gold_doc_ids, gold_quotes")
            if {q.doc_id for q in self.gold_quotes} - set(self.gold_doc_ids):
                raise ValueError("every gold quote's doc_id must be in gold_doc_ids")
        if self.type == "contested" and not self.attribution:
            raise ValueError("a contested item lists the names it must be attributed to")
        return self

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def load_dataset(path: Path) -> list[GoldItem]:
    if not path.is_file():
        raise BadRequest(f"dataset {path} not found")
    items: list[GoldItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(GoldItem.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise BadRequest(f"{path}:{number}: {exc}") from exc
    ids = [i.id for i in items]
    if len(ids) != len(set(ids)):
        raise BadRequest(f"{path}: duplicate ids")
    return items
