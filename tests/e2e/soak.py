"""The soak: many simulated users at once, each doing a random mix of logins, refreshes, logouts
and every db op of both protocols (v2 add/get/update/list/remove, 2020 put/get/list/remove),
while faults of every kind are switched on and off at random; then every invariant is checked
against an in-memory model of what the backend acknowledged.

Run by `make soak` (scripts/soak.py, minutes) and, briefly, by `make test`
(tests/e2e/test_soak.py). One seed drives every choice (users' ops, faults, their timing); it is
printed, and passing it again replays the same choices (the interleaving of threads still
varies with the machine).

What is checked, and how:
- every answer is typed: the session function answers JSON with a status of its code, and no 5xx
  but 503 UpstreamUnavailable; the db function answers `{"data"}` or `{"error": {code}}`, never
  FC's UnhandledInvocationError or Internal; a request gets an answer before the client's
  timeout. FC's own refusals (429 ResourceThrottled, an injected 500) and dropped connections are
  allowed only while a fault of that kind was switched on.
- an answer of UpstreamUnavailable (or none) leaves an outcome unknown: the model then allows the
  old or the new state until a read settles it; an `add` is retried with its idempotencyKey
  until it is answered.
- no acknowledged write lost, none applied twice, no user ever sees another's data (every item
  carries its owner's tag), at every read and in full at the end, with faults off.
- counters exact: each user's quota counters (the 2020 rows' and each collection's) add up to
  the number of items stored, after the user's next operation with faults off (a stale write
  marker makes it recount, services/exact_count.py).
- no session row whose id was never delivered, beyond one per login whose answer an injected
  fault dropped after the function ran.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from localcloud.faults import Fault
from localcloud.miniprogram import MiniProgram, Session
from miniapp.services.exact_count import STALE_MARKER_MS

from .faultkit import age_write_markers, session_key, usage_count, user_rows
from .support import take_snapshot

OAUTH = "alipay.system.oauth.token"
CLIENT_TIMEOUT = 45.0  # a cold instance's initializer (30 s) + the function's 10 s + an FC delay
# FC's own refusals: nothing ran (an injected or real throttle, an injected 500, credentials
# that outlived their 15 minutes).
FC_REFUSALS = ("ResourceThrottled", "InternalServerError", "SecurityTokenExpired")


def _faults_menu(rng: random.Random) -> Fault:
    """One random fault of any kind on any service."""
    share = rng.choice([0.1, 0.25, 0.5, 1.0])
    ots_api = rng.choice(
        [
            None,
            "PutRow",
            "GetRow",
            "UpdateRow",
            "DeleteRow",
            "GetRange",
            "BatchWriteRow",
            "BatchGetRow",
        ]
    )
    menu: list[Callable[[], Fault]] = [
        lambda: Fault("alipay", "down", api=OAUTH, share=share),
        lambda: Fault("alipay", "slow", api=OAUTH, seconds=rng.uniform(0.2, 6.0)),
        lambda: Fault("alipay", "bad_signature", api=OAUTH, share=share),
        lambda: Fault("alipay", "error_response", api=OAUTH, share=share),
        lambda: Fault("tablestore", "server_busy", api=ots_api, share=share),
        lambda: Fault("tablestore", "internal_error", api=ots_api, share=share),
        lambda: Fault(
            "tablestore",
            "timeout",
            api=ots_api,
            share=min(share, 0.5),
            seconds=rng.uniform(0.2, 4.0),
        ),
        lambda: Fault("tablestore", "down", api=ots_api, share=share),
        lambda: Fault("tablestore", "lost_reply", api=ots_api, share=share),
        lambda: Fault("sls", rng.choice(["unreachable", "internal_error"])),
        lambda: Fault("sls", "slow", seconds=rng.uniform(0.5, 3.0)),
        lambda: Fault(
            "sts",
            rng.choice(["refuse", "unreachable", "internal_error"]),
            api="AssumeRole",
            share=share,
        ),
        lambda: Fault("sts", "slow", api="AssumeRole", seconds=rng.uniform(0.2, 6.0)),
        lambda: Fault("fc", "throttle", share=min(share, 0.25)),
        lambda: Fault("fc", "internal_error", share=min(share, 0.25)),
        lambda: Fault("fc", "down", share=min(share, 0.1)),
        lambda: Fault("fc", "slow", seconds=rng.uniform(0.1, 1.5), share=min(share, 0.25)),
        lambda: Fault("fc", "lost_reply", share=min(share, 0.1)),
    ]
    return rng.choice(menu)()


@dataclass
class Tally:
    """What happened, shared by every thread."""

    operations: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    invariants: int = 0
    faults_switched: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def op(self, name: str) -> None:
        with self.lock:
            self.operations[name] += 1

    def answer(self, name: str) -> None:
        with self.lock:
            self.answers[name] += 1

    def check(self, holds: bool, what: str) -> bool:
        """Count an invariant checked; a violation if it does not hold."""
        with self.lock:
            self.invariants += 1
            if not holds:
                self.violations.append(what)
        return holds


class FaultSwitch:
    """Switches faults on and off at random; remembers when each kind was on."""

    def __init__(
        self, board: Any, rng: random.Random, tally: Tally, mean_interval: float = 1.5
    ) -> None:
        self._board = board
        self._rng = rng
        self._tally = tally
        self._interval = mean_interval
        self._on: dict[tuple[str, str | None], tuple[Fault, float]] = {}
        self._history: list[tuple[str, str, float, float]] = []  # service, kind, from, to
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-faults", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            now = time.monotonic()
            for fault, since in self._on.values():
                self._history.append((fault.service, fault.kind, since, now))
            self._on.clear()
        self._board.clear()

    def was_on(self, service: str, kinds: set[str], start: float, end: float) -> bool:
        with self._lock:
            spans = list(self._history) + [
                (f.service, f.kind, since, float("inf")) for f, since in self._on.values()
            ]
        return any(
            s == service and k in kinds and since <= end and until >= start
            for s, k, since, until in spans
        )

    def _run(self) -> None:
        while not self._stop.wait(self._rng.expovariate(1.0 / self._interval)):
            with self._lock:
                now = time.monotonic()
                if self._on and (len(self._on) >= 3 or self._rng.random() < 0.45):
                    key = self._rng.choice(sorted(self._on, key=repr))
                    fault, since = self._on.pop(key)
                    self._history.append((fault.service, fault.kind, since, now))
                    self._board.clear(fault.service)
                    # clear() takes the whole service off: put back the others of it
                    for other, _ in self._on.values():
                        if other.service == fault.service:
                            self._board.set(other)
                else:
                    fault = _faults_menu(self._rng)
                    key = (fault.service, fault.api)
                    if key in self._on:
                        old, since = self._on[key]
                        self._history.append((old.service, old.kind, since, now))
                    self._on[key] = (fault, now)
                    self._board.set(fault)
                self._tally.faults_switched += 1


# -- the model --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Todo:
    text: str
    completed: bool
    version: int


@dataclass
class Maybe:
    """An item whose last write has an unknown outcome: it is one of `options` (None: absent)."""

    options: list[Any]


class Unknown(Exception):
    """The request's outcome is unknown (UpstreamUnavailable, or no answer)."""


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SoakUser:
    def __init__(
        self,
        index: int,
        config: dict[str, str],
        rng: random.Random,
        tally: Tally,
        switch: FaultSwitch,
    ) -> None:
        self.tag = f"u{index}"
        self.app = MiniProgram(config, timeout=CLIENT_TIMEOUT)
        self.rng = rng
        self.tally = tally
        self.switch = switch
        self.todos: dict[str, Todo | Maybe] = {}
        self.rows: dict[str, dict[str, Any] | Maybe] = {}
        self.pending_adds: dict[str, str] = {}  # idempotencyKey -> text
        self.session: Session | None = None
        self.delivered: set[str] = set()  # session keys whose id reached us
        self.lost_logins = 0  # logins whose answer a fault dropped
        self.counter = 0
        self._fc: tuple[str, Any] | None = None

    # -- one random step -----------------------------------------------------------------
    def step(self) -> None:
        if self.session is None:
            self.login()
            return
        choices: list[tuple[float, Callable[[], None]]] = [
            (1, self.login),
            (2, self.refresh),
            (1, self.logout),
            (6, self.add),
            (3, self.get),
            (4, self.update),
            (3, self.list_v2),
            (3, self.remove),
            (4, self.put),
            (2, self.get_row),
            (2, self.list_2020),
            (2, self.remove_row),
        ]
        if self.pending_adds:
            choices.append((6, self.retry_add))
        weights = [w for w, _ in choices]
        self.rng.choices([c for _, c in choices], weights)[0]()

    # -- transport: every answer typed, or a violation --------------------------------------
    def _session_call(self, name: str, body: Any, path: str = "") -> dict[str, Any]:
        self.tally.op(f"session {name}")
        start = time.monotonic()
        try:
            resp = self.app.post_session(body, path=path)
        except requests.Timeout:
            self.tally.check(False, f"{self.tag} session {name}: no answer before the timeout")
            raise Unknown() from None
        except requests.ConnectionError:
            self._dropped("session", name, start)
            raise Unknown() from None
        return self._typed_session(name, resp, start)

    def _typed_session(self, name: str, resp: requests.Response, start: float) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError:
            body = None
        headers = {k.lower() for k in resp.headers}
        if isinstance(body, dict) and "ErrorCode" in body:  # FC itself answered
            return self._fc_refusal("session", name, resp.status_code, body["ErrorCode"], start)
        typed = (
            isinstance(body, dict)
            and "x-fc-error-type" not in headers
            and (
                resp.status_code == 200
                or (set(body) == {"error"} and isinstance(body["error"], dict))
            )
        )
        code = (
            "ok"
            if resp.status_code == 200
            else (str(body["error"].get("code")) if typed else "untyped")
        )
        self.tally.answer(f"session {resp.status_code} {code}")
        allowed = resp.status_code < 500 or (resp.status_code, code) == (503, "UpstreamUnavailable")
        if not self.tally.check(
            typed and allowed,
            f"{self.tag} session {name}: untyped answer {resp.status_code} {resp.text[:200]}",
        ):
            raise Unknown()
        if code == "UpstreamUnavailable":
            raise Unknown()
        if resp.status_code != 200:
            raise Refused(code)
        return body

    def _db(self, op: str, **fields: Any) -> Any:
        assert self.session is not None
        event = {"sid": self.session.session_id, "op": op, **fields}
        name = f"{'v2' if fields.get('v') == 2 else '2020'} {op}"
        self.tally.op(name)
        start = time.monotonic()
        from fc2.fc_exceptions import FcError

        try:
            resp = self._fc_client().invoke_function(
                self.app.config["serviceName"],
                self.app.config["dbFunctionName"],
                payload=json.dumps(event),
            )
        except FcError as exc:
            return self._fc_refusal("db", name, exc.status_code, exc.err_code, start)
        except requests.Timeout:
            self.tally.check(False, f"{self.tag} db {name}: no answer before the timeout")
            raise Unknown() from None
        except requests.ConnectionError:
            self._dropped("db", name, start)
            raise Unknown() from None
        headers = {k.lower(): v for k, v in resp.headers.items()}
        try:
            answer = json.loads(resp.data)
        except ValueError:
            answer = None
        typed = (
            "x-fc-error-type" not in headers
            and isinstance(answer, dict)
            and (
                set(answer) == {"data"}
                or (set(answer) == {"error"} and isinstance(answer["error"], dict))
            )
        )
        if not self.tally.check(
            typed,
            f"{self.tag} db {name}: untyped answer {resp.data[:200]!r} "
            f"{headers.get('x-fc-error-type', '')}",
        ):
            raise Unknown()
        if "data" in answer:
            self.tally.answer("db ok")
            return answer["data"]
        code = str(answer["error"].get("code"))
        self.tally.answer(f"db {code}")
        self.tally.check(code != "Internal", f"{self.tag} db {name}: Internal {answer}")
        if code in ("UpstreamUnavailable", "Internal"):
            raise Unknown()
        if code in ("SessionNotFound", "SessionExpired"):
            # Sessions here end only by logout, after which they are not used again.
            self.tally.check(False, f"{self.tag} db {name}: {code} for a live session")
            self.session = None
        raise Refused(code)

    def _fc_client(self) -> Any:
        assert self.session is not None
        token = self.session.sts["SecurityToken"]
        if self._fc is None or self._fc[0] != token:
            self._fc = (token, self.app.fc_client(self.session.sts))
        return self._fc[1]

    def _fc_refusal(self, fn: str, name: str, status: int, code: str, start: float) -> Any:
        """FC answered instead of the function: allowed when FC was made to (a fault) or when
        every instance was busy (429)."""
        self.tally.answer(f"fc {status} {code}")
        end = time.monotonic()
        if status == 429 and code == "ResourceThrottled":
            time.sleep(self.rng.uniform(0.05, 0.3))
            raise Refused(code)  # FC refused before running anything
        if status == 403 and code == "SecurityTokenExpired":
            self.session = None  # 15-minute credentials outlived: log in again
            raise Refused(code)
        injected = status == 500 and self.switch.was_on("fc", {"internal_error"}, start, end)
        self.tally.check(injected, f"{self.tag} {fn} {name}: FC answered {status} {code}")
        raise Refused(code)  # an injected 500 is FC's refusal too: nothing ran

    def _dropped(self, fn: str, name: str, start: float) -> None:
        self.tally.answer("connection dropped")
        allowed = self.switch.was_on("fc", {"down", "lost_reply"}, start, time.monotonic())
        self.tally.check(allowed, f"{self.tag} {fn} {name}: connection dropped with no FC fault")

    # -- sessions ----------------------------------------------------------------------------
    def login(self) -> None:
        try:
            code = self.app.get_auth_code()
        except requests.RequestException:
            return
        start = time.monotonic()
        try:
            body = self._session_call(
                "login", {"authCode": code, "authSuccessScopes": ["auth_base"]}
            )
        except Unknown:
            if self.switch.was_on("fc", {"lost_reply"}, start, time.monotonic()):
                self.lost_logins += 1
            return
        except Refused:
            return
        self.session = Session(body["sessionId"], body["sts"])
        self.delivered.add(session_key(body["sessionId"]))

    def refresh(self) -> None:
        assert self.session is not None
        try:
            body = self._session_call("refresh", {"sessionId": self.session.session_id}, "refresh")
        except Unknown:
            return
        except Refused as refused:
            self.tally.check(
                refused.code in FC_REFUSALS,
                f"{self.tag} refresh: {refused.code} for a live session",
            )
            if refused.code in ("SessionNotFound", "SessionExpired"):
                self.session = None
            return
        self.session = Session(self.session.session_id, body["sts"])

    def logout(self) -> None:
        assert self.session is not None
        try:
            self._session_call("logout", {"sessionId": self.session.session_id}, "logout")
        except (Unknown, Refused):
            pass
        self.session = None  # answered or not, this user no longer uses that session

    # -- v2 ------------------------------------------------------------------------------------
    def _text(self) -> str:
        self.counter += 1
        return f"{self.tag}:{self.counter}"

    def add(self) -> None:
        text = self._text()
        key = f"{self.tag}-{self.counter}"
        self.pending_adds[key] = text
        self._add(key, text)

    def retry_add(self) -> None:
        key = self.rng.choice(sorted(self.pending_adds))
        self._add(key, self.pending_adds[key])

    def _add(self, key: str, text: str) -> None:
        try:
            todo = self._db("add", v=2, text=text, idempotencyKey=key)
        except (Unknown, Refused):
            return  # still pending: retried later with the same key
        del self.pending_adds[key]
        known = self.todos.get(todo["id"])
        fresh = Todo(text, False, 1)  # a retried add answers the todo as first created
        # Unknown to the model, or seen by a read before this answer came (the first try landed).
        ok = _todo_of(todo) == fresh and (
            known is None or (isinstance(known, Maybe) and fresh in known.options)
        )
        if self.tally.check(ok, f"{self.tag} add {key}: answered {todo}, model {known}"):
            self.todos[todo["id"]] = fresh

    def _pick(self, items: dict[str, Any], certain: bool) -> str | None:
        ids = sorted(i for i, v in items.items() if not certain or not isinstance(v, Maybe))
        return self.rng.choice(ids) if ids else None

    def get(self) -> None:
        todo_id = self._pick(self.todos, certain=False)
        if todo_id is None:
            return
        try:
            todo = self._db("get", v=2, id=todo_id)
        except Unknown:
            return
        except Refused as refused:
            if refused.code == "NotFound":
                self._settle_todo(todo_id, None)
            return
        self._settle_todo(todo_id, todo)

    def update(self) -> None:
        todo_id = self._pick(self.todos, certain=True)
        if todo_id is None:
            return
        old = self.todos[todo_id]
        assert isinstance(old, Todo)
        fields: dict[str, Any] = {}
        if self.rng.random() < 0.5:
            fields["text"] = self._text()
        if self.rng.random() < 0.5 or not fields:
            fields["completed"] = not old.completed
        new = Todo(
            fields.get("text", old.text), fields.get("completed", old.completed), old.version + 1
        )
        try:
            todo = self._db("update", v=2, id=todo_id, expectedVersion=old.version, **fields)
        except Unknown:
            self.todos[todo_id] = Maybe([old, new])
            return
        except Refused as refused:
            if refused.code not in FC_REFUSALS + ("SessionNotFound", "SessionExpired"):
                self.tally.check(
                    False,
                    f"{self.tag} update {todo_id}: {refused.code} for a "
                    f"todo at version {old.version}",
                )
            return
        if self.tally.check(
            _todo_of(todo) == new, f"{self.tag} update {todo_id}: answered {todo}, expected {new}"
        ):
            self.todos[todo_id] = new

    def remove(self) -> None:
        todo_id = self._pick(self.todos, certain=True)
        if todo_id is None:
            return
        old = self.todos[todo_id]
        try:
            self._db("remove", v=2, id=todo_id)
        except Unknown:
            self.todos[todo_id] = Maybe([old, None])
            return
        except Refused as refused:
            if refused.code == "NotFound":
                # Gone either way (docs/api.md), e.g. when the function's own DeleteRow landed
                # but its reply was lost: the next read must show it absent.
                self.todos[todo_id] = Maybe([None])
            return
        del self.todos[todo_id]

    def list_v2(self) -> None:
        seen: dict[str, Any] = {}
        cursor = None
        while True:
            try:
                page = self._db("list", v=2, limit=self.rng.randint(1, 100), cursor=cursor)
            except (Unknown, Refused):
                return
            for todo in page["items"]:
                seen[todo["id"]] = todo
            cursor = page["cursor"]
            if cursor is None:
                break
        self._settle_all(self.todos, seen, self._settle_todo, "todo")

    # -- 2020 ----------------------------------------------------------------------------------
    def put(self) -> None:
        rows = sorted(self.rows)
        row_id = (
            self.rng.choice(rows)
            if rows and self.rng.random() < 0.4
            else f"{self.tag}-r{self._text().split(':')[1]}"
        )
        old = self.rows.get(row_id)
        if isinstance(old, Maybe):
            return  # wait until a read settles it
        columns = {
            "tag": self.tag,
            "n": self.rng.randint(0, 10**6),
            "done": self.rng.random() < 0.5,
        }
        try:
            self._db("put", obj={"id": row_id, **columns})
        except Unknown:
            self.rows[row_id] = Maybe([old, columns])
            return
        except Refused:
            return
        self.rows[row_id] = columns

    def get_row(self) -> None:
        row_id = self._pick(self.rows, certain=False)
        if row_id is None:
            return
        try:
            row = self._db("get", id=row_id)
        except (Unknown, Refused):
            return
        self._settle_row(row_id, None if row is None else _columns_of(row))

    def remove_row(self) -> None:
        row_id = self._pick(self.rows, certain=True)
        if row_id is None:
            return
        old = self.rows[row_id]
        try:
            self._db("remove", id=row_id)
        except Unknown:
            self.rows[row_id] = Maybe([old, None])
            return
        except Refused:
            return
        del self.rows[row_id]

    def list_2020(self) -> None:
        try:
            rows = self._db("list")
        except (Unknown, Refused):
            return
        # The protocols keep their rows apart (docs/api.md): a 2020 list never shows a v2 item.
        plain = {r["id"]: _columns_of(r) for r in rows if str(r["id"]).startswith(self.tag + "-r")}
        strays = [r for r in rows if r["id"] not in plain]
        self.tally.check(not strays, f"{self.tag} 2020 list shows rows it must not: {strays}")
        foreign = [r for r in rows if r.get("tag") != self.tag]
        self.tally.check(not foreign, f"{self.tag} 2020 list shows another user's rows {foreign}")
        self._settle_all(self.rows, plain, self._settle_row, "row")

    # -- settling the model against what a read showed ---------------------------------------
    def _settle_todo(self, todo_id: str, seen: Any) -> None:
        known = self.todos.get(todo_id)
        observed = None if seen is None else _todo_of(seen)
        if observed is not None and not observed.text.startswith(self.tag + ":"):
            self.tally.check(False, f"{self.tag} sees another user's todo {seen}")
            return
        if known is None:
            # Not in the model: only an add still pending may have created it.
            if observed is None:
                return
            landed = observed.text in self.pending_adds.values()
            self.tally.check(
                landed, f"{self.tag}: unexpected todo {todo_id} {seen} (written twice?)"
            )
            self.todos[todo_id] = Maybe([observed]) if landed else observed
            return
        if isinstance(known, Maybe):
            if not self.tally.check(
                observed in known.options,
                f"{self.tag} todo {todo_id}: {seen} is none of {known.options}",
            ):
                self._resync(self.todos, todo_id, observed)
            else:
                if observed is None:
                    del self.todos[todo_id]
                elif observed.text in self.pending_adds.values():
                    # Created by an add not answered yet: it stays unsettled (not updated or
                    # removed) until the add's retry answers, which must name this id.
                    self.todos[todo_id] = Maybe([observed])
                else:
                    self.todos[todo_id] = observed
            return
        if not self.tally.check(
            known == observed, f"{self.tag} todo {todo_id}: acknowledged {known}, stored {seen}"
        ):
            self._resync(self.todos, todo_id, observed)

    def _settle_row(self, row_id: str, seen: dict[str, Any] | None) -> None:
        known = self.rows.get(row_id)
        if isinstance(known, Maybe):
            self.tally.check(
                seen in known.options, f"{self.tag} row {row_id}: {seen} is none of {known.options}"
            )
            self._resync(self.rows, row_id, seen)
            return
        if not self.tally.check(
            known == seen, f"{self.tag} row {row_id}: acknowledged {known}, stored {seen}"
        ):
            self._resync(self.rows, row_id, seen)

    @staticmethod
    def _resync(model: dict[str, Any], item_id: str, seen: Any) -> None:
        """Take what is stored as the model's state: after a violation was counted, so one
        discrepancy is reported once, not at every later read."""
        if seen is None:
            model.pop(item_id, None)
        else:
            model[item_id] = seen

    def _settle_all(
        self,
        model: dict[str, Any],
        seen: dict[str, Any],
        settle: Callable[[str, Any], None],
        what: str,
    ) -> None:
        for item_id in sorted(set(model) | set(seen)):
            settle(item_id, seen.get(item_id))


def _todo_of(wire: dict[str, Any]) -> Todo:
    return Todo(wire["text"], wire["completed"], wire["version"])


def _columns_of(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "id"}


# -- the run --------------------------------------------------------------------------------
@dataclass
class SoakResult:
    seed: int
    seconds: float
    users: int
    tally: Tally
    injected: int

    @property
    def violations(self) -> list[str]:
        return self.tally.violations

    def table(self) -> str:
        t = self.tally
        lines = [
            f"soak: seed {self.seed}, {self.seconds:.0f} s, {self.users} users",
            f"{'measure':<44} {'value':>9}",
            f"{'-' * 44} {'-' * 9}",
        ]

        def row(label: str, value: int) -> None:
            lines.append(f"{label:<44} {value:>9,}")

        row("operations", sum(t.operations.values()))
        for name, count in sorted(t.operations.items()):
            row(f"  {name}", count)
        row("faults switched on or off", t.faults_switched)
        row("faults injected (requests hit)", self.injected)
        row("answers", sum(t.answers.values()))
        for name, count in sorted(t.answers.items()):
            row(f"  {name}", count)
        row("invariants checked", t.invariants)
        row("violations (must be 0)", len(t.violations))
        for violation in t.violations[:20]:
            lines.append(f"  ! {violation}")
        return "\n".join(lines)


def run_soak(
    cloud: Any,
    *,
    seconds: float,
    users: int,
    seed: int,
    fault_interval: float = 1.5,
    log: Callable[[str], None] = lambda s: None,
) -> SoakResult:
    config = cloud.cloud_config()
    master = random.Random(seed)
    tally = Tally()
    board = cloud.faults
    board.clear()
    board.reseed(master.randrange(2**32))
    injected_before = sum(board.injected.values())
    switch = FaultSwitch(board, random.Random(master.randrange(2**32)), tally, fault_interval)
    people = [
        SoakUser(i, config, random.Random(master.randrange(2**32)), tally, switch)
        for i in range(users)
    ]
    stop_at = 0.0  # set once the warm-up is over
    failures: list[BaseException] = []

    def live(user: SoakUser) -> None:
        try:
            while time.monotonic() < stop_at:
                user.step()
        except BaseException as exc:  # noqa: BLE001 - a soak bug must surface, not hang
            failures.append(exc)

    log("warm-up: every user logs in once, faults off (the function instances start cold)")
    _warm_up(people)
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=live, args=(u,), name=f"soak-{u.tag}") for u in people]
    switch.start()
    for thread in threads:
        thread.start()
    reported = 0
    while any(t.is_alive() for t in threads):
        next(t for t in threads if t.is_alive()).join(timeout=5)
        log(
            f"  {sum(tally.operations.values()):,} operations, {tally.faults_switched} faults "
            f"switched, {len(tally.violations)} violations"
        )
        for violation in tally.violations[reported:]:
            log(f"  ! {violation}")
        reported = len(tally.violations)
    switch.stop()
    if failures:
        raise failures[0]
    injected = sum(board.injected.values()) - injected_before
    _until_no_invocation_runs(cloud)
    # A write whose reply a fault lost can leave a marker in its user's tally; the user's next
    # operation recounts once the marker is stale (services/exact_count.py). Age them all.
    log(
        f"faults off; {age_write_markers(cloud)} write markers aged past "
        f"{STALE_MARKER_MS / 1000:g} s"
    )
    log("settling every user's state")
    for user in people:
        _final_check(cloud, user, tally)
    _check_session_rows(cloud, people, tally)
    return SoakResult(seed, seconds, users, tally, injected)


def _until_no_invocation_runs(cloud: Any, limit: float = CLIENT_TIMEOUT) -> None:
    """Every client has its answer, but an invocation whose client gave up may still run (and
    write): wait until no function instance has a request in flight, `limit` seconds at most."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and any(
        instance["inflight"] for pool in cloud.fc.instances().values() for instance in pool
    ):
        time.sleep(0.1)


def _warm_up(people: list[SoakUser]) -> None:
    """Start as many instances of each function as there are users, before any fault and
    outside the figures: a burst of cold starts on a loaded machine can pass even the
    initializer's 30 s, which says nothing about the backend under faults."""

    def warm(user: SoakUser) -> None:
        for _ in range(5):
            try:
                session = user.app.login()
                user.app.invoke(session, {"v": 2, "sid": session.session_id, "op": "list"})
            except Exception:  # noqa: BLE001 - retried; the soak proper checks every answer
                continue
            user.session = session
            user.delivered.add(session_key(session.session_id))
            return

    threads = [threading.Thread(target=warm, args=(u,)) for u in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _final_check(cloud: Any, user: SoakUser, tally: Tally) -> None:
    """With faults off: finish pending adds, then compare everything stored with the model."""
    for _ in range(10):
        if user.session is not None:
            break
        user.login()
    tally.check(user.session is not None, f"{user.tag}: cannot log in with faults off")
    if user.session is None:
        return
    for key in sorted(user.pending_adds):
        for _ in range(5):
            if key not in user.pending_adds:
                break
            user._add(key, user.pending_adds[key])
    tally.check(not user.pending_adds, f"{user.tag}: adds never answered {user.pending_adds}")
    user.list_v2()
    user.list_2020()
    unsettled = [i for i, v in {**user.todos, **user.rows}.items() if isinstance(v, Maybe)]
    tally.check(not unsettled, f"{user.tag}: outcomes never settled by a read: {unsettled}")
    state = take_snapshot(cloud)
    stored = user_rows(state, user.app.user_id)
    expected = set(user.todos) | set(user.rows)
    tally.check(
        set(stored) == expected,
        f"{user.tag}: stored ids {sorted(set(stored) ^ expected)} differ from the model",
    )
    count = usage_count(state, user.app.user_id)
    tally.check(
        count == len(stored), f"{user.tag}: usage counter {count} but {len(stored)} items stored"
    )


def _check_session_rows(cloud: Any, people: list[SoakUser], tally: Tally) -> None:
    state = take_snapshot(cloud)
    for user in people:
        keys = [
            key[0]
            for key, columns in state["session"]
            if dict(columns).get("uid") == user.app.user_id
        ]
        orphans = [k for k in keys if k not in user.delivered]
        tally.check(
            len(orphans) <= user.lost_logins,
            f"{user.tag}: {len(orphans)} session rows whose id was never delivered "
            f"({user.lost_logins} login answers lost to an injected fault)",
        )
