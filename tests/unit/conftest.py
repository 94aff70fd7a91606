"""Fixtures for the unit tests: a `World` of fakes with both apps composed exactly as wiring
composes them for FC, only with fakes in place of the adapters."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from miniapp.testing import ALICE, BOB, IP, World, make_settings  # noqa: F401 - the public kit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def world() -> World:
    return World()


def load_handler(function: str) -> ModuleType:
    """functions/<name>/index.py under a unique module name (both files are called index.py)."""
    path = REPO / "functions" / function / "index.py"
    spec = importlib.util.spec_from_file_location(f"fc_{function}_index", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # A handler turns the cyclic collector off until its AppCache builds an app; the tests
    # inject theirs (AppCache.fixed), so this test process turns it back on.
    gc.enable()
    return module


def error_code(answer: dict[str, Any]) -> str:
    assert "error" in answer, answer
    return answer["error"]["code"]
