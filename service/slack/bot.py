"""The Slack bot: a slack-bolt App over the one answering pipeline.

- `app_mention` in a channel and a direct message: answered in the thread of the question.
  A "searching…" message goes out at once and is replaced (`chat.update`) by the answer.
  Earlier messages of the thread are the conversation, so follow-ups work.
- `/ask QUESTION` answers visibly in the channel; `/ask --private QUESTION` only to you.
- 👍/👎 buttons under every answer record a verdict in the state store (shared by replicas,
  like the event ids already answered and the rate-limit counters).

Bolt acknowledges every request before a listener's slow part runs (events are acked
automatically; commands and actions call `ack()` first), so Slack gets its answer within
its 3 seconds and the question is answered in a worker thread afterwards. Served over HTTP
by `rag serve` (service/slack/http.py) or over Socket Mode by `rag slack`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from service.config import Settings
from service.errors import ConfigError, RagError
from service.pipeline import Pipeline
from service.records import AskRequest, Turn
from service.slack.blocks import (
    ACTION_DOWN,
    ACTION_UP,
    SlackMessage,
    notice_message,
    render_answer,
    searching_message,
)
from service.slack.identity import BotIdentity
from service.slack.limits import RateLimiter
from service.state.db import StateStore
from service.state.events import SeenEvents
from service.state.feedback import FeedbackStore, Verdict
from service.state.rate_limits import RateCounters

log = logging.getLogger("service.slack")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
#: Options a question may start with: `/ask --private --perspectives Who …?`.
FLAGS = {"--private": "private", "-p": "private", "--perspectives": "perspectives"}
USAGE = ("Ask me about the documents in the collection, e.g. `/ask Who headed the Russian "
         "delegation at the Istanbul talks?` — add `--private` to get the answer only "
         "for yourself, `--perspectives` to get each source's account side by side. In a "
         "channel, mention me; in a thread, I remember the thread.")
CANNOT_POST = ("I can't post in this channel. Invite me first (`/invite @rag`), or use "
               "`/ask --private …` to get the answer only for yourself.")


def web_client(settings: Settings, token: str | None) -> WebClient:
    """A Web API client that retries rate limits (honouring Retry-After), 500/503 and
    connection errors `slack_api_retries` times with backoff before giving up."""
    n = settings.slack_api_retries
    return WebClient(token=token, base_url=settings.slack_api_url, timeout=15,
                     retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=n),
                                     RateLimitErrorRetryHandler(max_retry_count=n),
                                     ServerErrorRetryHandler(max_retry_count=n)])


def parse_flags(text: str) -> tuple[set[str], str]:
    """Leading options (FLAGS) and the question after them."""
    flags: set[str] = set()
    words = text.split()
    while words and words[0].lower() in FLAGS:
        flags.add(FLAGS[words.pop(0).lower()])
    return flags, " ".join(words)


def question_text(text: str) -> str:
    """The question without @-mentions of the bot (or anyone) and surrounding space."""
    return " ".join(_MENTION.sub(" ", text or "").split())


class SlackBot:
    def __init__(self, settings: Settings, pipeline: Pipeline, state: StateStore,
                 signing_secret: str | None = None) -> None:
        if not settings.slack_bot_token:
            raise ConfigError("the Slack bot needs SLACK_BOT_TOKEN (the app's xoxb- bot "
                              "token); see docs/slack.md")
        self.settings = settings
        self.pipeline = pipeline
        self.index = settings.slack_index or settings.index
        self.store = FeedbackStore(state, surface="slack")
        self.seen = SeenEvents(state)
        self.limiter = RateLimiter(RateCounters(state), settings.slack_user_rate,
                                   settings.slack_channel_rate)
        self.client = web_client(settings, settings.slack_bot_token)
        bolt_log = logging.getLogger("service.slack.bolt")
        # Bolt also reads SLACK_BOT_TOKEN itself and warns that `client` wins; it does.
        bolt_log.addFilter(_not_token_skipped)
        # auth.test runs at the first request instead of at start-up, so the API server
        # starts even while Slack is unreachable; quick and without retries, so the HTTP
        # edge can tell "Slack is down" before dispatching (service/slack/identity.py).
        self.identity = BotIdentity(WebClient(token=settings.slack_bot_token,
                                              base_url=settings.slack_api_url, timeout=3))
        self.app = App(
            client=self.client, signing_secret=signing_secret or "",
            # A plain function: Bolt passes arguments by the names it finds (`self` too).
            authorize=lambda: self.identity.authorize(),
            request_verification_enabled=signing_secret is not None,
            # Our listeners turn away every bot's messages, our own included, and log it;
            # Bolt's own filter would drop ours silently.
            ignoring_self_events_enabled=False,
            listener_executor=ThreadPoolExecutor(settings.slack_workers,
                                                 thread_name_prefix="slack"),
            name="rag-slack", logger=bolt_log)
        self._register()

    # --- listeners ------------------------------------------------------------------
    def _register(self) -> None:
        app = self.app
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.command("/ask")(self.on_command)
        app.action(ACTION_UP)(self._feedback_listener("up"))
        app.action(ACTION_DOWN)(self._feedback_listener("down"))

    def on_mention(self, event: dict[str, Any], body: dict[str, Any],
                   context: dict[str, Any]) -> None:
        if _from_a_bot(event):
            log.info("message %s from a bot in %s ignored", event.get("ts"), event.get("channel"))
            return
        self._on_question(event, body, context)

    def on_message(self, event: dict[str, Any], body: dict[str, Any],
                   context: dict[str, Any]) -> None:
        # Channel messages arrive as app_mention; here only plain direct messages.
        if event.get("channel_type") != "im" or event.get("subtype") or _from_a_bot(event):
            log.info("message %s from a bot in %s ignored", event.get("ts"), event.get("channel"))
            return
        self._on_question(event, body, context)

    def on_command(self, ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        flags, question = parse_flags(command.get("text") or "")
        private = "private" in flags
        if not question or question.lower() == "help":
            ack(text=USAGE)
            return
        user, channel = command["user_id"], command["channel_id"]
        if wait := self.limiter.check(user, channel):
            ack(text=_rate_limited(wait))
            return
        if private:
            ack(text=searching_message().text)
            self._answer_privately(question, user=user, channel=channel,
                                   team=command.get("team_id"),
                                   perspectives="perspectives" in flags)
        else:
            ack()
            if not self._answer(question, channel=channel, thread_ts=None, user=user,
                                team=command.get("team_id"), history=[], asked_by=user,
                                perspectives="perspectives" in flags):
                # e.g. not_in_channel in a private channel: the response_url always works
                respond(text=CANNOT_POST, response_type="ephemeral")

    def _feedback_listener(self, verdict: Verdict) -> Callable[..., None]:
        def on_click(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
            ack()
            self.on_feedback(body, action, verdict)

        return on_click

    def on_feedback(self, body: dict[str, Any], action: dict[str, Any],
                    verdict: Verdict) -> None:
        user = body["user"]["id"]
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or container.get("thread_ts")
        stored = self.store.record_feedback(action.get("value", ""), user, verdict)
        emoji = "👍" if verdict == "up" else "👎"
        text = (f"Thanks, your {emoji} is recorded: it helps us measure answer quality."
                if stored else "I no longer have that answer, so the feedback was not "
                "recorded.")
        log.info("feedback %s from %s on %s (stored=%s)", verdict, user,
                 action.get("value"), stored)
        self._call("chat_postEphemeral", channel=channel, user=user, text=text,
                   **({"thread_ts": thread_ts} if thread_ts else {}))

    # --- answering ------------------------------------------------------------------
    def _on_question(self, event: dict[str, Any], body: dict[str, Any],
                     context: dict[str, Any]) -> None:
        channel, ts, user = event["channel"], event["ts"], event.get("user", "")
        # Slack retries an event it thinks we missed (same event id); a message can also
        # arrive as two events. Answer each once.
        keys = [k for k in (body.get("event_id"), f"message:{channel}:{ts}") if k]
        if not all([self.seen.first_sighting(k) for k in keys]):
            log.info("duplicate delivery of %s ignored", body.get("event_id"))
            return
        thread_ts = event.get("thread_ts") or ts
        flags, question = parse_flags(question_text(event.get("text", "")))
        if not question:
            self._post(channel, thread_ts, notice_message(USAGE))
            return
        if wait := self.limiter.check(user, channel):
            self._post(channel, thread_ts, notice_message(_rate_limited(wait)))
            return
        history = (self._thread_history(channel, thread_ts, ts, context.get("bot_user_id"))
                   if event.get("thread_ts") else [])
        self._answer(question, channel=channel, thread_ts=thread_ts, user=user,
                     team=body.get("team_id"), history=history,
                     perspectives="perspectives" in flags)

    def _answer(self, question: str, *, channel: str, thread_ts: str | None, user: str,
                team: str | None, history: list[Turn], asked_by: str | None = None,
                perspectives: bool = False) -> bool:
        """Answer in the channel (or thread); False if Slack refused the first message."""
        placeholder = self._post(channel, thread_ts, searching_message())
        if placeholder is None:
            return False  # logged by _call
        messages = self._render(question, history, user=user, channel=channel,
                                thread_ts=thread_ts or placeholder, team=team,
                                asked_by=asked_by, perspectives=perspectives)
        first, *rest = messages
        if self._call("chat_update", channel=channel, ts=placeholder, text=first.text,
                      blocks=first.blocks):
            for message in rest:
                self._post(channel, thread_ts or placeholder, message)
        return True

    def _answer_privately(self, question: str, *, user: str, channel: str,
                          team: str | None, perspectives: bool) -> None:
        for message in self._render(question, [], user=user, channel=channel,
                                    thread_ts=None, team=team, asked_by=user,
                                    perspectives=perspectives):
            self._call("chat_postEphemeral", channel=channel, user=user, text=message.text,
                       blocks=message.blocks)

    def _render(self, question: str, history: list[Turn], *, user: str, channel: str,
                thread_ts: str | None, team: str | None, asked_by: str | None,
                perspectives: bool) -> list[SlackMessage]:
        try:
            answer = self.pipeline.ask(AskRequest(question=question, history=history,
                                                  index=self.index, perspectives=perspectives))
        except RagError as exc:
            log.warning("question from %s in %s failed: %s", user, channel, exc)
            return [notice_message(f"Sorry, I could not answer that: {exc}")]
        answer_id = self.store.save_answer(answer, user=user, channel=channel,
                                           thread_ts=thread_ts, team=team)
        return render_answer(answer, answer_id, asked_by=asked_by)

    def _thread_history(self, channel: str, thread_ts: str, current_ts: str,
                        bot_user: str | None) -> list[Turn]:
        """The thread before the current message as a conversation (bot = assistant)."""
        response = self._call("conversations_replies", channel=channel, ts=thread_ts,
                              limit=50)
        turns: list[Turn] = []
        for message in (response or {}).get("messages", []):
            if float(message.get("ts", "0")) >= float(current_ts):
                break
            text = question_text(message.get("text", ""))
            if not text or text == searching_message().text:
                continue
            from_bot = bool(message.get("bot_id")) or (bot_user is not None
                                                      and message.get("user") == bot_user)
            turns.append(Turn(role="assistant" if from_bot else "user", content=text))
        return turns

    # --- Web API calls ----------------------------------------------------------------
    def _post(self, channel: str, thread_ts: str | None, message: SlackMessage) -> str | None:
        response = self._call("chat_postMessage", channel=channel, text=message.text,
                              blocks=message.blocks,
                              **({"thread_ts": thread_ts} if thread_ts else {}))
        return response.get("ts") if response else None

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any] | None:
        """A Web API call; the client already retried rate limits and server errors, so a
        failure here is logged and the bot moves on."""
        try:
            return getattr(self.client, method)(**kwargs).data  # type: ignore[no-any-return]
        except SlackApiError as exc:
            log.error("Slack %s failed: %s", method, exc.response.get("error", exc))
        except Exception as exc:  # network errors that outlasted the retries
            log.error("Slack %s failed: %s", method, exc)
        return None


def _not_token_skipped(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()


def _from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message"


def _rate_limited(wait: float) -> str:
    return (f"You're asking faster than I can read. Please try again in {max(1, round(wait))} "
            "seconds.")
