# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An in-memory tenant with the reading half of IscClient's interface, for the task_events tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible_collections.sailpoint.isc.plugins.module_utils._versions import API_VERSIONS, task_definition_type

NOW = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_task(
    task_id: str,
    *,
    created: datetime,
    status: str | None = None,
    modified: datetime | None = None,
    launched: datetime | None = None,
    definition: str = "Cloud Account Aggregation",
) -> dict[str, Any]:
    return {
        "id": task_id,
        "uniqueName": f"{definition} {task_id}",
        "created": stamp(created),
        "launched": stamp(launched) if launched else None,
        "modified": stamp(modified) if modified else None,
        "completed": stamp(modified or created) if status else None,
        "completionStatus": status,
        "taskDefinitionSummary": {"uniqueName": definition},
    }


class FakeTenant:
    """Tasks by id; reads are recorded in ``calls`` as (method, filters, sorters, offset, limit)."""

    def __init__(self, api_version: str = "v2025") -> None:
        self.version = API_VERSIONS[api_version]
        self.tasks: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any, Any, int, int | None]] = []
        self.fail_on: dict[str, Exception] = {}

    def add(self, task: dict[str, Any]) -> dict[str, Any]:
        self.tasks[task["id"]] = task
        return task

    def finish(self, task_id: str, status: str, at: datetime) -> None:
        self.tasks[task_id].update(completionStatus=status, completed=stamp(at), modified=stamp(at))

    def _raise_if_asked(self, method: str) -> None:
        error = self.fail_on.pop(method, None)
        if error is not None:
            raise error

    def iter_pending_tasks(self, filters: Mapping[str, Any] | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        self.calls.append(("pending", dict(filters or {}), None, 0, limit))
        self._raise_if_asked("pending")
        tasks = [task for task in self.tasks.values() if task["completionStatus"] is None and _matches(task, filters or {})]
        return iter([dict(task) for task in sorted(tasks, key=lambda task: task["created"])])

    def iter_tasks(
        self, filters: Mapping[str, Any] | None = None, sorters: str | None = None, offset: int = 0, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        method = "by_id" if filters and "id" in filters else "list"
        self.calls.append((method, dict(filters or {}), sorters, offset, limit))
        self._raise_if_asked(method)
        tasks = [task for task in self.tasks.values() if _matches(task, filters or {})]
        if not self.version.list_includes_in_progress:
            tasks = [task for task in tasks if task["completionStatus"] is not None]
        tasks.sort(key=lambda task: (task["created"], task["id"]), reverse=sorters == "-created")
        end = None if limit is None else offset + limit
        return iter([dict(task) for task in tasks[offset:end]])

    def reads(self, method: str) -> list[tuple[str, Any, Any, int, int | None]]:
        return [call for call in self.calls if call[0] == method]


def _matches(task: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    for field, wanted in filters.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        actual = task_definition_type(dict(task)) if field == "type" else task.get(field)
        if wanted is None:
            if actual is not None:
                return False
        elif actual is None or str(actual).upper() not in {str(value).upper() for value in values}:
            return False
    return True


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)
