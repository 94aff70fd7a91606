"""The local account: its id, region and root key pair, generated on first start and kept in the
state folder so that client configs written earlier stay valid across restarts."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

ACCOUNT_FILE = "account.json"


@dataclass(frozen=True)
class Account:
    account_id: str
    region: str
    access_key_id: str
    access_key_secret: str

    @property
    def root_arn_prefix(self) -> str:
        return f"acs:ram::{self.account_id}"


def _new_account(region: str) -> Account:
    alnum = string.ascii_letters + string.digits
    return Account(
        # Real account ids are 16 digits; ours never starts with 0 so it survives int parsing.
        account_id=str(secrets.randbelow(9 * 10**15) + 10**15),
        region=region,
        access_key_id="LTAI" + "".join(secrets.choice(alnum) for _ in range(20)),
        access_key_secret="".join(secrets.choice(alnum) for _ in range(30)),
    )


def load_or_create_account(state_dir: Path, region: str = "cn-hangzhou") -> Account:
    path = state_dir / ACCOUNT_FILE
    if path.exists():
        data = json.loads(path.read_text())
        return Account(**data)
    state_dir.mkdir(parents=True, exist_ok=True)
    account = _new_account(region)
    # Written 0600: it is a key pair, even if only a local one.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(account.__dict__, f, indent=2)
    return account
