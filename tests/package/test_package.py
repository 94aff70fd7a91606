"""`make package` builds code packages FC can run: each handler imports from its package alone, in
a fresh virtualenv that has only what FC's runtime provides (RUNTIME_PROVIDED.txt), with the repo
off sys.path."""
from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, build_packages

FUNCTIONS = ("session", "db")
PROBE = """
import sys
build = sys.argv[1]
sys.path.insert(0, build)
assert not any(
    p.startswith(sys.argv[2]) and not p.startswith(build) for p in sys.path if p
), sys.path
import index
assert callable(index.handler)
import miniapp
assert miniapp.__file__.startswith(build), miniapp.__file__
# The SDK-backed adapters import lazily at the first request; import them now to prove the
# package carries every dependency they need.
import miniapp.adapters.tablestore, miniapp.adapters.alipay
import miniapp.adapters.sts, miniapp.adapters.sls
import tablestore, alipay, aliyunsdksts, aliyun.log
for name in ("tablestore", "alipay", "aliyunsdksts", "aliyun"):
    module = sys.modules[name]
    assert module.__file__.startswith(build), (name, module.__file__)
print("ok")
"""


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv standing in for FC's Python runtime: the compiled distributions only."""
    build_packages()
    env_dir = tmp_path_factory.mktemp("fc-runtime")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    provided = [line for line in (ROOT / "build" / "db" / "RUNTIME_PROVIDED.txt").read_text()
                .splitlines() if line and not line.startswith("#")]
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *provided], check=True)
    return python


@pytest.mark.parametrize("function", FUNCTIONS)
def test_handler_imports_from_the_built_package_alone(runtime_python: Path, function: str,
                                                     tmp_path: Path) -> None:
    build = ROOT / "build" / function
    # -I: no PYTHONPATH, no user site, no current folder; the probe adds the package only.
    result = subprocess.run([str(runtime_python), "-I", "-c", PROBE, str(build), str(ROOT)],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_template_code_objects_name_the_built_packages() -> None:
    # `OssObjectName: session.zip` is build/session zipped (make deploy uploads it).
    resources = yaml.safe_load((ROOT / "template.yml").read_text())["Resources"]
    objects = {r["Properties"]["Code"]["OssObjectName"] for r in resources.values()
               if r["Type"] == "ALIYUN::FC::Function"}
    assert objects == {f"{function}.zip" for function in FUNCTIONS}
    for function in FUNCTIONS:
        assert (ROOT / "build" / function / "index.py").exists()


def test_packages_leave_out_the_local_cloud_and_tests() -> None:
    build_packages()
    for function in FUNCTIONS:
        names = {p.name for p in (ROOT / "build" / function).iterdir()}
        assert "localcloud" not in names and "tests" not in names, names
