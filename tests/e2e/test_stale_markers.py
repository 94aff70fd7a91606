"""A write whose reply was lost leaves a marker in its user's tally and the count in doubt: while
the marker is fresh its write may still be running, so the count stands; once it is stale, the
user's next operation recounts (services/exact_count.py). The fault suites age markers this way
(faultkit.age_write_markers) instead of waiting for them to go stale."""

from __future__ import annotations

import time
from typing import Any

from .faultkit import age_write_markers, error_code, usage_count
from .support import ots_client, take_snapshot

IN_DOUBT = 7  # a count no write of the test could leave


def _doubt_the_count(cloud: Any, user_id: str) -> None:
    """What a lost reply leaves in the user's tally row: a fresh marker, and here a count that
    is off."""
    from tablestore import Condition, Row, RowExistenceExpectation

    (key,) = [
        key
        for key, _ in take_snapshot(cloud)["user_data"]
        if key[0] == user_id and key[1].endswith("!")
    ]
    row = Row(
        [("uid", key[0]), ("id", key[1])],
        {"put": [("count", IN_DOUBT), ("mlost", time.time_ns() // 1_000_000)]},
    )
    ots_client(cloud).update_row("user_data", row, Condition(RowExistenceExpectation.EXPECT_EXIST))


def test_a_fresh_marker_holds_the_count_and_an_aged_one_lets_the_next_operation_recount(
    local_cloud, miniprogram
):
    app = miniprogram()
    session = app.login()
    for n in range(2):
        assert error_code(app.db(session, "add", v=2, text=f"chore {n}")) is None
    _doubt_the_count(local_cloud, app.user_id)

    assert error_code(app.db(session, "list", v=2)) is None
    assert usage_count(take_snapshot(local_cloud), app.user_id) == IN_DOUBT

    assert age_write_markers(local_cloud) == 1
    assert error_code(app.db(session, "list", v=2)) is None
    assert usage_count(take_snapshot(local_cloud), app.user_id) == 2
    assert age_write_markers(local_cloud) == 0  # the recount cleared the marker
