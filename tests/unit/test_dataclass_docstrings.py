"""Every dataclass the functions ship has a docstring. Python 3.10's `@dataclass` gives a class
without one a docstring built from `inspect.signature(cls)`, at import: 16 such classes cost
20-30 ms of every cold start on python3.10 here, more than the other 14 dataclasses
on the db function's path together."""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def _is_dataclass(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id == "dataclass"


def test_every_shipped_dataclass_has_a_docstring() -> None:
    sources = [*(ROOT / "shared" / "miniapp").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    missing = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(_is_dataclass(d) for d in node.decorator_list)
        and ast.get_docstring(node) is None
    ]
    assert len(sources) > 20 and missing == []
