"""The mini program's own Function Compute signer (`client/lib/fcsign.js`), run by node, for the
contract tests where the mini program is the caller: the InvokeFunction request a phone sends
(`fcsign.invokeRequest`: URL, headers with the signature, body), sent here with `requests`.

fcsign.js is plain CommonJS with vendored hashes (no npm package), so node loads it as is; one
node process signs each request."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

CLIENT_LIB = Path(__file__).resolve().parents[3] / "client" / "lib"
_SIGN = """
const fcsign = require(process.argv[1]);
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const options = JSON.parse(input);
  options.date = new Date(options.date);
  process.stdout.write(JSON.stringify(fcsign.invokeRequest(options)));
});
"""


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the mini program's signer runs on it)")
    return node


def client_signed(
    node: str,
    *,
    endpoint: str,
    account_id: str,
    service: str,
    function: str,
    credentials: Mapping[str, str],
    body: str,
    date_ms: float,
) -> dict[str, Any]:
    """What `fcsign.invokeRequest` answers: {url, method, headers, data}. `credentials` is the
    session's STS object ({AccessKeyId, AccessKeySecret, SecurityToken}); `date_ms` the phone's
    clock in milliseconds."""
    options = {
        "endpoint": endpoint,
        "accountId": account_id,
        "serviceName": service,
        "functionName": function,
        "credentials": dict(credentials),
        "body": body,
        "date": date_ms,
    }
    done = subprocess.run(
        [node, "-e", _SIGN, str(CLIENT_LIB / "fcsign.js")],
        input=json.dumps(options),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout))


def send(signed: Mapping[str, Any]) -> requests.Response:
    """The request as `my.request` sends it: the body as UTF-8 text."""
    return requests.request(
        signed["method"],
        signed["url"],
        headers=signed["headers"],
        data=(signed["data"] or "").encode("utf-8"),
        timeout=30,
    )
