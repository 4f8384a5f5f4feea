# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Sending plans: the guarded PATCH of one task or many, and what ISC's answer (or its loss) means.

By default a PATCH carries ``test`` guards on the state its plan was computed from, so a task that finished by
itself in between is left alone where the tenant honours them. Nothing documents that task-status honours ``test``
at all, so ``GuardPolicy`` decides what happens when a tenant refuses them. A PATCH whose answer is lost is settled
by reading the task again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._desired_state import DesiredState, values_equivalent
from ._errors import (
    IscAuthenticationError,
    IscBadRequestError,
    IscConnectionError,
    IscError,
    IscForbiddenError,
    IscNotFoundError,
    IscPatchOutcomeUnknownError,
    IscRateLimitError,
    IscResponseError,
    IscServerError,
    IscTaskError,
    IscUnconfirmedPatchError,
)
from ._filters import id_chunks
from ._plan import Plan, plan_change
from ._summary import describe_task, task_label

GUARD_MODES = ("auto", "always", "never")
# A task whose status fields differ from what was read has finished (or been finished) meanwhile.
STATUS_FIELDS = ("completionStatus", "completed")
# What tells that a task moved since it was read (compared locally, timestamps as instants).
MOVEMENT_FIELDS = (*STATUS_FIELDS, "percentComplete", "progress", "modified")
REFUSED_PATCH_HINT = (
    "ISC refused the change as invalid: check the values sent (listed in 'sent'), such as the completion status and "
    "the completed time; ISC accepts no null value in a JSON Patch."
)
GUARD_ALWAYS_HINT = (
    "The task had not changed since it was read, so this tenant may not accept JSON Patch test operations. "
    "Nothing was changed, as guard is always. Set guard: auto (or never) to send the change without them."
)
GUARD_TWICE_HINT = "The task had moved once and then ISC refused the second guarded PATCH too. Nothing was changed; run again once the task has settled."
# Errors that would repeat identically for every further task, so a many-task run stops sending after one. Among
# them a lost PATCH answer whose task could not be read again either (IscPatchOutcomeUnknownError): ISC is not answering.
RUN_STOPPING_ERRORS = (IscAuthenticationError, IscForbiddenError, IscConnectionError, IscRateLimitError, IscResponseError, IscPatchOutcomeUnknownError)
NOT_ATTEMPTED = "Not attempted after an earlier error that would repeat for this task too (see the first failed task)."
# A PATCH that fails with these may still have been applied; the task is read again to find out.
LOST_ANSWER_ERRORS = (IscConnectionError, IscServerError, IscResponseError)


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

    @classmethod
    def failure(cls, task_id: str, error: IscError, task: dict[str, Any] | None) -> Outcome:
        return cls(task_id, failed=True, msg=str(error), task=task, error=error)

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
        # From ISC's error answer, also when it is kept by another error (a refused or unconfirmed PATCH).
        details = self.error.details if self.error is not None else {}
        result.update((key, details[key]) for key in ("status", "tracking_id") if details.get(key))
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


def not_found_error(client: Any, task_id: str) -> IscNotFoundError:
    """The error for a task ISC does not return (``get_task`` gives ``None`` on 404)."""
    return IscNotFoundError(method="GET", path=client.version.task_path(task_id), status=404)


def read_task(client: Any, task_id: str) -> dict[str, Any]:
    task = client.get_task(task_id)
    if task is None:
        raise not_found_error(client, task_id)
    return task


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
            current = read_task(client, plan.task_id)
            if not guarded:
                _name_what_was_sent(err, plan, guarded=False)
                raise
            if _fields_equivalent(plan.before, current, MOVEMENT_FIELDS):
                if guard.mode == "always" or attempt == 2:
                    _name_what_was_sent(err, plan, guarded=True, hint=GUARD_ALWAYS_HINT if guard.mode == "always" else GUARD_TWICE_HINT)
                    raise
                return _send_unguarded(client, plan, guard, err)
            if not desired.force and not _fields_equivalent(plan.before, current, STATUS_FIELDS):
                msg = f"{plan.label} finished by itself with {current.get('completionStatus')} while this run was deciding; it was left as it is."
                return Outcome(plan.task_id, msg=msg, task=current, left_alone=True)
            if attempt == 2:
                raise IscTaskError(
                    f"{describe_task(plan.task_id, current)} changed again while this run was updating it; "
                    "ISC refused both guarded PATCHes, so nothing was changed.",
                    task=current,
                    hint="Run again once the task has settled.",
                ) from err
            plan = plan_change(current, desired, now)
    raise AssertionError("unreachable: each attempt returns or raises")


def _unsent_outcome(plan: Plan, *, check_mode: bool) -> Outcome | None:
    """The outcome of a plan that sends nothing: left alone, already as desired, or predicted in check mode."""
    if plan.left_alone is not None:
        return Outcome(plan.task_id, msg=plan.left_alone, task=plan.before, left_alone=True)
    if not plan.operations:
        return Outcome(plan.task_id, msg=f"{plan.label} is already in the desired state.", task=plan.before)
    if check_mode:
        return Outcome(plan.task_id, changed=True, msg=f"{plan.label} would be updated (check mode).", task=plan.after, diff=plan.diff())
    return None


def _send_unguarded(client: Any, plan: Plan, guard: GuardPolicy, refusal: IscBadRequestError) -> Outcome:
    """The second and last PATCH of a task whose guarded one was refused although it had not moved (``guard: auto``)."""
    try:
        outcome = _send(client, plan, guarded=False)
    except IscBadRequestError as err:
        # Refused without guards too: the values are what ISC refuses, so guards stay on for the rest of the run.
        _name_what_was_sent(err, plan, guarded=False)
        raise
    guard.drop(plan.label, refusal)
    return outcome


def _send(client: Any, plan: Plan, *, guarded: bool) -> Outcome:
    try:
        updated = client.patch_task(plan.task_id, plan.operations_to_send(guarded))
    except LOST_ANSWER_ERRORS as err:
        return _confirm_after_lost_answer(client, plan, err, guarded=guarded)
    if not isinstance(updated, Mapping):
        raise IscResponseError(f"ISC answered the PATCH of {plan.label} without the updated task.")
    # ISC answers a PATCH with the updated task; a task that does not show what was sent is changed, yet failed.
    updated = dict(updated)
    differing = plan.fields_not_shown_by(updated)
    if not differing:
        return Outcome(plan.task_id, changed=True, msg=f"{plan.label} updated.", task=updated, diff=plan.diff(updated))
    shown = ", ".join(f"{name} {updated.get(name)!r} (sent {plan.after.get(name)!r})" for name in differing)
    error = IscTaskError(
        f"ISC accepted the PATCH of {plan.label}, so the task was changed, but answered with {shown}.",
        task=updated,
        hint="ISC may not accept that value or casing; check the task in ISC.",
    )
    return Outcome(plan.task_id, changed=True, failed=True, msg=str(error), task=updated, diff=plan.diff(updated), error=error)


def _confirm_after_lost_answer(client: Any, plan: Plan, lost: IscError, *, guarded: bool) -> Outcome:
    """The PATCH may have been applied although its answer was lost (ISC does not say): the task read again tells."""
    label = plan.label
    try:
        current = client.get_task(plan.task_id)
    except IscError as reread_error:
        problem = f"Reading {label} again failed too ({reread_error.message}), so the PATCH may or may not have been applied."
        raise IscPatchOutcomeUnknownError(lost, problem, guarded=guarded) from reread_error
    if current is None:
        problem = f"Reading {label} again found no task (HTTP 404), so whether the PATCH was applied is unknown."
        raise IscPatchOutcomeUnknownError(lost, problem, guarded=guarded)
    if plan.fields_not_shown_by(current):
        problem = f"Reading {label} again did not show the change, so ISC has not applied it (or not yet)."
        raise IscUnconfirmedPatchError(lost, problem, task=current, guarded=guarded)
    msg = f"{label} updated. ISC's answer to the PATCH was lost ({lost.message.rstrip('.')}), but reading the task again shows the change."
    return Outcome(plan.task_id, changed=True, msg=msg, task=current, diff=plan.diff(current))


def _fields_equivalent(before: Mapping[str, Any], current: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    return all(values_equivalent(name, before.get(name), current.get(name)) for name in names)


def _name_what_was_sent(err: IscBadRequestError, plan: Plan, *, guarded: bool, hint: str = REFUSED_PATCH_HINT) -> None:
    """Add to ISC's refusal what the PATCH sent, and a hint that fits a PATCH."""
    sent = ", ".join(f"{name}={plan.after.get(name)!r}" for name in plan.changed_fields()) or "no values"
    err.message = f"{err.message} The PATCH of {plan.label} sent {sent}."
    err.hint = hint
    err.details["sent"] = plan.operations_to_send(guarded)
    err.args = (str(err),)


def set_task_state(client: Any, task_id: str, desired: DesiredState, *, check_mode: bool, now: datetime, guard: GuardPolicy | None = None) -> Outcome:
    """One task: GET, plan, PATCH. Raises on any error, except a change ISC applied otherwise than sent (a changed, failed Outcome)."""
    return apply_plan(client, plan_change(read_task(client, task_id), desired, now), desired, check_mode=check_mode, now=now, guard=guard)


def read_tasks(client: Any, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Current states of ``task_ids`` from paged list reads; ids these miss are read one by one (absent: 404)."""
    wanted = set(task_ids)
    found: dict[str, dict[str, Any]] = {}
    if not client.version.list_includes_in_progress:
        # beta and v2024 list completed tasks only; in-progress ones come from the pending-tasks endpoint,
        # which takes no filter, so match ids here.
        found.update((task["id"], task) for task in client.iter_pending_tasks() if task.get("id") in wanted)
    remaining = [task_id for task_id in task_ids if task_id not in found]
    for chunk in id_chunks(remaining):
        found.update((task["id"], task) for task in client.iter_tasks(filters={"id": chunk}) if task.get("id") in wanted)
    for task_id in (task_id for task_id in task_ids if task_id not in found):
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
            if task_id not in current:
                raise not_found_error(client, task_id)
            outcomes.append(apply_plan(client, plan_change(current[task_id], desired, now), desired, check_mode=check_mode, now=now, guard=guard))
        except IscError as err:
            outcomes.append(Outcome.failure(task_id, err, err.details.get("task") or current.get(task_id)))
            if isinstance(err, RUN_STOPPING_ERRORS):
                stop = err
    return outcomes
