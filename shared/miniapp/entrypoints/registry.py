"""The command registry: one entry per operation a db event can name (the 2020 ops, the five v2
ops of each declared collection and their custom ops). Dispatch, the "unknown op" messages, the
log label, the API docs table (docs/api.md, checked by a test) and the fuzzers
(tests/e2e/fuzz_events.py) all read this one table.

An event without `"v"` speaks the 2020 protocol; `"v": 2` selects the v2 API, whose `collection`
defaults to `todos` (v2 events from before collections name none). The discriminator is needed
because `get`, `list` and `remove` exist in both with different answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..domain.records import FirstRead
from ..domain.values import is_int
from ..errors import InvalidRequest
from .fields import reject_unknown, required_str

DEFAULT_COLLECTION = "todos"


@dataclass(frozen=True)
class Shape:
    """The keys an event of one command may carry, for validation, docs and fuzzers.
    `kinds` maps every allowed key to what it holds (the fuzzers break values by kind)."""

    kinds: Mapping[str, str]
    required: frozenset[str]
    example: Mapping[str, Any]  # a valid event, less `sid`
    either: tuple[str, ...] = ()  # at least one of these must be present
    ignored: frozenset[str] = frozenset()  # keys accepted and not read (2020 events)


@dataclass(frozen=True)
class Command:
    """One operation a client may name in an event: how to read it, run it and document it."""

    protocol: str  # "2020" or "v2"
    collection: str | None  # None for the 2020 protocol
    op: str
    shape: Shape
    parse: Callable[[Mapping[str, Any]], Any]  # the event -> the handler's arguments
    run: Callable[[Any, str, Any], Any]  # (services, user_id, arguments) -> the answer's data
    event_doc: str
    answer_doc: str
    summary: str = ""
    # The rows `run` reads first, given the arguments: read with the session row when the
    # instance knows the session (Sessions.resolve), so a warm request costs one round trip less.
    first_reads: Callable[[Any], tuple[FirstRead, ...]] = lambda arguments: ()

    @property
    def label(self) -> str:
        if self.collection in (None, DEFAULT_COLLECTION):
            return self.op
        return f"{self.collection}.{self.op}"


@dataclass(frozen=True)
class Parsed:
    """An event read: the command it names, its session id and the handler's arguments."""

    command: Command
    sid: str
    args: Any

    @property
    def label(self) -> tuple[str, str]:
        """(protocol, op) for the log record."""
        return (self.command.protocol, self.command.label)


@dataclass
class Registry:
    """Every command, found by (protocol, collection, op)."""

    commands: list[Command] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index: dict[tuple[str, str | None, str], Command] = {}
        for command in self.commands:
            self._add(command)

    def _add(self, command: Command) -> None:
        key = (command.protocol, command.collection, command.op)
        if key in self._index:
            raise ValueError(f"two commands for {key}")
        self._index[key] = command

    def register(self, commands: Iterable[Command]) -> None:
        for command in commands:
            self.commands.append(command)
            self._add(command)

    @property
    def collections(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.collection for c in self.commands if c.collection))

    def ops(self, protocol: str, collection: str | None = None) -> tuple[str, ...]:
        return tuple(
            c.op for c in self.commands if c.protocol == protocol and c.collection == collection
        )

    def parse(self, event: Mapping[str, Any]) -> Parsed:
        command = self._find(event)
        shape = command.shape
        what = "a 2020 event" if command.protocol == "2020" else f"a v2 '{command.op}' event"
        reject_unknown(event, set(shape.kinds) | shape.ignored, what)
        sid = required_str(event, "sid")
        return Parsed(command, sid, command.parse(event))

    def _find(self, event: Mapping[str, Any]) -> Command:
        if "v" not in event:
            op = required_str(event, "op")
            command = self._index.get(("2020", None, op))
            if command is None:
                raise InvalidRequest(
                    f"'op' must be one of {', '.join(self.ops('2020'))} (or "
                    f'{", ".join(self.ops("v2", DEFAULT_COLLECTION))} with "v": 2)'
                )
            return command
        v = event["v"]
        if not is_int(v) or v != 2:
            raise InvalidRequest("'v' must be 2 (leave it out for the 2020 protocol)")
        collection = event.get("collection", DEFAULT_COLLECTION)
        if not isinstance(collection, str) or collection not in self.collections:
            raise InvalidRequest(f"'collection' must be one of {', '.join(self.collections)}")
        op = required_str(event, "op")
        command = self._index.get(("v2", collection, op))
        if command is None:
            raise InvalidRequest(
                f"'op' must be one of {', '.join(self.ops('v2', collection))} "
                f"for the collection '{collection}'"
            )
        return command

    def label(self, event: Mapping[str, Any] | None) -> tuple[str, str]:
        """(protocol, op) for the log record of an event that did not parse, from the client's
        values only when they are ones we know: a client string never reaches the logs
        verbatim."""
        if not isinstance(event, Mapping):
            return ("unknown", "unknown")
        try:
            return (("2020" if "v" not in event else "v2"), self._find(event).label)
        except InvalidRequest:
            if "v" not in event:
                return ("2020", "unknown")
            v = event.get("v")
            return ("v2", "unknown") if is_int(v) and v == 2 else ("unknown", "unknown")

    def markdown(self, protocol: str) -> str:
        """The docs table of one protocol (docs/api.md holds exactly this; a test checks)."""
        if protocol == "2020":
            lines = ["| op | event | `data` |", "|---|---|---|"]
            lines += [
                f"| `{c.op}` | {c.event_doc} | {c.answer_doc} |"
                for c in self.commands
                if c.protocol == "2020"
            ]
        else:
            lines = ["| collection | op | event | `data` |", "|---|---|---|---|"]
            lines += [
                f"| `{c.collection}` | `{c.op}` | {c.event_doc} | {c.answer_doc} |"
                for c in self.commands
                if c.protocol == "v2"
            ]
        return "\n".join(lines)
