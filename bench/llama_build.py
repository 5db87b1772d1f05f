"""What the portable llama.cpp build costs against a native one (issue 27): prompt and
generation tokens per second of the bundled model, each build in its own interpreter,
interleaved round by round so a busy machine slows both alike. Tokens per CPU-second
beside tokens per second: on a shared machine, with one thread (`--threads 1`, no
threads spinning at barriers), they measure the kernels rather than the neighbours.
Builds are named by interpreter: `--build NAME=PYTHON` (repeatable); the default compares
this venv's build ("portable") with build/native-venv's ("native").

    python -m bench.llama_build --native-python build/native-venv/bin/python
    python -m bench.llama_build --measure --model models/X.gguf   # one build, one round

`make bench-llama-build` builds the native venv first (GGML_NATIVE=ON, as llama-cpp-python
builds by default) and runs this. Only llama_cpp is imported in the measuring process,
so any venv with llama-cpp-python installed will do.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROMPT_TOKENS = 512
GENERATED_TOKENS = 64


def measure(model: Path, threads: int) -> dict[str, float | str]:
    """One round: a fresh context evaluates a 512-token prompt, then writes 64 tokens."""
    import llama_cpp

    if any((Path(llama_cpp.__file__).parent / "lib").glob("libggml-cpu-*.so")):
        from service.generation.llama_engine import load_cpu_backends

        load_cpu_backends()  # the dispatching build: pick this CPU's kernels
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=2048, n_threads=threads,
                          n_threads_batch=threads, n_batch=512, verbose=False)
    words = ["The", "delegation", "met", "in", "Istanbul", "to", "discuss", "a", "ceasefire",
             "and", "an", "exchange", "of", "prisoners,", "and", "the", "talks", "lasted",
             "for", "several", "hours."]
    text = " ".join(words[i % len(words)] for i in range(PROMPT_TOKENS * 2))
    tokens = llm.tokenize(text.encode())[:PROMPT_TOKENS]
    t0, c0 = time.perf_counter(), time.process_time()
    llm.eval(tokens)
    prompt_s, prompt_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(GENERATED_TOKENS):
        token = llm.sample(temp=0.0)
        llm.eval([token])
    generate_s, generate_cpu = time.perf_counter() - t0, time.process_time() - c0
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    features = [f.split(" = ")[0].strip() for f in info.split("|") if f.strip().endswith("= 1")]
    return {"prompt_tok_s": round(PROMPT_TOKENS / prompt_s, 1),
            "generate_tok_s": round(GENERATED_TOKENS / generate_s, 1),
            "prompt_tok_per_cpu_s": round(PROMPT_TOKENS / prompt_cpu, 1),
            "generate_tok_per_cpu_s": round(GENERATED_TOKENS / generate_cpu, 1),
            "features": " ".join(f for f in features if f.startswith(("AVX", "AMX", "FMA")))}


def _round(python: str, model: Path, threads: int) -> dict[str, float | str]:
    out = subprocess.run([python, "-m", "bench.llama_build", "--measure", "--model",
                          str(model), "--threads", str(threads)], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(builds: dict[str, str], model: Path, threads: int,
            rounds: int) -> dict[str, object]:
    runs: dict[str, list[dict[str, float | str]]] = {name: [] for name in builds}
    names = list(builds)
    for i in range(rounds):
        for name in names[i % len(names):] + names[: i % len(names)]:
            runs[name].append(_round(builds[name], model, threads))
    result: dict[str, object] = {}
    for name, rows in runs.items():
        result[name] = {key: statistics.median(float(r[key]) for r in rows) for key in (
            "prompt_tok_s", "generate_tok_s", "prompt_tok_per_cpu_s", "generate_tok_per_cpu_s")}
        result[name]["features"] = rows[0]["features"]  # type: ignore[index]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", action="store_true", help="one round in this interpreter")
    parser.add_argument("--model", type=Path,
                        default=Path("models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--native-python", default="build/native-venv/bin/python",
                        help="an interpreter whose llama-cpp-python was built natively")
    parser.add_argument("--build", action="append", default=[], metavar="NAME=PYTHON",
                        help="more builds to compare, each by its interpreter")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.model, args.threads)))
        return
    from bench.run import emit  # the service's packages: not in the native venv

    result: dict[str, object] = {"date": time.strftime("%Y-%m-%d"), "model": args.model.name,
                                 "threads": args.threads, "load_average": os.getloadavg()}
    builds = {"portable": sys.executable, "native": args.native_python}
    builds |= dict(b.split("=", 1) for b in args.build)
    result.update(compare(builds, args.model, args.threads, args.rounds))
    result["load_average_after"] = os.getloadavg()
    emit(result, args.out)


if __name__ == "__main__":
    main()
