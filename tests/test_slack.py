"""The Slack bot: the real Bolt app inside a real `rag serve` on 127.0.0.1, talking to a local
stand-in for Slack's Web API (tests/slack_api.py), with requests signed the way Slack
signs them. Payload shapes follow Slack's docs (Events API event_callback, slash command
form posts, block_actions interactivity payloads)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from service.slack.blocks import ACTION_UP
from tests.conftest import RunRag, Server, build_news_copy, free_port, rag_env
from tests.slack_api import BOT_USER, TEAM_ID, TOKEN, SlackWebAPI
from tests.test_answer import MEDINSKY_Q

SECRET = "test-signing-secret"
USER_RATE = 3
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def slack_api() -> Iterator[SlackWebAPI]:
    with SlackWebAPI() as api:
        yield api


@pytest.fixture(scope="module")
def server(slack_api: SlackWebAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("slack")
    env = rag_env(build_news_copy(base), RAG_GENERATOR="extractive",
                  SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                  SLACK_API_URL=slack_api.url, RAG_SLACK_DB=str(base / "slack.sqlite3"),
                  RAG_SLACK_USER_RATE=str(USER_RATE), RAG_SLACK_CHANNEL_RATE="100",
                  RAG_API_KEYS="api-key-for-other-endpoints")
    srv = Server(env, base / "server.log").wait_ready()
    srv.env = env  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def fresh(prefix: str) -> str:
    """A channel or user id no other test uses (rate limits are per user and channel)."""
    return f"{prefix}{next(_ids):04d}"


def signed_post(server: Server, body: str | bytes, content_type: str, secret: str = SECRET,
                timestamp: int | None = None, **headers: str) -> httpx.Response:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    if isinstance(body, bytes):  # slack_sdk's signer takes UTF-8 text only: by the recipe
        base = b"v0:" + ts.encode() + b":" + body
        signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    else:
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    content = body.encode() if isinstance(body, str) else body
    return httpx.post(f"{server.url}/slack/events", content=content, timeout=10,
                      headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                               "X-Slack-Signature": signature, **headers})


def event_body(event: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps({
        "token": "legacy-verification-token", "team_id": TEAM_ID, "api_app_id": "A0TEST",
        "event": event, "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False})


def mention(slack_api: SlackWebAPI, channel: str, user: str, text: str,
            thread_ts: str | None = None) -> dict[str, Any]:
    """A person's message mentioning the bot, as Slack stores it and sends it."""
    message = slack_api.add_user_message(channel, user, f"<@{BOT_USER}> {text}", thread_ts)
    event = {"type": "app_mention", "user": user, "text": message["text"],
             "ts": message["ts"], "channel": channel, "event_ts": message["ts"]}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def block_texts(blocks: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(e.get("text", "") for e in block.get("elements", [])
                     if isinstance(e.get("text"), str))
    return "\n".join(parts)


def wait_log(server: Server, text: str, timeout: float = 30) -> None:
    """Until the server's log has `text` (the bot logs what it decided not to do)."""
    deadline = time.time() + timeout
    while text not in server.log():
        if time.time() > deadline:
            pytest.fail(f"not in the server log after {timeout}s: {text!r}")
        time.sleep(0.1)


def answer_update(slack_api: SlackWebAPI, channel: str, count: int = 1) -> dict[str, Any]:
    return slack_api.wait_for("chat.update", channel, count)[count - 1]


def test_mention_gets_a_threaded_cited_answer(server: Server, slack_api: SlackWebAPI) -> None:
    channel, user = fresh("C"), fresh("U")
    event = mention(slack_api, channel, user, MEDINSKY_Q)
    started = time.time()
    response = signed_post(server, event_body(event), "application/json")
    assert response.status_code == 200
    assert time.time() - started < 3  # acked within Slack's 3 seconds
    placeholder = slack_api.wait_for("chat.postMessage", channel)[0]
    assert placeholder["thread_ts"] == event["ts"] and "Searching" in placeholder["text"]
    update = answer_update(slack_api, channel)
    posted = slack_api.messages[channel][-1]
    assert update["ts"] == posted["ts"]  # the "searching…" message became the answer
    text = block_texts(update["blocks"])
    assert "Medinsky" in update["text"] and "[1]" in update["text"]
    assert "*Sources*" in text and "*[1]*" in text
    assert "Trump's turn on Ukraine" in text  # the cited document's title
    actions = [b for b in update["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [ACTION_UP, "feedback_down"]


def test_direct_message_is_answered_in_its_thread(server: Server,
                                                  slack_api: SlackWebAPI) -> None:
    channel, user = fresh("D"), fresh("U")
    message = slack_api.add_user_message(channel, user, MEDINSKY_Q)
    event = {"type": "message", "channel_type": "im", "user": user, "text": MEDINSKY_Q,
             "ts": message["ts"], "channel": channel, "event_ts": message["ts"]}
    assert signed_post(server, event_body(event), "application/json").status_code == 200
    update = answer_update(slack_api, channel)
    assert slack_api.calls_to("chat.postMessage", channel)[0]["thread_ts"] == message["ts"]
    assert "Medinsky" in update["text"]


def test_follow_up_in_a_thread_uses_the_thread_as_history(
        server: Server, slack_api: SlackWebAPI) -> None:
    channel, user = fresh("C"), fresh("U")
    first = mention(slack_api, channel, user, MEDINSKY_Q)
    signed_post(server, event_body(first), "application/json")
    answer_update(slack_api, channel)
    follow_up = mention(slack_api, channel, user, "and who headed the other delegation?",
                        thread_ts=first["ts"])
    signed_post(server, event_body(follow_up), "application/json")
    update = answer_update(slack_api, channel, count=2)
    replies = slack_api.calls_to("conversations.replies", channel)
    assert replies and replies[-1]["ts"] == first["ts"]
    assert "Umerov" in update["text"]
    assert slack_api.calls_to("chat.postMessage", channel)[-1]["thread_ts"] == first["ts"]


def test_retried_event_is_answered_once(server: Server, slack_api: SlackWebAPI) -> None:
    channel, user = fresh("C"), fresh("U")
    body = event_body(mention(slack_api, channel, user, MEDINSKY_Q), event_id="EvRETRY0001")
    assert signed_post(server, body, "application/json").status_code == 200
    retry = signed_post(server, body, "application/json", **{
        "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    answer_update(slack_api, channel)
    # The retry was seen and turned away (not merely not answered yet).
    wait_log(server, "duplicate delivery of EvRETRY0001 ignored")
    assert len(slack_api.calls_to("chat.postMessage", channel)) == 1
    assert len(slack_api.calls_to("chat.update", channel)) == 1


@pytest.mark.parametrize("secret, age_s", [("wrong-secret", 0), (SECRET, 600)],
                         ids=["bad-signature", "stale-timestamp"])
def test_badly_signed_requests_get_401_and_no_action(
        server: Server, slack_api: SlackWebAPI, secret: str, age_s: int) -> None:
    channel, user = fresh("C"), fresh("U")
    body = event_body(mention(slack_api, channel, user, MEDINSKY_Q))
    response = signed_post(server, body, "application/json", secret=secret,
                           timestamp=int(time.time()) - age_s)
    assert response.status_code == 401
    unsigned = httpx.post(f"{server.url}/slack/events", content=body,
                          headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    time.sleep(1)
    assert slack_api.calls_to("chat.postMessage", channel) == []


def test_url_verification_challenge_is_answered(server: Server) -> None:
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    response = signed_post(server, body, "application/json")
    assert response.status_code == 200 and "c-123" in response.text


def test_bots_ignore_their_own_and_other_bots_messages(
        server: Server, slack_api: SlackWebAPI) -> None:
    channel = fresh("D")
    other_bot = {"type": "message", "channel_type": "im", "bot_id": "B0OTHER",
                 "subtype": "bot_message", "text": MEDINSKY_Q, "ts": slack_api.next_ts(),
                 "channel": channel}
    own = {"type": "message", "channel_type": "im", "user": BOT_USER, "bot_id": "BBOT",
           "text": MEDINSKY_Q, "ts": slack_api.next_ts(), "channel": channel}
    for event in (other_bot, own):
        assert signed_post(server, event_body(event), "application/json").status_code == 200
    for event in (other_bot, own):  # each was handled, and turned away
        wait_log(server, f"message {event['ts']} from a bot in {channel} ignored")
    assert slack_api.calls_to("chat.postMessage", channel) == []


def click(server: Server, answer_blocks: list[dict[str, Any]], user: str, channel: str,
          message_ts: str, thread_ts: str) -> httpx.Response:
    button = next(b for b in answer_blocks if b["type"] == "actions")["elements"][0]
    payload = {
        "type": "block_actions", "team": {"id": TEAM_ID, "domain": "rag-test"},
        "user": {"id": user, "username": "tester", "team_id": TEAM_ID},
        "api_app_id": "A0TEST", "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": False, "thread_ts": thread_ts},
        "trigger_id": "1.2.3", "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts,
                    "bot_id": "BBOT", "text": "…", "blocks": answer_blocks},
        "response_url": "https://hooks.slack.com/actions/T0TEST/1/x",
        "actions": [{**button, "block_id": "feedback", "action_ts": str(time.time())}],
    }
    return signed_post(server, urlencode({"payload": json.dumps(payload)}),
                       "application/x-www-form-urlencoded")


def test_feedback_click_is_stored_and_exported(server: Server, slack_api: SlackWebAPI,
                                               run_rag: RunRag, tmp_path: Path) -> None:
    channel, user = fresh("C"), fresh("U")
    event = mention(slack_api, channel, user, MEDINSKY_Q)
    signed_post(server, event_body(event), "application/json")
    update = answer_update(slack_api, channel)
    response = click(server, update["blocks"], user, channel, update["ts"], event["ts"])
    assert response.status_code == 200
    thanks = slack_api.wait_for("chat.postEphemeral", channel)[0]
    assert thanks["user"] == user and "recorded" in thanks["text"]
    out = tmp_path / "feedback.jsonl"
    result = run_rag("feedback", "export", "--out", str(out), env=server.env)  # type: ignore[attr-defined]
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    mine = [r for r in records if r["user"] == user]
    assert len(mine) == 1
    record = mine[0]
    assert record["verdict"] == "up" and record["question"] == MEDINSKY_Q
    assert "Medinsky" in record["answer"] and record["channel"] == channel
    assert any("Medinsky" in c["text"] for c in record["citations"])


def command_body(channel: str, user: str, text: str,
                 response_url: str = "https://hooks.slack.com/commands/T0TEST/1/x") -> str:
    return urlencode({
        "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "rag-test",
        "channel_id": channel, "channel_name": "general", "user_id": user,
        "user_name": "tester", "command": "/ask", "text": text, "api_app_id": "A0TEST",
        "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": "1.2.3"})


def test_slash_command_answers_visibly_in_the_channel(server: Server,
                                                      slack_api: SlackWebAPI) -> None:
    channel, user = fresh("C"), fresh("U")
    response = signed_post(server, command_body(channel, user, MEDINSKY_Q),
                           "application/x-www-form-urlencoded")
    assert response.status_code == 200
    placeholder = slack_api.wait_for("chat.postMessage", channel)[0]
    assert "thread_ts" not in placeholder  # a new message in the channel, seen by all
    update = answer_update(slack_api, channel)
    text = block_texts(update["blocks"])
    assert f"<@{user}> asked" in text and "Medinsky" in text


def test_slash_command_where_the_bot_cannot_post_says_how_to_fix_it(
        server: Server, slack_api: SlackWebAPI) -> None:
    channel, user = fresh("G"), fresh("U")
    slack_api.closed_channels.add(channel)
    body = command_body(channel, user, MEDINSKY_Q, response_url=slack_api.hook_url)
    assert signed_post(server, body, "application/x-www-form-urlencoded").status_code == 200
    deadline = time.time() + 20
    while time.time() < deadline and not slack_api.responses:
        time.sleep(0.05)
    [response] = slack_api.responses
    assert response["response_type"] == "ephemeral" and "/invite" in response["text"]


def test_slash_command_perspectives_sets_out_each_sources_account(
        server: Server, slack_api: SlackWebAPI) -> None:
    channel, user = fresh("C"), fresh("U")
    question = "Did Kiev violate the moratorium on strikes on energy infrastructure?"
    signed_post(server, command_body(channel, user, f"--perspectives {question}"),
                "application/x-www-form-urlencoded")
    update = answer_update(slack_api, channel)
    # one Sources entry per document: "*[n]* <title>[ — <outlet>]"
    documents = {line.split("* ", 1)[1] for line in block_texts(update["blocks"]).splitlines()
                 if line.startswith("*[")}
    assert len(documents) >= 2, update["text"]  # two sources' accounts side by side
    assert update["text"].startswith("According to ")
    assert re.search(r"reports instead|also reports", update["text"])


def test_private_slash_command_answers_ephemerally(server: Server,
                                                   slack_api: SlackWebAPI) -> None:
    channel, user = fresh("C"), fresh("U")
    response = signed_post(server, command_body(channel, user, f"--private {MEDINSKY_Q}"),
                           "application/x-www-form-urlencoded")
    assert response.status_code == 200 and "Searching" in response.text
    ephemeral = slack_api.wait_for("chat.postEphemeral", channel)[0]
    assert ephemeral["user"] == user and "Medinsky" in block_texts(ephemeral["blocks"])
    assert slack_api.calls_to("chat.postMessage", channel) == []


def test_per_user_rate_limit_gets_a_polite_reply(server: Server,
                                                 slack_api: SlackWebAPI) -> None:
    user = fresh("U")
    channels = [fresh("C") for _ in range(USER_RATE + 1)]
    for channel in channels:
        event = mention(slack_api, channel, user, MEDINSKY_Q)
        assert signed_post(server, event_body(event), "application/json").status_code == 200
    for channel in channels[:USER_RATE]:
        assert "Medinsky" in answer_update(slack_api, channel)["text"]
    refused = slack_api.wait_for("chat.postMessage", channels[-1])[0]
    assert "faster than I can" in refused["text"] and "try again in" in refused["text"]
    # The refusal is the handler's last word: no "searching…" message to update.
    assert slack_api.calls_to("chat.update", channels[-1]) == []


def test_slack_api_rate_limit_is_retried_after_retry_after(
        server: Server, slack_api: SlackWebAPI) -> None:
    channel, user = fresh("C"), fresh("U")
    slack_api.fail_next("chat.update", status=429, retry_after=1)
    signed_post(server, event_body(mention(slack_api, channel, user, MEDINSKY_Q)),
                "application/json")
    updates = slack_api.wait_for("chat.update", channel, count=1)
    deadline = time.time() + 15
    while time.time() < deadline and "Medinsky" not in slack_api.messages[channel][-1]["text"]:
        time.sleep(0.1)
    assert "Medinsky" in slack_api.messages[channel][-1]["text"]
    assert len(slack_api.calls_to("chat.update", channel)) == 2  # refused once, then sent
    assert updates


def test_slack_paths_need_no_api_key_but_the_api_still_does(server: Server) -> None:
    assert httpx.get(f"{server.url}/v1/models").status_code == 401
    body = json.dumps({"token": "x", "challenge": "c-9", "type": "url_verification"})
    assert signed_post(server, body, "application/json").status_code == 200


def test_socket_mode_answers_a_mention_and_acks_the_envelope(
        slack_api: SlackWebAPI, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.slack_api import APP_TOKEN
    from tests.slack_socket import SocketModeServer

    with SocketModeServer() as socket_server:
        slack_api.socket_url = socket_server.url
        env = rag_env(build_news_copy(tmp_path), RAG_GENERATOR="extractive",
                      SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
                      SLACK_API_URL=slack_api.url, RAG_SLACK_DB=str(tmp_path / "s.sqlite3"))
        log = tmp_path / "slack.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", "slack"],
                                    env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            assert socket_server.connected.wait(120), log.read_text()
            channel, user = fresh("C"), fresh("U")
            event = mention(slack_api, channel, user, MEDINSKY_Q)
            envelope = socket_server.send("events_api", json.loads(event_body(event)))
            socket_server.wait_ack(envelope)
            update = answer_update(slack_api, channel)
            assert "Medinsky" in update["text"]
            assert slack_api.calls_to("chat.postMessage", channel)[0]["thread_ts"] == event["ts"]
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            slack_api.socket_url = None


def test_socket_mode_without_an_app_token_says_what_is_missing(run_rag: RunRag,
                                                                tmp_path: Path) -> None:
    result = run_rag("slack", env=rag_env(tmp_path, SLACK_BOT_TOKEN=TOKEN))
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr and "docs/slack.md" in result.stderr


# --- hostile and careless requests (issue 12) -------------------------------------------
MALFORMED = [("{", "application/json"), ("null", "application/json"), ("[]", "application/json"),
             ("payload=%7Bbad", "application/x-www-form-urlencoded"),
             ('{"type": "event_callback", "event": "not an object"}', "application/json"),
             (b'{"type": "url_verification", "challenge": "\xff"}', "application/json"),
             ("", "application/json")]


@pytest.mark.parametrize("body, content_type", MALFORMED,
                         ids=["brace", "null", "array", "bad-payload", "event-string",
                              "not-utf8", "empty"])
def test_malformed_bodies_get_400_when_signed_and_401_when_not(
        server: Server, body: str | bytes, content_type: str) -> None:
    signed = signed_post(server, body, content_type)
    assert signed.status_code == 400, signed.text
    assert signed.json()["error"]["message"] and signed.headers["x-request-id"]
    content = body.encode() if isinstance(body, str) else body
    unsigned = httpx.post(f"{server.url}/slack/events", content=content,
                          headers={"Content-Type": content_type})
    assert unsigned.status_code == 401 and "unsigned" in unsigned.json()["error"]["message"]


@pytest.mark.parametrize("timestamp", ["abc", "-5", "1e9", "", "9" * 40])
def test_a_bad_timestamp_header_is_a_401(server: Server, timestamp: str) -> None:
    body = json.dumps({"token": "x", "challenge": "c-1", "type": "url_verification"})
    response = httpx.post(f"{server.url}/slack/events", content=body, headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + "0" * 64})
    assert response.status_code == 401, response.text


def test_a_body_over_the_cap_is_a_413_before_the_signature_is_read(server: Server) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c" * 1_100_000})
    response = signed_post(server, body, "application/json")
    assert response.status_code == 413 and "RAG_MAX_BODY_BYTES" in response.text


@pytest.mark.e2e
def test_while_slacks_api_is_down_requests_are_acked_then_answered_when_it_is_back(
        tmp_path: Path) -> None:
    port = free_port()
    env = rag_env(build_news_copy(tmp_path), RAG_GENERATOR="extractive",
                  SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                  SLACK_API_URL=f"http://127.0.0.1:{port}/api/",
                  RAG_SLACK_DB=str(tmp_path / "slack.sqlite3"), RAG_SLACK_API_RETRIES="5")
    server = Server(env, tmp_path / "server.log").wait_ready()
    try:
        channel, user = fresh("C"), fresh("U")
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {MEDINSKY_Q}",
                 "ts": "1700000000.000100", "channel": channel,
                 "event_ts": "1700000000.000100"}
        started = time.time()
        acked = signed_post(server, event_body(event), "application/json")
        assert acked.status_code == 200 and time.time() - started < 3
        command = signed_post(server, command_body(fresh("C"), fresh("U"), MEDINSKY_Q),
                              "application/x-www-form-urlencoded")
        assert command.status_code == 200
        assert "Slack's Web API is unreachable: request acked" in server.log()
        with SlackWebAPI(port=port) as slack_api:  # Slack comes back
            update = slack_api.wait_for("chat.update", channel, timeout=60)[0]
            assert "Medinsky" in update["text"]
    finally:
        server.stop()


def test_a_signature_header_with_non_ascii_bytes_is_a_401(server: Server) -> None:
    body = json.dumps({"token": "x", "challenge": "c-2", "type": "url_verification"})
    response = httpx.post(f"{server.url}/slack/events", content=body, headers={
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": b"v0=\xe9\xff"})
    assert response.status_code == 401, response.text
