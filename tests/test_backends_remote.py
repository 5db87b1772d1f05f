"""Second backends over real servers on loopback: a `chroma run` server for the store
(RAG_CHROMA_URL) and an OpenAI-compatible /v1/embeddings endpoint (llama.cpp's server)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from service.config import Settings
from service.embed.openai_embed import OpenAIEmbedder
from service.index.config import load_index_config
from service.ingest.pipeline import ingest
from service.retrieval.retriever import Retriever
from tests.conftest import bundled_gguf, make_settings, wait_http, write_index


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chroma_process(data_dir: Path, log: Path) -> Iterator[str]:
    """A real `chroma run` server on a free loopback port, storing in `data_dir`; its URL."""
    port = _free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with chromadb"
    with open(log, "w") as out:
        proc = subprocess.Popen([chroma, "run", "--path", str(data_dir),
                                 "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, log, 60)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    with chroma_process(tmp_path / "chroma-data", tmp_path / "chroma.log") as url:
        yield url


def test_index_on_a_chroma_server_is_shared_between_clients(
        indexes_dir: Path, chroma_server: str) -> None:
    directory = write_index(indexes_dir, "remote", {
        "a.txt": "Envoys\n\nThe envoys met in Geneva on Tuesday to discuss grain exports.",
        "b.txt": "Weather\n\nHeavy rain fell over the northern coast all week."})
    writer = make_settings(indexes_dir, chroma_url=chroma_server)
    config = load_index_config(writer, "remote")
    assert ingest(config, writer, show_progress=False).added == ["a.txt", "b.txt"]
    assert not (directory / "store" / "chroma").exists()  # nothing stored locally
    reader = Retriever(config, make_settings(indexes_dir, chroma_url=chroma_server))
    top = reader.retrieve("Where did the envoys meet?").passages[0]
    assert top.doc_id == "a.txt" and "Geneva" in top.text
    (directory / "docs" / "a.txt").write_text(
        "Envoys\n\nThe envoys met in Vienna on Tuesday to discuss grain exports.")
    ingest(config, writer, show_progress=False)
    assert "Vienna" in reader.retrieve("Where did the envoys meet?").passages[0].text


def test_chroma_url_must_be_an_http_url(indexes_dir: Path) -> None:
    write_index(indexes_dir, "badurl", {"a.txt": "x y z"})
    settings = make_settings(indexes_dir, chroma_url="localhost:8000")
    with pytest.raises(Exception, match="http://host:port"):
        ingest(load_index_config(settings, "badurl"), settings, show_progress=False)


@pytest.mark.llm
def test_openai_embedder_against_a_real_embeddings_endpoint(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "embed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.generation.llama_server", "--model",
             str(bundled_gguf("qwen2.5-coder-0.5b")), "--host", "127.0.0.1", "--port",
             str(port), "--embedding", "true", "--model_alias", "embed-test"],
            stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}/v1"
            wait_http(f"{base}/models", proc, log, 180)
            # batch size 1: llama-cpp-python's server mixes up per-token outputs of several
            # inputs in one request (a server bug, seen with 0.3.36), and returns per-token
            # vectors for a model without a pooling layer, which the embedder mean-pools.
            settings = Settings(embed_base_url=base, embed_model="embed-test",
                                openai_api_key="x", embed_batch_size=1)
            embedder = OpenAIEmbedder.from_settings(settings)
            vectors = embedder.embed(["talks in Istanbul", "talks in Istanbul", "rain", "a", "b"])
            assert vectors.shape == (5, embedder.dimension) and embedder.dimension > 100
            assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
            assert np.allclose(vectors[0], vectors[1], atol=1e-4)
            assert float(vectors[0] @ vectors[2]) < 0.999
            assert embedder.model_id == "openai:embed-test"
        finally:
            proc.terminate()
            proc.wait(timeout=20)
