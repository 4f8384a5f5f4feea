# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Durations such as ``30m``, ``6h``, ``2d``, ``1w`` (or ``1d12h``) and the age of a task.

A pending task counts as stuck from its last progress: ``modified``, else ``launched``, else ``created``. So a
long run that progressed a minute ago is not stuck, however long ago it was launched. ISC writes these as UTC
instants in more than one form (``2024-05-17T19:33:16.470Z``, ``2024-05-17 19:33:16.470000+00:00``); they are
compared as instants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ._errors import IscConfigError

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UNIT_NAMES = "s (seconds), m (minutes), h (hours), d (days), w (weeks)"
MAX_DURATION_SECONDS = int(timedelta.max.total_seconds())

_PART = re.compile(r"(\d+)\s*([a-zA-Z]+)")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[a-zA-Z]+\s*)+$")


def parse_duration(value: Any, option: str = "older_than") -> timedelta:
    """Turn ``"6h"``, ``"2d"``, ``"1w"`` or ``"1d12h"`` into a timedelta; raise IscConfigError naming ``option``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise IscConfigError(
            option,
            f"expected a duration such as '30m', '6h' or '2d', got {type(value).__name__} {value!r}.",
            f"Write a number followed by a unit: {UNIT_NAMES}.",
        )
    text = value.strip()
    if not _WHOLE.match(text):
        raise IscConfigError(
            option,
            f"'{value}' is not a duration.",
            f"Write a number followed by a unit, such as '30m', '6h', '2d' or '1w'; units: {UNIT_NAMES}.",
        )
    total = 0
    for number, unit in _PART.findall(text):
        seconds = UNIT_SECONDS.get(unit.lower())
        if seconds is None:
            raise IscConfigError(option, f"unknown duration unit '{unit}' in '{value}'.", f"Use one of: {UNIT_NAMES}.")
        total += int(number) * seconds
    if total <= 0:
        raise IscConfigError(option, f"'{value}' is zero.", "Give a duration longer than zero, or leave the option out.")
    if total > MAX_DURATION_SECONDS:
        raise IscConfigError(option, f"'{value}' is too long to compute with.", "Give a shorter duration; ISC keeps tasks for 90 days (90d).")
    return timedelta(seconds=total)


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an ISC timestamp into an aware UTC datetime; None for missing or unreadable values."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("z"):
        # fromisoformat takes "Z" but not the lowercase "z" RFC 3339 also allows.
        text = text[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # ISC documents UTC; a timestamp without an offset is read as UTC rather than as local time.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


PROGRESS_TIMES = ("modified", "launched", "created")
# Sorts after every real time: tasks with no readable time come last.
NEVER = datetime.max.replace(tzinfo=UTC)


def task_last_progress(task: Mapping[str, Any]) -> datetime | None:
    """When the task last moved: ``modified``, else ``launched``, else ``created`` (the first one readable)."""
    return next((moment for moment in (parse_timestamp(task.get(name)) for name in PROGRESS_TIMES) if moment is not None), None)


def task_age(task: Mapping[str, Any], now: datetime | None = None) -> timedelta | None:
    """How long the task has shown no progress."""
    started = task_last_progress(task)
    if started is None:
        return None
    return (now or datetime.now(UTC)) - started


def stalest_first(tasks: Iterable[Mapping[str, Any]], threshold: timedelta | None, limit: int | None, now: datetime) -> list[dict[str, Any]]:
    """The tasks with no progress for at least ``threshold`` (all when None), longest without progress first, at most ``limit``."""
    selected = [dict(task) for task in tasks if threshold is None or is_older_than(task, threshold, now)]
    selected.sort(key=lambda task: task_last_progress(task) or NEVER)
    return selected if limit is None else selected[:limit]


def format_duration(span: timedelta) -> str:
    """A span as people write it: ``45s``, ``12m``, ``7h12m``, ``3d4h``."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"


def is_older_than(task: Mapping[str, Any], threshold: timedelta, now: datetime | None = None) -> bool:
    """True when the task has shown no progress for at least ``threshold``; a task with no readable time never has."""
    age = task_age(task, now)
    return age is not None and age >= threshold
