"""Seed data: a small tenant that looks real ("demo") and a generator of N tasks for benchmarks.

Both are deterministic for a given RNG seed; times are relative to the `now` they are given.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from .records import Source, TaskRecord, make_task, task_message

DEMO_SOURCES = (
    Source("2c9180835d2e5168015d32f890ca1581", "Active Directory"),
    Source("2c91808568c529c60168cca6f90c1313", "Workday"),
    Source("2c9180867624cbd7017642d8c8c81f67", "ServiceNow"),
)

SEED_NAMES = ("empty", "demo")
DEFAULT_GENERATED_TYPES = ("CLOUD_ACCOUNT_AGGREGATION", "CLOUD_GROUP_AGGREGATION", "IDENTITY_REFRESH")
_LAUNCHERS = ("sweep", "sweep", "sweep", "jane.doe", "svc-automation")

_WARNINGS = (
    "Account aggregation completed with 3 accounts skipped: missing attribute 'employeeId'.",
    "12 entitlements were not correlated to an owner.",
    "Identity refresh skipped 2 identities locked by another process.",
)
_ERRORS = (
    (
        "Connection timed out after 60000 ms while connecting to ldap://dc01.corp.example.com:389.",
        "Aggregation failed: the source did not return data.",
    ),
    ("HTTP 401 from https://wd5-services1.myworkday.com: invalid credentials for integration user.",),
    ("Source returned 503 Service Unavailable; retry limit reached.", "Aggregation terminated after 3 attempts."),
)


def _task_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _outcome(rng: random.Random) -> tuple[str, list]:
    roll = rng.random()
    if roll < 0.15:
        texts = rng.choice(_ERRORS)
        return "ERROR", [task_message("ERROR", text, "task_error") for text in texts]
    if roll < 0.30:
        return "WARNING", [task_message("WARN", rng.choice(_WARNINGS), "task_warning")]
    return "SUCCESS", []


def demo_tasks(now: datetime) -> list[TaskRecord]:
    """About 40 visible tasks over the last 30 days, 3 pending (2 stuck for days), 2 past the 90-day window."""
    rng = random.Random(20260822)
    records: list[TaskRecord] = []
    active_directory, workday, servicenow = DEMO_SOURCES
    for days_ago in range(30, 0, -3):
        day = now - timedelta(days=days_ago, hours=rng.randint(0, 6), minutes=rng.randint(0, 59))
        schedule = [
            ("CLOUD_ACCOUNT_AGGREGATION", active_directory),
            ("CLOUD_GROUP_AGGREGATION", active_directory),
            ("CLOUD_ACCOUNT_AGGREGATION", rng.choice((workday, servicenow))),
            ("IDENTITY_REFRESH", None),
        ]
        for slot, (definition_type, source) in enumerate(schedule):
            status, messages = _outcome(rng)
            records.append(
                make_task(
                    task_id=_task_id(rng),
                    definition_type=definition_type,
                    created=day + timedelta(minutes=20 * slot),
                    source=source,
                    completion_status=status,
                    duration=timedelta(seconds=rng.randint(20, 1800)),
                    launcher=rng.choice(_LAUNCHERS),
                    messages=messages,
                )
            )
    pending = [
        ("CLOUD_ACCOUNT_AGGREGATION", workday, timedelta(days=4, hours=3), "Started", 0),
        ("CLOUD_GROUP_AGGREGATION", servicenow, timedelta(days=2, hours=6), "Aggregating entitlements", 35),
        ("IDENTITY_REFRESH", None, timedelta(minutes=7), "Refreshing identities", 20),
    ]
    for definition_type, source, age, progress, percent in pending:
        records.append(
            make_task(
                task_id=_task_id(rng),
                definition_type=definition_type,
                created=now - age,
                source=source,
                completion_status=None,
                progress=progress,
                percent_complete=percent,
            )
        )
    for days_ago in (95, 120):
        records.append(
            make_task(
                task_id=_task_id(rng),
                definition_type="CLOUD_ACCOUNT_AGGREGATION",
                created=now - timedelta(days=days_ago),
                source=active_directory,
                completion_status="SUCCESS",
            )
        )
    return records


def generate_tasks(
    count: int,
    now: datetime,
    *,
    pending_fraction: float = 0.0,
    definition_types: Sequence[str] = DEFAULT_GENERATED_TYPES,
    sources: Sequence[Source] = DEMO_SOURCES,
    span_days: float = 60.0,
    rng_seed: int = 1,
) -> list[TaskRecord]:
    """`count` tasks spread evenly over the last `span_days` days (inside the 90-day window)."""
    rng = random.Random(rng_seed)
    records: list[TaskRecord] = []
    step = timedelta(days=span_days) / max(count, 1)
    oldest = now - timedelta(days=span_days)
    for index in range(count):
        definition_type = definition_types[index % len(definition_types)]
        source = None if definition_type == "IDENTITY_REFRESH" else sources[index % len(sources)]
        pending = rng.random() < pending_fraction
        status, messages = (None, []) if pending else _outcome(rng)
        records.append(
            make_task(
                task_id=_task_id(rng),
                definition_type=definition_type,
                created=oldest + step * index,
                source=source,
                completion_status=status,
                duration=timedelta(seconds=rng.randint(5, 900)),
                launcher=_LAUNCHERS[index % len(_LAUNCHERS)],
                messages=messages,
            )
        )
    return records
