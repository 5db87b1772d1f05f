"""Prometheus metrics of one server process (scrape each replica)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from service.generation.local_llm import LocalLLM
from service.records import Answer

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("rag_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("rag_http_request_duration_seconds", "HTTP request latency",
                                 ["route"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.stage = Histogram("rag_stage_duration_seconds",
                               "Answer latency per stage (condense, retrieve, generate, total)",
                               ["stage"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.tokens = Counter("rag_llm_tokens_total", "LLM tokens", ["kind"],
                              registry=self.registry)
        self.answers = Counter("rag_answers_total", "Answers by generator and outcome "
                               "(answered, revised: asked again after a contradiction, "
                               "abstained, fallback: the LLM replaced, quoted: the model "
                               "declined and the passages are quoted)",
                               ["generator", "outcome"], registry=self.registry)
        self.errors = Counter("rag_errors_total", "Errors by kind", ["kind"],
                              registry=self.registry)
        self.registry.register(_LocalModelDeaths())

    def observe_answer(self, answer: Answer) -> None:
        for stage, ms in answer.timings_ms.items():
            self.stage.labels(stage).observe(ms / 1000)
        self.tokens.labels("prompt").inc(answer.usage.get("prompt_tokens", 0))
        self.tokens.labels("completion").inc(answer.usage.get("completion_tokens", 0))
        outcome = ("abstained" if answer.abstained else "fallback" if answer.fallback
                   else "quoted" if answer.quoted else "revised" if answer.revised
                   else "answered")
        self.answers.labels(answer.generator, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LocalModelDeaths(Collector):
    """Deaths of the local model process (local_llm.py), read when scraped."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "rag_local_model_deaths", "Times the local model process died (a native fault, "
            "a kill, or a timeout it did not stop for); it is restarted each time",
            value=LocalLLM.deaths_total)
