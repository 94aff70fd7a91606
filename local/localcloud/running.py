"""Finds the running local cloud from the file it wrote, `{state_dir}/cloud.json`.

Every CLI of the local cloud (`fault`, `logs`, `alipay`) and `make demo` start here, never from a
default port: on a shared machine the cloud on 9100 may be someone else's. `admin_call` is how
the CLIs then talk to its admin endpoint.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .cloud import CLOUD_FILE


class NoRunningCloud(Exception):
    """No cloud file, or the cloud it describes does not answer."""


class AdminCallFailed(Exception):
    """The running cloud's admin endpoint refused a command, or could not be reached."""


def read_cloud_file(state_dir: Path) -> dict[str, str]:
    path = state_dir / CLOUD_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NoRunningCloud(
            f"no local cloud has run from {state_dir} ({path.name} is missing); "
            f"start one with `make dev`"
        ) from None
    except (OSError, ValueError) as exc:
        raise NoRunningCloud(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or "fcEndpoint" not in data:
        raise NoRunningCloud(f"{path} does not describe a local cloud")
    return {str(k): str(v) for k, v in data.items()}


def is_answering(config: dict[str, str], timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(
            config["fcEndpoint"] + "/_localcloud/health", timeout=timeout
        ) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def running_cloud(state_dir: Path, timeout: float = 2.0) -> dict[str, str]:
    """The cloud config of the cloud running from `state_dir`; NoRunningCloud if none answers."""
    config = read_cloud_file(state_dir)
    if not is_answering(config, timeout):
        raise NoRunningCloud(
            f"the local cloud of {state_dir} ({config['fcEndpoint']}) does not "
            f"answer; start it with `make dev`"
        )
    return config


def admin_call(
    url: str, method: str = "GET", payload: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One call to the running cloud's admin endpoint (`{fcEndpoint}/_localcloud/...`): its JSON
    answer, or AdminCallFailed with the cloud's own `error` message."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        url, data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            answer: dict[str, Any] = json.loads(resp.read())
            return answer
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
            # The admin endpoint says `error`; the Alipay sandbox `message`.
            message = body.get("error") or body.get("message") or exc.reason
        except ValueError:
            message = exc.reason
        raise AdminCallFailed(f"the local cloud refused: {message}") from None
    except OSError as exc:
        raise AdminCallFailed(f"cannot reach the local cloud at {url}: {exc}") from None
