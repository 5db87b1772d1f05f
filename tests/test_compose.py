"""deploy/compose.yaml, checked without a container engine: every service's command is a
real `rag` command line (parsed by the CLI's own parser), every RAG_/SLACK_ variable is a
Settings field and the composed environment validates, and references between services
and volumes resolve."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import yaml

from service.cli.main import build_parser
from service.config import Settings
from tests.conftest import ROOT

COMPOSE = ROOT / "deploy" / "compose.yaml"
_VAR = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} and ${VAR:?error} with no variable set: the default, or
    a stand-in for a value the operator must give."""
    return _VAR.sub(lambda m: m.group(3) if m.group(2) == "-" else f"set-{m.group(1)}",
                    value)


def setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"RAG_{name.upper()}")
        choices = getattr(field.validation_alias, "choices", None) or []
        names.update(str(choice).upper() for choice in choices)
    return names


def rag_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose()["services"].items()
            if s.get("image") == "rag-service"}


def test_the_deployment_has_its_pieces() -> None:
    services = compose()["services"]
    commands = {name: s.get("command", [None])[:2] for name, s in services.items()}
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert sorted(n for n, c in commands.items() if c == ["rag", "serve"]) == ["api-1",
                                                                             "api-2"]
    assert [n for n, c in commands.items() if c == ["rag", "worker"]] == ["worker"]
    assert "chroma" not in services  # the indexes live in PostgreSQL


@pytest.mark.parametrize("service", sorted(rag_services()))
def test_every_command_exists_with_these_options(service: str) -> None:
    command = rag_services()[service]["command"]
    assert command[0] == "rag"  # the console script of pyproject.toml
    args = build_parser().parse_args(command[1:])  # exits (fails) on an unknown option
    assert callable(args.handler)


@pytest.mark.parametrize("service", sorted(rag_services()))
def test_every_setting_is_a_settings_field_and_the_environment_validates(
        service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: interpolate(str(v)) for k, v in
           (rag_services()[service].get("environment") or {}).items()}
    unknown = set(env) - setting_names()
    assert not unknown, f"not settings: {unknown}"
    for name in [n for n in os.environ if n.startswith(("RAG_", "SLACK_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url and settings.database_url.startswith(
        "postgresql+psycopg://rag:")
    assert settings.retrieval_backend == "postgres" and settings.chroma_url is None
    assert settings.inprocess_worker is False


def test_references_between_services_and_volumes_resolve() -> None:
    spec = compose()
    services, volumes = spec["services"], set(spec.get("volumes") or {})
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, (name, dependency)
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            assert source in volumes, (name, source)
    postgres = services["postgres"]["environment"]
    url = rag_services()["api-1"]["environment"]["RAG_DATABASE_URL"]
    assert f"//{postgres['POSTGRES_USER']}:" in url and url.endswith(
        f"@postgres:5432/{postgres['POSTGRES_DB']}")
