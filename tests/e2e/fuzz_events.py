"""The case generators of the handler fuzz: `db_cases` for the db function, `session_cases` for
the session function. Each draws from valid request templates and breaks them (see
`fuzz_cases` for the families and the expected answers)."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .fuzz_cases import Case, bad_value, finish, forged_sid
from .fuzz_json import (
    HUGE_INTEGERS,
    LONE_SURROGATES,
    MAX_BODY,
    NOT_JSON_TOKENS,
    Pairs,
    Raw,
    any_value,
    break_bytes,
    encode,
    encode_raw,
    not_an_object,
    unicode_edge,
)

UNKNOWN_KEYS = [
    "uid",
    "userId",
    "user_id",
    "table",
    "TableName",
    "tableName",
    "instance",
    "owner",
    "Id",
    "ID",
    "Text",
    "Op",
    "SID",
    "sid ",
    "op\u200b",
    "",
    "\x00",
    "🙂",
    "__proto__",
    "constructor",
    "v2",
    "version",
    "data",
    "error",
    "where",
    "text",
    "completed",
    "idempotencyKey",
    "expectedVersion",
    "limit",
    "cursor",
    "obj",
    "id",
    "sessionId",
    "authCode",
    "\u202esid",
    "s\u0456d",
]  # the last one with a Cyrillic i


@dataclass(frozen=True)
class Template:
    name: str
    body: dict[str, Any]  # a valid request
    kinds: dict[str, str]  # field read by the handler -> what it must hold (fuzz_cases.bad_value)
    required: frozenset[str]  # dropping one of these alone is invalid
    allowed: frozenset[str]  # every key the request may carry; others are invalid
    ops: frozenset[str] = frozenset()  # the op names of its protocol
    droppable: frozenset[str] = frozenset()  # dropping one (just one) keeps it valid
    ignored: frozenset[str] = frozenset()  # keys that may carry anything
    forgeable: str | None = None  # the session field whose well-formed forgery is SessionNotFound
    either: tuple[str, ...] = field(default=())  # at least one of these must stay


def registry() -> Any:
    """The db function's command registry, as wiring builds it from the declared collections:
    the fuzzers draw their ops, collections and fields from it, so they never go stale."""
    from miniapp.collections import declared
    from miniapp.wiring import registry_of

    return registry_of(declared())


def db_templates(sid: str, todo_id: str, row_id: str) -> list[Template]:
    commands = registry()
    templates = []
    for command in commands.commands:
        shape = command.shape
        body: dict[str, Any] = {"sid": sid, **copy.deepcopy(dict(shape.example))}
        if command.protocol == "2020":
            if "obj" in body:
                body["obj"]["id"] = row_id
            if "id" in body:
                body["id"] = row_id
            kinds = {k: v for k, v in shape.kinds.items() if k in body}
            templates.append(
                Template(
                    f"2020 {command.op}",
                    body,
                    kinds,
                    frozenset(kinds),
                    frozenset(shape.kinds),
                    frozenset(commands.ops("2020")),
                    frozenset(),
                    frozenset(shape.ignored),
                    "sid",
                )
            )
            continue
        if "id" in body:
            body["id"] = todo_id
        kinds = {
            k: ("todo_id" if v == "item_id" else v) for k, v in shape.kinds.items() if k in body
        }
        # `collection` may go for todos: v2 events from before collections name none.
        optional = set(body) - set(shape.required) - set(shape.either)
        if command.collection != "todos":
            optional.discard("collection")
        # Without "v" an op the 2020 protocol also has (get, list, remove) is a 2020 event, and
        # may be valid: "v" counts as required only for the ops 2020 lacks.
        required = set(shape.required) - {"v"}
        if command.op not in commands.ops("2020"):
            required.add("v")
        templates.append(
            Template(
                f"v2 {command.label}",
                body,
                kinds,
                frozenset(required),
                frozenset(shape.kinds),
                frozenset(commands.ops("v2", command.collection)),
                frozenset(optional),
                frozenset(),
                "sid",
                tuple(shape.either),
            )
        )
    return templates


def session_templates(fake_session_id: str) -> list[tuple[str, Template]]:
    """(path, template). A well-formed auth code is never sent as is: it would reach Alipay and
    the rate limiter (which writes), so every `open` case breaks the code itself."""
    scopes = {"authSuccessScopes": ["auth_base"]}
    session = lambda name, forgeable: Template(  # noqa: E731 - a row per line
        name,
        {"sessionId": fake_session_id},
        {"sessionId": "sid"},
        frozenset({"sessionId"}),
        frozenset({"sessionId"}),
        forgeable=forgeable,
    )
    return [
        (
            "",
            Template(
                "open",
                {"authCode": "4b203fe6c11548bcabd8da5bb087a83b", **scopes},
                {"authCode": "auth"},
                frozenset({"authCode"}),
                frozenset(),
                ignored=frozenset({"*"}),
            ),
        ),
        ("refresh", session("refresh", "sessionId")),
        ("logout", session("logout", None)),  # logout of an unknown session is a success
    ]


def _ordered(body: dict[str, Any], rng: random.Random) -> Pairs:
    items = list(body.items())
    rng.shuffle(items)
    return Pairs(tuple(items))


def field_case(t: Template, rng: random.Random) -> tuple[str, dict[str, Any], str]:
    """Breaks 1-3 fields of `t`: (label, body, expected code)."""
    body = copy.deepcopy(t.body)
    labels: list[str] = []
    invalid = forged = False
    targets = rng.sample(sorted(t.kinds), min(len(t.kinds), rng.choice([1, 1, 1, 2, 3])))
    if t.ignored == {"*"}:
        targets = sorted(t.kinds)  # open: the auth code is the only field it reads
    for name in targets:
        roll = rng.random()
        if name == t.forgeable and roll < 0.4:
            body[name], forged = forged_sid(rng), True
            labels.append(f"{name} forged")
        elif name in t.required and roll < 0.6:
            del body[name]
            invalid = True
            labels.append(f"{name} missing")
        else:
            body[name] = bad_value(t.kinds[name], rng, set(t.ops))
            invalid = True
            labels.append(f"{name} bad")
    if t.either and rng.random() < 0.1:
        for name in t.either:
            body.pop(name, None)
        invalid = True
        labels.append("+".join(t.either) + " both missing")
    elif t.either and rng.random() < 0.3:  # noise: one of them may go
        name = rng.choice([n for n in t.either if n not in targets] or [None])
        if name:
            body.pop(name, None)
    unknown = [k for k in UNKNOWN_KEYS if k not in t.allowed and k not in t.ignored]
    if t.ignored != {"*"} and (rng.random() < 0.25 or not (invalid or forged)):
        for _ in range(rng.choice([1, 1, 2])):
            key = rng.choice(unknown + [unicode_edge(rng), "x" * 300, rng.choice(LONE_SURROGATES)])
            body[key] = any_value(rng)
            invalid = True
            labels.append(f"unknown field {key[:12]!r}")
    for name in t.droppable - set(targets):  # noise: optional fields go
        if rng.random() < 0.3:
            body.pop(name, None)
    if t.ignored and rng.random() < 0.3:  # noise: fields the handler must ignore, any value
        for key in {"*"} if t.ignored == {"*"} else t.ignored:
            name = (
                rng.choice(
                    ["authErrorScopes", "authSuccessScopes", "errorMessage", "x", unicode_edge(rng)]
                )
                if key == "*"
                else key
            )
            body[name] = rng.choice([any_value(rng), Raw("1e400"), "x" * rng.randint(0, 2000)])
    return ", ".join(labels), body, "InvalidRequest" if invalid else "SessionNotFound"


def syntax_case(t: Template, rng: random.Random) -> tuple[str, bytes]:
    """`t`'s valid body with its JSON broken: certainly InvalidRequest (or too large)."""
    body = copy.deepcopy(t.body)
    how = rng.randrange(6)
    key = rng.choice(sorted(body))
    if how == 0:
        body[key] = rng.choice([float("nan"), float("inf"), float("-inf")])
        return f"{key} = NaN/Infinity", encode(_ordered(body, rng), rng)
    if how == 1:
        body[key] = rng.choice(HUGE_INTEGERS + NOT_JSON_TOKENS)
        return f"{key} = {str(body[key])[:12]!r}", encode(_ordered(body, rng), rng)
    if how == 2:
        items = list(_ordered(body, rng).items)
        twin = (key, rng.choice([body[key], any_value(rng)]))
        items.insert(rng.randrange(len(items) + 1), twin)
        return f"duplicate key {key!r}", encode(Pairs(tuple(items)), rng)
    if how == 3 and isinstance(body.get("obj"), dict):
        body["obj"] = Pairs(tuple(body["obj"].items()) + (("n", 3),))
        return "duplicate key in obj", encode(body, rng)
    if how == 4:
        string_keys = [k for k, v in body.items() if isinstance(v, str)] or [key]
        name = rng.choice(string_keys)
        body[name] = f"{body.get(name, '')}{rng.choice(LONE_SURROGATES)}"
        return f"raw lone surrogate bytes in {name}", encode_raw(_ordered(body, rng))
    label, broken = break_bytes(encode(_ordered(body, rng), rng), rng)
    return label, broken


def size_case(t: Template, rng: random.Random) -> tuple[str, bytes]:
    """Over the limit: PayloadTooLarge, whatever else is wrong or right."""
    if rng.random() < 0.5:
        valid = encode(_ordered(t.body, rng), rng)
        pad = MAX_BODY + rng.choice([1, 2, 1000, 100_000]) - len(valid)
        return "valid, padded past the limit", b"{" + b" " * pad + valid[1:]
    body = copy.deepcopy(t.body)
    body["pad"] = "x" * rng.choice([MAX_BODY, 70_000, 200_000])
    return "big field", encode(body, rng)


def cases(templates: list[tuple[str, Template]], rng: random.Random) -> Iterator[Case]:
    """Endless cases over `templates`."""
    while True:
        path, t = rng.choice(templates)
        family = rng.random()
        if family < 0.6:
            label, body, expect = field_case(t, rng)
            yield finish(f"{t.name}: {label}", encode(_ordered(body, rng), rng), expect, path)
        elif family < 0.85:
            label, raw = syntax_case(t, rng)
            yield finish(f"{t.name}: {label}", raw, "InvalidRequest", path)
        elif family < 0.95:
            label, raw = not_an_object(rng)
            yield finish(label, raw, "InvalidRequest", path)
        elif rng.random() < 0.7:
            label, raw = size_case(t, rng)
            assert len(raw) > MAX_BODY
            yield finish(f"{t.name}: {label}", raw, "PayloadTooLarge", path)
        else:  # at exactly the limit, still invalid: the limit is not where checks stop
            label, body, expect = field_case(t, rng)
            raw = encode(_ordered(body, rng), rng)
            if len(raw) <= MAX_BODY:
                raw = b"{" + b" " * (MAX_BODY - len(raw)) + raw[1:]
            yield finish(f"{t.name}: {label}, padded to the limit", raw, expect, path)


def db_cases(sid: str, todo_id: str, row_id: str, rng: random.Random) -> Iterator[Case]:
    return cases([("", t) for t in db_templates(sid, todo_id, row_id)], rng)


UNKNOWN_PATHS = [
    "x",
    "login",
    "refresh/x",
    "REFRESH",
    "Logout",
    "%2e%2e",
    "refresh%00",
    "%F0%9F%99%82",
    "logout;x",
    "a" * 300,
    "session",
    "refresh/logout",
    "%2Frefresh",
    "refresh%20",
    "open",
    "index.html",
    "..%2f..%2fetc%2fpasswd",
    "%ff",
    "%00",
]


def session_cases(fake_session_id: str, rng: random.Random) -> Iterator[Case]:
    inner = cases(session_templates(fake_session_id), rng)
    for case in inner:
        roll = rng.random()
        if roll < 0.08:  # not one of the three endpoints: NotFound, whatever the body
            yield Case(
                case.label + ", unknown path",
                case.body,
                "NotFound",
                rng.choice(UNKNOWN_PATHS) + rng.choice(["", "/", "?x=1"]),
            )
        else:  # the same endpoint, spelled with a trailing slash or a query string
            suffix = rng.choice(["", "", "/", "?x=1"]) if case.path else rng.choice(["", "?a=b"])
            yield Case(case.label, case.body, case.expect, case.path + suffix)
