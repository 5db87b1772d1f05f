"""The shape of the code: dependencies point one way, functions stay small, and the
kind of answer (plain or perspectives) is decided in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

from tests.conftest import ROOT

SERVICE = ROOT / "service"
MAX_FUNCTION_LINES = 60


def _sources() -> list[Path]:
    return sorted(SERVICE.rglob("*.py"))


def test_no_import_cycle_among_service_modules() -> None:
    """Function-level imports included: grimp reads every import statement."""
    graph = grimp.build_graph("service", cache_dir=None)
    cycles = sorted(
        f"{module} <-> {imported}"
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if module < imported and graph.chain_exists(importer=imported, imported=module))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_layer_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contracts in pyproject.toml ([tool.importlinter]); `make test` also runs
    `lint-imports`, which prints what broke."""
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    assert lint_imports(no_cache=True, no_logo=True) == 0


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} "
                                f"({lines} lines)")
    assert not long, "\n".join(long)


def _branches_on_perspectives(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If | ast.IfExp | ast.While):
            names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)} | {
                n.attr for n in ast.walk(node.test) if isinstance(n, ast.Attribute)}
            if any("perspective" in name for name in names):
                lines.append(node.lineno)
    return lines


def test_the_answering_path_chooses_the_perspectives_strategy_in_one_place() -> None:
    allowed = {SERVICE / "pipeline" / "pipeline.py": 1}
    answering = [p for d in ("pipeline", "generation", "verify") for p in
                 (SERVICE / d).rglob("*.py")]
    found = {p: len(_branches_on_perspectives(p)) for p in answering}
    unexpected = {str(p.relative_to(ROOT)): n for p, n in found.items()
                  if n > allowed.get(p, 0)}
    assert not unexpected, unexpected
    assert found[SERVICE / "pipeline" / "pipeline.py"] == 1


def _threads_after_a_matrix_product(env: dict[str, str]) -> int:
    import subprocess
    import sys

    code = ("import os, service, numpy as np; a = np.ones((64, 64), dtype=np.float32); a @ a; "
            "print(len(os.listdir('/proc/self/task')))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.e2e
def test_import_service_keeps_numpy_on_one_blas_thread_unless_told_otherwise() -> None:
    """OpenBLAS's pool makes the verifier's small products wait on a busy core
    (service/blas.py); the user's own OPENBLAS_NUM_THREADS still wins."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert _threads_after_a_matrix_product(env) == 1
    assert _threads_after_a_matrix_product({**env, "OPENBLAS_NUM_THREADS": "2"}) == 2
