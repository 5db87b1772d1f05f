"""The Slack surface: a slack-bolt app over the answering pipeline (docs/slack.md)."""
