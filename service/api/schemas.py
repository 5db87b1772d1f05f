"""Request and response bodies of the HTTP API (OpenAI's chat format plus our extensions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from service.records import AskRequest, Filters, Turn


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


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; parameters we do not use (temperature, top_p, ...) are accepted and
    ignored so existing clients work. `model` names the index."""

    model_config = {"extra": "allow"}
    model: str
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


def error_body(message: str, type_: str, code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
