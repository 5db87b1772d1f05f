"""`rag slack`: the bot over Socket Mode."""

from __future__ import annotations

import argparse
from typing import Any

from service.config import Settings
from service.errors import ConfigError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "slack", help="run the Slack bot over Socket Mode (no public URL needed)",
        description="Connect to Slack over Socket Mode and answer mentions, direct messages "
        "and /ask in threads, with cited sources and 👍/👎 buttons. Needs SLACK_APP_TOKEN "
        "(xapp-…, scope connections:write) and SLACK_BOT_TOKEN (xoxb-…). For HTTP mode "
        "instead, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET and run `rag serve`: Slack "
        "then posts to /slack/events. Setup: docs/slack.md.",
    )
    p.add_argument("--index", help="index to answer from (default: RAG_SLACK_INDEX, else "
                   "RAG_INDEX)")
    p.set_defaults(handler=run_slack)


def run_slack(args: argparse.Namespace, settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from service.pipeline import Pipeline
    from service.slack.bot import SlackBot, web_client
    from service.state.legacy import open_state

    if not settings.slack_app_token:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN, an app-level token (xapp-…) "
                          "with the connections:write scope; see docs/slack.md")
    if args.index:
        settings = settings.model_copy(update={"slack_index": args.index})
    pipeline = Pipeline(settings)
    bot = SlackBot(settings, pipeline, open_state(settings))
    pipeline.resources.retriever(bot.index).manifest()  # fail now on an unknown or unbuilt index
    print(f"rag: Slack bot on index {bot.index!r} over Socket Mode; Ctrl-C stops it",
          flush=True)
    handler = SocketModeHandler(bot.app, settings.slack_app_token,
                                web_client=web_client(settings, settings.slack_app_token))
    handler.start()
    return 0
