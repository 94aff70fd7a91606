"""`make bench ARGS="--only instructions"`: what a cold start costs in CPU instructions, counted by
valgrind's callgrind, which a busy machine does not change (a cold start's milliseconds do).

It counts, for each function, python3.10 running only the function's package:
- import layers, one cumulative step after another (`LAYERS`): the interpreter with the standard
  library FC's runtime loads, then our modules (the handler module), then each SDK the cold path
  imports, the way the adapters import it (`sdk_imports.lean()`); each layer's own share is the
  step's count minus the one before;
- the whole cold request: a fresh worker of the local FC, from its start to its exit, answering
  the bench's request (a login for `session`, a v2 `list` for `db`), on a local cloud whose
  python3.10 is run under callgrind (`LOCALCLOUD_PYTHON310` names a wrapper);
and `node -e 0`, the yardstick of the cold-start ratios. Under callgrind a cold start takes tens
of seconds; the whole part takes two to four minutes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_TOTALS = re.compile(r"^(?:totals|summary):\s*(\d+)", re.MULTILINE)
# The layer that builds the Alipay client reads the app's key and Alipay's public key from the
# folder this names (throw-away keys the local Alipay's `ensure_keys` writes).
KEYS_DIR = "BENCH_ALIPAY_KEYS"

# The steps of each function's cold path, cumulative: (what the step adds, the code it runs).
_STDLIB = (
    "Python and the standard library the runtime loads",
    "import io, json, logging, threading, traceback",
)
_OURS = ("our modules (the handler module)", "import index")
_TABLESTORE = (
    "tablestore (urllib3, http.client, protobuf)",
    "from miniapp.adapters import tablestore",
)


def _lean(*modules: str) -> str:
    """Code importing `modules` as the adapters import an SDK (miniapp.adapters.sdk_imports)."""
    return (
        "from miniapp.adapters import sdk_imports\n"
        f"with sdk_imports.lean():\n    import {', '.join(modules)}"
    )


_CORE = (
    "aliyun-python-sdk-core and -kms (the KMS read)",
    _lean("aliyunsdkcore.client", "aliyunsdkkms.request.v20160120.GetSecretValueRequest"),
)
_STS = ("aliyun-python-sdk-sts", _lean("aliyunsdksts.request.v20150401.AssumeRoleRequest"))
_ALIPAY = (
    "python-alipay-sdk and the key check (pycryptodomex)",
    "import os, pathlib\nfrom miniapp.adapters import alipay, keys\n"
    f"folder = pathlib.Path(os.environ['{KEYS_DIR}'])\n"
    "private = (folder / 'app_private_key.pem').read_text()\n"
    "public = (folder / 'alipay_public_key.pem').read_text()\n"
    "pem = keys.pem(keys.private_key(private, check_primes=False))\n"
    "alipay.alipay_client('2021000000000000', pem, public, 'http://127.0.0.1:9/gw', 5.0)",
)
LAYERS: dict[str, tuple[tuple[str, str], ...]] = {
    "db": (_STDLIB, _OURS, _TABLESTORE, _CORE),
    "session": (_STDLIB, _OURS, _TABLESTORE, _CORE, _STS, _ALIPAY),
}


def totals(callgrind_out: str) -> int:
    """The instruction count of a callgrind output file's text."""
    found = _TOTALS.search(callgrind_out)
    if found is None:
        raise ValueError("no totals line in the callgrind output")
    return int(found.group(1))


def _valgrind() -> str:
    found = shutil.which("valgrind")
    if found is None:
        raise SystemExit(
            "valgrind is not installed: the instruction counts need it (Debian: apt-get install "
            "valgrind)"
        )
    return found


def counted(cmd: Sequence[str], cwd: Path, env: dict[str, str], out_dir: Path) -> int:
    """The instructions `cmd` runs, from start to exit, all threads."""
    out = out_dir / f"layer.{time.monotonic_ns()}"
    done = subprocess.run(
        [_valgrind(), "--tool=callgrind", "-q", f"--callgrind-out-file={out}", *cmd],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[-2:])[:80]} failed:\n{done.stderr[-2000:]}")
    return totals(out.read_text(errors="replace"))


def layer_script(function: str, upto: int) -> str:
    """The code of `function`'s layers 0..upto, run in its package folder."""
    steps = [code for _, code in LAYERS[function][: upto + 1]]
    return "import sys\nsys.path.insert(0, '')\n" + "\n".join(steps) + "\n"


def layers(python: str, function: str, out_dir: Path, keys_dir: Path) -> list[tuple[str, int]]:
    """(step, cumulative instructions) of `function`'s import layers."""
    env = {"PATH": os.environ.get("PATH", ""), KEYS_DIR: str(keys_dir)}
    cwd = ROOT / "build" / function
    found = []
    for upto, (what, _) in enumerate(LAYERS[function]):
        cmd = [python, "-I", "-S", "-B", "-c", layer_script(function, upto)]
        found.append((what, counted(cmd, cwd, env, out_dir)))
    return found


def wrapper(python: str, folder: Path) -> Path:
    """A `python3.10` that runs the real one under callgrind, one output file per process."""
    path = folder / "python3.10"
    path.write_text(
        "#!/bin/sh\n"
        f'exec "{_valgrind()}" --tool=callgrind -q '
        f'--callgrind-out-file="{folder}/worker.%p" "{python}" "$@"\n'
    )
    path.chmod(0o700)
    return path


def worker_total(folder: Path, pid: int, wait_seconds: float = 120.0) -> int:
    """The count of the worker `pid` once it has exited and callgrind has written it."""
    out = folder / f"worker.{pid}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if out.exists():
            try:
                return totals(out.read_text(errors="replace"))
            except ValueError:  # still being written
                pass
        time.sleep(0.2)
    raise SystemExit(f"callgrind wrote no count for worker {pid} (killed before it exited?)")


def cold_requests(cloud: Any, folder: Path) -> dict[str, int]:
    """The instructions of a fresh session worker answering a login and a fresh db worker
    answering a v2 list, each from its start to its exit."""
    from localcloud.miniprogram import MiniProgram

    config = cloud.cloud_config()
    app = MiniProgram(config, timeout=600.0)  # a cold start under callgrind takes seconds
    found = {}
    steps: dict[str, tuple[str, str, Callable[[], Any]]] = {}
    session = None

    def login() -> None:
        nonlocal session
        session = app.login()

    def list_items() -> None:
        assert session is not None
        app.db(session, "list", v=2)

    steps["session"] = (config["sessionServiceName"], config["sessionFunctionName"], login)
    steps["db"] = (config["serviceName"], config["dbFunctionName"], list_items)
    for name, (service, function, call) in steps.items():
        cloud.fc.recycle()
        call()
        pids = list(cloud.fc.instance_pids(service, function))
        if len(pids) != 1:
            raise SystemExit(f"{name}: expected one instance, found {len(pids)}")
        cloud.fc.recycle()  # the worker exits; callgrind writes its count
        found[name] = worker_total(folder, pids[0])
    return found


def node_total(out_dir: Path) -> int:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed: the ratios are to `node -e 0`")
    return counted([node, "-e", "0"], ROOT, dict(os.environ), out_dir)


def measure(make_cloud: Callable[[], Any]) -> dict[str, Any]:
    """Every count: {"node": n, "layers": {function: [(step, n)]}, "cold": {function: n}}.
    `make_cloud` returns a context manager of a local cloud, built once the wrapper is named."""
    from localcloud.alipay.keys import ensure_keys
    from localcloud.fc import workers
    from localcloud.fc.interpreters import find_python

    python = find_python("python3.10").path
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        keys = folder / "keys"
        ensure_keys(keys)
        figures: dict[str, Any] = {"node": node_total(folder), "layers": {}}
        for function in LAYERS:
            figures["layers"][function] = layers(python, function, folder, keys)
        previous = os.environ.get("LOCALCLOUD_PYTHON310")
        os.environ["LOCALCLOUD_PYTHON310"] = str(wrapper(python, folder))
        grace = workers.STOP_GRACE_SECONDS
        workers.STOP_GRACE_SECONDS = 120.0  # callgrind writes its count as the worker exits
        try:
            with make_cloud() as cloud:
                figures["cold"] = cold_requests(cloud, folder)
        finally:
            workers.STOP_GRACE_SECONDS = grace
            if previous is None:
                os.environ.pop("LOCALCLOUD_PYTHON310", None)
            else:
                os.environ["LOCALCLOUD_PYTHON310"] = previous
    return figures


_REST = "the app's build, KMS and the request's round trips, FC's runtime"
_WIDTH = len(_REST)


def _g(count: int) -> str:
    return f"{count / 1e9:.2f} G"


def print_instructions(figures: dict[str, Any]) -> None:
    node = figures["node"]
    print()
    print(f"Instructions of a cold start (callgrind); `node -e 0` {_g(node)}")
    for function, steps in figures["layers"].items():
        cold = figures["cold"][function]
        print(f"| {function + ' layer':{_WIDTH}} | {'adds':>8} | {'so far':>8} |")
        print(f"|{'-' * (_WIDTH + 2)}|{'-' * 10}|{'-' * 10}|")
        before = 0
        for what, total in steps:
            print(f"| {what:{_WIDTH}} | {_g(total - before):>8} | {_g(total):>8} |")
            before = total
        print(f"| {_REST:{_WIDTH}} | {_g(cold - before):>8} | {_g(cold):>8} |")
        print(f"{function}: {_g(cold)} for the cold request, {cold / node:.1f}x `node -e 0`")
        print()


if __name__ == "__main__":  # pragma: no cover - `make bench ARGS="--only instructions"`
    sys.exit('run it through scripts/bench.py: make bench ARGS="--only instructions"')
