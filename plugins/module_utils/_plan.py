# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""The JSON Patch one task needs to reach its desired state (``plan_change``), and the guards sent with it.

Guards test only values the tenant served in the read just made, preferring fields whose JSON value does not
depend on serialisation (``completionStatus``, ``percentComplete``, ``progress``): ISC's specs show timestamps in
two forms, and a ``test`` compares JSON values exactly. A pending task is also guarded by ``modified``, as served:
its status fields are null, which no JSON Patch value may be, and a task finished by a PATCH (another job clearing
it) may show no other change.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._desired_state import DesiredState, is_finished, values_equivalent
from ._errors import IscConfigError
from ._summary import describe_task

try:
    import jsonpatch
    import jsonpointer
except ImportError:
    HAS_JSONPATCH = False
    JSONPATCH_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_JSONPATCH = True
    JSONPATCH_IMPORT_ERROR = None

# What a guard tests, when the value read is one JSON can hold in a single form (no null, no timestamp).
GUARD_FIELDS = ("completionStatus", "percentComplete", "progress")


@dataclass
class Plan:
    """The change one task needs: ``operations`` turn ``before`` into ``after`` (both whole tasks)."""

    task_id: str
    before: dict[str, Any]
    after: dict[str, Any]
    operations: list[dict[str, Any]]
    fields: tuple[str, ...] = ()
    left_alone: str | None = None
    # The ``test`` operations of a raw patch: checked locally by plan_change and sent again, so they hold in ISC too.
    conditions: tuple[dict[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return describe_task(self.task_id, self.before)

    def guards(self) -> list[dict[str, Any]]:
        """``test`` operations on GUARD_FIELDS that have a value, and on a pending task's ``modified`` time as served."""
        names = [name for name in GUARD_FIELDS if _testable(self.before.get(name))]
        if not is_finished(self.before) and isinstance(self.before.get("modified"), str) and self.before["modified"]:
            names.append("modified")
        return [{"op": "test", "path": f"/{name}", "value": self.before[name]} for name in names]

    def operations_to_send(self, guarded: bool) -> list[dict[str, Any]]:
        """Guarded: the guards, the raw patch's own ``test`` operations, then ``operations``; else ``operations`` only."""
        if not guarded:
            return list(self.operations)
        return self.guards() + [dict(condition) for condition in self.conditions] + self.operations

    def fields_not_shown_by(self, task: Mapping[str, Any]) -> list[str]:
        """The fields this plan changes that ``task`` does not have as the plan sets them (absent counts as null)."""
        return [name for name in self.changed_fields() if not values_equivalent(name, self.after.get(name), task.get(name))]

    def changed_fields(self, after: Mapping[str, Any] | None = None) -> list[str]:
        target = self.after if after is None else after
        return [
            name for name in self.fields if (name in self.before) != (name in target) or not values_equivalent(name, self.before.get(name), target.get(name))
        ]

    def diff(self, after: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Before and after of the changed fields only."""
        target = self.after if after is None else after
        names = self.changed_fields(target)
        return {
            "before": {name: self.before[name] for name in names if name in self.before},
            "after": {name: target[name] for name in names if name in target},
            "before_header": f"task {self.task_id}",
            "after_header": f"task {self.task_id}",
        }


def plan_change(task: Mapping[str, Any], desired: DesiredState, now: datetime) -> Plan:
    """Decide what ``task`` needs to reach ``desired``, without sending anything (needs jsonpatch: HAS_JSONPATCH)."""
    before = deepcopy(dict(task))
    task_id = str(before.get("id"))
    label = describe_task(task_id, before)
    conditions: tuple[dict[str, Any], ...] = ()
    if desired.patch is not None:
        conditions = tuple(dict(op) for op in desired.patch if op["op"] == "test")
        try:
            wanted = jsonpatch.apply_patch(before, [dict(op) for op in desired.patch], in_place=False)
        except jsonpatch.JsonPatchTestFailed as err:
            return Plan(task_id, before, before, [], left_alone=f"A test operation in patch does not hold for {label}: {err}")
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as err:
            raise IscConfigError("patch", f"it cannot be applied to {label}: {err}.") from err
        pointers = [op["path"] for op in desired.patch if op["op"] != "test"] + [op["from"] for op in desired.patch if op["op"] == "move"]
        names = tuple(dict.fromkeys(jsonpointer.JsonPointer(pointer).parts[0] for pointer in pointers))
    else:
        values = desired.field_values(before, now)
        wanted = {**before, **values}
        names = tuple(values)

    # Equivalent values (other casing, same instant) count as unchanged, so they produce no operation.
    after = deepcopy(before)
    for name in names:
        if name not in wanted:
            after.pop(name, None)
        elif not (name in before and values_equivalent(name, before[name], wanted[name])):
            after[name] = wanted[name]
    operations = _operations_for({name: before[name] for name in names if name in before}, {name: after[name] for name in names if name in after})
    if operations and is_finished(before) and not desired.force:
        left_alone = f"{label} already finished with {before.get('completionStatus')}; it was left as it is. Set force=true to overwrite a finished task."
        return Plan(task_id, before, before, operations, fields=names, left_alone=left_alone, conditions=conditions)
    return Plan(task_id, before, after, operations, fields=names, conditions=conditions)


def _operations_for(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    operations = jsonpatch.make_patch(before, after).patch
    if all(op["op"] in ("add", "remove", "replace") for op in operations):
        return operations
    # ISC's JsonPatchOperation has no "from", so move/copy found by make_patch become whole-field writes.
    whole_fields: list[dict[str, Any]] = []
    for name in dict.fromkeys(list(before) + list(after)):
        if name not in after:
            whole_fields.append({"op": "remove", "path": f"/{name}"})
        elif name not in before:
            whole_fields.append({"op": "add", "path": f"/{name}", "value": after[name]})
        elif before[name] != after[name]:
            whole_fields.append({"op": "replace", "path": f"/{name}", "value": after[name]})
    return whole_fields


def _testable(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
