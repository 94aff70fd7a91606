"""Helpers for the reliability suites (faults, concurrency, rate limits): read the stored state the
way the functions lay it out, count what the fault board injected, and call the functions the way
a careful client would when Function Compute itself throttles (HTTP 429 ResourceThrottled: FC
refused before running the function, so sending the request again cannot do anything twice).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from localcloud.faults import Fault, FaultBoard
from localcloud.miniprogram import MiniProgram, Session

from .support import Snapshot, ots_client, take_snapshot

THROTTLED = "ResourceThrottled"
# FC caps each function at 10 instances; a thread that is throttled tries again this many times.
MAX_THROTTLED_TRIES = 200


def injected(board: FaultBoard) -> int:
    """How many faults the board has injected so far, all kinds together."""
    return sum(board.injected.values())


# The writes a counted operation makes, and the reads it makes with the session row.
COUNTED_WRITES = ("UpdateRow", "PutRow", "DeleteRow", "BatchWriteRow")
COUNTED_READS = ("GetRow", "BatchGetRow")


def fault_counted_operations(board: FaultBoard, seed: int, busy_share: float) -> None:
    """Seed the board, then lose 30% of the replies to the counted writes (the write lands, its
    answer does not) and answer `busy_share` of the reads ServerBusy."""
    board.reseed(seed)
    for api in COUNTED_WRITES:
        board.set(Fault("tablestore", "lost_reply", api=api, share=0.3))
    for api in COUNTED_READS:
        board.set(Fault("tablestore", "server_busy", api=api, share=busy_share))


def session_keys(state: Snapshot) -> set[str]:
    """The session table's keys: the SHA-256 of each live sessionId."""
    return {key[0] for key, _ in state["session"]}


def session_key(session_id: str) -> str:
    from miniapp.domain.session_id import session_key as key_of

    return key_of(session_id)


def user_rows(state: Snapshot, user_id: str) -> dict[str, dict[str, Any]]:
    """The user's rows: 2020 rows (todo_list) and the items of every collection (user_data,
    under their own ids; the tally rows left out): id -> columns."""
    rows = {key[1]: dict(columns) for key, columns in state["todo_list"] if key[0] == user_id}
    for key, columns in state.get("user_data", ()):
        if key[0] == user_id and "#" in key[1]:
            rows[key[1].split("#", 1)[1]] = dict(columns)
    return rows


def usage_count(state: Snapshot, user_id: str) -> int:
    """The user's item counters (what the quotas are checked against) summed: the 2020 counter
    and each collection's tally; 0 if never counted."""
    from miniapp.adapters.tablestore import guard_key

    total = 0
    wanted = guard_key("usage", user_id)
    for key, columns in state["usage"]:
        if key[0] == wanted:
            total += int(dict(columns).get("count", 0))
    for key, columns in state.get("user_data", ()):
        if key[0] == user_id and key[1].endswith("!"):
            total += int(dict(columns).get("count", 0))
    return total


def age_write_markers(cloud: Any) -> int:
    """Make every write marker in the tally rows older than STALE_MARKER_MS, as if that long had
    passed since it was written (a marker holds the ms it was written, adapters/tablestore/tally.py;
    the functions judge it on their own clock, real time), instead of waiting. How many it aged."""
    from tablestore import Condition, Row, RowExistenceExpectation

    from miniapp.adapters.tablestore.tally import COUNT, MARKER_PREFIX, REVISION
    from miniapp.services.exact_count import STALE_MARKER_MS

    client, state, aged = ots_client(cloud), take_snapshot(cloud), 0
    for table in cloud.template.tables:
        names = [name for name, _ in table.primary_key]
        for key, columns in state[table.name]:
            if not {COUNT, REVISION} <= {name for name, _ in columns}:
                continue  # not a tally row
            markers = [
                (name, value - STALE_MARKER_MS - 1000)
                for name, value in columns
                if name.startswith(MARKER_PREFIX) and isinstance(value, int)
            ]
            if markers:
                row = Row(list(zip(names, key, strict=True)), {"put": markers})
                client.update_row(table.name, row, Condition(RowExistenceExpectation.EXPECT_EXIST))
                aged += len(markers)
    return aged


def counters_when_faults_clear(
    cloud: Any, user_id: str, next_operation: Callable[[], Any]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Clear the faults, then (counter, items) of the user twice: at once, and after the user's
    next operation once every write marker is stale (services/exact_count.py)."""
    cloud.faults.clear()
    state = take_snapshot(cloud)
    at_once = usage_count(state, user_id), len(user_rows(state, user_id))
    age_write_markers(cloud)
    next_operation()
    state = take_snapshot(cloud)
    return at_once, (usage_count(state, user_id), len(user_rows(state, user_id)))


def fc_error_type(app: MiniProgram, session: Session, event: Mapping[str, Any]) -> tuple[Any, str]:
    """Invoke db with fc2 and return (payload, FC's x-fc-error-type header or "")."""
    client = app.fc_client(session.sts)
    resp = client.invoke_function(
        app.config["serviceName"], app.config["dbFunctionName"], payload=json.dumps(event)
    )
    headers = {k.lower(): v for k, v in resp.headers.items()}
    return json.loads(resp.data), headers.get("x-fc-error-type", "")


class Throttles:
    """FC throttling a test met and retried (a distinct, valid outcome of too much concurrency).
    Shared by a test's threads."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1


def invoke_through_throttling(
    app: MiniProgram, session: Session, event: Mapping[str, Any], throttles: Throttles
) -> Any:
    from fc2.fc_exceptions import FcError

    for _ in range(MAX_THROTTLED_TRIES):
        try:
            return app.invoke(session, event)
        except FcError as exc:
            if (exc.status_code, exc.err_code) != (429, THROTTLED):
                raise
            throttles.add()
            time.sleep(random.uniform(0.02, 0.1))
    raise AssertionError("Function Compute throttled the db function without end")


def post_through_throttling(
    app: MiniProgram, body: Any, throttles: Throttles, headers: Mapping[str, str] | None = None
) -> requests.Response:
    for _ in range(MAX_THROTTLED_TRIES):
        resp = app.post_session(body, headers=headers)
        if resp.status_code == 429 and _fc_error_code(resp) == THROTTLED:
            throttles.add()
            time.sleep(random.uniform(0.02, 0.1))
            continue
        return resp
    raise AssertionError("Function Compute throttled the session function without end")


def _fc_error_code(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    return str(body.get("ErrorCode", "")) if isinstance(body, dict) else ""


def error_code(answer: Any) -> str | None:
    """The `error.code` of a db answer or session body, or None for a success."""
    if isinstance(answer, dict) and set(answer) == {"error"}:
        return str(answer["error"]["code"])
    return None


def run_together(work: Callable[[int], Any], count: int) -> list[Any]:
    """Run `work(0..count-1)` in as many threads, released at the same moment; their results in
    order. An exception in a thread is raised here."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results
