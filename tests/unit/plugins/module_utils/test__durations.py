# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._durations import (
    is_older_than,
    parse_duration,
    parse_timestamp,
    task_age,
    task_last_progress,
)
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError

NOW = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 1d 30m ", timedelta(days=1, minutes=30)),
        ("6H", timedelta(hours=6)),
        ("90m", timedelta(hours=1, minutes=30)),
    ],
)
def test_parse_duration_accepts_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_parse_duration_passes_timedelta_through() -> None:
    assert parse_duration(timedelta(minutes=5)) == timedelta(minutes=5)


@pytest.mark.parametrize("text", ["6x", "2days", "3y", "1d2q"])
def test_unknown_unit_names_the_option_and_the_unit(text: str) -> None:
    with pytest.raises(IscConfigError) as caught:
        parse_duration(text, option="clear_stuck_tasks_older_than")
    message = str(caught.value)
    assert "clear_stuck_tasks_older_than" in message
    assert "unknown duration unit" in message
    assert "h (hours)" in message
    assert caught.value.option == "clear_stuck_tasks_older_than"


@pytest.mark.parametrize("text", ["", "h", "6", "1.5h", "-2h", "six hours", "6h!"])
def test_text_that_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(IscConfigError, match=r"Invalid option 'older_than': .* is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [6, 6.0, True, None, ["6h"]])
def test_non_string_values_are_refused(value: object) -> None:
    with pytest.raises(IscConfigError, match="expected a duration"):
        parse_duration(value)


def test_zero_duration_is_refused() -> None:
    with pytest.raises(IscConfigError, match="is zero"):
        parse_duration("0h")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-10T10:00:00.123Z", datetime(2025, 3, 10, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2025-03-10T10:00:00Z", datetime(2025, 3, 10, 10, tzinfo=UTC)),
        ("2025-03-10T12:00:00+02:00", datetime(2025, 3, 10, 10, tzinfo=UTC)),
        ("2025-03-10T10:00:00", datetime(2025, 3, 10, 10, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_gives_utc_instants(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", [None, "", "yesterday", 12345])
def test_parse_timestamp_returns_none_for_unreadable_values(value: object) -> None:
    assert parse_timestamp(value) is None


def test_age_counts_from_launched_when_never_modified() -> None:
    task = {"created": "2025-03-01T00:00:00Z", "launched": "2025-03-10T06:00:00Z", "modified": None}
    assert task_last_progress(task) == datetime(2025, 3, 10, 6, tzinfo=UTC)
    assert task_age(task, NOW) == timedelta(hours=6)


def test_age_counts_from_the_last_progress() -> None:
    # Launched ten days ago, progressed a minute ago: not stuck for 6h.
    task = {"created": "2025-02-28T00:00:00Z", "launched": "2025-02-28T00:00:05Z", "modified": "2025-03-10 11:59:00.000000+00:00"}
    assert task_age(task, NOW) == timedelta(minutes=1)
    assert not is_older_than(task, timedelta(hours=6), NOW)


def test_unreadable_modified_falls_back_to_launched() -> None:
    task = {"launched": "2025-03-10T06:00:00Z", "modified": "not a time"}
    assert task_age(task, NOW) == timedelta(hours=6)


def test_age_counts_from_created_when_never_launched() -> None:
    task = {"created": "2025-03-08T12:00:00Z", "launched": None}
    assert task_age(task, NOW) == timedelta(days=2)


def test_is_older_than_compares_instants_across_offsets() -> None:
    # 13:00 at +02:00 is 11:00 UTC: one hour before NOW, not minus one hour.
    task = {"launched": "2025-03-10T13:00:00+02:00"}
    assert is_older_than(task, timedelta(minutes=59), NOW)
    assert not is_older_than(task, timedelta(minutes=61), NOW)


def test_is_older_than_at_the_boundary() -> None:
    task = {"launched": "2025-03-10T06:00:00Z"}
    assert is_older_than(task, timedelta(hours=6), NOW)
    assert not is_older_than(task, timedelta(hours=6, seconds=1), NOW)


def test_task_without_times_is_never_old() -> None:
    assert task_age({}, NOW) is None
    assert not is_older_than({"created": None, "launched": None}, timedelta(seconds=1), NOW)


def test_lowercase_z_is_utc_too() -> None:
    assert parse_timestamp("2024-05-17T19:33:16.470z") == datetime(2024, 5, 17, 19, 33, 16, 470000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"modified": "2025-03-10T10:00:00Z", "launched": "2025-03-10T09:00:00Z", "created": "2025-03-10T08:00:00Z"}, 10),
        ({"modified": None, "launched": "2025-03-10T09:00:00Z", "created": "2025-03-10T08:00:00Z"}, 9),
        ({"launched": None, "created": "2025-03-10T08:00:00Z"}, 8),
        ({"created": "not a time"}, None),
    ],
)
def test_last_progress(fields: dict[str, Any], expected: int | None) -> None:
    moment = task_last_progress(fields)
    assert (moment.hour if moment else None) == expected
