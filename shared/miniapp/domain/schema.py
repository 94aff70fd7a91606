"""How a collection is declared, and the rules that follow from a declaration. No I/O.

A collection is one frozen `Collection` value: its name, its fields (each a `Text`, `Number`,
`Boolean` or `Choice` with its limits, whether it is required and its default), the per-user quota,
the list order and the behaviours it has (versioned updates, idempotent adds), plus any custom
operations. Everything the base collection service does (validation of what a client sends *and*
of what storage gives back, ids, versions, timestamps) is derived from this value, so a collection
has no code of its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InvalidRequest
from .files import FileRules
from .ids import is_item_id
from .limits import INT64_MAX, INT64_MIN, MAX_EXACT_DOUBLE_INT
from .records import FirstRead, Scalar
from .values import has_control_char, has_line_break, has_lone_surrogate, is_blank, is_int

COLLECTION_NAME = re.compile(r"[a-z][A-Za-z0-9]{0,31}")
FIELD_NAME = re.compile(r"[a-z][A-Za-z0-9]{0,63}")
OP_NAME = re.compile(r"[a-z][A-Za-z0-9]{0,63}")
# Keys of a v2 event or of an item answer that a declared field may not take.
RESERVED_NAMES = frozenset(
    {
        "v",
        "sid",
        "op",
        "collection",
        "id",
        "expectedVersion",
        "idempotencyKey",
        "limit",
        "cursor",
        "createdAt",
        "updatedAt",
        "version",
        "items",
        "uid",
    }
)
BUILT_IN_OPS = ("add", "update", "get", "list", "remove")
# Stored meta columns of every item row.
META_COLUMNS = ("createdAt", "updatedAt", "version")
_MISSING = object()


@dataclass(frozen=True)
class Text:
    """A string of min_chars..max_chars code points, kept exactly as sent. Newline, tab and U+2028
    and U+2029 are allowed when `multiline`; a single-line text has no line or paragraph break of
    any kind (`values.LINE_BREAKS`). Other control characters never (they break UIs and logs), nor
    a text of only blank characters (`values.is_blank`) unless `blank`: it would render as
    nothing."""

    max_chars: int = 1000
    min_chars: int = 1
    multiline: bool = True
    blank: bool = False
    required: bool = True
    default: str | None = None
    kind = "text"

    def check(self, name: str, value: Any) -> Scalar:
        if not isinstance(value, str):
            raise InvalidRequest(f"'{name}' must be a string")
        if has_lone_surrogate(value):
            raise InvalidRequest(f"'{name}' contains an unpaired surrogate")
        if not self.min_chars <= len(value) <= self.max_chars:
            raise InvalidRequest(
                f"'{name}' must be {self.min_chars} to {self.max_chars} characters"
            )
        if not self.multiline and has_line_break(value):
            raise InvalidRequest(f"'{name}' must be one line: no line or paragraph separator")
        if has_control_char(value, allowed="\n\t" if self.multiline else ""):
            allowed = " other than newline and tab" if self.multiline else ""
            raise InvalidRequest(f"'{name}' must not contain control characters{allowed}")
        if value and not self.blank and is_blank(value):
            raise InvalidRequest(
                f"'{name}' must not be blank (only whitespace or invisible characters)"
            )
        return value

    def example(self) -> Scalar:
        return "buy milk"[: self.max_chars].ljust(self.min_chars, "x")


@dataclass(frozen=True)
class Number:
    """An integer (or, with integer=False, a finite float) in [minimum, maximum]. Stored in a
    64-bit column, so the bounds must lie inside the signed 64-bit range. With integer=False it is
    stored as a double, so an integer beyond ±2^53 is refused rather than silently rounded."""

    minimum: int | float = 0
    maximum: int | float = INT64_MAX
    integer: bool = True
    required: bool = True
    default: int | float | None = None
    kind = "number"

    def check(self, name: str, value: Any) -> Scalar:
        if self.integer and not is_int(value):
            raise InvalidRequest(f"'{name}' must be an integer")
        if not self.integer and not (is_int(value) or isinstance(value, float)):
            raise InvalidRequest(f"'{name}' must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequest(f"'{name}' must be a finite number")
        if not self.integer and is_int(value) and abs(value) > MAX_EXACT_DOUBLE_INT:
            raise InvalidRequest(f"'{name}' must be a whole number within ±2^53 to be held exactly")
        if not self.minimum <= value <= self.maximum:
            raise InvalidRequest(f"'{name}' must be between {self.minimum} and {self.maximum}")
        return value if self.integer else float(value)

    def example(self) -> Scalar:
        return self.minimum


@dataclass(frozen=True)
class Boolean:
    """true or false."""

    required: bool = False
    default: bool | None = False
    kind = "bool"

    def check(self, name: str, value: Any) -> Scalar:
        if not isinstance(value, bool):
            raise InvalidRequest(f"'{name}' must be true or false")
        return value

    def example(self) -> Scalar:
        return True


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings (an enum)."""

    options: tuple[str, ...] = ()
    required: bool = True
    default: str | None = None
    kind = "choice"

    def check(self, name: str, value: Any) -> Scalar:
        if not isinstance(value, str) or value not in self.options:
            raise InvalidRequest(f"'{name}' must be one of {', '.join(self.options)}")
        return value

    def example(self) -> Scalar:
        return self.options[0]


@dataclass(frozen=True)
class FileRef:
    """The id of one of the user's files in the file collection `collection` (a todo's picture),
    or null for none. Always optional: an update with null drops the reference. The service
    checks the file exists when the reference is set and removes it when the reference is
    dropped or changed, or its item removed: a file named by an item belongs to that item."""

    collection: str = "files"
    required: bool = False
    default: None = None
    kind = "file_id"

    def check(self, name: str, value: Any) -> Scalar | None:
        if value is None:
            return None
        if not isinstance(value, str) or not is_item_id(value):
            raise InvalidRequest(f"'{name}' must be a file id or null")
        return value

    def example(self) -> Scalar:
        return "01HZX3K8Q4W5E6R7T8Y9V0J1P2"


Field = Text | Number | Boolean | Choice | FileRef


@dataclass(frozen=True)
class CustomOp:
    """An operation of one collection beyond the five built-in ones. `handler(user_id, items,
    args)` gets the caller (from the session only), the collection's service and the validated
    `params`; what it returns (JSON values) is the answer's `data`."""

    name: str
    handler: Callable[[str, Any, Mapping[str, Scalar]], Any]
    params: Mapping[str, Field] = field(default_factory=dict)
    summary: str = ""
    # The rows the handler reads first, given the validated params: read with the session row
    # on a warm instance (entrypoints/registry.py, Command.first_reads).
    first_reads: Callable[[Mapping[str, Scalar]], tuple[FirstRead, ...]] | None = None


@dataclass(frozen=True)
class Checked:
    """Values that passed a collection's `check_new` (`new`: defaults filled in) or
    `check_changes`. The service takes them as they are, so a value is checked once, where the
    event is read."""

    collection: str
    new: bool
    values: Mapping[str, Scalar | None]  # None: a FileRef cleared (updates only)


@dataclass(frozen=True)
class Problem:
    """One broken rule of a declaration: where (`fields['title'].default`) and which rule."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class DeclarationError(ValueError):
    """A declaration breaks its rules; `problems` names each one."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


@dataclass(frozen=True)
class Collection:
    """A declared collection: see this module's docstring."""

    name: str
    fields: Mapping[str, Field]
    quota: int | None = None  # items per user; None: the deployment's ITEM_QUOTA
    order: Literal["oldest_first", "newest_first"] = "oldest_first"
    versioned: bool = True  # an update must name the expectedVersion it read
    idempotent_adds: bool = True  # an add may carry an idempotencyKey
    ops: tuple[CustomOp, ...] = ()
    # Before collections, v2 todos lived in the 2020 table: a user's first use moves them (see
    # services/collection.py). Only the built-in todos collection has such rows.
    legacy_rows: bool = False
    # False: only the server writes the items (orders): clients get `get`, `list` and the custom
    # ops, never `add`, `update` or `remove`.
    client_writes: bool = True
    # A file collection (docs/files.md): its items are committed uploads, so it has no add or
    # update; prepareUpload, commit and url instead; `remove` deletes the object too.
    files: FileRules | None = None

    @property
    def built_in_ops(self) -> tuple[str, ...]:
        """The built-in operations clients may call on this collection."""
        if not self.client_writes:
            return ("get", "list")
        return ("get", "list", "remove") if self.files else BUILT_IN_OPS

    @property
    def file_refs(self) -> dict[str, str]:
        """The fields naming a file: field -> the file collection."""
        return {n: f.collection for n, f in self.fields.items() if isinstance(f, FileRef)}

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        if not COLLECTION_NAME.fullmatch(self.name):
            problems.append(Problem("name", f"{self.name!r} must match {COLLECTION_NAME.pattern}"))
        for name, spec in self.fields.items():
            if not isinstance(spec, (Text, Number, Boolean, Choice, FileRef)):
                problems.append(
                    Problem(
                        f"fields[{name!r}]", "must be a Text, Number, Boolean, Choice or FileRef"
                    )
                )
                continue
            if not FIELD_NAME.fullmatch(name) or name in RESERVED_NAMES:
                problems.append(
                    Problem(
                        f"fields[{name!r}]", f"the name is reserved or not {FIELD_NAME.pattern}"
                    )
                )
            if spec.default is not None:
                try:
                    spec.check(name, spec.default)
                except InvalidRequest as exc:
                    problems.append(Problem(f"fields[{name!r}].default", exc.message))
            if isinstance(spec, Number) and not (
                INT64_MIN <= spec.minimum <= spec.maximum <= INT64_MAX
            ):
                problems.append(
                    Problem(f"fields[{name!r}]", "the bounds must lie in the signed 64-bit range")
                )
        for op in self.ops:
            if not OP_NAME.fullmatch(op.name) or op.name in BUILT_IN_OPS:
                problems.append(
                    Problem(f"ops[{op.name!r}]", f"the name is built in or not {OP_NAME.pattern}")
                )
        if self.quota is not None and self.quota < 1:
            problems.append(Problem("quota", "must be positive"))
        if self.files is not None:
            problems += [Problem("files", rule) for rule in self.files.problems()]
            if self.versioned or self.idempotent_adds or self.legacy_rows:
                problems.append(
                    Problem("files", "a file collection is not versioned, keyed or legacy")
                )
        if problems:
            raise DeclarationError(tuple(problems))

    def check_new(self, given: Mapping[str, Any]) -> Checked:
        """The values of a new item: each given field checked, defaults filled in, required ones
        present."""
        values: dict[str, Scalar] = {}
        for name, spec in self.fields.items():
            if name in given:
                value = spec.check(name, given[name])
                if value is not None:  # a FileRef's null: no file
                    values[name] = value
            elif spec.default is not None:
                values[name] = spec.default
            elif spec.required:
                raise InvalidRequest(f"'{name}' is required")
        return Checked(self.name, True, values)

    def check_changes(self, given: Mapping[str, Any]) -> Checked:
        changes = {
            name: spec.check(name, given[name])
            for name, spec in self.fields.items()
            if name in given
        }
        if not changes:
            names = ", ".join(f"'{n}'" for n in self.fields)
            raise InvalidRequest(f"an update needs at least one of {names}")
        return Checked(self.name, False, changes)

    def item_from_columns(self, item_id: str, columns: Mapping[str, Any]) -> Item:
        """The item a stored row holds, checked against the declaration as strictly as what a
        client sends: storage is not trusted either. StoredItemInvalid when it breaks a rule.
        Columns of fields no longer declared are ignored; a declared field missing from an old
        row takes its default (and an optional one without default stays absent)."""
        if not is_item_id(item_id):
            raise StoredItemInvalid("malformed id")
        values: dict[str, Scalar] = {}
        for name, spec in self.fields.items():
            value = columns.get(name, _MISSING)
            if value is _MISSING:
                if spec.default is not None:
                    values[name] = spec.default
                elif spec.required:
                    raise StoredItemInvalid(f"missing field {name!r}")
                continue
            try:
                checked = spec.check(name, value)
            except InvalidRequest as exc:
                raise StoredItemInvalid(exc.message) from None
            if checked is not None:
                values[name] = checked
        created, updated, version = (columns.get(c) for c in META_COLUMNS)
        if not (
            is_int(created)
            and is_int(updated)
            and is_int(version)
            and 0 <= created <= updated <= INT64_MAX
            and 1 <= version <= INT64_MAX
        ):
            raise StoredItemInvalid("bad createdAt, updatedAt or version")
        return Item(item_id, values, created, updated, version)


class StoredItemInvalid(Exception):
    """A stored row breaks its collection's declaration. The service turns it into a typed answer
    (or skips the row in a list); it never reaches the client as Internal."""


@dataclass(frozen=True)
class Item:
    """One item of a collection: its declared values and the meta every item has."""

    id: str
    values: Mapping[str, Scalar]
    created_at: int  # ms since the Unix epoch
    updated_at: int
    version: int  # 1 when added, +1 on every update

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **{k: v for k, v in self.values.items() if v is not None},
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "version": self.version,
        }

    def to_columns(self) -> dict[str, Scalar]:
        return {
            # A FileRef set to null is no column (a put replaces the whole row).
            **{k: v for k, v in self.values.items() if v is not None},
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "version": self.version,
        }
