"""`make client-config STACK=name`: write the mini program's `client/config.js` from a stack's
client config, `client-config/<name>.json` (`make dev` writes `local.json`; a deployed stack's
file has the same keys).

Only what the mini program needs is copied: `accountId`, `region`, `serviceName` (the db
function's service), `sessionServiceName` (the session function's; a file written before the two
services split has none, and `serviceName` serves), `sessionFunctionName`, `dbFunctionName` and the
FC `endpoint` (the file's `fcEndpoint`, or FC's public endpoint
`https://{accountId}.{region}.fc.aliyuncs.com` when it has none). Keys and secrets
in the file (the local cloud's root key, say) never reach the client.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("accountId", "region", "serviceName", "sessionFunctionName", "dbFunctionName")
# What FC accepts for these (conservative): account ids are digits, regions like cn-hangzhou,
# service and function names start with a letter or _ and hold letters, digits, _ and -.
_PATTERNS = {
    "accountId": re.compile(r"[0-9]{1,32}"),
    "region": re.compile(r"[a-z]{2,}(-[a-z0-9]+)+"),
    "serviceName": re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}"),
    "sessionServiceName": re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}"),
    "sessionFunctionName": re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}"),
    "dbFunctionName": re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}"),
}
_ENDPOINT = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


class ClientConfigError(ValueError):
    """The stack's client config cannot make a mini program config."""


@dataclass(frozen=True)
class ClientConfig:
    accountId: str
    region: str
    serviceName: str
    sessionServiceName: str
    sessionFunctionName: str
    dbFunctionName: str
    endpoint: str

    @classmethod
    def from_stack(cls, stack: Mapping[str, Any]) -> ClientConfig:
        values: dict[str, str] = {}
        for key in REQUIRED:
            value = stack.get(key)
            if not isinstance(value, str) or not _PATTERNS[key].fullmatch(value):
                raise ClientConfigError(f"{key} is missing or malformed: {value!r}")
            values[key] = value
        session_service = stack.get("sessionServiceName", values["serviceName"])
        if not isinstance(session_service, str) or not _PATTERNS["sessionServiceName"].fullmatch(
            session_service
        ):
            raise ClientConfigError(f"sessionServiceName is malformed: {session_service!r}")
        values["sessionServiceName"] = session_service
        endpoint = (
            stack.get("fcEndpoint")
            or f"https://{values['accountId']}.{values['region']}.fc.aliyuncs.com"
        )
        if not isinstance(endpoint, str) or not _ENDPOINT.fullmatch(endpoint):
            raise ClientConfigError(f"fcEndpoint is malformed: {endpoint!r}")
        return cls(endpoint=endpoint, **values)

    def to_js(self, source: str) -> str:
        body = json.dumps(self.__dict__, indent=2)
        return (
            f"// Written by `make client-config` from {source}; do not edit (git-ignored).\n"
            f"module.exports = {body};\n"
        )


def write(stack_file: Path, out: Path) -> ClientConfig:
    try:
        stack = json.loads(stack_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClientConfigError(
            f"{stack_file} does not exist: `make dev` writes client-config/local.json, `make "
            f"deploy` a deployed stack's (and `make undeploy` removes it), `make "
            f"client-config-from-stack` one from a stack's outputs"
        ) from None
    except json.JSONDecodeError as exc:
        raise ClientConfigError(f"{stack_file} is not JSON: {exc.msg}") from None
    if not isinstance(stack, dict):
        raise ClientConfigError(f"{stack_file} must hold a JSON object")
    config = ClientConfig.from_stack(stack)
    source = stack_file.relative_to(ROOT) if stack_file.is_relative_to(ROOT) else stack_file.name
    out.write_text(config.to_js(str(source)), encoding="utf-8")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stack", default="local", help="read client-config/STACK.json (default: local)"
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="read this file instead of client-config/STACK.json",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "client" / "config.js",
        help="where to write (default: client/config.js)",
    )
    args = parser.parse_args(argv)
    if args.source is None and not re.fullmatch(r"[A-Za-z0-9_.-]+", args.stack):
        parser.error(f"STACK must be a plain name, not {args.stack!r}")
    source = args.source or ROOT / "client-config" / f"{args.stack}.json"
    try:
        config = write(source.resolve(), args.out)
    except ClientConfigError as exc:
        print(f"client-config: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} (endpoint {config.endpoint}, service {config.serviceName})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
