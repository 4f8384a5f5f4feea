#!/usr/bin/python
# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: task_status
short_description: Clear stuck tasks, or wait for tasks, in SailPoint Identity Security Cloud
version_added: 1.0.0
description:
  - Brings a task of SailPoint Identity Security Cloud (ISC) to a desired state. Its main use is clearing a stuck
    pending task, which ISC documents as "updating the completionStatus and completed attributes".
  - The module reads the task, works out locally which fields differ from the desired state (statuses compared
    case-insensitively, timestamps compared as instants), and sends a JSON Patch
    (C(application/json-patch+json)) with only those fields. A second run finds nothing to change and sends no
    PATCH.
  - Clearing a pending task (one with no C(completionStatus)) sets C(completionStatus) to O(completion_status),
    default V(ERROR), and C(completed) to O(completed), default the time of the run.
  - B(Safe by default.) A task that already finished is left as it is and reported with RV(left_alone=true) unless
    O(force=true). By default (O(guard)) each PATCH starts with C(test) operations on the state it was computed
    from, so where the tenant honours them, a task that finishes by itself between the read and the write is not
    overwritten; it is then reported as left alone too. A pending task that only progressed meanwhile is read again
    and the PATCH sent once more. No task gets more than two PATCHes.
  - The guards test only values ISC served in the read just made, preferring fields whose JSON value has one form
    (C(completionStatus) when set, C(percentComplete), and C(progress) when set), as ISC's specs show timestamps in
    two forms and a C(test) compares JSON values exactly. A pending task is also guarded by its C(modified) time,
    sent exactly as ISC served it, as its status fields are V(null), which ISC's JSON Patch values cannot be, and a
    task another job finished may show no other change. A tenant that refuses such a test is handled by O(guard).
  - When the answer to a PATCH is lost (a timeout, a dropped connection, HTTP 5xx), ISC may or may not have applied
    it, and it is not sent again. Instead the task is read again; if it shows the change, the task is reported as
    changed; otherwise the module fails and says so.
  - With O(ids), handles many tasks in one run. Their current states come from paged list reads (and the
    deprecated pending-tasks endpoint on V(beta) and V(v2024), whose list returns completed tasks only), then each task that
    needs a change gets one guarded PATCH, paced within the client's rate budget (O(rate_limit)). Every task's
    outcome is in RV(results); the module fails at the end if any task failed, without hiding the others.
  - With O(wait=true), changes nothing and waits until the task (or every task of O(ids)) finishes.
  - Updating a task needs a personal access token (user context) with C(idn:task-management:write), owned by an
    admin user level other than HELPDESK; an API client is refused with HTTP 403. Reading (also for O(wait)) works
    with either.
author:
  - sailpoint.isc community contributors (@sailpoint-isc-community)
requirements:
  - jsonpatch
options:
  id:
    description:
      - ID of the task.
      - Exactly one of O(id) and O(ids) is required.
    type: str
  ids:
    description:
      - IDs of several tasks, handled in one run with one paged read of their states.
      - Results are in RV(tasks) and RV(results) instead of RV(task).
      - An empty list does nothing and sends no request, so what a lookup found can be passed on as it is, even when it
        found nothing.
    type: list
    elements: str
  completion_status:
    description:
      - The completion status the task should have. Any casing is accepted and compared case-insensitively; the
        module sends upper case, as ISC returns it.
      - When a pending task is cleared and this is not given, V(ERROR) is used (the value of the vendor's own example).
      - On a finished task, a different status is written only with O(force=true).
      - 'One of: V(SUCCESS), V(WARNING), V(ERROR), V(TERMINATED), V(TEMPERROR).'
    type: str
    aliases: [completionStatus]
  completed:
    description:
      - When the task completed, as an ISO 8601 date and time such as V(2024-05-17T19:33:16.470Z). A value without a
        time zone is taken as UTC. It is sent as UTC in the form C(YYYY-MM-DDTHH:MM:SS.mmmZ).
      - When a pending task is cleared and this is not given, the time of the run (UTC) is used.
      - Compared with the task's value as an instant, so other spellings of the same time are no change.
    type: str
  description:
    description:
      - The task's description, for example the reason it was cleared.
    type: str
  progress:
    description:
      - The task's progress text.
    type: str
  patch:
    description:
      - For advanced use, JSON Patch operations (RFC 6902) to apply to the task instead of O(completion_status),
        O(completed), O(description) and O(progress), with which it is mutually exclusive.
      - The operations are applied locally to the current task to decide what would change, and only the resulting
        difference is sent, so a raw patch is idempotent too. Values are compared like the field options do.
      - No defaults are added; a pending task is only cleared if the operations say so.
      - If a C(test) operation does not hold for the current task, nothing is changed and the task is reported as left
        alone. C(test) operations are also sent to ISC, ahead of the changes, so they must still hold when ISC applies
        the patch.
      - Values ISC would refuse are refused before any request, naming the operation; a V(null) C(value) (ISC's
        JsonPatchOperation schema allows a string, boolean, integer, object or array), a C(completionStatus) that is
        not a completion status, a timestamp that is not ISO 8601. Timestamps are sent as ISC writes them. No C(test)
        is needed to act on pending tasks only, as without O(force) a task that has finished is left alone.
    type: list
    elements: dict
  force:
    description:
      - Overwrite a task that already finished (has a C(completionStatus)) when it differs from the desired state.
      - Without it, such a task is left as it is and reported with RV(left_alone=true), and the module does not fail.
    type: bool
    default: false
  wait:
    description:
      - Wait until the task (or every task of O(ids)) has a C(completionStatus), polling every O(wait_sleep) seconds
        for up to O(wait_timeout) seconds, and return the final task. Nothing is changed.
      - Cannot be combined with O(completion_status), O(completed), O(description), O(progress), O(patch) or O(force).
        To clear a task that does not finish in time, clear it in a C(rescue) block (see the examples).
      - When the time runs out, the module fails with the last state seen in RV(task).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true) before failing.
    type: int
    default: 600
  wait_sleep:
    description:
      - Seconds between two reads of a task with O(wait=true).
    type: int
    default: 10
  guard:
    description:
      - Whether PATCHes carry JSON Patch C(test) operations (guards), which ISC's API allows but does not document
        for task status.
      - V(auto) sends guards. When ISC refuses a guarded PATCH (HTTP 400) and the task, read again, has not moved,
        the tenant refused the guards themselves; the same change is then sent once more without them, a warning
        says so once, and the rest of the run (all of O(ids)) is sent unguarded.
      - V(always) never sends an unguarded PATCH; such a refusal fails the task.
      - V(never) sends no C(test) operation at all, also none of O(patch)'s (they are still checked locally).
    type: str
    choices: [auto, always, never]
    default: auto
  fail_on_error:
    description:
      - With O(wait=true), fail when a task finishes with V(ERROR) or V(TERMINATED). The final task is in RV(task) either
        way.
      - Set to V(false) to treat every end as success and decide in the play.
    type: bool
    default: true
extends_documentation_fragment:
  - sailpoint.isc.connection
  - sailpoint.isc.attributes
  - sailpoint.isc.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details: The task is read and the result is predicted locally; no PATCH is sent.
  diff_mode:
    support: full
    details: Shows before and after of the changed fields only (for O(ids), one diff per changed task).
notes:
  - ISC does not return tasks older than 90 days; such an id fails like an unknown one (HTTP 404).
  - Which status values and casings a live tenant accepts on PATCH is not documented beyond the example V(Error). The
    module reads the status back from the PATCH answer and fails, naming the value sent, when it differs; the task is
    then reported as changed too, as ISC did apply the PATCH.
seealso:
  - module: sailpoint.isc.task_status_info
  - name: ISC update task status API
    description: SailPoint's reference for the PATCH this module sends.
    link: https://developer.sailpoint.com/docs/api/v2025/update-task-status
"""

EXAMPLES = r"""
- name: Clear one stuck aggregation (status ERROR, completed now)
  sailpoint.isc.task_status:
    id: 2c9180835d2e5168015d32f890ca1581
  # base_url / client_id / client_secret from SAIL_BASE_URL, SAIL_CLIENT_ID, SAIL_CLIENT_SECRET (a personal access token)

- name: Clear it with a reason in the description, and see what changes first with --check --diff
  sailpoint.isc.task_status:
    id: 2c9180835d2e5168015d32f890ca1581
    completion_status: terminated
    description: Cleared by AWX job 4711, stuck since the connector restart (CHG0042)
  register: cleared

- name: Nightly job - wait for the aggregation; fail loudly if it ended in error, clear it if it never finished
  module_defaults:
    group/sailpoint.isc.isc:
      base_url: https://acme.api.identitynow.com
      api_version: v2025
  block:
    - name: Wait up to an hour, polling every minute (an ERROR or TERMINATED end fails this task)
      sailpoint.isc.task_status:
        id: "{{ aggregation_task_id }}"
        wait: true
        wait_timeout: 3600
        wait_sleep: 60
      register: aggregation
  rescue:
    - name: Clear the aggregation if it is still running after an hour
      sailpoint.isc.task_status:
        id: "{{ aggregation_task_id }}"
        description: Cleared by the nightly job after one hour
      when: aggregation.task.completionStatus | default(none) is none

    - name: Fail the job either way, saying why
      ansible.builtin.fail:
        msg: >-
          Aggregation {{ aggregation_task_id }}
          {{ 'ended with ' ~ aggregation.task.completionStatus if aggregation.task.completionStatus | default(none)
             else 'did not finish within an hour and was cleared' }}.

- name: Find pending aggregations of one source and clear them all in one run
  block:
    - name: Pending aggregations of one source
      sailpoint.isc.task_status_info:
        pending: true
        filters:
          type: CLOUD_ACCOUNT_AGGREGATION
          sourceId: 2c9180835d2e5168015d32f890ca1581
      register: pending

    - name: Clear them (one paged read, one guarded PATCH per task)
      sailpoint.isc.task_status:
        ids: "{{ pending.tasks | map(attribute='id') | list }}"
        description: Cleared by the cleanup job
      register: cleanup
      when: pending.tasks | length > 0

    - name: Ids that were cleared, for the audit log
      ansible.builtin.debug:
        msg: "{{ cleanup.results | selectattr('changed') | map(attribute='id') | list }}"
      when: cleanup is not skipped

- name: Overwrite the status of a task that already finished
  sailpoint.isc.task_status:
    id: 2c9180835d2e5168015d32f890ca1581
    completion_status: SUCCESS
    force: true

- name: Raw JSON Patch - turn a TEMPERROR end into ERROR, only if ISC still shows TEMPERROR when it applies the patch
  sailpoint.isc.task_status:
    id: 2c9180835d2e5168015d32f890ca1581
    force: true
    patch:
      - op: test
        path: /completionStatus
        value: TEMPERROR
      - op: replace
        path: /completionStatus
        value: ERROR
      - op: replace
        path: /description
        value: Retried by hand; marked as an error (CHG0042)

# Ad hoc, with the connection from the SAIL_* environment variables:
#   ansible localhost -m sailpoint.isc.task_status -a 'id=2c9180835d2e5168015d32f890ca1581' --check --diff
"""

RETURN = r"""
task:
  description:
    - The task after the run, as ISC's TaskStatus object. After a PATCH it is ISC's answer; in check mode it is the
      prediction; when nothing changed it is the task as read.
    - With O(wait=true), the final task; when waiting failed, the last state seen.
    - See M(sailpoint.isc.task_status_info) for the fields.
  returned: >-
    with O(id), on success, and on a failure that concerns the task (wait timeout, ERROR end, read-back mismatch, a
    lost PATCH answer whose change the task read again does not show)
  type: dict
  sample:
    id: 2c9180835d2e5168015d32f890ca1581
    uniqueName: Cloud Account Aggregation
    completionStatus: ERROR
    completed: "2024-05-17T19:33:16.470Z"
    description: Cleared by AWX job 4711
left_alone:
  description:
    - V(true) when the task had already finished and differed from the desired state, so it was not changed (see
      O(force)), also when it finished by itself during the run, or when a C(test) operation of O(patch) did not hold.
  returned: with O(id), on success
  type: bool
  sample: false
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Cloud Account Aggregation on Active Directory [source] (2c9180835d2e5168015d32f890ca1581) updated.
tasks:
  description:
    - With O(ids), the tasks after the run, in the order of O(ids) (tasks that could not be read are missing).
    - Not returned when a task failed, so that the failure Ansible prints stays short; RV(results) names each task.
  returned: with O(ids), when no task failed
  type: list
  elements: dict
results:
  description: With O(ids), one entry per distinct id, in the order of O(ids) (an id given twice is handled once).
  returned: with O(ids)
  type: list
  elements: dict
  contains:
    id:
      description: The task ID.
      type: str
    name:
      description: The task as people know it, its task definition and target, such as V(Cloud Account Aggregation on Workday [source]).
      type: str
      version_added: 1.1.0
    changed:
      description:
        - Whether the task was changed (or would be, in check mode).
        - V(true) together with RV(results[].failed=true) when ISC applied the PATCH but answered with other values
          than were sent.
      type: bool
    failed:
      description: Whether handling this task failed.
      type: bool
    left_alone:
      description: As RV(left_alone), for this task.
      type: bool
    msg:
      description: What happened to this task, or the error.
      type: str
    task:
      description: The task after the run, or V(null) if it could not be read.
      type: dict
      returned: when no task failed
    status:
      description: The HTTP status of ISC's error answer.
      type: int
      returned: when ISC answered an error
    tracking_id:
      description: ISC's C(trackingId) of the error answer, for SailPoint support.
      type: str
      returned: when ISC answered an error that has one
tracking_id:
  description: ISC's C(trackingId) of an error answer, for SailPoint support.
  returned: on failure, when ISC answered an error that has one
  type: str
  sample: e7eab60924f64aa284175b9fa3309599
status:
  description: The HTTP status of ISC's error answer.
  returned: on failure, when ISC answered an error
  type: int
  sample: 403
"""

# ruff: noqa: E402
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sailpoint.isc.plugins.module_utils._apply import GUARD_MODES, GuardPolicy, Outcome, set_many_task_states, set_task_state
from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient, validate_task_id
from ansible_collections.sailpoint.isc.plugins.module_utils._desired_state import DesiredState
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError, IscError
from ansible_collections.sailpoint.isc.plugins.module_utils._options import connection_argument_spec
from ansible_collections.sailpoint.isc.plugins.module_utils._plan import HAS_JSONPATCH, JSONPATCH_IMPORT_ERROR
from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig
from ansible_collections.sailpoint.isc.plugins.module_utils._summary import failure_summary
from ansible_collections.sailpoint.isc.plugins.module_utils._wait import wait_for_tasks

STATE_OPTIONS = ("completion_status", "completed", "description", "progress")

MODULE_OPTIONS: dict[str, dict[str, Any]] = {
    "id": {"type": "str"},
    "ids": {"type": "list", "elements": "str"},
    "completion_status": {"type": "str", "aliases": ["completionStatus"]},
    "completed": {"type": "str"},
    "description": {"type": "str"},
    "progress": {"type": "str"},
    "patch": {"type": "list", "elements": "dict"},
    "force": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 600},
    "wait_sleep": {"type": "int", "default": 10},
    "fail_on_error": {"type": "bool", "default": True},
    "guard": {"type": "str", "choices": list(GUARD_MODES), "default": "auto"},
}

MUTUALLY_EXCLUSIVE: list[list[str]] = [["id", "ids"], *(["patch", name] for name in STATE_OPTIONS)]


def argument_spec() -> dict[str, dict[str, Any]]:
    return {**connection_argument_spec(), **MODULE_OPTIONS}


@dataclass(frozen=True)
class TaskStatusRequest:
    """The module options, checked before any request is sent."""

    task_ids: tuple[str, ...]
    many: bool
    desired: DesiredState
    wait: bool = False
    wait_timeout: int = 600
    wait_sleep: int = 10
    fail_on_error: bool = True
    guard: str = "auto"


def build_request(params: Mapping[str, Any]) -> TaskStatusRequest:
    if params.get("ids") is not None:
        task_ids = tuple(validate_task_id(str(task_id).strip(), option="ids") for task_id in params["ids"])
        many = True
    else:
        task_ids = (validate_task_id(str(params.get("id") or "").strip(), option="id"),)
        many = False
    if params.get("wait"):
        conflicting = [name for name in (*STATE_OPTIONS, "patch") if params.get(name) is not None]
        if params.get("force"):
            conflicting.append("force")
        if conflicting:
            raise IscConfigError(
                "wait",
                f"wait only waits and cannot be combined with {', '.join(conflicting)}.",
                "Use two tasks: one that waits, and one (for example in a rescue block) that clears.",
            )
        if params["wait_timeout"] < 0:
            raise IscConfigError("wait_timeout", f"{params['wait_timeout']} is negative.", "Give 0 or more seconds.")
        if params["wait_sleep"] < 1:
            raise IscConfigError("wait_sleep", f"{params['wait_sleep']} is below 1 second.", "Give 1 or more seconds.")
        return TaskStatusRequest(task_ids, many, DesiredState(), True, params["wait_timeout"], params["wait_sleep"], params["fail_on_error"])
    return TaskStatusRequest(task_ids, many, DesiredState.from_params(params), guard=params.get("guard") or "auto")


def run(
    request: TaskStatusRequest, client: IscClient, *, check_mode: bool, diff: bool, now: datetime, warn: Callable[[str], None] = lambda message: None
) -> tuple[dict[str, Any], str | None]:
    """Carry out ``request``; returns the module result and, when some task failed, the failure message."""
    if not request.task_ids:
        # A lookup or a filter that found nothing hands over an empty list: nothing to do, and no request.
        return {"changed": False, "tasks": [], "results": [], "msg": "No task ids given; nothing to do."}, None
    if request.wait:
        outcomes = wait_for_tasks(
            client, list(request.task_ids), timeout=request.wait_timeout, interval=request.wait_sleep, fail_on_error=request.fail_on_error, warn=warn
        )
    elif request.many:
        guard = GuardPolicy(request.guard, warn)
        outcomes = set_many_task_states(client, list(request.task_ids), request.desired, check_mode=check_mode, now=now, guard=guard)
    else:
        guard = GuardPolicy(request.guard, warn)
        outcomes = [set_task_state(client, request.task_ids[0], request.desired, check_mode=check_mode, now=now, guard=guard)]

    if not request.many:
        return _single_result(outcomes[0], diff)
    return _many_result(outcomes, diff)


def _single_result(outcome: Outcome, diff: bool) -> tuple[dict[str, Any], str | None]:
    if outcome.failed and not outcome.changed and outcome.error is not None:
        raise outcome.error
    result: dict[str, Any] = {"changed": outcome.changed, "task": outcome.task, "msg": outcome.msg, "left_alone": outcome.left_alone}
    if diff and outcome.diff is not None:
        result["diff"] = outcome.diff
    if not outcome.failed:
        return result, None
    # Changed and failed: ISC applied the PATCH but answered with other values than were sent.
    details = outcome.error.to_fail_json() if outcome.error is not None else {}
    return {**details, **result}, outcome.msg


def _tasks(count: int) -> str:
    return "1 task" if count == 1 else f"{count} tasks"


def _many_result(outcomes: list[Outcome], diff: bool) -> tuple[dict[str, Any], str | None]:
    failed = [outcome for outcome in outcomes if outcome.failed]
    changed = [outcome for outcome in outcomes if outcome.changed]
    result: dict[str, Any] = {
        "changed": bool(changed),
        "tasks": [outcome.task for outcome in outcomes if outcome.task is not None],
        "results": [outcome.as_result() for outcome in outcomes],
        "msg": f"{_tasks(len(outcomes))}: {len(changed)} changed, {sum(o.left_alone for o in outcomes)} left alone, {len(failed)} failed.",
    }
    if diff:
        diffs = [outcome.diff for outcome in outcomes if outcome.diff is not None]
        if diffs:
            result["diff"] = diffs
    if not failed:
        return result, None
    # A failed task result is printed whole: names and ids, not whole task objects.
    del result["tasks"]
    for entry in result["results"]:
        entry.pop("task", None)
    summary = failure_summary(((outcome.id, outcome.task, outcome.msg, outcome.error) for outcome in failed), len(outcomes))
    return result, f"{len(failed)} of {len(outcomes)} tasks failed. {summary} Each task's outcome is in results."


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        required_one_of=[["id", "ids"]],
        supports_check_mode=True,
    )
    if not HAS_JSONPATCH:
        module.fail_json(msg=missing_required_lib("jsonpatch"), exception=JSONPATCH_IMPORT_ERROR)
    try:
        request = build_request(module.params)
        config = ClientConfig.from_options(module.params)
        client = IscClient(config, warn=module.warn)
        result, failure = run(request, client, check_mode=module.check_mode, diff=module._diff, now=datetime.now(UTC), warn=module.warn)
    except IscError as err:
        module.fail_json(**err.to_fail_json())
    if failure is not None:
        module.fail_json(msg=failure, **{key: value for key, value in result.items() if key != "msg"})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
