"""Shared fixtures. The local cloud starts once per test session, in-process, on ephemeral ports,
with its state in a temporary folder: tests never assume anything is already running."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent


def build_packages() -> None:
    """The local cloud runs template.yml, whose CodeUri points at the built packages: rebuild them
    so a test never runs yesterday's code."""
    subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py")], check=True,
                   stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator["object"]:
    from localcloud.cloud import CloudOptions, LocalCloud, Ports

    build_packages()
    state = tmp_path_factory.mktemp("localcloud-state")
    cloud = LocalCloud(CloudOptions(repo_root=ROOT, state_dir=state,
                                    template_path=ROOT / "template.yml",
                                    ports=Ports.ephemeral())).start()
    try:
        yield cloud
    finally:
        cloud.stop()
