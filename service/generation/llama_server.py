"""llama-cpp-python's OpenAI-compatible server over this service's llama.cpp build:

    python -m service.generation.llama_server --model models/X.gguf --port 8080

The same options as `python -m llama_cpp.server`. The portable build keeps llama.cpp's CPU
kernels as modules picked at run time (scripts/build_llama_cpp.py), which llama.cpp's own
loader would look for beside the Python executable; this loads them first.
"""

from __future__ import annotations

from service.generation.llama_engine import load_cpu_backends


def main() -> None:
    load_cpu_backends()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
