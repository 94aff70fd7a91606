"""The registered collection declarations are checked whole: every broken rule of every module is
named with its file, its field and the rule, so `make package` and the db function can say it."""

from __future__ import annotations

from pathlib import Path

import pytest

import miniapp.collections as registry
from miniapp.collections import DeclarationsInvalid, declared, problems

RENAMED = """
from miniapp.domain.schema import Choice, Collection, Text

COLLECTION = Collection(name="notesbad", fields={
    "Title": Text(max_chars=200),
    "color": Choice(("yellow", "blue"), default="red"),
})
"""
MISNAMED = """
from miniapp.domain.schema import Collection, Text

COLLECTION = Collection(name="other", fields={"title": Text(max_chars=200)})
"""


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder searched for declaration modules after the package's own."""
    monkeypatch.setattr(registry, "__path__", [*registry.__path__, str(tmp_path)])
    return tmp_path


def test_the_registered_declarations_have_no_problem() -> None:
    assert problems() == ()


def test_every_problem_of_every_module_is_named_with_file_field_and_rule(modules: Path) -> None:
    (modules / "notesbad.py").write_text(RENAMED)
    (modules / "misnamed.py").write_text(MISNAMED)
    found = problems(("todos", "notesbad", "misnamed", "absent"))
    assert found == (
        "shared/miniapp/collections/notesbad.py: COLLECTION.fields['Title']: the name is "
        "reserved or not [a-z][A-Za-z0-9]{0,63}",
        "shared/miniapp/collections/notesbad.py: COLLECTION.fields['color'].default: "
        "'color' must be one of yellow, blue",
        "shared/miniapp/collections/misnamed.py: COLLECTION.name: 'other' must equal the module "
        "name 'misnamed'",
        "shared/miniapp/collections/__init__.py: REGISTERED: names 'absent', but "
        "shared/miniapp/collections/absent.py does not exist",
    )


def test_loading_broken_declarations_raises_a_configuration_error_naming_them(
    modules: Path,
) -> None:
    (modules / "notesbad.py").write_text(RENAMED)
    with pytest.raises(DeclarationsInvalid) as raised:
        declared(("todos", "notesbad"))
    assert "fields['Title']" in str(raised.value) and len(raised.value.problems) == 2
