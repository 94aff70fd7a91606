"""Contract tests: the local cloud's state folder is its owner's alone. After a start, the folder
and every folder in it are 0700 and every file 0600 (SQLite databases with their write-ahead
logs, key files, cloud.json), including what an earlier version left 0644 and 0755."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from localcloud.state import Database, make_private
from tests.conftest import running_local_cloud


def modes(folder: Path) -> dict[str, int]:
    """Every entry under `folder`, with the folder itself as ".", and its permission bits."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def loosen(folder: Path) -> None:
    """What state written before the cloud fixed its modes looked like."""
    for name, _ in modes(folder).items():
        path = folder / name
        path.chmod(0o755 if path.is_dir() else 0o644)


def assert_private(folder: Path) -> None:
    found = modes(folder)
    folders = {n: m for n, m in found.items() if (folder / n).is_dir()}
    files = {n: m for n, m in found.items() if n not in folders}
    assert set(folders.values()) == {0o700}, folders
    assert set(files.values()) == {0o600}, files


# Clouds of its own: what is checked is what starting a cloud does to its state folder.
def test_a_started_cloud_keeps_every_state_file_private_and_fixes_older_ones(tmp_path):
    state = tmp_path / "state"
    with running_local_cloud(state):
        assert_private(state)
        secrets = {
            "account.json",
            "cloud.json",
            "parameters.json",
            "credentials.sqlite3",
            "ros.sqlite3",
            "alipay.sqlite3",
            "alipay/app_private_key.pem",
        }
        assert secrets <= set(modes(state))
    loosen(state)
    assert set(modes(state).values()) == {0o755, 0o644}
    with running_local_cloud(state):
        assert_private(state)


def test_a_new_database_and_its_write_ahead_log_are_private(tmp_path):
    old_umask = os.umask(0o022)
    try:
        database = Database(tmp_path / "new.sqlite3", "CREATE TABLE t (x)")
        with database.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
        found = modes(tmp_path)
        database.close()
    finally:
        os.umask(old_umask)
    assert {found["new.sqlite3"], found["new.sqlite3-wal"], found["new.sqlite3-shm"]} == {0o600}


def test_make_private_leaves_symlinks_and_their_targets_alone(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("not the cloud's")
    outside.chmod(0o644)
    state = tmp_path / "state"
    state.mkdir()
    (state / "link").symlink_to(outside)
    make_private(state)
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
