# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""What the user asked a task to become (``task_status``'s options, or a raw JSON Patch), checked before any request.

Statuses compare case-insensitively and timestamps as instants, so a second run finds nothing to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ._durations import parse_timestamp
from ._errors import IscConfigError
from ._versions import COMPLETION_STATUSES

TIMESTAMP_FIELDS = frozenset({"completed", "created", "modified", "launched"})
DEFAULT_CLEAR_STATUS = "ERROR"
PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")


def normalize_completion_status(value: str | None, option: str = "completion_status") -> str | None:
    """The ISC status in upper case, accepting any casing; ``None`` stays ``None``."""
    if value is None:
        return None
    upper = str(value).strip().upper()
    if upper not in COMPLETION_STATUSES:
        raise IscConfigError(option, f"'{value}' is not a task completion status.", f"Use one of {', '.join(COMPLETION_STATUSES)} (any casing).")
    return upper


def format_instant(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, the form the vendor's PATCH example uses."""
    utc = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def normalize_timestamp(value: str | None, option: str = "completed") -> str | None:
    if value is None:
        return None
    moment = parse_timestamp(value)
    if moment is None:
        raise IscConfigError(
            option, f"'{value}' is not an ISO 8601 date and time.", "Write it like 2024-05-17T19:33:16.470Z (a value without a zone is taken as UTC)."
        )
    return format_instant(moment)


def values_equivalent(field_name: str, left: Any, right: Any) -> bool:
    """Equality as ISC means it: statuses ignore case, timestamps compare as instants."""
    if left == right:
        return True
    if field_name == "completionStatus" and isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return field_name in TIMESTAMP_FIELDS and _same_instant(parse_timestamp(left), parse_timestamp(right))


def _same_instant(left: datetime | None, right: datetime | None) -> bool:
    """Equal to the millisecond (the precision sent), or equal but for a fraction one side dropped."""
    if left is None or right is None:
        return False
    if left.replace(microsecond=left.microsecond // 1000 * 1000) == right.replace(microsecond=right.microsecond // 1000 * 1000):
        return True
    return (left.microsecond == 0 or right.microsecond == 0) and left.replace(microsecond=0) == right.replace(microsecond=0)


def is_finished(task: Mapping[str, Any]) -> bool:
    return task.get("completionStatus") is not None


@dataclass(frozen=True)
class DesiredState:
    """What the user asked for: field values, or a raw JSON Patch, plus whether finished tasks may be rewritten."""

    completion_status: str | None = None
    completed: str | None = None
    description: str | None = None
    progress: str | None = None
    patch: tuple[dict[str, Any], ...] | None = None
    force: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DesiredState:
        patch = params.get("patch")
        return cls(
            completion_status=normalize_completion_status(params.get("completion_status")),
            completed=normalize_timestamp(params.get("completed")),
            description=params.get("description"),
            progress=params.get("progress"),
            patch=None if patch is None else tuple(validate_raw_patch(patch)),
            force=bool(params.get("force")),
        )

    def field_values(self, task: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """Fields to set on ``task``; clearing a pending task defaults the status to ERROR and completed to now."""
        clearing = not is_finished(task)
        values = {
            "completionStatus": self.completion_status or (DEFAULT_CLEAR_STATUS if clearing else None),
            "completed": self.completed or (format_instant(now) if clearing else None),
            "description": self.description,
            "progress": self.progress,
        }
        return {name: value for name, value in values.items() if value is not None}


def validate_raw_patch(operations: Iterable[Any], option: str = "patch") -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    for index, operation in enumerate(operations):
        where = f"operation {index + 1}"
        if not isinstance(operation, Mapping):
            raise IscConfigError(option, f"{where} is not a dictionary.", 'Write each operation like {"op": "replace", "path": "/description", "value": "x"}.')
        op, path = operation.get("op"), operation.get("path")
        if op not in PATCH_OPS:
            raise IscConfigError(option, f"{where} has op '{op}'.", "Use add, remove, replace, move, copy or test.")
        if not isinstance(path, str) or not path.startswith("/") or path == "/":
            raise IscConfigError(option, f"{where} has path '{path}'.", "A path is a JSON Pointer below the task, such as /completionStatus.")
        if op in ("add", "replace", "test") and "value" not in operation:
            raise IscConfigError(option, f"{where} ({op} {path}) has no value.")
        if op in ("move", "copy") and not isinstance(operation.get("from"), str):
            raise IscConfigError(option, f"{where} ({op} {path}) has no 'from' pointer.")
        checked_operation = dict(operation)
        if op in ("add", "replace", "test"):
            checked_operation["value"] = _checked_patch_value(option, f"{where} ({op} {path})", op, path, operation["value"])
        checked.append(checked_operation)
    if not checked:
        raise IscConfigError(option, "the list of operations is empty.", "Give at least one JSON Patch operation.")
    return checked


def _checked_patch_value(option: str, where: str, op: str, path: str, value: Any) -> Any:
    """The value of an operation, refused before any request when ISC would refuse it; timestamps as ISC writes them."""
    if value is None:
        raise IscConfigError(
            option,
            f"{where} has a null value, which ISC refuses (a JSON Patch value there is a string, boolean, integer, object or array).",
            "Give a value; to act on pending tasks only, no test is needed, as a finished task is left alone without force.",
        )
    # A test keeps its value as written (a copy of what ISC returned must still match); a change is sent as ISC writes it.
    if path == "/completionStatus":
        status = normalize_completion_status(value, option)
        return value if op == "test" else status
    if path[1:] in TIMESTAMP_FIELDS:
        timestamp = normalize_timestamp(value, option)
        return value if op == "test" else timestamp
    return value
