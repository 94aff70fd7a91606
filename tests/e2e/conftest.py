"""End-to-end fixtures: the mini program client, the cloud's fault board, and a snapshot of every
Tablestore row so a test can prove that a refused request changed nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram

from .support import Snapshot, take_snapshot


@pytest.fixture(scope="session")
def config(local_cloud: Any) -> dict[str, str]:
    return local_cloud.cloud_config()


@pytest.fixture
def miniprogram(config: dict[str, str]) -> Callable[..., MiniProgram]:
    """A factory: each call is another phone (a new sandbox user unless user_id is given)."""
    return lambda user_id=None: MiniProgram(config, user_id)


@pytest.fixture
def snapshot(local_cloud: Any) -> Callable[[], Snapshot]:
    return lambda: take_snapshot(local_cloud)


@pytest.fixture
def faults(local_cloud: Any) -> Iterator[Any]:
    """The shared cloud's fault board, cleared after the test whatever happens."""
    local_cloud.faults.clear()
    try:
        yield local_cloud.faults
    finally:
        local_cloud.faults.clear()
