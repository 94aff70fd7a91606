"""`make bench ARGS="--only instructions"` (scripts/bench_instructions.py): each import layer it
counts runs on python3.10 with only the function's package and loads what it names, and a count
is read from callgrind's own output."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from localcloud.alipay.keys import ensure_keys
from localcloud.fc.interpreters import find_python
from scripts import bench_instructions
from scripts.bench_instructions import KEYS_DIR, LAYERS, counted, layer_script, totals
from tests.conftest import ROOT, build_packages

# What each layer loads that the one before it did not (a module of the package).
LOADS = {
    "import index": "miniapp.entrypoints",
    "from miniapp.adapters import tablestore": "tablestore.client",
    "aliyunsdkkms": "aliyunsdkcore.client",
    "aliyunsdksts": "aliyunsdksts.request.v20150401.AssumeRoleRequest",
    "alipay_client": "alipay",
}


@pytest.fixture(scope="module")
def python() -> str:
    build_packages()
    return find_python("python3.10").path


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    ensure_keys(folder)
    return folder


def _modules_after(python: str, function: str, upto: int, keys_dir: Path) -> set[str]:
    script = layer_script(function, upto) + "print('\\n'.join(sys.modules))\n"
    done = subprocess.run(
        [python, "-I", "-S", "-B", "-c", script],
        cwd=ROOT / "build" / function,
        env={"PATH": os.environ["PATH"], KEYS_DIR: str(keys_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.split())


@pytest.mark.parametrize(
    ("function", "upto"),
    [(f, i) for f, steps in LAYERS.items() for i in range(1, len(steps))],
)
def test_each_layer_runs_on_the_package_and_loads_what_it_names(
    python: str, keys_dir: Path, function: str, upto: int
) -> None:
    before = _modules_after(python, function, upto - 1, keys_dir)
    after = _modules_after(python, function, upto, keys_dir)
    code = LAYERS[function][upto][1]
    wanted = next(module for marker, module in LOADS.items() if marker in code)
    assert wanted not in before and wanted in after


def test_the_count_is_callgrinds_totals_line() -> None:
    assert totals("version: 1\ncmd: python\nevents: Ir\nsummary: 123456\ntotals: 123456\n") == (
        123456
    )
    with pytest.raises(ValueError):
        totals("events: Ir\n")


@pytest.mark.skipif(shutil.which("valgrind") is None, reason=".ci/run installs valgrind")
def test_an_interpreter_start_is_counted_in_tens_of_millions(python: str, tmp_path: Path) -> None:
    count = counted([python, "-I", "-S", "-c", "pass"], tmp_path, {}, tmp_path)
    assert 10_000_000 < count < 1_000_000_000
    assert bench_instructions.ROOT == ROOT
