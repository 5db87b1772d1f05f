"""Answer latency of the LLM generators, the current configuration against the previous
one (issue 16) in the same run, question by question, interleaved, so a busy machine
slows both alike and the ratio stays meaningful.

    python -m bench.latency                     # local + openai, new vs previous
    python -m bench.latency --options           # llama.cpp options, generation only
    python -m bench.latency --isolation         # model process vs in process (issue 27)

Every answer is streamed (`Pipeline.stream`), so one call gives both the time to the
first token and the whole answer; prompt tokens are llama.cpp's own count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from service.config import Settings
from service.generation.chat_template import physical_cores
from service.generation.local_llm import LlamaOptions, LocalLLM
from service.generation.messages import answer_messages
from service.models import gguf_path
from service.pipeline import Pipeline
from service.pipeline.budget import PromptBudget
from service.records import Answer, AskRequest

#: The configuration before issue 16: whole sentence windows, no prefix states, no draft.
PREVIOUS: dict[str, object] = {
    "local_prompt_tokens": 0, "openai_prompt_tokens": 0, "local_prefix_cache": False,
    "local_draft": "none", "local_flash_attention": False, "local_batch_tokens": 512,
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def streamed(pipeline: Pipeline, question: str, generator: str) -> Answer:
    answer = None
    for item in pipeline.stream(AskRequest(question=question, generator=generator)):
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    return answer


def compare(configs: dict[str, Settings], generator: str,
            questions: list[str]) -> dict[str, float]:
    """Each question asked of every configuration, the order rotating per question."""
    pipelines = {name: Pipeline(s) for name, s in configs.items()}
    for pipeline in pipelines.values():
        streamed(pipeline, questions[0], generator)  # load the model, warm caches
    runs: dict[str, list[Answer]] = {name: [] for name in configs}
    names = list(configs)
    for i, question in enumerate(questions):
        for name in names[i % len(names):] + names[: i % len(names)]:
            runs[name].append(streamed(pipelines[name], question, generator))
    out: dict[str, float] = {}
    for name, answers in runs.items():
        suffix = f"{generator}" if name == "new" else f"{generator}_{name}"
        total = [a.timings_ms["total"] for a in answers]
        first = [a.timings_ms.get("generate_first_token", a.timings_ms["total"])
                 for a in answers]
        out[f"answer_p50_ms_{suffix}"] = percentile(total, 0.5)
        out[f"answer_p95_ms_{suffix}"] = percentile(total, 0.95)
        out[f"first_token_p50_ms_{suffix}"] = percentile(first, 0.5)
        out[f"prompt_tokens_{suffix}"] = round(
            statistics.fmean(a.usage["prompt_tokens"] for a in answers), 1)
    for other in ("previous", "in_process"):
        if other in runs:
            for key in ("answer_p50", "first_token_p50"):
                out[f"{key}_ratio_{generator}_vs_{other}"] = round(
                    out[f"{key}_ms_{generator}"] / out[f"{key}_ms_{generator}_{other}"], 3)
    return out


@contextmanager
def llama_server(settings: Settings, log: Path) -> Iterator[Settings]:
    """The bundled model behind llama-cpp-python's OpenAI-compatible server (threads =
    physical cores: the server's own default is half the logical CPUs)."""
    port = _free_port()
    with open(log, "w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "service.generation.llama_server", "--model",
             str(gguf_path(settings, settings.local_model)), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "4096", "--n_threads", str(physical_cores()),
             "--n_threads_batch", str(physical_cores()), "--model_alias", "bench"],
            stdout=sink, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/v1"
            deadline = time.time() + 300
            while time.time() < deadline:
                try:
                    if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            yield settings.model_copy(update={"openai_base_url": url, "llm_model": "bench",
                                              "openai_api_key": "bench"})
        finally:
            server.terminate()
            server.wait(timeout=30)


def bench_generators(base: Settings, questions: list[str], log: Path,
                     generators: tuple[str, ...] = ("local", "openai"),
                     budgets: tuple[int, ...] = ()) -> dict[str, float]:
    """`budgets`: other prompt budgets to time beside the defaults (both generators')."""
    configs = {"new": base, "previous": base.model_copy(update=PREVIOUS)}
    configs |= {f"budget_{n}": base.model_copy(update={"local_prompt_tokens": n,
                                                       "openai_prompt_tokens": n})
                for n in budgets}
    out = compare(configs, "local", questions) if "local" in generators else {}
    if "openai" not in generators:
        return out
    with llama_server(base, log) as remote:
        out.update(compare({name: s.model_copy(update={
            "openai_base_url": remote.openai_base_url, "llm_model": "bench",
            "openai_api_key": "bench"}) for name, s in configs.items()}, "openai", questions))
    return out


OPTION_VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "threads_1": {"threads": 1},
    "batch_128": {"batch_tokens": 128},
    "flash_attention": {"flash_attention": True},
    "prompt_lookup": {"draft": "prompt-lookup"},
}


def bench_options(base: Settings, questions: list[str]) -> dict[str, object]:
    """llama.cpp options on the same budgeted prompts: generation only, interleaved; each
    variant's texts compared with the default's (temperature 0: they should match)."""
    retriever = Pipeline(base).resources.retriever(base.index)
    prompts = []
    for question in questions:
        retrieval = retriever.retrieve(question)
        passages = PromptBudget().run(question, retrieval.passages, retrieval.idf,
                                      base.local_prompt_tokens)
        prompts.append(answer_messages(question, passages))
    default = LlamaOptions.from_settings(base)
    models = {name: LocalLLM(gguf_path(base, base.local_model),
                             LlamaOptions(**{**default.__dict__, **change}),
                             base.llm_timeout_s, 0.0)
              for name, change in OPTION_VARIANTS.items()}
    for llm in models.values():
        llm.complete(prompts[0], base.llm_max_tokens)  # warm up
    times: dict[str, list[float]] = {name: [] for name in models}
    texts: dict[str, list[str]] = {name: [] for name in models}
    names = list(models)
    for i, messages in enumerate(prompts):
        for name in names[i % len(names):] + names[: i % len(names)]:
            t0 = time.perf_counter()
            texts[name].append(models[name].complete(messages, base.llm_max_tokens).text)
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: {"generate_p50_ms": percentile(times[name], 0.5),
                   "same_text_as_default": texts[name] == texts["default"]}
            for name in names}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    from bench.run import NEWS_QUESTIONS, emit

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--options", action="store_true", help="llama.cpp options instead")
    parser.add_argument("--isolation", action="store_true",
                        help="the local model in its own process against in this one")
    parser.add_argument("--generators", default="local,openai",
                        help="comma-separated: local (in process), openai (llama.cpp server)")
    parser.add_argument("--budgets", default="",
                        help="comma-separated prompt budgets (tokens) to time beside the "
                             "current and previous configurations, e.g. 200,400")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    base = Settings()
    questions = NEWS_QUESTIONS[: args.questions]
    result: dict[str, object] = {"date": time.strftime("%Y-%m-%d"),
                                 "load_average": os.getloadavg()}
    if args.options:
        result.update(bench_options(base, questions))
    elif args.isolation:
        result.update(compare({"new": base, "in_process": base.model_copy(
            update={"local_isolation": "none"})}, "local", questions))
    else:
        result.update(bench_generators(
            base, questions, Path("/tmp/bench-llama-server.log"),
            tuple(args.generators.split(",")),
            tuple(int(n) for n in args.budgets.split(",") if n)))
    result["load_average_after"] = os.getloadavg()
    emit(result, args.out)


if __name__ == "__main__":
    main()
