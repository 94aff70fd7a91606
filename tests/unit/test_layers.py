"""The library's folders are its layers: an import never runs from a lower floor to a higher one
(the front ends in `entrypoints/` call the services, never the reverse)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "shared" / "miniapp"
# Each folder, and the top-level modules of miniapp it must never import.
BELOW = {
    "domain": ("adapters", "entrypoints", "services", "testing", "wiring", "ports"),
    "services": ("adapters", "entrypoints", "testing", "wiring"),
    "adapters": ("entrypoints", "services", "testing", "wiring"),
}


def imported(path: Path) -> set[str]:
    """The miniapp modules `path` imports, as their first part under miniapp."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            package = path.relative_to(LIBRARY).parts[:-1]
            base = list(package[: len(package) - node.level + 1])
            parts = base + (node.module.split(".") if node.module else [])
            names.update([parts[0]] if parts else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("miniapp."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("miniapp."))
    return names


@pytest.mark.parametrize("folder", sorted(BELOW))
def test_no_module_imports_a_layer_above_its_own(folder: str) -> None:
    wrong = {
        str(path.relative_to(LIBRARY)): sorted(imported(path) & set(BELOW[folder]))
        for path in (LIBRARY / folder).rglob("*.py")
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_check_sees_an_import_from_above() -> None:
    assert "entrypoints" in imported(LIBRARY / "wiring.py")
