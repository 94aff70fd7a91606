"""The 2020 rows' quota counter through the local cloud: exact after seeded Tablestore faults, by
the collections' mechanism (services/exact_count.py)."""

from __future__ import annotations

import random

from tests.metrics import record

from .faultkit import (
    counters_when_faults_clear,
    error_code,
    fault_counted_operations,
    injected,
)

COUNTER_SEED = 2020


def test_the_2020_counter_equals_the_rows_after_seeded_faults_on_writes(
    faults, miniprogram, local_cloud
):
    """Lost replies on UpdateRow, PutRow, DeleteRow and BatchWriteRow (the write landed, the
    answer did not), and busy answers, during 2020 puts of new ids and overwrites and removes;
    once the faults clear, the user's next operation leaves the counter equal to the number of
    2020 rows."""
    app = miniprogram()
    session = app.login()
    rng = random.Random(COUNTER_SEED)
    fault_counted_operations(faults, COUNTER_SEED, busy_share=0.1)
    start = injected(faults)
    ids = [f"row {n}" for n in range(6)]
    outcomes: dict[str, int] = {}
    for n in range(24):
        if rng.random() < 0.35:
            answer = app.db(session, "remove", id=rng.choice(ids))
        else:
            answer = app.db(session, "put", obj={"id": rng.choice(ids), "n": n})
        outcome = error_code(answer) or "ok"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    hits = injected(faults) - start

    def next_operation() -> None:
        assert error_code(app.db(session, "list")) is None

    before, (counted, rows) = counters_when_faults_clear(local_cloud, app.user_id, next_operation)
    print(
        f"\n2020 counter under faults: {hits} faults injected, outcomes {outcomes}; "
        f"counter/rows {before[0]}/{before[1]} when faults cleared, "
        f"{counted}/{rows} after the next operation"
    )
    record("faults_injected", hits)
    assert hits > 0
    assert counted == rows
