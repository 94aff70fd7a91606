"""The stand-ins the packages rely on for the SDK dependencies they leave out
(functions/*/excludes.txt)."""

from __future__ import annotations

import sys

import pytest

from miniapp.adapters.tablestore import stand_ins


@pytest.mark.parametrize("module", sorted(stand_ins.STAND_INS))
def test_without_the_module_a_stand_in_refuses_loudly(monkeypatch, module) -> None:
    for name in stand_ins.STAND_INS:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(stand_ins.importlib.util, "find_spec", lambda name: None)
    stand_ins.install()
    for name in stand_ins.STAND_INS[module]:
        with pytest.raises(RuntimeError, match=f"{module} is not in this package"):
            getattr(sys.modules[module], name)(b"x", limit=1)


def test_a_real_module_is_left_alone(monkeypatch) -> None:
    sentinels = {name: object() for name in stand_ins.STAND_INS}
    for name, sentinel in sentinels.items():
        monkeypatch.setitem(sys.modules, name, sentinel)
    stand_ins.install()
    assert all(sys.modules[name] is sentinel for name, sentinel in sentinels.items())
