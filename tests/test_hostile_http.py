"""Hostile and careless clients against a real `rag serve` (extractive generator, API keys
on): every request in issue 12's list gets a 4xx with a specific message in OpenAI's
error shape, an X-Request-ID, and an access-log line; none gets a 5xx."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.cli.serve_cmd import exposure_problem
from tests.conftest import ROOT, Server, build_news_copy, make_settings, rag_env

pytestmark = pytest.mark.e2e
KEY = "hostile-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
MAX_BODY = 50_000
ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("hostile")
    env = rag_env(build_news_copy(base), RAG_GENERATOR="extractive", RAG_API_KEYS=KEY,
                  RAG_MAX_BODY_BYTES=str(MAX_BODY), RAG_MAX_UPLOAD_REQUEST_BYTES="400000")
    srv = Server(env, base / "server.log").wait_ready()
    yield srv
    srv.stop()


def send(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=60, **kwargs)


def raw_json(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": {"Content-Type": "application/json"}}


def assert_rejected(server: Server, response: httpx.Response, status: int,
                    *words: str) -> dict[str, Any]:
    """A 4xx in OpenAI's shape naming the problem, with a request id that is logged."""
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS and error["type"] and error["code"]
    for word in words:
        assert word.lower() in error["message"].lower(), error["message"]
    assert_logged(server, response.headers["x-request-id"])
    return error  # type: ignore[no-any-return]


def assert_logged(server: Server, request_id: str) -> None:
    """The access-log line is written just after the response is sent: wait a moment."""
    deadline = time.time() + 10
    while f'"request_id": "{request_id}"' not in server.log():
        assert time.time() < deadline, f"no access-log line for request {request_id}"
        time.sleep(0.05)


def chat(content: str, model: str = "news", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


# --- 1. invalid index names are bad input (400), unknown ones 404 -------------------------
@pytest.mark.parametrize("model", ["NEWS", "../news", "", "ne", "news\n", "x" * 5000])
def test_an_invalid_index_name_in_chat_is_a_400(server: Server, model: str) -> None:
    response = send(server, "POST", "/v1/chat/completions", json=chat("Who?", model))
    assert_rejected(server, response, 400, "invalid index name")


@pytest.mark.parametrize("index", ["../../etc", "NEWS", ""])
def test_an_invalid_index_name_in_ask_is_a_400(server: Server, index: str) -> None:
    response = send(server, "POST", "/v1/ask", json={"question": "Who?", "index": index})
    assert_rejected(server, response, 400, "invalid index name")


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/v1/indexes/%2e%2e/documents/000.txt"),
    ("GET", "/v1/indexes/NEWS/documents"),
    ("GET", "/v1/indexes/ne/documents/000.txt"),
    ("POST", "/v1/indexes/%2E%2E/documents"),
])
def test_an_invalid_index_name_in_a_path_is_a_400(server: Server, method: str,
                                                   path: str) -> None:
    status, headers, body = raw_request(server, f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
                                        f"Authorization: Bearer {KEY}\r\n"
                                        "Content-Length: 0\r\n\r\n".encode())
    assert status == 400, body
    assert "invalid index name" in json.loads(body)["error"]["message"]
    assert headers.get("x-request-id")


def test_an_unknown_index_is_a_404_that_shows_no_paths_or_other_names(server: Server) -> None:
    for response in (send(server, "POST", "/v1/chat/completions", json=chat("Who?", "nope")),
                     send(server, "GET", "/v1/indexes/nope/documents")):
        error = assert_rejected(server, response, 404, "'nope' not found")
        assert "/" not in error["message"].replace("/v1/models", "")
        assert "news" not in error["message"] and error["code"] == "index_not_found"


# --- lone surrogates: valid JSON, invalid Unicode ----------------------------------------
@pytest.mark.parametrize("path, body", [
    ("/v1/ask", '{"question": "hi \\ud800"}'),
    ("/v1/ask", '{"question": "Who?", "history": [{"role": "user", "content": "a\\udfff"}]}'),
    ("/v1/chat/completions", '{"model": "news", "messages": [{"role": "user", '
                             '"content": "hi \\ud800"}]}'),
    ("/v1/chat/completions", '{"model": "news", "stream": true, "messages": [{"role": '
                             '"user", "content": "hi \\ud800"}]}'),
    ("/v1/chat/completions", '{"model": "news", "messages": [{"role": "assistant", '
                             '"content": "\\ud800"}, {"role": "user", "content": "Who?"}]}'),
], ids=["ask", "ask-history", "chat", "chat-stream", "chat-history"])
def test_a_lone_surrogate_is_a_400(server: Server, path: str, body: str) -> None:
    response = send(server, "POST", path, **raw_json(body))
    assert_rejected(server, response, 400, "lone UTF-16 surrogate")


# --- generators are the operator's choice -------------------------------------------------
@pytest.mark.parametrize("generator", ["openai", "local"])
def test_a_generator_the_operator_did_not_open_is_a_400(server: Server,
                                                        generator: str) -> None:
    response = send(server, "POST", "/v1/ask",
                    json={"question": "Who headed the delegation?", "generator": generator})
    error = assert_rejected(server, response, 400, f"generator '{generator}'",
                            "allowed: extractive")
    assert error["code"] == "generator_not_allowed"


def test_the_servers_own_generator_may_be_requested(server: Server) -> None:
    response = send(server, "POST", "/v1/ask",
                    json={"question": "Who headed the delegation?", "generator": "extractive"})
    assert response.status_code == 200 and response.json()["generator"] == "extractive"


# --- 2. bodies FastAPI could not read, routes that do not exist ---------------------------
@pytest.mark.parametrize("content, words", [
    (b'{"question": "caf\xe9"}', ["not valid UTF-8"]),
    (b'{"question": "Who?", "n": ' + b"9" * 5000 + b"}", ["4300 digits"]),
    (b'{"question": ' + b"[" * 1000 + b"]" * 1000 + b"}", ["too deeply"]),
    (b"{not json", ["invalid request", "JSON"]),
], ids=["invalid-utf8", "huge-integer", "nested-1000", "not-json"])
def test_an_unreadable_body_is_a_400(server: Server, content: bytes, words: list[str]) -> None:
    response = send(server, "POST", "/v1/ask", content=content,
                    headers={"Content-Type": "application/json"})
    assert_rejected(server, response, 400, *words)


def test_an_unknown_route_is_a_404_and_a_wrong_method_a_405(server: Server) -> None:
    assert_rejected(server, send(server, "GET", "/v1/nothing-here"), 404, "no endpoint")
    wrong = send(server, "GET", "/v1/ask")
    assert_rejected(server, wrong, 405, "GET is not allowed", "allowed: POST")
    assert wrong.headers["allow"] == "POST"
    put = send(server, "PUT", "/v1/indexes/news/documents/000.txt")
    assert_rejected(server, put, 405, "allowed: DELETE, GET")
    assert put.headers["allow"] == "DELETE, GET"


def test_a_body_over_the_cap_is_a_413_declared_or_streamed(server: Server) -> None:
    big = json.dumps({"question": "x" * (MAX_BODY + 10)}).encode()
    declared = send(server, "POST", "/v1/ask", content=big,
                    headers={"Content-Type": "application/json"})
    assert_rejected(server, declared, 413, "RAG_MAX_BODY_BYTES")

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield b'{"question": "'
        for _ in range(20):
            yield b"y" * 10_000
        yield b'"}'

    streamed = send(server, "POST", "/v1/ask", content=chunks(),
                    headers={"Content-Type": "application/json"})
    assert_rejected(server, streamed, 413, "RAG_MAX_BODY_BYTES")


def test_a_non_json_body_on_a_json_endpoint_is_a_415(server: Server) -> None:
    response = send(server, "POST", "/v1/ask", content=b"question=hi",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_rejected(server, response, 415, "application/json")


def test_multipart_errors_are_400s_in_openais_shape(server: Server) -> None:
    broken = send(server, "POST", "/v1/indexes/news/documents", content=b"--xx\r\ngarbage",
                  headers={"Content-Type": "multipart/form-data; boundary=xx"})
    assert broken.status_code in (400, 422)
    assert_rejected(server, broken, broken.status_code)
    files = [("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(1001)]
    many = send(server, "POST", "/v1/indexes/news/documents", files=files)
    assert_rejected(server, many, 400, "too many files")
    over = send(server, "POST", "/v1/indexes/news/documents",
                files=[("files", ("big.txt", b"x" * 500_000, "text/plain"))])
    assert_rejected(server, over, 413, "RAG_MAX_UPLOAD_REQUEST_BYTES")


def test_a_key_with_non_ascii_bytes_is_a_401(server: Server) -> None:
    status, headers, body = raw_request(
        server, b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer caf\xe9\r\n\r\n")
    assert status == 401 and json.loads(body)["error"]["code"] == "invalid_api_key"
    assert headers.get("x-request-id")


# --- malformed HTTP, answered by uvicorn before the app ----------------------------------
@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: \x01\r\n\r\n",
    b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\n\r\n",
], ids=["not-http", "control-byte-header", "two-content-lengths", "nul-in-target"])
def test_malformed_http_gets_an_openai_shaped_400(server: Server, raw: bytes) -> None:
    status, headers, body = raw_request(server, raw)
    assert status == 400
    error = json.loads(body)["error"]
    assert set(error) == ERROR_KEYS and error["code"] == "malformed_http"
    assert_logged(server, headers["x-request-id"])


def raw_request(server: Server, raw: bytes) -> tuple[int, dict[str, str], str]:
    """Send bytes as they are (no client library fixing them up); the status, headers
    (lower-case names) and body of the reply."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
            if b"\r\n\r\n" in reply:
                head, _, rest = reply.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(rest) >= length[0]:
                    break
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict((k.strip().lower(), v.strip()) for k, _, v in
                   (line.partition(":") for line in lines[1:]))
    return int(lines[0].split()[1]), headers, body.decode("utf-8")


# --- 5/6. serving exposure -------------------------------------------------------------
@pytest.mark.parametrize("host, keys, insecure, refused", [
    ("127.0.0.1", None, False, False), ("::1", None, False, False),
    ("localhost", None, False, False), ("0.0.0.0", None, False, True),
    ("::", None, False, True), ("example.org", None, False, True),
    ("0.0.0.0", "k1", False, False), ("0.0.0.0", None, True, False),
])
def test_serving_beyond_loopback_needs_keys_or_insecure(host: str, keys: str | None,
                                                       insecure: bool, refused: bool) -> None:
    settings = make_settings(Path("indexes"), api_keys=keys)
    assert (exposure_problem(host, settings, insecure=insecure) is not None) == refused


def test_rag_serve_on_all_interfaces_without_keys_refuses_and_says_how_to_fix_it(
        tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "serve", "--host", "0.0.0.0", "--port", "1"],
        env=rag_env(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "RAG_API_KEYS" in result.stderr and "--insecure" in result.stderr
    assert "anyone who can reach" in result.stderr
