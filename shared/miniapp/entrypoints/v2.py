"""The v2 API of one declared collection: `add`, `update`, `get`, `list`, `remove` and its custom
ops, each a registry command whose parser is derived from the declaration. Every field is
type-checked; an event with a field its op does not define is rejected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.cursor import check_cursor_shape
from ..domain.ids import check_idempotency_key, check_item_id
from ..domain.limits import INT64_MAX, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT
from ..domain.records import FirstRead
from ..domain.schema import Checked, Collection, CustomOp
from ..errors import InvalidRequest
from .fields import optional_int, optional_str, required_int, required_str
from .files import file_commands
from .registry import Command, Shape

EXAMPLE_ID = "01HZX3K8Q4W5E6R7T8Y9V0J1P2"


@dataclass(frozen=True)
class Add:
    """A v2 add: the new item's values and the optional idempotency key."""

    values: Checked
    idempotency_key: str | None


@dataclass(frozen=True)
class Update:
    """A v2 update: which item, the version the client read, what changes."""

    id: str
    expected_version: int | None
    changes: Checked


@dataclass(frozen=True)
class ListPage:
    """A v2 list: page size and where the previous page ended."""

    limit: int
    cursor: str | None


def commands(collection: Collection) -> tuple[Command, ...]:
    name = collection.name
    base = {"v": "v", "sid": "sid", "op": "op", "collection": "collection"}
    fields = {f: spec.kind for f, spec in collection.fields.items()}
    required_fields = {
        f for f, spec in collection.fields.items() if spec.required and spec.default is None
    }
    example = {f: spec.example() for f, spec in collection.fields.items()}
    one = collection.name

    def shape(
        op: str,
        kinds: Mapping[str, str],
        required: set[str],
        body: Mapping[str, Any],
        either: tuple[str, ...] = (),
    ) -> Shape:
        return Shape(
            kinds={**base, **kinds},
            required=frozenset({"v", "sid", "op", *required}),
            example={"v": 2, "collection": name, "op": op, **body},
            either=either,
        )

    def parse_add(event: Mapping[str, Any]) -> Add:
        key = optional_str(event, "idempotencyKey") if collection.idempotent_adds else None
        if key is not None:
            check_idempotency_key(key)
        values = collection.check_new({f: event[f] for f in collection.fields if f in event})
        return Add(values, key)

    def parse_update(event: Mapping[str, Any]) -> Update:
        item_id = check_item_id(required_str(event, "id"), one)
        if collection.versioned:
            expected: int | None = required_int(event, "expectedVersion", 1, INT64_MAX)
        else:
            expected = optional_int(event, "expectedVersion", 1, INT64_MAX)
        changes = collection.check_changes({f: event[f] for f in collection.fields if f in event})
        return Update(item_id, expected, changes)

    def parse_id(event: Mapping[str, Any]) -> str:
        return check_item_id(required_str(event, "id"), one)

    def parse_list(event: Mapping[str, Any]) -> ListPage:
        limit = optional_int(event, "limit", 1, LIST_MAX_LIMIT)
        cursor = optional_str(event, "cursor", allow_null=True)
        return ListPage(
            LIST_DEFAULT_LIMIT if limit is None else limit,
            None if cursor is None else check_cursor_shape(cursor),
        )

    def run_remove(services: Any, user_id: str, item_id: str) -> None:
        if collection.files is not None:  # the object goes too
            services.files[name].remove(user_id, item_id)
        else:
            services.collections[name].remove(user_id, item_id)

    field_doc = ", ".join(
        f'"{f}"' + ("" if f in required_fields else "?") for f in collection.fields
    )
    key_doc = ', "idempotencyKey"?' if collection.idempotent_adds else ""
    version_doc = '"expectedVersion"' if collection.versioned else '"expectedVersion"?'
    updatable = ", ".join(f'"{f}"?' for f in collection.fields)
    head = f'{{"v": 2, "collection": "{name}", "sid", "op": '
    add_kinds = {**fields, **({"idempotencyKey": "key"} if collection.idempotent_adds else {})}
    add_body = {**example, **({"idempotencyKey": "fuzz-1"} if collection.idempotent_adds else {})}
    tally = FirstRead(name)
    found = [
        Command(
            "v2",
            name,
            "add",
            shape("add", add_kinds, required_fields, add_body),
            parse_add,
            lambda s, u, a: s.collections[name].add(u, a.values, a.idempotency_key).to_wire(),
            f'`{head}"add", {field_doc}{key_doc}}}`',
            "the new item",
            first_reads=lambda a: (tally,),
        ),
        Command(
            "v2",
            name,
            "update",
            shape(
                "update",
                {"id": "item_id", "expectedVersion": "version", **fields},
                {"id", *(["expectedVersion"] if collection.versioned else [])},
                {"id": EXAMPLE_ID, "expectedVersion": 1, **example},
                either=tuple(collection.fields),
            ),
            parse_update,
            lambda s, u, a: (
                s.collections[name].update(u, a.id, a.expected_version, a.changes).to_wire()
            ),
            f'`{head}"update", "id", {version_doc}, {updatable}}}` (at least one field)',
            "the updated item",
            first_reads=lambda a: (FirstRead(name, a.id),),
        ),
        Command(
            "v2",
            name,
            "get",
            shape("get", {"id": "item_id"}, {"id"}, {"id": EXAMPLE_ID}),
            parse_id,
            lambda s, u, item_id: s.collections[name].get(u, item_id).to_wire(),
            f'`{head}"get", "id"}}`',
            "the item",
            first_reads=lambda item_id: (FirstRead(name, item_id),),
        ),
        Command(
            "v2",
            name,
            "list",
            shape(
                "list", {"limit": "limit", "cursor": "cursor"}, set(), {"limit": 5, "cursor": None}
            ),
            parse_list,
            lambda s, u, a: s.collections[name].list(u, a.limit, a.cursor).to_wire(),
            f'`{head}"list", "limit"?, "cursor"?}}`',
            '`{"items": [item, ...], "cursor": "..." \\| null}`',
            # A first page checks the tally; a next page reads none.
            first_reads=lambda a: () if a.cursor is not None else (tally,),
        ),
        Command(
            "v2",
            name,
            "remove",
            shape("remove", {"id": "item_id"}, {"id"}, {"id": EXAMPLE_ID}),
            parse_id,
            run_remove,
            f'`{head}"remove", "id"}}`',
            "`null`",
            first_reads=lambda item_id: (tally, FirstRead(name, item_id)),
        ),
    ]
    found = [c for c in found if c.op in collection.built_in_ops]
    if collection.files is not None:
        found += file_commands(collection, shape)
    found += [_custom(collection, op, shape) for op in collection.ops]
    return tuple(found)


def _custom(collection: Collection, op: CustomOp, shape: Any) -> Command:
    name = collection.name
    required = {p for p, spec in op.params.items() if spec.required and spec.default is None}

    def parse(event: Mapping[str, Any]) -> Mapping[str, Any]:
        args: dict[str, Any] = {}
        for param, spec in op.params.items():
            if param in event:
                args[param] = spec.check(param, event[param])
            elif spec.default is not None:
                args[param] = spec.default
            elif spec.required:
                raise InvalidRequest(f"'{param}' is required")
        return args

    params_doc = "".join(f', "{p}"' + ("" if p in required else "?") for p in op.params)
    return Command(
        "v2",
        name,
        op.name,
        shape(
            op.name,
            {p: spec.kind for p, spec in op.params.items()},
            required,
            {p: spec.example() for p, spec in op.params.items()},
        ),
        parse,
        lambda s, u, args: op.handler(u, s.collections[name], args),
        f'`{{"v": 2, "collection": "{name}", "sid", "op": "{op.name}"{params_doc}}}`',
        op.summary or "what the op answers",
        first_reads=op.first_reads or (lambda args: ()),
    )
