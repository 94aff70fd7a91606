"""What the client's STS credentials may do: invoke the db function and nothing else. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ROLE_SESSION_NAME = re.compile(r"[A-Za-z0-9.@_-]{2,32}")


@dataclass(frozen=True)
class DbFunctionRef:
    """The db function the client's STS credentials may invoke, by region, account and service."""

    region: str
    account_id: str
    service: str
    function: str

    def resources(self) -> list[str]:
        """The unqualified ARN and the qualified one (`service.LATEST`, `service.prod`, ...)."""
        base = f"acs:fc:{self.region}:{self.account_id}:services/{self.service}"
        return [f"{base}/functions/{self.function}", f"{base}.*/functions/{self.function}"]


def client_policy(db: DbFunctionRef) -> dict[str, Any]:
    return {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["fc:InvokeFunction"],
                "Resource": db.resources(),
            }
        ],
    }


def role_session_name(user_hash: str) -> str:
    """From the keyed hash of the user id, so ActionTrail entries can be matched with our log
    records (which carry the same hash) but never with a sessionId, which must not leave the
    client and the session function."""
    name = "u-" + user_hash[:30]
    if not ROLE_SESSION_NAME.fullmatch(name):
        raise ValueError("user hash must be hex")
    return name
