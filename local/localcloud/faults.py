"""Switchable faults, set at run time (admin endpoint, CLI or a test), never by a restart, in one
vocabulary for every emulator.

Each emulator hands its requests to a `FaultApplier`, which asks the board for the fault of the
request's API (`board.pick(service, api)`): a fault that targets no API hits them all; `share` is
the fraction of matching requests it hits. The applier does the kinds every service shares
(`down`, `slow`, `timeout`, `lost_reply`) the same way everywhere; a service answers its own kinds
(`busy`, `internal_error`, `refuse`, `bad_signature`) in its wire format. The board counts what it
injected, under the kind's one name, so a report can say how many faults were survived.

The vocabulary (KINDS, what each service answers in ANSWERS, the old names in ALIASES) is
documented here and nowhere else in code; docs/faults.md shows it to users.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .httpshell import HttpResponse

# What each kind does, whatever the service. `seconds` is the delay of `slow` and `timeout`;
# `code`, if given, replaces the error code a service answers for its own kinds.
KINDS = {
    "down": "hang up at once without an answer (the service is unreachable)",
    "slow": "wait `seconds`, then answer normally",
    "timeout": "wait `seconds`, then hang up without an answer",
    "lost_reply": "handle the request, then hang up without the answer (a write is applied, the "
    "caller cannot know)",
    "busy": "refuse for load, before anything is read or written",
    "internal_error": "answer the service's internal error, before anything is read or written",
    "refuse": "answer a permission denial, as RAM would",
    "bad_signature": "answer well-formed, with a signature that does not verify",
    # A service that calls out (Alipay's asynchronous notifies) does these to one attempt.
    "notify_lost": "the attempt never reaches the receiver (it counts as failed and is retried)",
    "notify_duplicated": "the attempt is sent twice",
    "notify_delayed": "the attempt waits `seconds` of the local clock",
    "notify_out_of_order": "the attempt waits until the next one to the same receiver has gone",
    "notify_forged": "a forged copy, whose signature does not verify, goes first",
}
# Every service offers these; the applier does them alike for all.
COMMON_KINDS = ("down", "slow", "timeout", "lost_reply")
# The kinds a service answers itself, in its own terms.
ANSWERS: Mapping[str, Mapping[str, str]] = {
    "fc": {
        "busy": "answer 429 ResourceThrottled (or `code`) without running the function",
        "internal_error": "answer 500 InternalServerError (or `code`)",
    },
    "tablestore": {
        "busy": "answer 503 OTSServerBusy (or `code`); nothing is read or written",
        "internal_error": "answer 500 OTSInternalServerError (or `code`); nothing is "
        "read or written",
    },
    "sls": {
        "internal_error": "answer 500 InternalServerError (or `code`); the SDK retries 10 "
        "times, 1 s apart"
    },
    "sts": {
        "refuse": "answer 403 NoPermission (or `code`), as a RAM denial would",
        "internal_error": "answer 500 InternalError (or `code`)",
    },
    "kms": {
        "refuse": "answer 403 Forbidden.RAM (or `code`), as a RAM denial would",
        "internal_error": "answer 500 InternalFailure (or `code`)",
    },
    "alipay": {
        "internal_error": "error_response 20000 with sub_code `code` or isp.unknow-error",
        "bad_signature": "a well-formed reply whose sign does not verify (the SDK must reject it)",
        # Asynchronous notifies (alipay/notify.py), with or without `api` "notify"; the
        # gateway's requests ignore them.
        "notify_lost": "the notify never reaches the receiver; Alipay retries",
        "notify_duplicated": "the notify is sent twice, with one notify_id",
        "notify_delayed": "the notify waits `seconds` (default 60) of local clock",
        "notify_out_of_order": "the notify waits until the next one to the same URL has "
        "gone (or `seconds`, default 240, of local clock)",
        "notify_forged": "a copy for one fen more, signed with a key not Alipay's, goes first",
    },
}
# Names earlier versions used, still accepted (CLI, admin endpoint, tests); a fault is kept and
# counted under the name it maps to.
ALIASES = {
    "unreachable": "down",
    "throttle": "busy",
    "server_busy": "busy",
    "error_response": "internal_error",
}
SERVICES = tuple(ANSWERS)


def kinds_of(service: str) -> dict[str, str]:
    """The kinds `service` offers, each with what it does there (the catalogue the CLI, the
    admin endpoint and the console show)."""
    return {**{kind: KINDS[kind] for kind in COMMON_KINDS}, **ANSWERS[service]}


def canonical_kind(service: str, kind: str) -> str:
    """The vocabulary's name for `kind` on `service`; ValueError if the service has no such kind."""
    name = ALIASES.get(kind, kind)
    offered = kinds_of(service)
    if name not in offered:
        old = sorted(alias for alias, target in ALIASES.items() if target in offered)
        raise ValueError(
            f"{service} has no fault kind {kind!r}; one of "
            f"{', '.join(sorted(offered))} (old names: {', '.join(old)})"
        )
    return name


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
        object.__setattr__(self, "kind", canonical_kind(self.service, self.kind))
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


# A service's answer, in its wire format, to a fault of one of its own kinds.
Answer = Callable[[Fault], "HttpResponse"]


class FaultApplier:
    """One service's side of the board: applies the fault picked for each request."""

    def __init__(
        self, board: FaultBoard, service: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._board = board
        self._service = service
        self._sleep = sleep

    def around(
        self, api: str | None, serve: Callable[[], HttpResponse], answer: Answer
    ) -> HttpResponse:
        """`serve()`'s answer, or what the fault on `api` makes of the request."""
        fault = self._board.pick(self._service, api)
        if fault is None:
            return serve()
        if fault.kind in ("slow", "timeout"):
            self._sleep(fault.seconds)
        if fault.kind == "slow":
            return serve()
        if fault.kind in ("down", "timeout"):
            raise DropConnection()
        if fault.kind == "lost_reply":
            serve()  # the request takes effect; only its answer is lost
            raise DropConnection()
        return answer(fault)
