"""Request and response bodies of the HTTP API (OpenAI's chat format plus our extensions)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from service.index.config import INDEX_NAME, index_name_problem
from service.records import AskRequest, Filters, Turn


def _index_name(name: str) -> str:
    if problem := index_name_problem(name):
        raise PydanticCustomError("invalid_index_name", problem)
    return name


#: An index name as a client sends it (chat `model`, `index`, URL paths): 400 when it
#: breaks the naming rule, before anything looks for the index.
IndexName = Annotated[str, AfterValidator(_index_name),
                      WithJsonSchema({"type": "string", "pattern": INDEX_NAME.pattern})]


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def lone_surrogate_at(value: Any) -> str | None:
    """Where `value` holds a string with a lone UTF-16 surrogate (JSON allows the escape
    "\\ud800"; no encoder, tokenizer or log accepts the result), or None. Iterative: a
    body may nest as deep as the JSON parser allows."""
    stack: list[tuple[str, Any]] = [("body", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _has_surrogate(key):
                    return f"{where} (a key)"
                stack.append((f"{where}.{key}", child))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
    return None


class RequestBody(BaseModel):
    """Base of every JSON request body: text must be valid Unicode."""

    @model_validator(mode="before")
    @classmethod
    def _no_lone_surrogates(cls, data: Any) -> Any:
        if where := lone_surrogate_at(data):
            raise PydanticCustomError(
                "lone_surrogate", "{where}: text holds a lone UTF-16 surrogate (an unpaired "
                "\\ud800-\\udfff escape); send valid Unicode", {"where": where})
        return data


class ContentPart(BaseModel):
    model_config = {"extra": "allow"}
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = {"extra": "allow"}
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionRequest(RequestBody):
    """OpenAI's request; parameters we do not use (temperature, top_p, ...) are accepted and
    ignored so existing clients work. `model` names the index."""

    model_config = {"extra": "allow"}
    model: IndexName
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    filters: Filters | None = Field(default=None, description="Extension: metadata filters.")
    perspectives: bool = Field(
        default=False, description="Extension: set out each source's account side by side. "
        "With stream=true the answer is composed first and sent as one delta.")

    @field_validator("messages")
    @classmethod
    def _last_is_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user" or not messages[-1].text().strip():
            raise ValueError("the last message must be a non-empty user message")
        return messages

    def question(self) -> str:
        return self.messages[-1].text()

    def history(self) -> list[Turn]:
        return [Turn(role=m.role, content=m.text()) for m in self.messages[:-1]
                if m.role in ("user", "assistant") and m.text().strip()]

    def ask_request(self) -> AskRequest:
        """The question for the pipeline: `model` names the index; the server's generator."""
        return AskRequest(question=self.question(), history=self.history(),
                          filters=self.filters, index=self.model,
                          perspectives=self.perspectives)


class AskBody(RequestBody, AskRequest):
    """The body of POST /v1/ask: the pipeline's AskRequest, checked as client input
    (valid Unicode, a well-formed index name)."""

    index: IndexName | None = Field(default=None, description="Default: RAG_INDEX.")


def error_body(message: str, type_: str, code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
