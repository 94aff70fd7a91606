"""docs/payments.md's operator commands run as written against a local cloud (its cloud.json
named with --cloud, `ORDER_ID` an order of a buyer's), and do what the page says."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, running_local_cloud
from tests.e2e.paykit import Buyer

PAGE = ROOT / "docs" / "payments.md"


def operator_commands() -> list[list[str]]:
    block = PAGE.read_text().split("## Operating: scripts/orders.py", 1)[1]
    code = re.search(r"```sh\n(.*?)```", block, re.S)
    assert code is not None
    return [shlex.split(line) for line in code.group(1).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_local_cloud(tmp_path_factory.mktemp("payments-doc")) as running:
        yield running


def test_the_operator_commands_of_the_page_run_as_written(cloud):
    buyer = Buyer(cloud)
    paid, unpaid = buyer.create(), buyer.create()
    buyer.pay(paid["tradeNo"])
    outputs = []
    for command in operator_commands():
        assert command[:2] == [".venv/bin/python", "scripts/orders.py"], command
        order = unpaid if command[2] == "close" else paid
        args = [order["id"] if a == "ORDER_ID" else a for a in command[2:]]
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts/orders.py"),
                "--cloud",
                str(cloud.cloud_file),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    assert paid["id"] in outputs[0] and unpaid["id"] in outputs[0]
    assert '"status": "PARTIALLY_REFUNDED"' in outputs[1] and '"refunded": "1.00"' in outputs[1]
    assert '"status": "REFUNDED"' in outputs[2] and '"refunded": "9.90"' in outputs[2]
    assert '"status": "CLOSED"' in outputs[3]
