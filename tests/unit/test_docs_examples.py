"""The examples of docs/extending.md are the files under docs/examples/ (typed and linted with the
rest): each marked block is its file, word for word, and the tests run them."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from tests.conftest import ROOT

GUIDE = ROOT / "docs" / "extending.md"
BLOCK = re.compile(r"(?:^ *<!-- example: (\S+) -->\n)?^( *)```python\n(.*?)^ *```$", re.M | re.S)


def _blocks() -> list[tuple[str | None, str]]:
    found = []
    for match in BLOCK.finditer(GUIDE.read_text()):
        indent = len(match.group(2))
        code = "".join(
            line[indent:] if line.strip() else line for line in match.group(3).splitlines(True)
        )
        found.append((match.group(1), code))
    return found


def test_every_python_example_of_the_guide_is_a_file_it_names_or_the_registry_line() -> None:
    blocks = _blocks()
    assert len([path for path, _ in blocks if path]) == 3
    for path, code in blocks:
        if path is None:
            assert code.startswith("REGISTERED = ("), code
        else:
            assert (ROOT / path).read_text() == code, path


def test_the_guides_notes_test_passes_on_the_guides_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location(
        "miniapp.collections.notes", ROOT / "docs" / "examples" / "notes.py"
    )
    assert spec and spec.loader
    notes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notes)
    # As if the reader had added shared/miniapp/collections/notes.py.
    monkeypatch.setitem(sys.modules, "miniapp.collections.notes", notes)
    monkeypatch.delitem(sys.modules, "docs.examples.test_notes", raising=False)
    from docs.examples.test_notes import test_a_note_starts_unpinned

    test_a_note_starts_unpinned()
