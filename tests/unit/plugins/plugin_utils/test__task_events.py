# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError, IscServerError
from ansible_collections.sailpoint.isc.plugins.module_utils._paging import PAGE_SIZE as PAGE
from ansible_collections.sailpoint.isc.plugins.plugin_utils._task_events import (
    LOOKBACK,
    EventSettings,
    TaskWatcher,
)
from ansible_collections.sailpoint.isc.tests.unit.task_events_fakes import NOW, FakeTenant, ago, make_task, stamp


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def watcher(tenant: FakeTenant, clock: Clock | None = None, **args: Any) -> TaskWatcher:
    return TaskWatcher(tenant, EventSettings.from_args(args, NOW), clock or Clock())


def kinds_and_ids(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["sailpoint_isc"]["kind"], event["sailpoint_isc"]["task"]["id"]) for event in events]


def poll(source: TaskWatcher) -> list[tuple[str, str]]:
    source.poll()
    return kinds_and_ids(source.take_events())


# --- finished ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", ["beta", "v2025", "v1"])
def test_tasks_finished_before_the_start_are_not_reported_and_later_ones_once(api_version: str) -> None:
    tenant = FakeTenant(api_version)
    tenant.add(make_task("old-ok", created=ago(hours=3), status="SUCCESS"))
    tenant.add(make_task("old-error", created=ago(hours=2), status="ERROR"))
    tenant.add(make_task("running", created=ago(minutes=30), launched=ago(minutes=30), modified=ago(minutes=1)))
    clock = Clock()
    source = watcher(tenant, clock)
    assert poll(source) == []

    clock.now += timedelta(minutes=1)
    tenant.finish("running", "ERROR", clock.now)
    tenant.add(make_task("quick", created=clock.now - timedelta(seconds=30), status="SUCCESS"))
    assert sorted(poll(source)) == [("finished", "quick"), ("finished", "running")]
    assert poll(source) == []
    assert poll(source) == []


def test_a_finished_event_carries_the_task_as_served() -> None:
    tenant = FakeTenant()
    running = tenant.add(make_task("t1", created=ago(minutes=5), modified=ago(minutes=1)))
    source = watcher(tenant)
    poll(source)
    tenant.finish("t1", "WARNING", NOW)
    source.poll()
    [event] = source.take_events()
    assert event == {"sailpoint_isc": {"kind": "finished", "task": {**running, "completionStatus": "WARNING", "completed": stamp(NOW), "modified": stamp(NOW)}}}


def test_a_long_running_task_is_found_by_id_when_it_leaves_the_pending_list() -> None:
    tenant = FakeTenant("v2026")
    tenant.add(make_task("days-old", created=ago(days=3), modified=ago(minutes=2)))
    for number in range(10):
        tenant.add(make_task(f"new-{number}", created=ago(minutes=number), status="SUCCESS"))
    source = watcher(tenant)
    poll(source)
    tenant.finish("days-old", "TERMINATED", NOW)
    assert poll(source) == [("finished", "days-old")]
    [by_id] = tenant.reads("by_id")
    assert by_id[1]["id"] == ["days-old"]


def test_only_the_newest_page_is_read_at_each_poll() -> None:
    tenant = FakeTenant()
    for number in range(3 * PAGE):
        tenant.add(make_task(f"t{number:04d}", created=ago(hours=1, minutes=number), status="SUCCESS"))
    source = watcher(tenant)
    poll(source)
    tenant.calls.clear()
    tenant.add(make_task("fresh", created=NOW, status="ERROR"))
    assert poll(source) == [("finished", "fresh")]
    assert [call[1:] for call in tenant.reads("list")] == [({}, "-created", 0, PAGE)]


def test_pages_are_followed_down_to_the_lookback_floor() -> None:
    tenant = FakeTenant()
    tenant.add(make_task("anchor", created=ago(minutes=1), status="SUCCESS"))
    source = watcher(tenant)
    poll(source)
    # More tasks than one page appeared at once, all newer than the floor.
    for number in range(PAGE + 10):
        tenant.add(make_task(f"burst-{number:03d}", created=NOW - timedelta(seconds=number), status="SUCCESS"))
    events = poll(source)
    assert len(events) == PAGE + 10
    assert len(set(events)) == len(events)
    assert [call[3] for call in tenant.reads("list")][-2:] == [0, PAGE]


def test_a_task_that_shows_up_late_within_the_lookback_is_still_reported() -> None:
    tenant = FakeTenant()
    tenant.add(make_task("newest", created=ago(minutes=1), status="SUCCESS"))
    source = watcher(tenant)
    poll(source)
    late = NOW - LOOKBACK + timedelta(minutes=1)
    tenant.add(make_task("late", created=late, status="ERROR"))
    assert poll(source) == [("finished", "late")]


def test_statuses_and_types_go_to_the_server_as_filters() -> None:
    tenant = FakeTenant()
    tenant.add(make_task("agg", created=ago(minutes=5), modified=ago(minutes=1)))
    tenant.add(make_task("refresh", created=ago(minutes=5), modified=ago(minutes=1), definition="Identity Refresh"))
    source = watcher(tenant, types="cloud_account_aggregation", statuses=["error", "TERMINATED"])
    poll(source)
    tenant.finish("agg", "SUCCESS", NOW)
    tenant.finish("refresh", "ERROR", NOW)
    tenant.add(make_task("agg-failed", created=NOW, status="ERROR"))
    assert poll(source) == [("finished", "agg-failed")]
    wanted = {"type": ["CLOUD_ACCOUNT_AGGREGATION"], "completionStatus": ["ERROR", "TERMINATED"]}
    assert all(call[1] == {"type": ["CLOUD_ACCOUNT_AGGREGATION"]} for call in tenant.reads("pending"))
    assert all(call[1] == wanted for call in tenant.reads("list"))
    assert [call[1] for call in tenant.reads("by_id")] == [{"id": ["agg"], **wanted}]


def test_since_reports_what_finished_after_it_on_the_first_poll_only() -> None:
    tenant = FakeTenant()
    tenant.add(make_task("long-ago", created=ago(hours=5), modified=ago(hours=4), status="SUCCESS"))
    tenant.add(make_task("long-run", created=ago(days=2), modified=ago(minutes=30), status="ERROR"))
    tenant.add(make_task("recent", created=ago(minutes=50), modified=ago(minutes=40), status="SUCCESS"))
    source = watcher(tenant, since="1h")
    assert sorted(poll(source)) == [("finished", "long-run"), ("finished", "recent")]
    assert poll(source) == []


def test_a_failing_read_loses_no_event_and_repeats_none() -> None:
    tenant = FakeTenant()
    tenant.add(make_task("running", created=ago(days=1), modified=ago(minutes=1)))
    tenant.add(make_task("anchor", created=ago(minutes=2), status="SUCCESS"))
    source = watcher(tenant)
    poll(source)
    tenant.finish("running", "ERROR", NOW)
    tenant.add(make_task("quick", created=NOW, status="SUCCESS"))
    tenant.fail_on["by_id"] = IscServerError(method="GET", path="/v2025/task-status", status=503)
    with pytest.raises(IscServerError):
        source.poll()
    first = kinds_and_ids(source.take_events())
    second = poll(source)
    assert first == [("finished", "quick")]
    assert second == [("finished", "running")]
    assert poll(source) == []


def test_the_finished_memory_stays_bounded() -> None:
    tenant = FakeTenant()
    clock = Clock()
    source = watcher(tenant, clock)
    for hour in range(24):
        clock.now = NOW + timedelta(hours=hour)
        tenant.add(make_task(f"t{hour}", created=clock.now, status="SUCCESS"))
        poll(source)
    assert set(source.finished) == {"t23"}


# --- stuck ---------------------------------------------------------------------------------------------------


def test_stuck_is_measured_from_modified_then_launched_then_created() -> None:
    tenant = FakeTenant()
    tenant.add(make_task("quiet", created=ago(hours=9), launched=ago(hours=9), modified=ago(hours=7)))
    tenant.add(make_task("progressing", created=ago(hours=9), launched=ago(hours=9), modified=ago(minutes=5)))
    tenant.add(make_task("launched-only", created=ago(hours=9), launched=ago(hours=6, minutes=1)))
    tenant.add(make_task("queued-only", created=ago(hours=5)))
    clock = Clock()
    source = watcher(tenant, clock, stuck_after="6h")
    assert sorted(poll(source)) == [("stuck", "launched-only"), ("stuck", "quiet")]
    clock.now += timedelta(hours=1, minutes=1)
    assert poll(source) == [("stuck", "queued-only")]
    assert poll(source) == []


def test_a_stuck_task_that_is_cleared_is_then_reported_finished_once() -> None:
    tenant = FakeTenant()
    tenant.add(make_task("stuck", created=ago(hours=9), modified=ago(hours=8)))
    source = watcher(tenant, stuck_after="1h")
    assert poll(source) == [("stuck", "stuck")]
    tenant.finish("stuck", "ERROR", NOW)
    assert poll(source) == [("finished", "stuck")]
    assert poll(source) == []


def test_kinds_limit_what_is_read_and_reported() -> None:
    tenant = FakeTenant()
    tenant.add(make_task("stuck", created=ago(hours=9), modified=ago(hours=8)))
    source = watcher(tenant, kinds=["stuck"], stuck_after="1h")
    assert poll(source) == [("stuck", "stuck")]
    tenant.finish("stuck", "ERROR", NOW)
    assert poll(source) == []
    assert {call[0] for call in tenant.calls} == {"pending"}

    finished_only = watcher(tenant, kinds="finished", stuck_after="1h")
    tenant.add(make_task("stuck-2", created=ago(hours=9), modified=ago(hours=8)))
    assert poll(finished_only) == []


# --- options -------------------------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = EventSettings.from_args({}, NOW)
    assert settings == EventSettings(interval=60, kinds=frozenset({"finished", "stuck"}), types=(), statuses=(), stuck_after=timedelta(hours=6), since=None)


@pytest.mark.parametrize(
    ("args", "option", "text"),
    [
        ({"intervall": 5}, "intervall", "has no such option"),
        ({"interval": 0}, "interval", "1 or more"),
        ({"interval": "soon"}, "interval", "'soon'"),
        ({"interval": True}, "interval", "'True'"),
        ({"kinds": ["finished", "hung"]}, "kinds", "'hung'"),
        ({"types": ["QUARTZ"]}, "types", "'QUARTZ'"),
        ({"types": ["CLOUD_ACCOUNT_AGGREGATION", ""]}, "types", "empty"),
        ({"statuses": "error,done"}, "statuses", "'done'"),
        ({"statuses": {"ERROR": 1}}, "statuses", "expected a list"),
        ({"stuck_after": "6 hours please"}, "stuck_after", "not a duration"),
        ({"stuck_after": 3600}, "stuck_after", "expected a duration"),
        ({"since": "yesterday"}, "since", "neither a date and time nor a duration"),
    ],
)
def test_bad_options_name_the_option(args: dict[str, Any], option: str, text: str) -> None:
    with pytest.raises(IscConfigError) as caught:
        EventSettings.from_args(args, NOW)
    assert caught.value.option == option
    assert text in str(caught.value)


def test_option_forms() -> None:
    settings = EventSettings.from_args(
        {"interval": "30", "kinds": "stuck", "types": "identity_refresh, CLOUD_ACCOUNT_AGGREGATION", "statuses": ["Error"], "since": "2025-03-10T10:00:00Z"},
        NOW,
    )
    assert (settings.interval, settings.kinds, settings.types, settings.statuses) == (
        30.0,
        {"stuck"},
        ("IDENTITY_REFRESH", "CLOUD_ACCOUNT_AGGREGATION"),
        ("ERROR",),
    )
    assert settings.since == ago(hours=2)
    assert EventSettings.from_args({"since": "90m"}, NOW).since == ago(minutes=90)
    assert EventSettings.from_args({"since": NOW.replace(tzinfo=None)}, NOW).since == NOW
    assert EventSettings.from_args({"eda_feedback_queue": object()}, NOW).kinds == {"finished", "stuck"}
