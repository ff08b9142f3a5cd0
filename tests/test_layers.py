"""The import contracts in pyproject.toml keep up with the package: the CLI and the emulator
are forbidden every private module of the library (seams are named exceptions, each one in
docs/architecture.md), and the layers name every module."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - import-linter brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "webex_campaign_async"
PRIVATE = sorted(
    f"webex_campaign_async.{path.stem}"
    for path in PACKAGE.glob("_*.py")
    if not path.stem.startswith("__")
)
CONTRACTS: list[dict[str, Any]] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
    "importlinter"
]["contracts"]


def _contract(source: str) -> dict[str, Any]:
    (found,) = [c for c in CONTRACTS if c.get("source_modules") == [source]]
    return found


def test_there_are_private_modules() -> None:
    assert "webex_campaign_async._client" in PRIVATE
    assert "webex_campaign_async._engine" in PRIVATE


@pytest.mark.parametrize("wing", ["webex_campaign_async.cli", "webex_campaign_async.emulator"])
def test_the_cli_and_the_emulator_are_forbidden_every_private_module(wing: str) -> None:
    forbidden = set(_contract(wing)["forbidden_modules"])
    missing = [module for module in PRIVATE if module not in forbidden]
    assert not missing, f"add to the forbidden modules of {wing}: {missing}"
    stale = {m for m in forbidden if m.startswith("webex_campaign_async._")} - set(PRIVATE)
    assert not stale, f"no such module: {stale}"


def test_the_emulator_has_no_seams() -> None:
    assert not _contract("webex_campaign_async.emulator").get("ignore_imports")


def test_every_seam_of_the_cli_is_in_the_architecture_notes() -> None:
    seams = _contract("webex_campaign_async.cli")["ignore_imports"]
    assert seams
    notes = (ROOT / "docs" / "architecture.md").read_text()
    for seam in seams:
        importer, imported = (part.strip().rsplit(".", 1)[1] for part in seam.split("->"))
        assert f"`cli/{importer} -> {imported}`" in notes, f"docs/architecture.md: {seam}"


def test_the_layers_name_every_module_and_wing() -> None:
    (layers,) = [c for c in CONTRACTS if c["type"] == "layers"]
    named = {
        name.strip() for layer in layers["layers"] for name in layer.replace(":", "|").split("|")
    }
    wings = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    expected = {module.rsplit(".", 1)[1] for module in PRIVATE} | wings | {"exceptions"}
    assert named == expected, (expected - named, named - expected)
