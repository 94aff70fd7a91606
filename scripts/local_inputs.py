"""Write the inputs `make deploy` needs to deploy a stack to the local cloud that `make dev` runs:
deploy.<stack>.parameters.json (the sandbox's AppId and Alipay public key, and a ServiceName,
RoleNamePrefix, LogProjectName and Tablestore instance of the stack's own) and
deploy.<stack>.secrets.json (the sandbox app's private key and a fresh data key). On Alibaba
Cloud you write these two files yourself (docs/deploy.md)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instance_name(stack: str) -> str:
    """A Tablestore instance name of the stack's own, within Tablestore's rule (3-16 letters,
    digits and '-', starting with a letter): each stack's rows stay apart, as in the cloud."""
    stem = re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-")[:13].rstrip("-")
    return f"{stem if stem[:1].isalpha() else 's' + stem[:12]}-db"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="stack name; also the ServiceName and role prefix")
    # The developer's config, not client-config/local.json: the sandbox app's key files and the
    # Tablestore instance are not a mini program's business.
    parser.add_argument(
        "--config",
        default=str(ROOT / ".local" / "cloud.json"),
        help="the running local cloud's developer config "
        "(default: .local/cloud.json, written by `make dev`)",
    )
    args = parser.parse_args(argv)
    config_path = Path(args.config)
    if not config_path.exists():
        print(
            f"{config_path} does not exist: start the local cloud with `make dev` first",
            file=sys.stderr,
        )
        return 2
    config = json.loads(config_path.read_text())
    parameters = {
        "AppId": config["alipayAppId"],
        "AlipayPublicKey": (ROOT / config["alipayPublicKeyFile"]).read_text(),
        "DBInstanceName": instance_name(args.stack),
        "ServiceName": args.stack,
        "RoleNamePrefix": args.stack,
        "LogProjectName": f"{args.stack}-logs",
    }
    secret_values = {
        "AlipayAppPrivateKey": (ROOT / config["alipayAppPrivateKeyFile"]).read_text(),
        "DataKey": base64.b64encode(secrets.token_bytes(32)).decode(),
        "HashKey": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    params_file = ROOT / f"deploy.{args.stack}.parameters.json"
    secrets_file = ROOT / f"deploy.{args.stack}.secrets.json"
    params_file.write_text(json.dumps(parameters, indent=2) + "\n")
    fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(secret_values, indent=2) + "\n")
    print(f"wrote {params_file.name} and {secrets_file.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
