"""The verifier's onnxruntime sessions: one place decides how they are opened.

Their threads do not spin after a run (onnxruntime's default is to spin): an answer's
verification runs the head's encoder, the head and the cross-encoder back to back in
~5 ms runs, and threads left spinning after one run held the cores the next one needed;
it nearly doubled an answer's verification time (docs/benchmarks.md, "Verifier latency
(issue 29)"). The query embedder (service/embed/minilm.py) keeps spinning: one run per
question, measured faster with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPINNING = "session.intra_op.allow_spinning"


def open_session(path: Path | str, threads: int = 0, spinning: bool = False) -> Any:
    """A CPU session on `path`; `threads` 0: onnxruntime's default (the physical cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    options.add_session_config_entry(SPINNING, "1" if spinning else "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
