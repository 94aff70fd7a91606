"""Timer triggers run on their schedule, on the local clock.

FC takes two forms of `CronExpression` (TimerTriggerConfig): `@every <duration>` (`@every 4m`,
`@every 1h30m`; FC's minimum is one minute) and a six-field cron expression whose first field is
the second (`0 0 4 * * *`), read in UTC unless it starts with `CRON_TZ=<zone> `. croniter reads
the cron form. A trigger with `Enable: false` never fires.

Times the clock skips are not each made up for: when the clock jumps past several fire times, the
trigger fires once (its `triggerTime` the last one skipped) and then keeps its schedule, as a
cron daemon that was asleep does. The function gets FC's timer event,
`{"triggerTime": "2026-01-01T00:05:00Z", "triggerName": ..., "payload": ...}`.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..clock import Clock
from ..template import Template, TimerDecl

MIN_EVERY = 60  # seconds: FC refuses a shorter @every
_EVERY = re.compile(r"@every\s+((?:\d+[hms])+)")
_EVERY_PART = re.compile(r"(\d+)([hms])")
_UNIT = {"h": 3600, "m": 60, "s": 1}
_CRON_TZ = re.compile(r"CRON_TZ=(\S+)\s+(.*)")
KEEP_FIRES = 200


class InvalidSchedule(ValueError):
    """A timer trigger's CronExpression that FC would refuse."""


@dataclass(frozen=True)
class TimerFire:
    """One firing: which trigger, the event the function got and what it answered."""

    service: str
    function: str
    trigger: str
    event: dict[str, str]
    body: bytes
    error: dict[str, Any] | None


class Schedule:
    """When one expression fires: `next_after(t)` is the first fire time after `t`."""

    def __init__(self, expression: str) -> None:
        text = expression.strip()
        self.every: int | None = None
        self._zone: Any = timezone.utc
        every = _EVERY.fullmatch(text)
        if every is not None:
            self.every = sum(int(n) * _UNIT[u] for n, u in _EVERY_PART.findall(every.group(1)))
            if self.every < MIN_EVERY:
                raise InvalidSchedule(f"{expression!r}: @every must be at least 1m")
            return
        zoned = _CRON_TZ.fullmatch(text)
        if zoned is not None:
            try:
                self._zone = ZoneInfo(zoned.group(1))
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidSchedule(f"{expression!r}: unknown time zone") from None
            text = zoned.group(2)
        if len(text.split()) != 6 or not _croniter().is_valid(text, second_at_beginning=True):
            raise InvalidSchedule(
                f"{expression!r}: expected @every <duration> or six cron "
                f"fields (second minute hour day month weekday)"
            )
        self._cron = text

    def last_between(self, first: float, now: float) -> float:
        """The last fire time in [first, now], `first` being one (first <= now)."""
        if self.every is not None:
            return first + (now - first) // self.every * self.every
        after_now = datetime.fromtimestamp(now + 0.001, self._zone)
        found = _croniter()(self._cron, after_now, second_at_beginning=True).get_prev(datetime)
        return max(first, float(found.timestamp()))

    def next_after(self, moment: float) -> float:
        if self.every is not None:
            return moment + self.every
        start = datetime.fromtimestamp(moment, self._zone)
        found = _croniter()(self._cron, start, second_at_beginning=True).get_next(datetime)
        return float(found.timestamp())


def _croniter() -> Any:
    """croniter, imported when a cron expression is first read: its import runs `file` on the
    interpreter (platform.architecture), which a cloud without cron timers need not pay."""
    from croniter import croniter

    return croniter


@dataclass
class _Armed:
    service: str
    function: str
    decl: TimerDecl
    schedule: Schedule
    due: float


Fire = Callable[[str, str, TimerDecl, dict[str, str]], tuple[bytes, dict[str, Any] | None]]


class TimerTriggers:
    """The enabled timer triggers of a template, as one scheduler job."""

    def __init__(self, clock: Clock, fire: Fire) -> None:
        self._clock = clock
        self._fire = fire
        self._armed: list[_Armed] = []
        self._lock = threading.Lock()
        self.fired: deque[TimerFire] = deque(maxlen=KEEP_FIRES)  # newest last

    def now(self) -> float:
        return self._clock.now()

    def arm(self, template: Template) -> None:
        """Schedule `template`'s enabled timers from now (a deploy starts them afresh). Raises
        InvalidSchedule, arming nothing, when an expression is wrong."""
        now = self._clock.now()
        armed = []
        for service in template.services:
            for function in service.functions:
                for decl in function.timers:
                    try:
                        schedule = Schedule(decl.cron_expression)
                    except InvalidSchedule as exc:
                        raise InvalidSchedule(
                            f"{service.name}/{function.name} timer trigger {decl.name}: {exc}"
                        ) from None
                    if decl.enable:
                        armed.append(
                            _Armed(
                                service.name,
                                function.name,
                                decl,
                                schedule,
                                schedule.next_after(now),
                            )
                        )
        with self._lock:
            self._armed = armed

    def next_due(self) -> float | None:
        with self._lock:
            return min((a.due for a in self._armed), default=None)

    def run_due(self, now: float) -> None:
        with self._lock:
            due = [a for a in self._armed if a.due <= now]
        for armed in due:
            # Fire times the clock jumped over collapse into the last of them.
            fire_time = armed.schedule.last_between(armed.due, now)
            armed.due = armed.schedule.next_after(fire_time)
            event = {
                "triggerTime": datetime.fromtimestamp(fire_time, timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "triggerName": armed.decl.name,
                "payload": armed.decl.payload,
            }
            body, error = self._fire(armed.service, armed.function, armed.decl, event)
            self.fired.append(
                TimerFire(armed.service, armed.function, armed.decl.name, event, body, error)
            )
