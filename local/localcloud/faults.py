"""Switchable faults, set at run time (admin endpoint, CLI or a test), never by a restart.

Each emulator asks the board at the start of a request: `board.pick(service, api)`. A fault that
targets no API hits them all; `share` is the fraction of matching requests it hits. The emulator
decides what a kind means on its wire (see each service's `FAULT_KINDS`). The board counts what it
injected so a report can say how many faults were survived.
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

SERVICES = ("fc", "tablestore", "sls", "sts", "alipay")


class DropConnection(Exception):
    """Raised by an app to close the connection without an answer: the service is unreachable."""


@dataclass(frozen=True)
class Fault:
    service: str
    kind: str
    api: str | None = None
    share: float = 1.0
    seconds: float = 0.0
    code: str | None = None

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise ValueError(f"unknown service {self.service!r}; one of {', '.join(SERVICES)}")
        if not 0.0 < self.share <= 1.0:
            raise ValueError("share must be in (0, 1]")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        allowed = {"service", "kind", "api", "share", "seconds", "code"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        missing = [name for name in ("service", "kind") if name not in data]
        if missing:
            raise ValueError(f"missing fault fields: {', '.join(missing)}")
        # The admin endpoint hands JSON over: say which field has the wrong type, in its terms.
        for name in ("service", "kind", "api", "code"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ValueError(f"fault field {name} must be a string")
        for name in ("share", "seconds"):
            value = data.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"fault field {name} must be a number")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultBoard:
    def __init__(self, seed: int | None = None) -> None:
        self._faults: dict[tuple[str, str | None], Fault] = {}
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.injected: Counter[str] = Counter()

    def set(self, fault: Fault) -> None:
        with self._lock:
            self._faults[(fault.service, fault.api)] = fault

    def reseed(self, seed: int) -> None:
        """Make which requests a share hits repeatable (a test that must not depend on luck)."""
        with self._lock:
            self._random.seed(seed)

    def clear(self, service: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._faults if service is None or k[0] == service]:
                del self._faults[key]

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def pick(self, service: str, api: str | None = None) -> Fault | None:
        """The fault to apply to this request, if any; an API-specific fault wins."""
        with self._lock:
            fault = self._faults.get((service, api)) or self._faults.get((service, None))
            if fault is None or self._random.random() >= fault.share:
                return None
            self.injected[f"{service}:{fault.kind}"] += 1
            return fault
