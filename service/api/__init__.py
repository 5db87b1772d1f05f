"""The HTTP surface: an OpenAI-compatible chat endpoint and a native API over AnswerService."""
