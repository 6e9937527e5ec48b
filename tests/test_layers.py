"""The packages import one way (DESIGN.md): kg below runner and metalearner, api on top, and
the CLI's modules as a tree. Read from the source (every import, lazy ones included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: package → the metakg packages it must not import
FORBIDDEN = {
    "kg": ("metakg.runner", "metakg.metalearner", "metakg.api"),
    "runner": ("metakg.metalearner", "metakg.api"),
    "metalearner": ("metakg.runner", "metakg.api"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package: str) -> None:
    wrong = [f"{path.relative_to(ROOT)} imports {name}"
             for path in sorted((ROOT / package).rglob("*.py"))
             for name in sorted(_imports(path))
             if name.startswith(FORBIDDEN[package])]
    assert wrong == []


def test_the_cli_modules_import_as_a_tree() -> None:
    """Only the entry points import the app; the command modules import only the shared
    support; the warm-worker client imports nothing of metakg."""
    api = ROOT / "api"
    for name in ("cli_support", "cli_graph", "cli_commands", "warm"):
        assert "metakg.api.cli" not in _imports(api / f"{name}.py"), name
    assert not {i for i in _imports(api / "cli_support.py") if i.startswith("metakg.api")}
    assert not {i for i in _imports(api / "warm.py") if i.startswith("metakg")}
