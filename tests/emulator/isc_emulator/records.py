"""Task records: a vendor-shaped TaskStatus plus what the emulator keeps beside it."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .versions import definition_title

_JSON_SEPARATORS = (",", ":")

TASK_TYPE_BY_DEFINITION = {
    "CLOUD_ACCOUNT_AGGREGATION": "QUARTZ",
    "CLOUD_GROUP_AGGREGATION": "QUARTZ",
    "IDENTITY_REFRESH": "QPOC",
}

_DEFINITION_DESCRIPTIONS = {
    "CLOUD_ACCOUNT_AGGREGATION": "Aggregates accounts from the specified application.",
    "CLOUD_GROUP_AGGREGATION": "Aggregates entitlements (groups) from the specified application.",
    "IDENTITY_REFRESH": "Refreshes identity attributes, roles and access profiles.",
}


@dataclass(frozen=True)
class Source:
    id: str
    name: str

    @property
    def display_name(self) -> str:
        return f"{self.name} [source]"


TIMESTAMP_FIELDS = ("created", "modified", "launched", "completed")
# How served TaskStatus JSON writes timestamps. Records keep z-millis; answers are written in the tenant's form.
# z-millis: 2024-05-17T19:33:16.470Z (the specs' TaskStatus examples), offset-micros: 2024-05-17 19:33:16.470000+00:00
# (the v1 and v2024-v2026 PATCH examples), z-seconds: 2024-05-17T19:33:16Z (no fraction).
TIMESTAMP_FORMS = ("z-millis", "offset-micros", "z-seconds")
DEFAULT_TIMESTAMP_FORM = "z-millis"


def parse_timestamp_form(value: Any) -> str:
    if value not in TIMESTAMP_FORMS:
        raise ValueError(f"timestamp_form must be one of {', '.join(TIMESTAMP_FORMS)}, got {value!r}")
    return str(value)


def format_timestamp(moment: datetime, form: str = DEFAULT_TIMESTAMP_FORM) -> str:
    """`moment` in UTC, written in one of TIMESTAMP_FORMS (by default the canonical 2020-07-11T21:23:15.000Z)."""
    moment = moment.astimezone(UTC)
    if form == "offset-micros":
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
    if form == "z-seconds":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def served_status(status: dict[str, Any], form: str) -> dict[str, Any]:
    """The TaskStatus as an answer shows it: timestamps in `form` (the same dict for the canonical form)."""
    if form == DEFAULT_TIMESTAMP_FORM:
        return status
    served = dict(status)
    for name in TIMESTAMP_FIELDS:
        value = served.get(name)
        # A value that is no timestamp (stored on purpose by a test) is served as given.
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                served[name] = format_timestamp(parse_timestamp(value), form)
    return served


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 date-time (also the v2024 spec example's `2024-05-17 19:33:16.470000+00:00`).

    Raises ValueError for anything else, including date-times without a time zone.
    """
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"date-time {text!r} has no time zone")
    return moment.astimezone(UTC)


def task_message(message_type: str, text: str, key: str | None = None) -> dict[str, Any]:
    """A TaskStatusMessage (type INFO, WARN or ERROR)."""
    return {
        "type": message_type,
        "localizedText": {"locale": "en-US", "message": text},
        "key": key or f"task_{message_type.lower()}",
        "parameters": [],
    }


def definition_summary(definition_type: str) -> dict[str, Any]:
    title = definition_title(definition_type)
    return {
        "id": hashlib.md5(definition_type.encode(), usedforsecurity=False).hexdigest(),
        "uniqueName": title,
        "description": _DEFINITION_DESCRIPTIONS.get(definition_type, f"{title} task."),
        "parentName": title,
        "executor": "sailpoint.task.ServiceTaskExecutor",
        "arguments": {},
    }


@dataclass
class Run:
    """A launched task that completes by itself `duration_s` after `started_at`, or after the API served it
    `reads_left` times (then the clock does not matter: a test of waiting need not race this machine's speed)."""

    started_at: datetime
    duration_s: float
    final_status: str
    final_messages: list[dict[str, Any]] = field(default_factory=list)
    reads_left: int | None = None


@dataclass(eq=False)
class TaskRecord:
    status: dict[str, Any]
    definition_type: str
    created_at: datetime
    run: Run | None = None
    _json: bytes | None = None
    _json_form: str = DEFAULT_TIMESTAMP_FORM

    @property
    def id(self) -> str:
        return str(self.status["id"])

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.created_at, self.id)

    @property
    def source_id(self) -> str | None:
        target = self.status.get("target")
        if target and target.get("type") == "APPLICATION":
            return target.get("id")
        return None

    def to_json(self, timestamp_form: str = DEFAULT_TIMESTAMP_FORM) -> bytes:
        # Pages of 250 tasks are served from these cached bytes; every change must call invalidate().
        if self._json is None or self._json_form != timestamp_form:
            self._json = json.dumps(served_status(self.status, timestamp_form), separators=_JSON_SEPARATORS).encode()
            self._json_form = timestamp_form
        return self._json

    def invalidate(self) -> None:
        self._json = None

    def ground_truth(self, expired: bool) -> dict[str, Any]:
        return {**self.status, "_definitionType": self.definition_type, "_expired": expired}

    def advance(self, now: datetime) -> None:
        """Move a launched task's progress along; complete it when its time has come."""
        run = self.run
        if run is None or run.reads_left is not None:
            return
        elapsed = (now - run.started_at).total_seconds()
        if elapsed >= run.duration_s:
            self._complete(run, run.started_at + timedelta(seconds=run.duration_s))
        else:
            percent = min(99, int(100 * elapsed / run.duration_s)) if run.duration_s > 0 else 99
            if percent == self.status["percentComplete"]:
                return
            self.status.update(percentComplete=percent, progress=f"In progress ({percent}%)", modified=format_timestamp(now))
        self.invalidate()

    def served(self, now: datetime) -> None:
        """The API answered with this task once more: a run counting reads completes after its last one."""
        run = self.run
        if run is None or run.reads_left is None:
            return
        run.reads_left -= 1
        if run.reads_left <= 0:
            self._complete(run, now)
            self.invalidate()

    def _complete(self, run: Run, completed_at: datetime) -> None:
        self.status.update(
            completionStatus=run.final_status,
            completed=format_timestamp(completed_at),
            modified=format_timestamp(completed_at),
            progress="Completed",
            percentComplete=100,
            messages=list(run.final_messages),
        )
        self.run = None


def make_task(
    *,
    task_id: str,
    definition_type: str,
    created: datetime,
    source: Source | None = None,
    completion_status: str | None = "SUCCESS",
    duration: timedelta = timedelta(minutes=2),
    launcher: str = "sweep",
    messages: list[dict[str, Any]] | None = None,
    progress: str | None = None,
    percent_complete: int | None = None,
    attributes: dict[str, Any] | None = None,
    task_type: str | None = None,
    unique_name: str | None = None,
    description: str | None = None,
) -> TaskRecord:
    """A complete TaskStatus: every required field present, nullable ones null while the task runs."""
    title = definition_title(definition_type)
    launched = created + timedelta(seconds=1)
    finished = completion_status is not None
    completed = launched + duration if finished else None
    if source is not None:
        target: dict[str, Any] | None = {"id": source.id, "type": "APPLICATION", "name": source.display_name}
        default_description = f"{title} for {source.display_name}"
        default_attributes: dict[str, Any] = {"appId": source.id, "appName": source.display_name}
    else:
        target = None
        default_description = f"{title} of all identities"
        default_attributes = {"identityCount": 0}
    status: dict[str, Any] = {
        "id": task_id,
        "type": task_type or TASK_TYPE_BY_DEFINITION.get(definition_type, "QUEUED_TASK"),
        "uniqueName": unique_name or (f"{title} - {source.name}" if source else title),
        "description": description or default_description,
        "parentName": None,
        "launcher": launcher,
        "target": target,
        "created": format_timestamp(created),
        "modified": format_timestamp(completed or launched),
        "launched": format_timestamp(launched),
        "completed": format_timestamp(completed) if completed else None,
        "completionStatus": completion_status,
        "messages": messages or [],
        "returns": [{"name": "Total processed", "attributeName": "total"}] if finished else [],
        "attributes": attributes if attributes is not None else default_attributes,
        "progress": ("Completed" if finished else "Started") if progress is None else progress,
        "percentComplete": (100 if finished else 0) if percent_complete is None else percent_complete,
        "taskDefinitionSummary": definition_summary(definition_type),
    }
    return TaskRecord(status=status, definition_type=definition_type, created_at=created)
