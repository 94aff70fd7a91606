"""Both handlers, fed generated malformed requests through the local cloud: the db function by
FC InvokeFunction (aliyun-fc2, signed with a real session's STS credentials), the session function
over its HTTP trigger. Every input must get exactly the typed error docs/api.md gives it — never
FC's UnhandledInvocationError (`x-fc-error-type`), never a 5xx, never `Internal` — and the whole
batch must leave every table exactly as it was (a snapshot before and after).

The inputs come from a seeded generator (`fuzz_events`): the seed is printed and named in every
failure, and `FUZZ_SEED=<seed>` replays the same inputs. `make test` tries 200 per handler,
`make reliability` 10,000 (FUZZ_EXAMPLES). Requests go out from a few threads: FC runs up to 10
instances of a function, so the flood also exercises concurrent instances.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.metrics import fuzz_examples, record

from .fuzz_cases import STATUS, Case
from .fuzz_events import db_cases, session_cases

SEED = int(os.environ.get("FUZZ_SEED") or secrets.randbits(32))
PER_HANDLER = fuzz_examples(200)
WORKERS = 4
CHUNK = 200  # cases generated and held in memory at a time (some are 200 KB)
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin-1",
    "multipart/form-data; boundary=x",
]
SHOWN_FAILURES = 10


def typed_error_problem(answer: Any, expect: str) -> str | None:
    """None if `answer` is exactly {"error": {"code": expect, "message": "..."}}."""
    if not (
        isinstance(answer, dict)
        and set(answer) == {"error"}
        and isinstance(answer["error"], dict)
        and set(answer["error"]) == {"code", "message"}
        and isinstance(answer["error"]["message"], str)
    ):
        return f"not a typed error: {str(answer)[:200]}"
    if answer["error"]["code"] != expect:
        return f"answered {answer['error']['code']} ({answer['error']['message'][:120]})"
    return None


def run_batch(
    cases: Iterator[Case], count: int, check: Callable[[int, Case], str | None]
) -> tuple[int, list[str], float]:
    """Sends `count` cases from a few threads: (sent, failure descriptions, seconds)."""
    failures: list[str] = []
    sent = 0
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        while sent < count:
            chunk = list(itertools.islice(cases, min(CHUNK, count - sent)))
            indexed = list(enumerate(chunk, start=sent))
            problems = pool.map(lambda ic: check(*ic), indexed)
            for (index, case), problem in zip(indexed, problems, strict=True):
                if problem is not None:
                    failures.append(
                        f"#{index} {case.label} (expected {case.expect}): {problem}\n"
                        f"    path={case.path!r} body={case.body[:300]!r}"
                        f"{'...' if len(case.body) > 300 else ''}"
                    )
            sent += len(chunk)
    return sent, failures, time.monotonic() - started


def report(handler: str, sent: int, failures: list[str]) -> str:
    shown = "\n".join(failures[:SHOWN_FAILURES])
    return (
        f"{len(failures)} of {sent} malformed inputs to the {handler} function were not "
        f"answered as specified (seed {SEED}; replay with FUZZ_SEED={SEED} "
        f"FUZZ_EXAMPLES={sent}):\n{shown}"
    )


class DbCaller:
    """One aliyun-fc2 client per thread, all with the fuzz user's STS credentials."""

    def __init__(self, app: Any, session: Any) -> None:
        self._app, self._session = app, session
        self._target = (app.config["serviceName"], app.config["dbFunctionName"])
        self._local = threading.local()

    def invoke(self, body: bytes) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._app.fc_client(self._session.sts)
        return client.invoke_function(*self._target, payload=body)


def test_the_db_function_answers_every_malformed_event_with_its_typed_error(
    miniprogram, snapshot, faults
):
    print(f"fuzz seed {SEED}, {PER_HANDLER} events")
    app = miniprogram()
    session = app.login()
    # Real data for the events to aim at: a bug that let one through would show in the snapshot.
    todo = app.db(session, "add", v=2, text="keep me")["data"]
    assert app.db(session, "put", obj={"id": "row-1", "n": 1}) == {"data": None}
    caller = DbCaller(app, session)

    def check(index: int, case: Case) -> str | None:
        try:
            resp = caller.invoke(case.body)
        # Aliyun-fc2 raises on x-fc-error-type (an unhandled error)
        except Exception as exc:  # noqa: BLE001
            return f"FC call failed: {type(exc).__name__}: {str(exc)[:300]}"
        if resp.headers.get("x-fc-error-type"):
            return f"unhandled error: {resp.headers['x-fc-error-type']}"
        try:
            answer = json.loads(resp.data)
        except ValueError:
            return f"answer is not JSON: {resp.data[:200]!r}"
        return typed_error_problem(answer, case.expect)

    before = snapshot()
    cases = db_cases(session.session_id, todo["id"], "row-1", random.Random(f"{SEED}/db"))
    sent, failures, seconds = run_batch(cases, PER_HANDLER, check)
    print(f"db: {sent} events in {seconds:.1f} s ({sent / seconds:.0f}/s)")
    assert not failures, report("db", sent, failures)
    assert snapshot() == before, f"malformed events changed stored data (seed {SEED})"
    # The flood broke nothing for the real user either.
    assert app.db(session, "get", v=2, id=todo["id"])["data"] == todo
    # The 2020 list holds the 2020 rows only: v2 todos live apart.
    assert app.db(session, "list") == {"data": [{"id": "row-1", "n": 1}]}
    assert app.db(session, "list", v=2)["data"]["items"] == [todo]
    record("malformed_inputs", sent)


def test_the_session_function_answers_every_malformed_request_with_its_typed_error(
    config, snapshot, faults
):
    print(f"fuzz seed {SEED}, {PER_HANDLER} requests")
    local = threading.local()

    def check(index: int, case: Case) -> str | None:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = requests.Session()
        headers = {"Content-Type": CONTENT_TYPES[index % len(CONTENT_TYPES)]}
        try:
            resp = http.post(
                config["sessionUrl"] + case.path, data=case.body, headers=headers, timeout=30
            )
        except requests.RequestException as exc:
            return f"no answer: {type(exc).__name__}: {str(exc)[:200]}"
        if resp.headers.get("x-fc-error-type"):
            return f"unhandled error: {resp.status_code} {resp.text[:200]}"
        if resp.status_code != STATUS[case.expect]:
            return f"HTTP {resp.status_code}: {resp.text[:200]}"
        if (
            not resp.headers.get("Content-Type", "").startswith("application/json")
            or resp.headers.get("Cache-Control") != "no-store"
        ):
            return f"headers {dict(resp.headers)}"
        try:
            answer = resp.json()
        except ValueError:
            return f"answer is not JSON: {resp.content[:200]!r}"
        return typed_error_problem(answer, case.expect)

    fake_session_id = secrets.token_urlsafe(32)
    before = snapshot()
    cases = session_cases(fake_session_id, random.Random(f"{SEED}/session"))
    sent, failures, seconds = run_batch(cases, PER_HANDLER, check)
    print(f"session: {sent} requests in {seconds:.1f} s ({sent / seconds:.0f}/s)")
    assert not failures, report("session", sent, failures)
    assert snapshot() == before, f"malformed requests changed stored data (seed {SEED})"
    record("malformed_inputs", sent)
