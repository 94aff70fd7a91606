"""Timer triggers of the local Function Compute fire on their schedule, on the local clock: a
test moves the clock and the function has run with FC's timer event when `advance` returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from fc_app.harness import Cloud, running_cloud

from localcloud.fc.timers import InvalidSchedule, Schedule
from localcloud.template import TimerDecl


def with_timers(cloud: Cloud, *timers: TimerDecl) -> None:
    """Deploy the test stack with `timers` on the echo function (which answers its event)."""
    services = []
    for service in cloud.template.services:
        functions = tuple(
            replace(f, timers=timers) if f.name == "echo" else f for f in service.functions
        )
        services.append(replace(service, functions=functions))
    cloud.emulator.deploy(replace(cloud.template, services=tuple(services)))


@pytest.fixture
def cloud(tmp_path) -> Iterator[Cloud]:
    with running_cloud(tmp_path) as running:
        yield running


def fires(cloud: Cloud, trigger: str) -> list[dict[str, str]]:
    return [json.loads(f.body) for f in cloud.emulator.timers.fired if f.trigger == trigger]


def test_every_timer_fires_each_time_its_interval_passes(cloud):
    with_timers(cloud, TimerDecl("tick", "@every 5m", True, "tick-payload"))
    cloud.clock.advance(4 * 60)
    assert fires(cloud, "tick") == []
    cloud.clock.advance(60)
    cloud.clock.advance(5 * 60)
    events = fires(cloud, "tick")
    assert [(e["triggerName"], e["payload"]) for e in events] == [("tick", "tick-payload")] * 2


def test_timer_event_names_the_scheduled_time_in_utc(cloud):
    before = cloud.clock.now()
    with_timers(cloud, TimerDecl("tick", "@every 1h", True, ""))  # armed between the two reads
    after = cloud.clock.now()
    cloud.clock.advance(3600)
    event = fires(cloud, "tick")[0]
    fired_at = (
        datetime.strptime(event["triggerTime"], "%Y-%m-%dT%H:%M:%SZ")
        .replace(tzinfo=timezone.utc)
        .timestamp()
    )
    assert int(before) + 3600 <= fired_at <= after + 3600  # the schedule's time, not the run's
    assert set(event) == {"triggerTime", "triggerName", "payload"}


def test_cron_timer_fires_at_its_second_minute_hour(cloud):
    with_timers(cloud, TimerDecl("daily", "0 30 2 * * *", True, "nightly"))
    cloud.clock.advance(24 * 3600)
    (event,) = fires(cloud, "daily")
    assert event["triggerTime"].endswith("T02:30:00Z")


def test_skipped_fire_times_collapse_into_one_firing(cloud):
    with_timers(cloud, TimerDecl("tick", "@every 1m", True, ""))
    cloud.clock.advance(3600)
    assert len(fires(cloud, "tick")) == 1
    cloud.clock.advance(60)
    assert len(fires(cloud, "tick")) == 2


def test_disabled_timer_never_fires(cloud):
    with_timers(cloud, TimerDecl("off", "@every 1m", False, ""))
    cloud.clock.advance(3600)
    assert fires(cloud, "off") == []


def test_a_deploy_without_the_timer_stops_it(cloud):
    with_timers(cloud, TimerDecl("tick", "@every 1m", True, ""))
    with_timers(cloud)
    cloud.clock.advance(3600)
    assert fires(cloud, "tick") == []


@pytest.mark.parametrize(
    "expression",
    [
        "@every 30s",
        "@every",
        "every 5m",
        "0 0 4 * *",
        "61 0 4 * * *",
        "CRON_TZ=Nowhere/Else 0 0 4 * * *",
    ],
)
def test_expressions_fc_refuses_are_refused(expression):
    with pytest.raises(InvalidSchedule):
        Schedule(expression)


def test_a_wrong_expression_deploys_nothing(cloud):
    with_timers(cloud, TimerDecl("tick", "@every 1m", True, ""))
    with pytest.raises(InvalidSchedule):
        with_timers(cloud, TimerDecl("bad", "not cron", True, ""))
    cloud.clock.advance(60)
    assert len(fires(cloud, "tick")) == 1


def test_cron_tz_reads_the_fields_in_that_zone():
    schedule = Schedule("CRON_TZ=Asia/Shanghai 0 0 8 * * *")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
    fired = datetime.fromtimestamp(schedule.next_after(start), timezone.utc)
    assert (fired.hour, fired.minute) == (0, 0)  # 08:00 in Shanghai is midnight UTC


def test_a_firing_is_an_invocation_named_after_its_trigger(cloud):
    with_timers(cloud, TimerDecl("tick", "@every 1m", True, ""))
    cloud.clock.advance(60)
    assert cloud.emulator.invocations.last("echo").op == "timer tick"
