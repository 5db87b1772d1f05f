"""Who the bot is in Slack (`auth.test`), fetched once and cached, for Bolt's `authorize`.

Bolt asks `auth.test` before it dispatches a request that needs authorization. Left to
itself it calls it inside its middleware with the bot's retrying client, so while
Slack's Web API is slow or down every request waited on retries and then failed with a
500, which makes Slack retry the same event into the same outage. Here the call is
quick (short timeout, no retries) and its failure is a state the HTTP edge can see
before dispatching (`ensure()` is False): it acks Slack and retries later.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

log = logging.getLogger("service.slack")


class SlackUnavailable(Exception):
    """Slack's Web API did not answer `auth.test`."""


class BotIdentity:
    """The cached `auth.test` answer of the bot token; `authorize` is handed to Bolt."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._auth_test: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def ensure(self) -> bool:
        """True when the identity is known (asking Slack once if it is not yet)."""
        with self._lock:
            if self._auth_test is None:
                try:
                    self._auth_test = dict(self._client.auth_test().data)
                except Exception as exc:  # any failure means: not known yet, try later
                    log.warning("Slack auth.test failed (Slack's Web API unreachable or "
                                "slow?): %s", exc)
                    return False
            return True

    def authorize(self) -> AuthorizeResult:
        if not self.ensure() or self._auth_test is None:
            raise SlackUnavailable("Slack's Web API did not answer auth.test")
        return AuthorizeResult.from_auth_test_response(
            bot_token=self._client.token, auth_test_response=self._auth_test)  # type: ignore[arg-type]
