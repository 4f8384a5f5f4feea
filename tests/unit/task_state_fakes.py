# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A task as ISC serves it, and what ISC answers to a PATCH, for the task_status tests (desired state, plan, apply, wait)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonpatch

from ansible_collections.sailpoint.isc.plugins.module_utils._desired_state import DesiredState

# The vendor's TaskStatus.completionStatus enum (every spec subset, components/schemas/TaskStatus), written out
# here rather than taken from the code under test.
COMPLETION_STATUSES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR")

NOW = datetime(2024, 5, 17, 19, 33, 16, 470000, tzinfo=UTC)
NOW_TEXT = "2024-05-17T19:33:16.470Z"


def make_task(task_id: str = "t1", status: str | None = None, completed: str | None = None, **fields: Any) -> dict[str, Any]:
    task = {
        "id": task_id,
        "type": "QUARTZ",
        "uniqueName": "Cloud Account Aggregation",
        "description": "Aggregate accounts",
        "launcher": "sweep",
        "created": "2024-05-17T18:00:00.000Z",
        "modified": "2024-05-17T18:00:00.000Z",
        "launched": "2024-05-17T18:00:00.000Z",
        "completed": completed,
        "completionStatus": status,
        "progress": "Started",
        "percentComplete": 10,
        "attributes": {"identityCount": 0},
        "messages": [],
        "returns": [],
    }
    task.update(fields)
    return task


def patched(task: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """What ISC answers to a PATCH: the patch applied (test operations must hold)."""
    return jsonpatch.apply_patch(task, operations, in_place=False)


def no_null_values(operations: list[dict[str, Any]]) -> bool:
    return all(operation.get("value") is not None for operation in operations)


def desired(**params: Any) -> DesiredState:
    return DesiredState.from_params(params)
