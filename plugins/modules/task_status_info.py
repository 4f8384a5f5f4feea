#!/usr/bin/python
# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: task_status_info
short_description: Read task status from SailPoint Identity Security Cloud
version_added: 1.0.0
description:
  - Answers "what is this task doing", "what ran and how did it end", "what is pending" and "how many are pending"
    from the task status API of SailPoint Identity Security Cloud (ISC).
  - With O(id), returns that one task. An unknown id is not an error; the result is empty and RV(msg) says why.
  - Otherwise lists tasks, optionally narrowed by O(filters), ordered by O(sorters), starting at O(offset) and up to
    O(limit) tasks in total. The module fetches as many pages of 250 as needed; every task is returned once.
  - With O(pending=true), lists in-progress tasks. From V(v2025) on (and on the default V(v1)) it lists tasks with
    the C(completionStatus isnull) filter, with O(filters) sent to ISC. On V(beta) and V(v2024), whose list has
    completed tasks only, it uses their deprecated C(/task-status/pending-tasks) endpoint and matches O(filters)
    locally. The result has the same shape either way.
  - With O(count_only=true), returns only how many tasks match, with the cheapest request the API version offers.
  - ISC does not return tasks older than 90 days.
author:
  - sailpoint.isc community contributors (@sailpoint-isc-community)
options:
  id:
    description:
      - ID of one task to return.
      - Mutually exclusive with O(filters), O(pending), O(count_only), O(sorters), O(offset) and O(limit).
    type: str
  filters:
    description:
      - Which tasks to list.
      - 'The structured form is a dictionary mapping a field to a value (C(eq)), a list of values (C(in)), or V(null)
        (C(isnull)), for example C({type: CLOUD_ACCOUNT_AGGREGATION, sourceId: [a1, b2], completionStatus: null}).
        Terms are combined with C(and). Values are quoted and escaped for you, so quotes, backslashes, C(#), C(&), C(%)
        and spaces are safe.'
      - Fields are C(id), C(sourceId), C(type) and C(completionStatus) on every API version, plus C(launcher) on
        V(v2026) and V(v1); snake_case spellings (C(source_id), C(completion_status)) are accepted.
        C(completionStatus) can be V(null) only on V(v2025), V(v2026) and V(v1).
        The structured form is checked against O(api_version) before any request is sent.
      - C(type) takes task-definition names such as V(CLOUD_ACCOUNT_AGGREGATION), not the V(QUARTZ)/V(QPOC)/V(QUEUED_TASK)
        values of the RV(tasks[].type) field.
      - >-
        A string that starts with C({) is read as the structured form written in JSON, which is handy ad hoc
        (C(-a 'filters={"type":"CLOUD_ACCOUNT_AGGREGATION"}'), without spaces, or the whole argument string as JSON).
      - Any other string is sent to ISC unchanged as its C(filters) query parameter (ISC's filter syntax, for example
        V(completionStatus in ("ERROR","TEMPERROR"\))). ISC checks it and answers HTTP 400 if it is invalid.
      - With O(pending=true), only the structured form is accepted, without C(completionStatus).
    type: raw
  sorters:
    description:
      - Order of the listed tasks by creation time, oldest first (V(created)) or newest first (V(-created)).
      - Without it, tasks are listed oldest first, so that tasks created while the listing runs cannot shift the
        pages already read.
    type: str
    choices: [created, -created]
  offset:
    description:
      - How many matching tasks to skip before the first one returned.
      - Not available with O(pending=true).
    type: int
  limit:
    description:
      - The most tasks to return in total (not a page size; the module pages underneath). Without it, every matching
        task is returned.
      - Must be at least V(1).
    type: int
  pending:
    description:
      - List (or, with O(count_only=true), count) tasks that are still in progress.
    type: bool
    default: false
  older_than:
    description:
      - With O(pending=true), only tasks that have shown no progress for at least this long, counted from their last
        progress (C(modified), else C(launched), else C(created)), as the P(sailpoint.isc.pending_tasks#lookup) lookup
        does. They are returned longest without progress first.
      - A number and a unit, C(s), C(m), C(h), C(d) or C(w), such as V(30m), V(6h), V(2d), or combined, V(1d12h).
      - ISC cannot filter on this, so every pending task matching O(filters) is read; O(limit) and O(count_only) apply
        to the stale ones.
    type: str
    version_added: 1.1.0
  fields:
    description:
      - Return only these TaskStatus fields of each task (C(id) is always kept), to keep the output of large listings
        small, for example in AWX job logs. Without it, tasks are returned as ISC sends them.
      - Field names are ISC's, such as V(completionStatus), V(created), V(uniqueName) or V(target); an unknown name is
        refused before any request.
    type: list
    elements: str
  count_only:
    description:
      - Return only RV(count), the number of matching tasks, and no tasks.
      - One C(count=true) request for a single task. For pending tasks on V(beta) and V(v2024) it is one C(HEAD)
        request to their pending-tasks endpoint, or with O(filters) a listing counted locally, as that endpoint takes
        no filters.
    type: bool
    default: false
extends_documentation_fragment:
  - sailpoint.isc.connection
  - sailpoint.isc.attributes
  - sailpoint.isc.attributes.INFO_MODULE
  - sailpoint.isc.attributes.ACTION_GROUP
seealso:
  - module: sailpoint.isc.task_status
  - name: ISC task management API
    description: SailPoint's reference for the task status endpoints.
    link: https://developer.sailpoint.com/docs/api/v2025/get-task-status-list
"""

EXAMPLES = r"""
- name: Read ISC task status
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/sailpoint.isc.isc:
      base_url: https://acme.api.identitynow.com
      api_version: v2025
      # client_id and client_secret come from SAIL_CLIENT_ID / SAIL_CLIENT_SECRET
  tasks:
    - name: Get one task
      sailpoint.isc.task_status_info:
        id: 2c9180835d2e5168015d32f890ca1581
      register: one

    - name: Show how it ended (empty when the id is unknown or older than 90 days)
      ansible.builtin.debug:
        msg: "{{ (one.tasks[0].completionStatus or 'still running') if one.tasks else one.msg }}"

    - name: The last 50 tasks, only what an AWX job log needs
      sailpoint.isc.task_status_info:
        sorters: -created
        limit: 50
        fields: [uniqueName, completionStatus, created, completed]
      register: recent

    - name: Find aggregations of one source that are still running
      sailpoint.isc.task_status_info:
        pending: true
        filters:
          type: CLOUD_ACCOUNT_AGGREGATION
          sourceId: 2c9180835d2e5168015d32f890ca1581
      register: running

    - name: Aggregations with no progress for more than two hours, counted as the pending_tasks lookup does
      sailpoint.isc.task_status_info:
        pending: true
        older_than: 2h
        filters:
          type: CLOUD_ACCOUNT_AGGREGATION
      register: stale

    - name: Report aggregations with no progress for more than two hours
      ansible.builtin.debug:
        msg: "{{ item.id }} last progressed {{ last_progress }}"
      loop: "{{ running.tasks }}"
      loop_control:
        label: "{{ item.id }}"
      vars:
        # ISC writes UTC times as 2024-05-17T19:33:16.470Z or 2024-05-17 19:33:16.470000+00:00: read the first 19 characters.
        last_progress: "{{ item.modified | default(item.launched, true) | default(item.created, true) }}"
      when: (now(utc=true) - (last_progress[:19] | replace(' ', 'T') | to_datetime('%Y-%m-%dT%H:%M:%S'))).total_seconds() > 7200

    - name: The last 10 failed tasks, newest first
      sailpoint.isc.task_status_info:
        filters:
          completionStatus: [ERROR, TEMPERROR]
        sorters: -created
        limit: 10
      register: failed

    - name: The same with a raw ISC filter string
      sailpoint.isc.task_status_info:
        filters: 'completionStatus in ("ERROR","TEMPERROR")'
        sorters: -created
        limit: 10

    - name: Count pending tasks (one request)
      sailpoint.isc.task_status_info:
        pending: true
        count_only: true
      register: pending

    - name: Alert when too many tasks are pending
      ansible.builtin.fail:
        msg: "{{ pending.count }} ISC tasks are pending"
      when: pending.count > 20

# Ad hoc, with the connection from SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET:
#   ansible localhost -m sailpoint.isc.task_status_info -a 'id=2c9180835d2e5168015d32f890ca1581'
#   ansible localhost -m sailpoint.isc.task_status_info -a 'pending=true count_only=true api_version=v2025'
"""

RETURN = r"""
tasks:
  description:
    - The tasks found, as ISC's TaskStatus objects, unchanged (with O(fields), only those fields and C(id)). Listed
      tasks are oldest first (or in O(sorters) order), each once.
    - Empty when O(id) is unknown or no task matches.
  returned: unless O(count_only=true)
  type: list
  elements: dict
  contains:
    id:
      description: System-generated unique ID of the task.
      type: str
      sample: 2c9180835d2e5168015d32f890ca1581
    type:
      description: Type of task, one of V(QUARTZ), V(QPOC) or V(QUEUED_TASK) (not the task-definition name the C(type) filter takes).
      type: str
      sample: QUARTZ
    uniqueName:
      description: Name of the task.
      type: str
      sample: Cloud Account Aggregation
    description:
      description: Description of the task.
      type: str
      sample: Aggregate accounts from Active Directory
    parentName:
      description: Name of the parent task, if any.
      type: str
    launcher:
      description: Service or identity that launched the task.
      type: str
      sample: sweep
    target:
      description: What the task works on; for a source, C(type) is V(APPLICATION) and C(id) is the source ID.
      type: dict
      contains:
        id:
          description: ID of the target.
          type: str
        type:
          description: V(APPLICATION), V(IDENTITY) or V(null).
          type: str
        name:
          description: Name of the target.
          type: str
    created:
      description: Creation date and time (ISO 8601).
      type: str
      sample: "2020-07-11T21:23:15.000Z"
    modified:
      description: Last modification date and time, or V(null).
      type: str
    launched:
      description: Launch date and time, or V(null) if not launched yet.
      type: str
    completed:
      description: Completion date and time, or V(null) while the task runs.
      type: str
    completionStatus:
      description:
        - V(SUCCESS), V(WARNING), V(ERROR), V(TERMINATED) or V(TEMPERROR), or V(null) while the task is in progress.
      type: str
      sample: SUCCESS
    messages:
      description: Messages of the task, each with C(type) (V(INFO), V(WARN), V(ERROR)), C(key), C(localizedText) and C(parameters).
      type: list
      elements: dict
    returns:
      description: Values the task returns, each with C(name) and C(attributeName).
      type: list
      elements: dict
    attributes:
      description: Free-form attributes of the task.
      type: dict
      sample: {"identityCount": 0}
    progress:
      description: Current progress text, or V(null).
      type: str
      sample: Started
    percentComplete:
      description: Percentage complete.
      type: int
      sample: 100
    taskDefinitionSummary:
      description: The task definition (C(id), C(uniqueName), C(description), C(parentName), C(executor), C(arguments)).
      type: dict
count:
  description:
    - With O(count_only=true), how many tasks match (the service's total).
    - Otherwise the number of tasks in RV(tasks).
  returned: always
  type: int
  sample: 3
msg:
  description: Why RV(tasks) is empty when O(id) was not found.
  returned: when O(id) is unknown
  type: str
  sample: No task with id 2c9180835d2e5168015d32f890ca1581; it is unknown, or older than 90 days (ISC returns no data for those).
"""

# Ansible requires the imports after DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient
from ansible_collections.sailpoint.isc.plugins.module_utils._durations import parse_duration, stalest_first
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError, IscError
from ansible_collections.sailpoint.isc.plugins.module_utils._filters import canonical_field, normalize_structured_filter
from ansible_collections.sailpoint.isc.plugins.module_utils._options import connection_argument_spec
from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import API_VERSIONS, ApiVersion

MODULE_OPTIONS: dict[str, dict[str, Any]] = {
    "id": {"type": "str"},
    "filters": {"type": "raw"},
    "sorters": {"type": "str", "choices": ["created", "-created"]},
    "offset": {"type": "int"},
    "limit": {"type": "int"},
    "pending": {"type": "bool", "default": False},
    "count_only": {"type": "bool", "default": False},
    "fields": {"type": "list", "elements": "str"},
    "older_than": {"type": "str"},
}

# Every field of ISC's TaskStatus schema (the same in every API version).
TASK_STATUS_FIELDS = (
    "id",
    "type",
    "uniqueName",
    "description",
    "parentName",
    "launcher",
    "target",
    "created",
    "modified",
    "launched",
    "completed",
    "completionStatus",
    "messages",
    "returns",
    "attributes",
    "progress",
    "percentComplete",
    "taskDefinitionSummary",
)

MUTUALLY_EXCLUSIVE: list[list[str]] = [
    *(["id", other] for other in ("filters", "pending", "count_only", "sorters", "offset", "limit")),
    ["pending", "sorters"],
    ["pending", "offset"],
    ["count_only", "sorters"],
    ["count_only", "offset"],
    ["count_only", "limit"],
    ["count_only", "fields"],
    ["id", "older_than"],
]


@dataclass(frozen=True)
class TaskQuery:
    """What the user asked for, validated against the API version before any request."""

    task_id: str | None = None
    filters: dict[str, Any] | str | None = None
    sorters: str | None = None
    offset: int = 0
    limit: int | None = None
    pending: bool = False
    count_only: bool = False
    fields: tuple[str, ...] | None = None
    older_than: timedelta | None = None


def argument_spec() -> dict[str, dict[str, Any]]:
    return {**connection_argument_spec(), **MODULE_OPTIONS}


def _validated_filters(filters: Any, version: ApiVersion, pending: bool) -> dict[str, Any] | str | None:
    if filters is None:
        return None
    if isinstance(filters, str) and filters.lstrip().startswith("{"):
        # ISC filter syntax never starts with "{": this is the structured form written as JSON (ad hoc key=value).
        try:
            filters = json.loads(filters)
        except ValueError as err:
            raise IscConfigError("filters", f"the structured form is not valid JSON: {err}.") from None
    if isinstance(filters, str):
        if not filters.strip():
            raise IscConfigError("filters", "the filter string is empty.", "Leave filters out to match every task.")
        if pending:
            raise IscConfigError("filters", "a raw filter string cannot be combined with pending.", "Give filters in the structured form (a dictionary).")
        return filters
    if not isinstance(filters, Mapping):
        raise IscConfigError(
            "filters",
            f"expected a dictionary (structured form) or a string (ISC filter syntax), got {type(filters).__name__}.",
        )
    if pending and any(canonical_field(str(name)) == "completionStatus" for name in filters):
        raise IscConfigError(
            "filters",
            "completionStatus cannot be combined with pending: pending already means tasks without a completion status.",
            "Remove completionStatus from filters, or set pending to false.",
        )
    return normalize_structured_filter(filters, version)


def _projection(fields: list[str] | None) -> tuple[str, ...] | None:
    if fields is None:
        return None
    unknown = [name for name in fields if name not in TASK_STATUS_FIELDS]
    if unknown or not fields:
        problem = f"not TaskStatus fields: {', '.join(unknown)}." if unknown else "the list is empty."
        raise IscConfigError("fields", problem, f"Use some of: {', '.join(TASK_STATUS_FIELDS)}.")
    return ("id", *(name for name in fields if name != "id"))


def build_query(params: Mapping[str, Any], version: ApiVersion) -> TaskQuery:
    """Check the module options against ``version``; raises IscConfigError before anything is sent."""
    task_id = params.get("id")
    if task_id is not None:
        if not str(task_id).strip():
            raise IscConfigError("id", "the task id is empty.", "Give a task id, or leave id out to list tasks.")
        return TaskQuery(task_id=str(task_id).strip(), fields=_projection(params.get("fields")))
    offset = params.get("offset")
    if offset is not None and offset < 0:
        raise IscConfigError("offset", f"{offset} is negative.", "Give 0 or more.")
    limit = params.get("limit")
    if limit is not None and limit < 1:
        raise IscConfigError("limit", f"{limit} is not a number of tasks to return.", "Give 1 or more, or leave limit out for every task.")
    pending = bool(params.get("pending"))
    fields = params.get("fields")
    older_than = params.get("older_than")
    if older_than is not None and not pending:
        raise IscConfigError("older_than", "it selects pending tasks only.", "Add pending: true, or leave older_than out.")
    return TaskQuery(
        older_than=parse_duration(older_than) if older_than is not None else None,
        filters=_validated_filters(params.get("filters"), version, pending),
        sorters=params.get("sorters"),
        offset=offset or 0,
        limit=limit,
        pending=pending,
        count_only=bool(params.get("count_only")),
        fields=_projection(fields),
    )


def _project(tasks: list[dict[str, Any]], fields: tuple[str, ...] | None) -> list[dict[str, Any]]:
    if not fields:
        return tasks
    return [{name: task[name] for name in fields if name in task} for task in tasks]


def run(query: TaskQuery, client: IscClient) -> dict[str, Any]:
    """Answer ``query`` with ``client``; returns the module result (``changed`` always false)."""
    if query.task_id is not None:
        task = client.get_task(query.task_id)
        if task is None:
            return {
                "changed": False,
                "tasks": [],
                "count": 0,
                "msg": f"No task with id {query.task_id}; it is unknown, or older than 90 days (ISC returns no data for those).",
            }
        return {"changed": False, "tasks": _project([task], query.fields), "count": 1}

    if query.pending and query.older_than is not None:
        # Staleness is not a server filter: list every pending task that matches, then keep the stale ones.
        tasks = stalest_first(client.iter_pending_tasks(query.filters), query.older_than, query.limit, datetime.now(UTC))
        if query.count_only:
            return {"changed": False, "count": len(tasks)}
    elif query.pending:
        if query.count_only:
            return {"changed": False, "count": client.count_pending_tasks(query.filters)}
        tasks = list(client.iter_pending_tasks(query.filters, limit=query.limit))
    else:
        if query.count_only:
            return {"changed": False, "count": client.count_tasks(query.filters)}
        tasks = list(client.iter_tasks(query.filters, sorters=query.sorters, offset=query.offset, limit=query.limit))
    return {"changed": False, "tasks": _project(tasks, query.fields), "count": len(tasks)}


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    try:
        query = build_query(module.params, API_VERSIONS[module.params["api_version"]])
        config = ClientConfig.from_options(module.params)
        client = IscClient(config, warn=module.warn)
        result = run(query, client)
    except IscError as err:
        module.fail_json(**err.to_fail_json())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
