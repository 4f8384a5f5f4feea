"""JSON Patch on a TaskStatus: what a client may change, and how the tenant treats `test` operations."""

from __future__ import annotations

from typing import Any

import jsonpatch

from .records import DEFAULT_TIMESTAMP_FORM, TIMESTAMP_FIELDS, format_timestamp, parse_timestamp, served_status
from .versions import COMPLETION_STATUSES

# Fields a PATCH may change; any other path (id, type, created, launcher, ...) is refused with 400.
PATCHABLE_FIELDS = frozenset({"completionStatus", "completed", "description", "progress", "percentComplete"})
# Nothing the vendor documents says task-status PATCH honours `test`, so a test can pick how the tenant treats them:
# honour them (RFC 6902), refuse any patch with one, drop them and apply the rest, or fail every test of a
# timestamp field (a tenant comparing its own timestamp form with the client's).
TEST_OPS_MODES = ("honour", "reject", "ignore", "fail-timestamps")
TEST_FAILED = "test operation failed, nothing was changed"


class PatchError(ValueError):
    """A JSON Patch the tenant refuses (answered with 400)."""


def parse_test_ops(value: Any) -> str:
    if value not in TEST_OPS_MODES:
        raise ValueError(f"test_ops must be one of {', '.join(TEST_OPS_MODES)}, got {value!r}")
    return str(value)


def normalise_completion_status(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in COMPLETION_STATUSES:
        raise ValueError(f"completionStatus must be one of {', '.join(COMPLETION_STATUSES)} (any casing) or null")
    return value.upper()


def patched_status(status: dict[str, Any], operations: list[dict[str, Any]], test_ops: str, timestamp_form: str = DEFAULT_TIMESTAMP_FORM) -> dict[str, Any]:
    """The status after `operations` (from checked_operations), as a copy; raises PatchError for a refused patch.

    The patch applies to the status as the tenant serves it (timestamps in `timestamp_form`), so a `test` of a
    timestamp compares the value the client read; timestamps the patch left alone keep their stored text.
    """
    operations = _screen_test_ops(operations, test_ops)
    served = served_status(status, timestamp_form)
    try:
        patched = jsonpatch.apply_patch(served, operations, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise PatchError(f"{TEST_FAILED}: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise PatchError(f"the patch cannot be applied: {exc}") from exc
    for name in TIMESTAMP_FIELDS:
        if name in status and name in patched and patched[name] == served[name]:
            patched[name] = status[name]
    _check_patched_status(patched)
    return patched


def _screen_test_ops(operations: list[dict[str, Any]], test_ops: str) -> list[dict[str, Any]]:
    tests = [(position, operation["path"]) for position, operation in enumerate(operations) if operation["op"] == "test"]
    if test_ops == "reject" and tests:
        position, path = tests[0]
        raise PatchError(f"test operations are not supported (operation {position} tests {path})")
    if test_ops == "ignore":
        return [operation for operation in operations if operation["op"] != "test"]
    if test_ops == "fail-timestamps":
        for _position, path in tests:
            if _top_level_field(path) in TIMESTAMP_FIELDS:
                raise PatchError(f"{TEST_FAILED}: the value at {path} does not match")
    return operations


def _top_level_field(pointer: Any) -> str:
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise PatchError(f"path must be a JSON Pointer starting with '/', got {pointer!r}")
    return pointer[1:].split("/", 1)[0].replace("~1", "/").replace("~0", "~")


def checked_operations(operations: Any) -> list[dict[str, Any]]:
    """Refuse malformed operations and changes to fields a client may not change; normalise enum casing."""
    if not isinstance(operations, list):
        raise PatchError("the body must be a JSON array of JSON Patch operations")
    checked: list[dict[str, Any]] = []
    for position, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(f"operation {position} must be an object with 'op' and 'path'")
        op = operation["op"]
        if op not in ("add", "remove", "replace", "move", "copy", "test"):
            raise PatchError(f"operation {position}: unknown op {op!r}")
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"operation {position}: {op} needs a 'value'")
        if "value" in operation and operation["value"] is None:
            raise PatchError(
                f"operation {position}: {op} {operation['path']} has a null value; JsonPatchOperation.value must be a string, boolean, integer, object or array"
            )
        touched = [operation["path"]]
        if op in ("move", "copy"):
            if "from" not in operation:
                raise PatchError(f"operation {position}: {op} needs 'from'")
            if op == "move":
                touched.append(operation["from"])
        for pointer in touched:
            field_name = _top_level_field(pointer)
            if op != "test" and field_name not in PATCHABLE_FIELDS:
                raise PatchError(f"operation {position}: {pointer} cannot be changed; changeable fields: {', '.join(sorted(PATCHABLE_FIELDS))}")
        operation = dict(operation)
        if operation["path"] == "/completionStatus" and isinstance(operation.get("value"), str):
            operation["value"] = operation["value"].upper()
        checked.append(operation)
    return checked


def _check_patched_status(status: dict[str, Any]) -> None:
    for name in PATCHABLE_FIELDS:
        if name not in status:
            raise PatchError(f"{name} is required and cannot be removed")
    completion_status = status["completionStatus"]
    if completion_status is not None:
        try:
            status["completionStatus"] = normalise_completion_status(completion_status)
        except ValueError as exc:
            raise PatchError(str(exc)) from exc
    completed = status["completed"]
    if completed is not None:
        try:
            status["completed"] = format_timestamp(parse_timestamp(completed)) if isinstance(completed, str) else None
        except ValueError as exc:
            raise PatchError(f"completed must be an RFC 3339 date-time with a time zone: {exc}") from exc
        if status["completed"] is None:
            raise PatchError("completed must be an RFC 3339 date-time string or null")
    percent = status["percentComplete"]
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise PatchError("percentComplete must be an integer from 0 to 100")
    if not isinstance(status["description"], str):
        raise PatchError("description must be a string")
    if status["progress"] is not None and not isinstance(status["progress"], str):
        raise PatchError("progress must be a string or null")
