"""pyproject.toml declares what the library `miniapp` needs at run time, as ranges that admit the
exact versions the repository pins for deployment and tests (requirements*.txt and any lock file
under requirements/), so `pip install .` and the deployed packages agree."""

from __future__ import annotations

import re

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

# What the library imports from outside the standard library (see shared/miniapp/adapters).
LIBRARY_NEEDS = {
    "tablestore",
    "aliyun-log-python-sdk",
    "python-alipay-sdk",
    "aliyun-python-sdk-sts",
    "aliyun-python-sdk-kms",
    "aliyun-python-sdk-core",
    "cryptography",
}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#\\]+)", re.M)


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared() -> dict[str, Requirement]:
    reqs = (Requirement(text) for text in project()["dependencies"])
    return {canonicalize_name(r.name): r for r in reqs}


def pins() -> list[tuple[str, str, str]]:
    """(file, name, version) for every `name==version` line the repository pins."""
    files = [
        *ROOT.glob("requirements*.txt"),
        *ROOT.glob("requirements/**/*.txt"),
        *ROOT.glob("functions/*/requirements*.txt"),
    ]
    return [
        (str(path.relative_to(ROOT)), canonicalize_name(name), version)
        for path in files
        for name, version in PIN.findall(path.read_text(encoding="utf-8"))
    ]


def test_the_library_declares_each_runtime_dependency() -> None:
    assert set(declared()) == {canonicalize_name(n) for n in LIBRARY_NEEDS}


def test_every_pinned_version_satisfies_the_declared_range() -> None:
    deps = declared()
    checked = [(f, n, v) for f, n, v in pins() if n in deps]
    assert checked, "no pins found for the library's dependencies"
    wrong = [
        f"{f}: {n}=={v} is outside {deps[n]}"
        for f, n, v in checked
        if not deps[n].specifier.contains(v, prereleases=True)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_metadata_is_complete() -> None:
    meta = project()
    assert meta["license"] == "Apache-2.0"
    assert meta["readme"] == "README.md"
    assert meta["authors"] and all(a.get("name") for a in meta["authors"])
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
