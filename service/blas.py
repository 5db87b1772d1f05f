"""One OpenBLAS thread per process, unless the user says otherwise.

numpy's OpenBLAS starts a thread per core and hands even tiny products to all of them.
The answer path only multiplies small matrices (the verifier's token alignment: ~20 claim
tokens × ~100 window tokens), and on a 2-core machine whose other core is busy (llama.cpp,
Chroma, another request) each such product waits for a thread that is not scheduled:
measured 24.6 ms per product with the pool against 0.04 ms on one thread
(docs/benchmarks.md, "Verification time and OpenBLAS threads", under "support heads v4
and v5"). The heavy work has its own
threads (onnxruntime, llama.cpp). OpenBLAS reads the variable once, when numpy loads, so
this runs at `import service`, before anything imports numpy.
"""

from __future__ import annotations

import os


def configure() -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
