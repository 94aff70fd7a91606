"""Abuse limits, end to end: session creation is limited per client IP and per user, and
credential refreshes per session and per user, from the template parameters; an exceeded limit
answers 429 RateLimited with Retry-After.

The shared cloud, which lifts the limits, gets small ones and a short window here.
Windows are fixed and aligned to the epoch, so each burst starts just after a window boundary and
is checked to have ended inside that window; if the machine was too slow for that, the burst is
repeated in a later window, so the counts asserted are always those of one window, exactly.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from localcloud.miniprogram import MiniProgram
from tests.conftest import parameters_set

from .faultkit import Throttles, post_through_throttling, run_together, session_key, session_keys
from .support import take_snapshot

PER_USER = 3
PER_IP = PER_USER + 3  # room for one user's refused attempts and one more user
PER_SESSION_REFRESHES = 4
WINDOW = 2  # seconds
BURST_TRIES = 4


@pytest.fixture(scope="module")
def limited_cloud(local_cloud: Any) -> Iterator[Any]:
    with parameters_set(
        local_cloud,
        {
            "SessionRateLimitPerIp": str(PER_IP),
            "SessionRateLimitPerUser": str(PER_USER),
            "RateLimitWindowSeconds": str(WINDOW),
            "RefreshRateLimitPerSession": str(PER_SESSION_REFRESHES),
        },
    ) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def phone(limited_cloud: Any) -> Callable[..., MiniProgram]:
    config = limited_cloud.cloud_config()
    return lambda user_id=None: MiniProgram(config, user_id)


def _wait_for_a_new_window() -> float:
    """Sleep until just after the next window boundary; that window's end."""
    now = time.time()
    start = (math.floor(now / WINDOW) + 1) * WINDOW
    time.sleep(start - now + 0.02)
    return start + WINDOW


def _in_one_window(
    cloud: Any, burst: Callable[[], list[requests.Response]]
) -> tuple[set[str], list[requests.Response]]:
    """The session keys stored before the burst, and the burst's answers, from a burst that
    started and ended inside one window."""
    for _ in range(BURST_TRIES):
        before = session_keys(take_snapshot(cloud))
        window_end = _wait_for_a_new_window()
        answers = burst()
        if time.time() < window_end:
            return before, answers
    pytest.fail(f"no burst fitted in one {WINDOW} s window in {BURST_TRIES} tries")


def _assert_rate_limited(resp: requests.Response) -> int:
    """The answer is 429 RateLimited with a Retry-After of whole seconds, at most one window;
    returns it."""
    assert resp.status_code == 429, resp.text
    assert resp.json() == {
        "error": {"code": "RateLimited", "message": resp.json()["error"]["message"]}
    }
    retry_after = resp.headers.get("Retry-After", "")
    assert re.fullmatch(r"[1-9][0-9]*", retry_after), retry_after
    assert 1 <= int(retry_after) <= WINDOW
    return int(retry_after)


def _login(app: MiniProgram, code: str, **headers: str) -> requests.Response:
    return app.post_session({"authCode": code, "authSuccessScopes": ["auth_base"]}, headers=headers)


def test_one_user_logging_in_again_and_again_is_limited_per_user(limited_cloud, phone):
    app = phone()
    app.login()  # a warm function, so the burst is quick

    def burst() -> list[requests.Response]:
        answers = [_login(app, app.get_auth_code()) for _ in range(PER_USER + 2)]
        # Another user from the same IP, in the same window, is not held back by this user's limit.
        other = phone()
        return answers + [_login(other, other.get_auth_code())]

    before, answers = _in_one_window(limited_cloud, burst)
    assert [a.status_code for a in answers] == [200] * PER_USER + [429] * 2 + [200], [
        (a.status_code, a.text) for a in answers
    ]
    opened = {session_key(a.json()["sessionId"]) for a in answers if a.status_code == 200}
    assert session_keys(take_snapshot(limited_cloud)) == before | opened
    waits = [_assert_rate_limited(a) for a in answers[PER_USER : PER_USER + 2]]
    # Once the window has passed, the user logs in again.
    time.sleep(waits[-1])
    assert _login(app, app.get_auth_code()).status_code == 200


def test_many_users_from_one_ip_are_limited_per_ip_even_at_once(limited_cloud, phone):
    """PER_IP + 3 phones behind one address log in at the same moment, each claiming another
    address in X-Forwarded-For (which a bot can write): exactly PER_IP get a session."""
    count = PER_IP + 3
    phones = [phone() for _ in range(count)]
    throttles = Throttles()
    # Warm as many instances as the burst needs, without touching the limits (a body that is
    # not JSON is refused before any limit is counted).
    run_together(lambda i: phones[i].post_session(None, raw=b"warm-up"), count)
    codes: list[str] = []

    def burst() -> list[requests.Response]:
        codes[:] = [p.get_auth_code() for p in phones]
        return run_together(
            lambda i: post_through_throttling(
                phones[i],
                {"authCode": codes[i]},
                throttles,
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            ),
            count,
        )

    before, answers = _in_one_window(limited_cloud, burst)
    opened = [a for a in answers if a.status_code == 200]
    limited = [i for i, a in enumerate(answers) if a.status_code != 200]
    assert len(opened) == PER_IP and len(limited) == count - PER_IP, [
        (a.status_code, a.text) for a in answers
    ]
    waits = [_assert_rate_limited(answers[i]) for i in limited]
    assert session_keys(take_snapshot(limited_cloud)) == before | {
        session_key(a.json()["sessionId"]) for a in opened
    }
    # After the window, the phones that were turned away log in with the codes they had: the
    # limit refused them before their codes were spent at Alipay.
    time.sleep(max(waits))
    for i in limited:
        assert _login(phones[i], codes[i]).status_code == 200


def test_a_burst_of_refreshes_of_one_session_is_limited_and_never_fails(limited_cloud, phone):
    """100 refreshes of one session from 4 threads at once (fewer than FC's instances, so FC
    never throttles): each answers 200 or 429 RateLimited, and only the 200s got credentials."""
    app = phone()
    session_id = app.login().session_id
    before = limited_cloud.traffic.snapshot()
    first_window = math.floor(time.time() / WINDOW)
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: app.post_session({"sessionId": session_id}, path="refresh"), range(100)
            )
        )
    windows = math.floor(time.time() / WINDOW) - first_window + 1
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 429}, [
        (a.status_code, a.text) for a in answers if a.status_code not in (200, 429)
    ]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all("of this session" in _rate_limited(a) for a in refused)
    assert statuses.count(200) <= PER_SESSION_REFRESHES * windows
    issued = limited_cloud.traffic.since(before).get(("sts", "AssumeRole"), 0)
    assert issued == statuses.count(200)


def _rate_limited(resp: requests.Response) -> str:
    """`_assert_rate_limited`, and the answer's message."""
    _assert_rate_limited(resp)
    return str(resp.json()["error"]["message"])
