"""docs/files.md's Python example runs as written against the shared local cloud (from a folder
whose `.local/cloud.json` is that cloud's, as `make dev` leaves it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_files_example_runs_as_written(local_cloud, tmp_path, monkeypatch):
    text = (ROOT / "docs" / "files.md").read_text()
    block = re.search(
        r"<!-- example:files -->\n```python\n(.*?)```\n<!-- /example:files -->", text, re.S
    )
    assert block is not None
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "cloud.json").write_text(local_cloud.cloud_file.read_text())
    monkeypatch.chdir(tmp_path)
    exec(compile(block.group(1), "docs/files.md", "exec"), {})  # the doc's own code
