"""A handler as a new FC instance meets it: imported by a fresh interpreter, before any request.
Importing it loads no SDK, and the cyclic collector stays off until its app is built."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_importing_a_handler_imports_no_sdk() -> None:
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('h', r'{ROOT / 'functions/db/index.py'}')\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "heavy = [n for n in ('tablestore', 'aliyun', 'alipay', 'aliyunsdkcore', 'cryptography')"
        " if n in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_handler_collects_no_cycles_until_its_app_is_built() -> None:
    """Cold start: the modules an instance imports live as long as it does."""
    code = (
        "import gc, importlib.util, sys\n"
        f"sys.path.insert(0, r'{ROOT / 'shared'}')\n"
        f"spec = importlib.util.spec_from_file_location('h', r'{ROOT / 'functions/db/index.py'}')\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(gc.isenabled())\n"
        "from miniapp.wiring import AppCache\n"
        "try:\n"
        "    m.APPS.get(m.FcContext())\n"  # no configuration: the build fails
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
        "print(gc.isenabled())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.defpath},
    )
    assert out.stdout.split() == ["False", "ConfigError", "True"]
