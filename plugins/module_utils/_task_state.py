# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Desired state of a task status, shared by the ``task_status`` module and the cleanup role.

The flow for one task: read it, decide (``plan_change``) what JSON Patch would bring it to the desired state,
then send that patch, by default guarded by ``test`` operations on the state it was computed from
(``apply_plan``), so a task that finished by itself in between is left alone where the tenant honours them.
Statuses compare case-insensitively and timestamps as instants, so a second run finds nothing to change and
sends no PATCH.

Guards test only values the tenant served in the read just made, preferring fields whose JSON value does not
depend on serialisation (``completionStatus``, ``percentComplete``, ``progress``): ISC's specs show timestamps in
two forms, and a ``test`` compares JSON values exactly. A pending task is also guarded by ``modified``, as served:
its status fields are null, which no JSON Patch value may be, and a task finished by a PATCH (another job clearing
it) may show no other change. Nothing documents that task-status honours ``test`` at all, so ``GuardPolicy``
decides what happens when a tenant refuses them. A PATCH whose answer is lost is settled by
reading the task again.
"""

from __future__ import annotations

import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._durations import format_duration, parse_timestamp, task_age
from ._errors import (
    IscAuthenticationError,
    IscBadRequestError,
    IscConfigError,
    IscConnectionError,
    IscError,
    IscForbiddenError,
    IscMissingLibraryError,
    IscNotFoundError,
    IscPatchOutcomeUnknownError,
    IscRateLimitError,
    IscResponseError,
    IscServerError,
    IscTaskError,
    IscUnconfirmedPatchError,
    IscWaitTimeoutError,
)
from ._summary import task_label
from ._versions import COMPLETION_STATUSES

try:
    import jsonpatch
    import jsonpointer
except ImportError:
    HAS_JSONPATCH = False
    JSONPATCH_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_JSONPATCH = True
    JSONPATCH_IMPORT_ERROR = None

# A task whose status fields differ from what was read has finished (or been finished) meanwhile.
STATUS_FIELDS = ("completionStatus", "completed")
# What a guard tests, when the value read is one JSON can hold in a single form (no null, no timestamp).
GUARD_FIELDS = ("completionStatus", "percentComplete", "progress")
# What tells that a task moved since it was read (compared locally, timestamps as instants).
MOVEMENT_FIELDS = (*STATUS_FIELDS, "percentComplete", "progress", "modified")
GUARD_MODES = ("auto", "always", "never")
TIMESTAMP_FIELDS = frozenset({"completed", "created", "modified", "launched"})
FAILURE_STATUSES = ("ERROR", "TERMINATED")
DEFAULT_CLEAR_STATUS = "ERROR"
# Ids per ``id in (...)`` list filter: keeps the query string short (about 2 KB) and every answer on one page.
IDS_PER_LIST_READ = 50
REFUSED_PATCH_HINT = (
    "ISC refused the change as invalid: check the values sent (listed in 'sent'), such as the completion status and "
    "the completed time; ISC accepts no null value in a JSON Patch."
)
# Errors that would repeat identically for every further task, so a many-task run stops sending after one.
RUN_STOPPING_ERRORS = (
    IscAuthenticationError,
    IscForbiddenError,
    IscConnectionError,
    IscRateLimitError,
    IscResponseError,
    IscMissingLibraryError,
    # Neither the PATCH nor the read after it got an answer: ISC is not answering, and nothing more should be sent.
    IscPatchOutcomeUnknownError,
)
NOT_ATTEMPTED = "Not attempted after an earlier error that would repeat for this task too (see the first failed task)."
# A poll that fails with these (after the client's retries) is tried again at the next interval.
TRANSIENT_POLL_ERRORS = (IscConnectionError, IscServerError, IscRateLimitError, IscResponseError)
# A PATCH that fails with these may still have been applied; the task is read again to find out.
LOST_ANSWER_ERRORS = (IscConnectionError, IscServerError, IscResponseError)


def require_jsonpatch() -> None:
    if not HAS_JSONPATCH:
        # The wording of ansible.module_utils.basic.missing_required_lib, without importing AnsibleModule here.
        raise IscMissingLibraryError(
            f"Failed to import the required Python library (jsonpatch) on {platform.node()}'s Python {sys.executable}. "
            "Install it there with pip install jsonpatch. If it is installed but Ansible uses another Python, "
            "set ansible_python_interpreter.",
            exception=JSONPATCH_IMPORT_ERROR,
        )


# --- values ------------------------------------------------------------------------------------------------


def normalize_completion_status(value: str | None, option: str = "completion_status") -> str | None:
    """The ISC status in upper case, accepting any casing; ``None`` stays ``None``."""
    if value is None:
        return None
    text = str(value).strip()
    upper = text.upper()
    if upper not in COMPLETION_STATUSES:
        raise IscConfigError(
            option,
            f"'{value}' is not a task completion status.",
            f"Use one of {', '.join(COMPLETION_STATUSES)} (any casing).",
        )
    return upper


def parse_instant(value: Any) -> datetime | None:
    """A UTC datetime for an ISO 8601 string (naive means UTC), or ``None`` when it is not one."""
    return parse_timestamp(value)


def format_instant(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, the form the vendor's PATCH example uses."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def normalize_timestamp(value: str | None, option: str = "completed") -> str | None:
    if value is None:
        return None
    moment = parse_instant(value)
    if moment is None:
        raise IscConfigError(
            option,
            f"'{value}' is not an ISO 8601 date and time.",
            "Write it like 2024-05-17T19:33:16.470Z (a value without a zone is taken as UTC).",
        )
    return format_instant(moment)


def values_equivalent(field_name: str, left: Any, right: Any) -> bool:
    """Equality as ISC means it: statuses ignore case, timestamps compare as instants."""
    if left == right:
        return True
    if field_name == "completionStatus" and isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if field_name in TIMESTAMP_FIELDS:
        return _same_instant(parse_instant(left), parse_instant(right))
    return False


def _same_instant(left: datetime | None, right: datetime | None) -> bool:
    """Equal to the millisecond (the precision sent), or equal but for a fraction one side dropped."""
    if left is None or right is None:
        return False
    if left.replace(microsecond=left.microsecond // 1000 * 1000) == right.replace(microsecond=right.microsecond // 1000 * 1000):
        return True
    return (left.microsecond == 0 or right.microsecond == 0) and left.replace(microsecond=0) == right.replace(microsecond=0)


def is_finished(task: Mapping[str, Any]) -> bool:
    return task.get("completionStatus") is not None


def describe_task(task_id: str, task: Mapping[str, Any] | None = None, now: datetime | None = None) -> str:
    """A task as people know it: ``Cloud Account Aggregation on Workday [source] (id)``, and for a pending one
    how long it has shown no progress."""
    text = f"{task_label(task, 'task')} ({task_id})"
    if task and not is_finished(task):
        idle = task_age(task, now)
        if idle is not None:
            text += f", no progress for {format_duration(idle)}"
    return text


def not_found_error(client: Any, task_id: str) -> IscNotFoundError:
    """The error for a task ISC does not return (``get_task`` gives ``None`` on 404)."""
    return IscNotFoundError(method="GET", path=client.version.task_path(task_id), status=404)


# --- desired state -----------------------------------------------------------------------------------------


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
        if patch is not None:
            patch = tuple(validate_raw_patch(patch))
        return cls(
            completion_status=normalize_completion_status(params.get("completion_status")),
            completed=normalize_timestamp(params.get("completed")),
            description=params.get("description"),
            progress=params.get("progress"),
            patch=patch,
            force=bool(params.get("force")),
        )

    @property
    def has_fields(self) -> bool:
        return any(value is not None for value in (self.completion_status, self.completed, self.description, self.progress))

    def field_values(self, task: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """Fields to set on ``task``; clearing a pending task defaults the status to ERROR and completed to now."""
        values: dict[str, Any] = {}
        clearing = not is_finished(task)
        status = self.completion_status or (DEFAULT_CLEAR_STATUS if clearing else None)
        if status is not None:
            values["completionStatus"] = status
        completed = self.completed or (format_instant(now) if clearing else None)
        if completed is not None:
            values["completed"] = completed
        if self.description is not None:
            values["description"] = self.description
        if self.progress is not None:
            values["progress"] = self.progress
        return values


def validate_raw_patch(operations: Iterable[Any], option: str = "patch") -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    for index, operation in enumerate(operations):
        where = f"operation {index + 1}"
        if not isinstance(operation, Mapping):
            raise IscConfigError(option, f"{where} is not a dictionary.", 'Write each operation like {"op": "replace", "path": "/description", "value": "x"}.')
        op = operation.get("op")
        if op not in ("add", "remove", "replace", "move", "copy", "test"):
            raise IscConfigError(option, f"{where} has op '{op}'.", "Use add, remove, replace, move, copy or test.")
        path = operation.get("path")
        if not isinstance(path, str) or not path.startswith("/") or path == "/":
            raise IscConfigError(option, f"{where} has path '{path}'.", "A path is a JSON Pointer below the task, such as /completionStatus.")
        if op in ("add", "replace", "test") and "value" not in operation:
            raise IscConfigError(option, f"{where} ({op} {path}) has no value.")
        if op in ("move", "copy") and not isinstance(operation.get("from"), str):
            raise IscConfigError(option, f"{where} ({op} {path}) has no 'from' pointer.")
        checked_operation = dict(operation)
        if "value" in operation and op in ("add", "replace", "test"):
            checked_operation["value"] = _checked_patch_value(option, where, op, path, operation["value"])
        checked.append(checked_operation)
    if not checked:
        raise IscConfigError(option, "the list of operations is empty.", "Give at least one JSON Patch operation.")
    return checked


def _checked_patch_value(option: str, where: str, op: str, path: str, value: Any) -> Any:
    """The value of an operation, refused before any request when ISC would refuse it; timestamps as ISC writes them."""
    if value is None:
        raise IscConfigError(
            option,
            f"{where} ({op} {path}) has a null value, which ISC refuses (a JSON Patch value there is a string, boolean, integer, object or array).",
            "Give a value; to act on pending tasks only, no test is needed, as a finished task is left alone without force.",
        )
    # A test keeps its value as written (a copy of what ISC returned must still match); a change is sent as ISC writes it.
    if path == "/completionStatus":
        status = normalize_completion_status(value, option)
        return value if op == "test" else status
    if path in {f"/{name}" for name in TIMESTAMP_FIELDS}:
        timestamp = normalize_timestamp(value, option)
        return value if op == "test" else timestamp
    return value


def _testable(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _top_level_field(pointer: str) -> str:
    return jsonpointer.JsonPointer(pointer).parts[0]


# --- planning ----------------------------------------------------------------------------------------------


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
    def changes(self) -> bool:
        return bool(self.operations) and self.left_alone is None

    def guards(self) -> list[dict[str, Any]]:
        """``test`` operations on the state the plan was computed from: GUARD_FIELDS with a value, and for a pending task
        its ``modified`` time exactly as served (what moves when someone else finishes it)."""
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
    """Decide what ``task`` needs to reach ``desired``, without sending anything."""
    require_jsonpatch()
    before = deepcopy(dict(task))
    task_id = str(before.get("id"))
    conditions: tuple[dict[str, Any], ...] = ()
    if desired.patch is not None:
        conditions = tuple(dict(op) for op in desired.patch if op["op"] == "test")
        try:
            wanted = jsonpatch.apply_patch(before, [dict(op) for op in desired.patch], in_place=False)
        except jsonpatch.JsonPatchTestFailed as err:
            return Plan(task_id, before, before, [], left_alone=f"A test operation in patch does not hold for {describe_task(task_id, before)}: {err}")
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as err:
            raise IscConfigError("patch", f"it cannot be applied to {describe_task(task_id, before)}: {err}.") from err
        names = tuple(dict.fromkeys(_top_level_field(op["path"]) for op in desired.patch if op["op"] != "test"))
        names += tuple(dict.fromkeys(_top_level_field(op["from"]) for op in desired.patch if op["op"] == "move"))
    else:
        values = desired.field_values(before, now)
        wanted = deepcopy(before)
        wanted.update(values)
        names = tuple(values)

    # Equivalent values (other casing, same instant) count as unchanged, so they produce no operation.
    after = deepcopy(before)
    for name in names:
        if name not in wanted:
            after.pop(name, None)
        elif not (name in before and values_equivalent(name, before[name], wanted[name])):
            after[name] = wanted[name]
    before_subset = {name: before[name] for name in names if name in before}
    after_subset = {name: after[name] for name in names if name in after}
    operations = _operations_for(before_subset, after_subset)
    plan = Plan(task_id, before, after, operations, fields=names, conditions=conditions)

    if operations and is_finished(before) and not desired.force:
        plan.left_alone = (
            f"{describe_task(task_id, before)} already finished with {before.get('completionStatus')}; "
            "it was left as it is. Set force=true to overwrite a finished task."
        )
        plan.after = before
    return plan


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


# --- applying ----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one task; ``as_result`` is its entry in the module's ``results``."""

    id: str
    changed: bool = False
    failed: bool = False
    msg: str = ""
    task: dict[str, Any] | None = None
    diff: dict[str, Any] | None = None
    left_alone: bool = False
    error: IscError | None = field(default=None, repr=False)

    def as_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.id,
            "name": task_label(self.task, self.id),
            "changed": self.changed,
            "failed": self.failed,
            "msg": self.msg,
            "task": self.task,
            "left_alone": self.left_alone,
        }
        if self.error is not None:
            # From ISC's error answer, also when it is kept by another error (a refused or unconfirmed PATCH).
            status, tracking_id = self.error.details.get("status"), self.error.details.get("tracking_id")
            if status is not None:
                result["status"] = status
            if tracking_id:
                result["tracking_id"] = tracking_id
        return result


@dataclass
class GuardPolicy:
    """Whether a run's PATCHes carry ``test`` guards (option ``guard``).

    ``auto`` starts guarded; once a tenant refuses a guarded PATCH of a task that has not moved and accepts the same
    change without guards, it warns once and sends the rest of the run unguarded. ``always`` never sends an
    unguarded PATCH; ``never`` sends no ``test`` operation at all.
    """

    mode: str = "auto"
    warn: Callable[[str], None] = field(default=lambda message: None, repr=False)
    dropped: bool = False

    @property
    def active(self) -> bool:
        return self.mode == "always" or (self.mode == "auto" and not self.dropped)

    def drop(self, label: str, refusal: IscError) -> None:
        if self.dropped:
            return
        self.dropped = True
        self.warn(
            f"ISC refused the guarded PATCH of {label} ({refusal.message.rstrip('.')}) although the task had not changed, "
            "then accepted it without JSON Patch test operations: this tenant does not take them. The rest of this run "
            "is sent unguarded, so a task that finishes right after it is read may be overwritten. Set guard: never to "
            "skip the first attempt, or guard: always to refuse unguarded changes."
        )


def apply_plan(client: Any, plan: Plan, desired: DesiredState, *, check_mode: bool, now: datetime, guard: GuardPolicy | None = None) -> Outcome:
    """Send the plan's patch (nothing in check mode); at most two PATCHes for one task.

    ISC refuses a PATCH whose guard fails with 400, like an invalid value; the task read again tells which. A task
    that finished meanwhile is left alone; one that only moved on gets its change planned again from what ISC shows
    now, and sent once more. A task that did not move means the tenant refused the guard itself (see GuardPolicy).
    """
    guard = guard or GuardPolicy()
    for attempt in (1, 2):
        unsent = _unsent_outcome(plan, check_mode=check_mode)
        if unsent is not None:
            return unsent
        guarded = guard.active
        try:
            return _send(client, plan, guarded=guarded)
        except IscBadRequestError as err:
            current = _read_after_refusal(client, plan, err)
            if not guarded:
                raise _refused_error(err, plan, guarded=False) from err
            if _unchanged_since(plan.before, current):
                if guard.mode == "always" or attempt == 2:
                    raise _guard_refused_error(err, plan, guard) from err
                return _send_unguarded(client, plan, guard, err)
            if not desired.force and not _fields_equivalent(plan.before, current, STATUS_FIELDS):
                label = describe_task(plan.task_id, plan.before)
                return Outcome(
                    plan.task_id,
                    msg=f"{label} finished by itself with {current.get('completionStatus')} while this run was deciding; it was left as it is.",
                    task=current,
                    left_alone=True,
                )
            if attempt == 2:
                raise IscTaskError(
                    f"{describe_task(plan.task_id, current)} changed again while this run was updating it; "
                    "ISC refused both guarded PATCHes, so nothing was changed.",
                    task=current,
                    hint="Run again once the task has settled.",
                ) from err
            plan = plan_change(current, desired, now)
    raise AssertionError("unreachable: each attempt returns or raises")


def _read_after_refusal(client: Any, plan: Plan, err: IscBadRequestError) -> dict[str, Any]:
    current = client.get_task(plan.task_id)
    if current is None:
        raise not_found_error(client, plan.task_id) from err
    return current


def _send_unguarded(client: Any, plan: Plan, guard: GuardPolicy, refusal: IscBadRequestError) -> Outcome:
    """The second and last PATCH of a task whose guarded one was refused although it had not moved (``guard: auto``)."""
    try:
        outcome = _send(client, plan, guarded=False)
    except IscBadRequestError as err:
        # Refused without guards too: the values are what ISC refuses, so guards stay on for the rest of the run.
        raise _refused_error(err, plan, guarded=False) from err
    guard.drop(describe_task(plan.task_id, plan.before), refusal)
    return outcome


def _unsent_outcome(plan: Plan, *, check_mode: bool) -> Outcome | None:
    """The outcome of a plan that sends nothing: left alone, already as desired, or predicted in check mode."""
    label = describe_task(plan.task_id, plan.before)
    if plan.left_alone is not None:
        return Outcome(plan.task_id, msg=plan.left_alone, task=plan.before, left_alone=True)
    if not plan.operations:
        return Outcome(plan.task_id, msg=f"{label} is already in the desired state.", task=plan.before)
    if check_mode:
        return Outcome(plan.task_id, changed=True, msg=f"{label} would be updated (check mode).", task=plan.after, diff=plan.diff())
    return None


def _send(client: Any, plan: Plan, *, guarded: bool) -> Outcome:
    try:
        updated = client.patch_task(plan.task_id, plan.operations_to_send(guarded))
    except LOST_ANSWER_ERRORS as err:
        return _confirm_after_lost_answer(client, plan, err, guarded=guarded)
    return _read_back(plan, updated)


def _confirm_after_lost_answer(client: Any, plan: Plan, lost: IscError, *, guarded: bool) -> Outcome:
    """The PATCH may have been applied although its answer was lost (ISC does not say): the task read again tells."""
    label = describe_task(plan.task_id, plan.before)
    try:
        current = client.get_task(plan.task_id)
    except IscError as reread_error:
        raise IscPatchOutcomeUnknownError(
            lost, f"Reading {label} again failed too ({reread_error.message}), so the PATCH may or may not have been applied.", guarded=guarded
        ) from reread_error
    if current is None:
        raise IscPatchOutcomeUnknownError(
            lost, f"Reading {label} again found no task (HTTP 404), so whether the PATCH was applied is unknown.", guarded=guarded
        )
    if not plan.fields_not_shown_by(current):
        return Outcome(
            plan.task_id,
            changed=True,
            msg=f"{label} updated. ISC's answer to the PATCH was lost ({lost.message.rstrip('.')}), but reading the task again shows the change.",
            task=current,
            diff=plan.diff(current),
        )
    raise IscUnconfirmedPatchError(
        lost, f"Reading {label} again did not show the change, so ISC has not applied it (or not yet).", task=current, guarded=guarded
    )


def _fields_equivalent(before: Mapping[str, Any], current: Mapping[str, Any], names: Iterable[str]) -> bool:
    return all(values_equivalent(name, before.get(name), current.get(name)) for name in names)


def _unchanged_since(before: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether ISC shows the task as it was read: status, progress and modified time alike."""
    return _fields_equivalent(before, current, MOVEMENT_FIELDS)


def _sent_values(plan: Plan) -> str:
    return ", ".join(f"{name}={plan.after.get(name)!r}" for name in plan.changed_fields()) or "no values"


def _refused_error(err: IscBadRequestError, plan: Plan, *, guarded: bool, hint: str = REFUSED_PATCH_HINT) -> IscBadRequestError:
    """``err`` (same class, status and trackingId) naming what the PATCH sent, with a hint that fits a PATCH."""
    refused = type(err)(
        method=err.method,
        path=err.path,
        status=err.status,
        detail_code=err.detail_code,
        tracking_id=err.tracking_id,
        error_text=err.error_text,
        attempts=err.attempts,
        hint=hint,
    )
    # err.message also carries what is not kept as an attribute (ISC's request id).
    refused.message = f"{err.message} The PATCH of {describe_task(plan.task_id, plan.before)} sent {_sent_values(plan)}."
    refused.details["sent"] = plan.operations_to_send(guarded)
    refused.args = (str(refused),)
    return refused


def _guard_refused_error(err: IscBadRequestError, plan: Plan, guard: GuardPolicy) -> IscBadRequestError:
    """A guarded PATCH refused although the task had not moved, when no unguarded PATCH may follow."""
    if guard.mode == "always":
        hint = (
            "The task had not changed since it was read, so this tenant may not accept JSON Patch test operations. "
            "Nothing was changed, as guard is always. Set guard: auto (or never) to send the change without them."
        )
    else:
        hint = "The task had moved once and then ISC refused the second guarded PATCH too. Nothing was changed; run again once the task has settled."
    return _refused_error(err, plan, guarded=True, hint=hint)


def _read_back(plan: Plan, updated: Mapping[str, Any] | None) -> Outcome:
    """ISC answers a PATCH with the updated task; a task that does not show what was sent is changed, yet failed."""
    label = describe_task(plan.task_id, plan.before)
    if not isinstance(updated, Mapping):
        raise IscResponseError(f"ISC answered the PATCH of {label} without the updated task.")
    differing = plan.fields_not_shown_by(updated)
    if not differing:
        return Outcome(plan.task_id, changed=True, msg=f"{label} updated.", task=dict(updated), diff=plan.diff(updated))
    shown = ", ".join(f"{name} {updated.get(name)!r} (sent {plan.after.get(name)!r})" for name in differing)
    error = IscTaskError(
        f"ISC accepted the PATCH of {label}, so the task was changed, but answered with {shown}.",
        task=dict(updated),
        hint="ISC may not accept that value or casing; check the task in ISC.",
    )
    return Outcome(plan.task_id, changed=True, failed=True, msg=str(error), task=dict(updated), diff=plan.diff(updated), error=error)


def set_task_state(client: Any, task_id: str, desired: DesiredState, *, check_mode: bool, now: datetime, guard: GuardPolicy | None = None) -> Outcome:
    """One task: GET, plan, PATCH. Raises on any error, except a change ISC applied otherwise than sent (a changed, failed Outcome)."""
    task = client.get_task(task_id)
    if task is None:
        raise not_found_error(client, task_id)
    return apply_plan(client, plan_change(task, desired, now), desired, check_mode=check_mode, now=now, guard=guard)


def read_tasks(client: Any, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Current states of ``task_ids`` from paged list reads; ids these miss are read one by one (absent: 404)."""
    wanted = set(task_ids)
    found: dict[str, dict[str, Any]] = {}
    if not client.version.list_includes_in_progress:
        # beta and v2024 list completed tasks only; in-progress ones come from the pending-tasks endpoint,
        # which takes no filter, so match ids here.
        for task in client.iter_pending_tasks():
            if task.get("id") in wanted:
                found[task["id"]] = task
    remaining = [task_id for task_id in task_ids if task_id not in found]
    for start in range(0, len(remaining), IDS_PER_LIST_READ):
        chunk = remaining[start : start + IDS_PER_LIST_READ]
        for task in client.iter_tasks(filters={"id": chunk}):
            if task.get("id") in wanted:
                found[task["id"]] = task
    for task_id in task_ids:
        if task_id not in found:
            task = client.get_task(task_id)
            if task is not None:
                found[task_id] = task
    return found


def set_many_task_states(
    client: Any, task_ids: list[str], desired: DesiredState, *, check_mode: bool, now: datetime, guard: GuardPolicy | None = None
) -> list[Outcome]:
    """Every id's outcome; one failing task does not stop the others, unless the failure would repeat for all."""
    guard = guard or GuardPolicy()
    ordered = list(dict.fromkeys(task_ids))
    current = read_tasks(client, ordered)
    outcomes: list[Outcome] = []
    stop: IscError | None = None
    for task_id in ordered:
        if stop is not None:
            outcomes.append(Outcome(task_id, failed=True, msg=NOT_ATTEMPTED, task=current.get(task_id), error=stop))
            continue
        try:
            task = current.get(task_id)
            if task is None:
                raise not_found_error(client, task_id)
            outcomes.append(apply_plan(client, plan_change(task, desired, now), desired, check_mode=check_mode, now=now, guard=guard))
        except IscError as err:
            task = err.details.get("task") or current.get(task_id)
            outcomes.append(Outcome(task_id, failed=True, msg=str(err), task=task, error=err))
            if isinstance(err, RUN_STOPPING_ERRORS):
                stop = err
    return outcomes


# --- waiting -----------------------------------------------------------------------------------------------


def wait_for_tasks(
    client: Any,
    task_ids: list[str],
    *,
    timeout: float,
    interval: float,
    fail_on_error: bool,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    warn: Callable[[str], None] = lambda message: None,
) -> list[Outcome]:
    """Poll every ``interval`` seconds until each task has a completionStatus or ``timeout`` seconds pass.

    A task still running at the deadline fails with its last state; one that ends in ERROR or TERMINATED fails
    when ``fail_on_error``. A poll that fails with a transient fault (after the client's own retries) is warned
    about once per cause and tried again at the next interval; any other error fails that task only.
    """
    ordered = list(dict.fromkeys(task_ids))
    deadline = clock() + timeout
    started = clock()
    last_seen: dict[str, dict[str, Any] | None] = {}
    outcomes: dict[str, Outcome] = {}
    warned: set[str] = set()
    while True:
        for task_id in ordered:
            if task_id in outcomes:
                continue
            try:
                task = client.get_task(task_id)
                if task is None:
                    raise not_found_error(client, task_id)
            except TRANSIENT_POLL_ERRORS as err:
                if err.message not in warned:
                    warned.add(err.message)
                    label = describe_task(task_id, last_seen.get(task_id))
                    warn(f"Reading {label} failed ({err.message.rstrip('.')}); trying again every {interval:g}s until wait_timeout.")
                continue
            except IscError as err:
                outcomes[task_id] = Outcome(task_id, failed=True, msg=str(err), task=last_seen.get(task_id), error=err)
                continue
            last_seen[task_id] = task
            if is_finished(task):
                outcomes[task_id] = _finished_outcome(task_id, task, fail_on_error, clock() - started)
        if len(outcomes) == len(ordered):
            break
        remaining = deadline - clock()
        if remaining <= 0:
            break
        sleep(min(interval, remaining))
    for task_id in ordered:
        if task_id not in outcomes:
            task = last_seen.get(task_id)
            error = IscWaitTimeoutError(
                f"{describe_task(task_id, task)} had not finished after {timeout:g} seconds "
                f"(last seen: progress {(task or {}).get('progress')!r}, {(task or {}).get('percentComplete')}% complete).",
                task=task,
                hint="Raise wait_timeout, or clear the task if it is stuck.",
            )
            outcomes[task_id] = Outcome(task_id, failed=True, msg=str(error), task=task, error=error)
    return [outcomes[task_id] for task_id in ordered]


def _finished_outcome(task_id: str, task: dict[str, Any], fail_on_error: bool, elapsed: float) -> Outcome:
    status = str(task.get("completionStatus"))
    label = describe_task(task_id, task)
    if fail_on_error and status.upper() in FAILURE_STATUSES:
        error = IscTaskError(
            f"{label} finished with {status}.",
            task=task,
            hint="Set fail_on_error=false to treat ERROR and TERMINATED as a normal end.",
        )
        return Outcome(task_id, failed=True, msg=str(error), task=task, error=error)
    return Outcome(task_id, msg=f"{label} finished with {status} after waiting {elapsed:.0f} seconds.", task=task)
