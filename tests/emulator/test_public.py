"""The emulator's surface: `__all__` sorted and complete; the import rule (the library's
public names only: never its parser, models or client)."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import webex_campaign_async
import webex_campaign_async.emulator as emulator

PACKAGE = Path(emulator.__file__).parent


def _isort_key(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_complete_and_importable() -> None:
    names = emulator.__all__
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(emulator, name), name
    public = {
        name
        for name, value in vars(emulator).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(names), public - set(names)


def test_the_emulator_uses_only_public_names_of_the_library() -> None:
    public = set(webex_campaign_async.__all__)
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level == 2 and module:  # from ..X import Y: a public module, not the CLI
                    assert not module.startswith(("_", "cli")), (path.name, module)
                elif node.level == 2:  # from .. import X: a name the package exports
                    names = {alias.name for alias in node.names}
                    assert names <= public, (path.name, names - public)
                if node.level == 0:
                    assert not module.startswith("webex_campaign_async"), (path.name, module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("webex_campaign_async"), path.name


def test_every_module_says_what_it_holds() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc, path.name
        assert len(doc.splitlines()) >= 2 or path.name == "__init__.py", path.name
