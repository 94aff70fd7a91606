"""What a deploy reads before it checks anything: the credentials, the secrets file and the
parameters. A file that cannot be read at all stops here; a missing or bad value is returned as
a problem, so that every one is reported at once (checks.py)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DeployError

SECRET_PARAMETERS = {
    "AlipayAppPrivateKey": "MINIAPP_ALIPAY_APP_PRIVATE_KEY",
    "DataKey": "MINIAPP_DATA_KEY",
    "HashKey": "MINIAPP_HASH_KEY",
}


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


def credentials_from_chain(env: Mapping[str, str]) -> Credentials:
    key_id = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID")
    secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    if key_id and secret:
        return Credentials(key_id, secret, env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None)
    config = Path(env.get("ALIBABA_CLOUD_CONFIG_FILE") or Path.home() / ".aliyun" / "config.json")
    if config.is_file():
        try:
            data = json.loads(config.read_text())
            current = env.get("ALIBABA_CLOUD_PROFILE") or data.get("current", "default")
            profile = next(p for p in data.get("profiles", []) if p.get("name") == current)
            if profile.get("access_key_id") and profile.get("access_key_secret"):
                return Credentials(
                    profile["access_key_id"],
                    profile["access_key_secret"],
                    profile.get("sts_token") or None,
                )
        except (ValueError, StopIteration):
            pass
    raise DeployError(
        "no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure a profile with `aliyun "
        "configure`"
    )


def read_secrets(
    path: Path, env: Mapping[str, str], explicit: bool
) -> tuple[dict[str, str], list[str]]:
    """The secrets from the file and the environment, and the problem of the missing ones."""
    values: dict[str, str] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise DeployError(
                f"secrets file {path}: not valid JSON ({exc}); write a JSON "
                f'object like {{"DataKey": "..."}}'
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise DeployError(
                f"secrets file {path}: expected a JSON object of strings; write "
                f'{{"AlipayAppPrivateKey": "...", "DataKey": "..."}}'
            )
        unknown = sorted(set(data) - set(SECRET_PARAMETERS))
        if unknown:
            raise DeployError(
                f"secrets file {path}: unknown keys {unknown}; it holds only "
                f"{', '.join(SECRET_PARAMETERS)}"
            )
        values.update(data)
    elif explicit:
        raise DeployError(
            f"secrets file {path} does not exist; create it (docs/deploy.md) or set "
            f"{', '.join(SECRET_PARAMETERS.values())}"
        )
    for name, variable in SECRET_PARAMETERS.items():
        if env.get(variable):
            values[name] = env[variable]
    missing = [n for n in SECRET_PARAMETERS if not values.get(n)]
    problems = []
    if missing:
        problems.append(
            f"missing secrets {', '.join(missing)}: put them in {path} or set "
            f"{', '.join(SECRET_PARAMETERS[n] for n in missing)}"
        )
    return {k: v for k, v in values.items() if v}, problems


def read_parameters(path: Path | None, pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    if path is not None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DeployError(
                f"parameters file {path}: {exc}; write a JSON object of parameter values"
            ) from None
        if not isinstance(data, dict):
            raise DeployError(f"parameters file {path}: expected a JSON object")
        values.update({str(k): str(v) for k, v in data.items()})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"--parameter {pair!r}: write NAME=VALUE")
        values[key] = value
    secret = sorted(set(values) & set(SECRET_PARAMETERS))
    if secret:
        raise DeployError(
            f"{', '.join(secret)} may not be passed as a parameter (it would end "
            f"up in shell history or a plain file); use the secrets file"
        )
    return values


def secrets_version(secrets: Mapping[str, str]) -> str:
    """The KMS secrets' VersionId: a hash of their values, so a changed secret (a rotated key)
    gets a new version and an unchanged deploy changes nothing."""
    text = json.dumps(dict(sorted(secrets.items())), separators=(",", ":"))
    return "v-" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Rotation:
    """A data key rotation worked out in memory; the secrets file is rewritten by `write`, only
    once every check has passed (a refused deploy leaves the file as it was)."""

    path: Path
    file_values: Mapping[str, str] = field(repr=False)
    current_id: str
    older: int

    def write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(dict(self.file_values), indent=2) + "\n")
        tmp.replace(self.path)
        print(
            f"data key rotated in {self.path.name}: new key {self.current_id}, "
            f"{self.older} older kept"
        )


def rotate_data_key(path: Path, secrets: Mapping[str, str]) -> tuple[dict[str, str], Rotation]:
    """The secrets with a fresh data key in front of the ring, and the rewrite of the secrets
    file `path` that keeps it (the ring was checked: checks.secret_problems)."""
    import secrets as random

    from miniapp.crypto import DATA_KEY_BYTES, parse_key_ring

    if not path.exists():
        raise DeployError(
            f"--rotate-data-key rewrites the secrets file, and {path} does not "
            f"exist; put the secrets in it first (docs/deploy.md)"
        )
    ring = parse_key_ring(secrets["DataKey"])
    if ring is None:
        raise DeployError("DataKey: not a key ring; it cannot be rotated")
    numbers = [int(k) for k in ring.keys if k.isdigit()]
    rotated = ring.rotated(str(max(numbers, default=0) + 1), random.token_bytes(DATA_KEY_BYTES))
    file_values = {**json.loads(path.read_text()), "DataKey": rotated.text()}
    rotation = Rotation(path, file_values, rotated.current_id, len(rotated.keys) - 1)
    return {**secrets, "DataKey": rotated.text()}, rotation
