"""uvicorn's HTTP protocol, with its one reply of its own in OpenAI's error shape.

A request that is not valid HTTP (a broken request line, bad header bytes, a body that
contradicts its framing) never reaches the app: uvicorn answers it directly with a
plain-text 400 "Invalid HTTP request received.". These subclasses answer with the same
status in OpenAI's shape, with an `X-Request-ID`, and write an access-log line like
every other response. `rag serve` passes `http=PROTOCOL` to uvicorn.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from service.api.error_handlers import error_type
from service.api.schemas import error_body

access_log = logging.getLogger("service.access")
MESSAGE = ("malformed HTTP request: the request line, headers or body framing could not "
           "be parsed")


def malformed_request_reply(request_id: str) -> bytes:
    """The complete HTTP/1.1 response (the connection closes after it)."""
    body = json.dumps(error_body(MESSAGE, error_type(400), "malformed_http")).encode()
    head = (f"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nx-request-id: {request_id}\r\n"
            "connection: close\r\n\r\n")
    return head.encode("ascii") + body


class _OpenAIShaped:
    transport: Any
    client: tuple[str, int] | None

    def send_400_response(self, msg: str) -> None:
        request_id = uuid.uuid4().hex
        access_log.info(json.dumps({
            "ts": round(time.time(), 3), "request_id": request_id, "method": None,
            "path": None, "route": "malformed", "status": 400, "duration_ms": 0.0,
            "client": self.client[0] if self.client else None, "detail": msg}))
        if not self.transport.is_closing():
            self.transport.write(malformed_request_reply(request_id))
            self.transport.close()


class OpenAIShapedH11Protocol(_OpenAIShaped, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class OpenAIShapedHttpToolsProtocol(_OpenAIShaped, HttpToolsProtocol):
        pass

    #: What `rag serve` runs: httptools when installed (uvicorn's own choice), else h11.
    PROTOCOL = "service.api.http_protocol:OpenAIShapedHttpToolsProtocol"
except ImportError:  # pragma: no cover - uvicorn without the [standard] extra
    PROTOCOL = "service.api.http_protocol:OpenAIShapedH11Protocol"
