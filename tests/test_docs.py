"""Documentation that must stay in step with the code."""

from __future__ import annotations

from service.config import Settings
from tests.conftest import ROOT
from tools.gen_config_doc import render


def test_configuration_doc_is_generated_from_the_settings() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == render()
    assert all(field.description for field in Settings.model_fields.values())


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make run", "make test"]
