"""A local stand-in for Slack's Web API (https://api.slack.com/methods), for tests.

Answers auth.test, chat.postMessage, chat.update, chat.postEphemeral and
conversations.replies the way Slack documents them (form-encoded or JSON bodies, bearer
token, `{"ok": false, "error": ...}` on failure, HTTP 429 + Retry-After when rate
limited), keeps the messages it was sent per channel so threads can be read back, and
records every call.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TEAM_ID = "T0TEST"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"


class SlackWebAPI:
    def __init__(self, port: int = 0) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self._failures: dict[str, list[tuple[int, int]]] = {}
        #: Channels the bot is not a member of (posting there fails with not_in_channel).
        self.closed_channels: set[str] = set()
        #: What was posted to response_url hooks (any path outside /api/).
        self.responses: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._clock = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}/api/"
        self.hook_url = f"http://127.0.0.1:{self._server.server_port}/hooks/response"
        #: What apps.connections.open hands out (a Socket Mode stand-in's URL).
        self.socket_url: str | None = None
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SlackWebAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- test controls ------------------------------------------------------------------
    def next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._clock)}.000100"

    def add_user_message(self, channel: str, user: str, text: str,
                         thread_ts: str | None = None) -> dict[str, Any]:
        """A message a person wrote (so conversations.replies can return it)."""
        message = {"type": "message", "user": user, "text": text, "ts": self.next_ts()}
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._lock:
            self.messages.setdefault(channel, []).append(message)
        return message

    def fail_next(self, method: str, status: int = 429, retry_after: int = 1,
                  times: int = 1) -> None:
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, retry_after)] * times)

    def calls_to(self, method: str, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [p for m, p in self.calls
                    if m == method and (channel is None or p.get("channel") == channel)]

    def wait_for(self, method: str, channel: str | None = None, count: int = 1,
                 timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.calls_to(method, channel)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} call(s) of {method} in {channel} not seen in "
                             f"{timeout}s; calls: {[m for m, _ in self.calls]}")

    # --- the API ------------------------------------------------------------------------
    def _call(self, method: str, params: dict[str, Any],
              token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.calls.append((method, params))
            failures = self._failures.get(method)
            if failures:
                status, retry_after = failures.pop(0)
                return status, {"ok": False, "error": "ratelimited" if status == 429
                                else "internal_error"}, {"Retry-After": str(retry_after)}
        if token != (APP_TOKEN if method.startswith("apps.") else TOKEN):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        with self._lock:
            return 200, handler(params), {}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://rag-test.slack.com/", "team": "RAG Test",
                "user": "ragbot", "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID,
                "is_enterprise_install": False}

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_url:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_url}

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.closed_channels:
            return {"ok": False, "error": "not_in_channel"}
        if not (params.get("text") or params.get("blocks")):
            return {"ok": False, "error": "no_text"}
        message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID,
                   "text": params.get("text", ""), "blocks": params.get("blocks", []),
                   "ts": self.next_ts()}
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        for message in self.messages.get(params.get("channel", ""), []):
            if message["ts"] == params.get("ts"):
                message.update(text=params.get("text", ""), blocks=params.get("blocks", []))
                return {"ok": True, "channel": params["channel"], "ts": message["ts"],
                        "text": message["text"], "message": message}
        return {"ok": False, "error": "message_not_found"}

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel") or not params.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self.next_ts()}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = params.get("ts")
        thread = [m for m in self.messages.get(params.get("channel", ""), [])
                  if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": sorted(thread, key=lambda m: float(m["ts"])),
                "has_more": False}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                method = self.path.rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.path.startswith("/api/"):  # a response_url hook
                    with api._lock:
                        api.responses.append(json.loads(raw or b"{}"))
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    return
                if "json" in (self.headers.get("Content-Type") or ""):
                    params: dict[str, Any] = json.loads(raw or b"{}")
                else:
                    params = dict(parse_qsl(raw.decode()))
                    if isinstance(params.get("blocks"), str):
                        params["blocks"] = json.loads(params["blocks"])
                auth = self.headers.get("Authorization") or ""
                token = auth.removeprefix("Bearer ") if auth else params.get("token")
                status, body, headers = api._call(method, params, token)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
