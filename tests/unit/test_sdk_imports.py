"""How the adapters import the SDKs (miniapp/adapters/sdk_imports.py): inside `lean()` a deferred
module runs only when first used, a refused optional import raises ImportError, a stand-in
refuses loudly; outside it, imports are untouched."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from miniapp.adapters import sdk_imports


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for made-up modules; whatever they import is forgotten after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]
    importlib.invalidate_caches()


def _write(folder: Path, relative: str, text: str) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    importlib.invalidate_caches()


def test_a_deferred_module_runs_when_first_used(modules: Path, monkeypatch) -> None:
    _write(modules, "feature_x.py", "import sys\nsys.modules['feature_x_ran'] = sys\nVALUE = 7\n")
    monkeypatch.setitem(sdk_imports.DEFERRED, "feature_x", "a feature never used")
    with sdk_imports.lean():
        import feature_x
    assert sdk_imports.is_deferred(feature_x) and "feature_x_ran" not in sys.modules
    assert feature_x.VALUE == 7
    assert "feature_x_ran" in sys.modules and not sdk_imports.is_deferred(feature_x)


def test_outside_lean_a_deferred_module_imports_as_usual(modules: Path, monkeypatch) -> None:
    _write(modules, "feature_y.py", "VALUE = 8\n")
    monkeypatch.setitem(sdk_imports.DEFERRED, "feature_y", "a feature never used")
    with sdk_imports.lean():
        pass
    import feature_y

    assert not sdk_imports.is_deferred(feature_y)


def test_a_refused_import_raises_import_error_inside_lean_only(modules: Path, monkeypatch) -> None:
    _write(modules, "optional_z.py", "VALUE = 9\n")
    monkeypatch.setitem(sdk_imports.REFUSED, "optional_z", "its fallback is what we use")
    with sdk_imports.lean(), pytest.raises(ImportError, match="its fallback is what we use"):
        import optional_z
    import optional_z

    assert optional_z.VALUE == 9


def test_a_package_stand_in_keeps_its_modules_and_refuses_its_own_names(
    modules: Path, monkeypatch
) -> None:
    _write(modules, "pkg_w/__init__.py", "raise AssertionError('the __init__ must not run')\n")
    _write(modules, "pkg_w/probe.py", "VALUE = 10\n")
    monkeypatch.setitem(sdk_imports.PACKAGE_STAND_INS, "pkg_w", ("is not used here", ("opt_in",)))
    with sdk_imports.lean():
        import pkg_w
        from pkg_w import probe
    assert probe.VALUE == 10
    with pytest.raises(RuntimeError, match="pkg_w is not used here"):
        pkg_w.opt_in()


@pytest.mark.parametrize("module", sorted(sdk_imports.STAND_INS))
def test_without_the_distribution_a_stand_in_refuses_loudly(monkeypatch, module) -> None:
    for name in sdk_imports.STAND_INS:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sdk_imports.importlib.util, "find_spec", lambda name: None)
    sdk_imports.install_stand_ins()
    for name in sdk_imports.STAND_INS[module][1]:
        with pytest.raises(RuntimeError, match=f"{module} is not in this package"):
            getattr(sys.modules[module], name)(b"x", limit=1)


def test_a_real_distribution_is_left_alone(monkeypatch) -> None:
    sentinels = {name: object() for name in sdk_imports.STAND_INS}
    for name, sentinel in sentinels.items():
        monkeypatch.setitem(sys.modules, name, sentinel)
    sdk_imports.install_stand_ins()
    assert all(sys.modules[name] is sentinel for name, sentinel in sentinels.items())
