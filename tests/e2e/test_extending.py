"""Acceptance of docs/extending.md: a `notes` collection added the documented way — one
declaration file and one registration line, nothing else — works end to end. The test makes the
two edits in a copy of this repository (so "nothing else changed" is checked by git), builds that
copy's packages with its own scripts/package.py, and drives notes through a local cloud running
the copy's template with the real SDKs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram
from tests.conftest import ROOT, SHARED_CLOUD_PARAMETERS, build_packages

from .faultkit import error_code

EXAMPLE = Path(__file__).resolve().parent / "notes_example" / "notes.py"
REGISTRY_FILE = Path("shared/miniapp/collections/__init__.py")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def notes_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_packages()  # the dependencies the copy's builder reuses
    copy = tmp_path_factory.mktemp("with-notes")
    files = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / "build").mkdir(exist_ok=True)
    # The copy's builder reuses the built wheels and installed dependencies (same locks).
    (copy / "build" / "_wheels").symlink_to(ROOT / "build" / "_wheels")
    shutil.copytree(ROOT / "build" / "_site", copy / "build" / "_site")
    _git(copy, "init", "-q")
    _git(copy, "add", "-A")
    _git(copy, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "base")
    # The documented addition: one file, one line.
    shutil.copy2(EXAMPLE, copy / "shared/miniapp/collections/notes.py")
    registry = copy / REGISTRY_FILE
    registry.write_text(
        registry.read_text().replace('    "todos",\n', '    "todos",\n    "notes",\n')
    )
    _git(copy, "add", "-A")
    stat = _git(copy, "diff", "--cached", "--stat")
    print("\nthe notes addition:\n" + stat)
    changed = set(_git(copy, "diff", "--cached", "--name-only").split())
    assert changed == {"shared/miniapp/collections/notes.py", str(REGISTRY_FILE)}
    numstat = _git(copy, "diff", "--cached", "--numstat", "--", str(REGISTRY_FILE)).split()
    assert numstat[:2] == ["1", "0"]  # one line added to the registry, none removed
    subprocess.run(
        [sys.executable, str(copy / "scripts" / "package.py")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return copy


@pytest.fixture(scope="module")
def notes_cloud(notes_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from localcloud.cloud import CloudOptions, LocalCloud, Ports

    with LocalCloud(
        CloudOptions(
            repo_root=notes_repo,
            state_dir=tmp_path_factory.mktemp("notes-state"),
            template_path=notes_repo / "template.yml",
            ports=Ports.ephemeral(),
            parameters=dict(SHARED_CLOUD_PARAMETERS),
        )
    ) as cloud:
        yield cloud


def _data(answer: dict[str, Any]) -> Any:
    assert error_code(answer) is None, answer
    return answer["data"]


def test_a_declared_notes_collection_works_end_to_end(notes_cloud):
    app = MiniProgram(notes_cloud.cloud_config())
    session = app.login()

    def notes(op: str, **fields: Any) -> dict[str, Any]:
        return app.db(session, op, v=2, collection="notes", **fields)

    first = _data(notes("add", title="call mum", idempotencyKey="n-1"))
    assert (first["title"], first["color"], first["pinned"], first["version"]) == (
        "call mum",
        "yellow",
        False,
        1,
    )
    assert _data(notes("add", title="call mum", idempotencyKey="n-1")) == first  # idempotent
    assert _data(notes("get", id=first["id"])) == first
    pinned = _data(notes("update", id=first["id"], expectedVersion=1, pinned=True))
    assert (pinned["pinned"], pinned["version"]) == (True, 2)
    stale = notes("update", id=first["id"], expectedVersion=1, pinned=False)
    assert error_code(stale) == "Conflict"
    assert error_code(notes("add", title="x", color="green")) == "InvalidRequest"
    second = _data(notes("add", title="buy stamps", body="ten", color="blue"))
    third = _data(notes("add", title="water plants"))
    assert error_code(notes("add", title="one too many")) == "QuotaExceeded"  # quota 3
    seen, cursor = [], None
    while True:
        page = _data(notes("list", limit=2, cursor=cursor))
        seen += [n["id"] for n in page["items"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == [first["id"], second["id"], third["id"]]
    todo_cursor = _data(app.db(session, "list", v=2, limit=1))["cursor"]
    assert todo_cursor is None  # no todos: notes are a collection apart
    assert _data(notes("remove", id=second["id"])) is None
    assert error_code(notes("get", id=second["id"])) == "NotFound"
    assert _data(notes("add", title="room again"))["title"] == "room again"
    assert error_code(app.db(session, "get", v=2, id=first["id"])) == "NotFound"
    assert error_code(app.db(session, "list", v=2, collection="tasks")) == "InvalidRequest"
