# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pending_tasks
short_description: Pending SailPoint ISC tasks, optionally only those waiting longer than a given time
version_added: 1.0.0
author:
  - sailpoint.isc community contributors (@sailpoint-isc-community)
description:
  - Returns the ISC tasks that have not completed yet (no C(completionStatus)), as TaskStatus objects.
  - From API version V(v2025) on (and on the default V(v1)) the task list is filtered with C(completionStatus isnull),
    O(type) and O(source_id) on the server. On V(beta) and V(v2024), whose list has completed tasks only, their
    deprecated pending-tasks endpoint is read and O(type) and O(source_id) are matched locally. The result is the same.
  - Narrow the result by task definition (O(type)), by source (O(source_id)) and by age (O(older_than)).
  - Connection settings come from the E(SAIL_BASE_URL), E(SAIL_CLIENT_ID), E(SAIL_CLIENT_SECRET) (and
    other E(SAIL_*)) environment variables, or from C(sail_*) variables, or from keyword arguments, so
    a lookup with only O(older_than) works with nothing else set.
  - Lookups run on the controller and are not affected by C(module_defaults).
options:
  _terms:
    description:
      - Not used. The lookup takes only keyword options.
    type: list
    elements: str
    required: false
  type:
    description:
      - Only tasks of these task definitions, such as V(CLOUD_ACCOUNT_AGGREGATION) or V(IDENTITY_REFRESH).
      - Case does not matter. A comma-separated string is read as a list.
      - An empty list means every type.
    type: list
    elements: str
    default: []
  source_id:
    description:
      - Only tasks working on these sources (the task's C(target) of type C(APPLICATION)).
      - An empty list means every source.
    type: list
    elements: str
    default: []
  older_than:
    description:
      - Only tasks that have shown no progress for at least this long, counted from their last progress
        (C(modified), else C(launched), else C(created)). A long run that progressed a minute ago is not returned,
        however long ago it was launched. Times are compared as UTC instants, whatever form ISC writes them in.
      - A number followed by a unit, C(s) seconds, C(m) minutes, C(h) hours, C(d) days, C(w) weeks, such as
        V(30m), V(6h), V(2d), V(1w); units may be combined, as in V(1d12h).
      - Not set means every pending task, whatever its age.
    type: str
  limit:
    description:
      - Return at most this many tasks (the longest without progress first). Not set means all.
    type: int
extends_documentation_fragment:
  - sailpoint.isc.connection.PLUGINS
requirements:
  - requests
notes:
  - Tasks are returned longest without progress first (by C(modified), else C(launched), else C(created)).
  - Use the C(query) function, or C(lookup) with C(wantlist=true), to always get a list; C(lookup) alone turns a
    single task into a dict.
seealso:
  - module: sailpoint.isc.task_status_info
  - module: sailpoint.isc.task_status
"""

EXAMPLES = r"""
- name: Tasks pending for more than 12 hours (connection from the SAIL_* environment variables)
  ansible.builtin.debug:
    msg: "{{ lookup('sailpoint.isc.pending_tasks', older_than='12h', wantlist=true) | map(attribute='id') }}"

- name: Stuck account aggregations of one source, from a tenant given as variables
  ansible.builtin.set_fact:
    stuck_aggregations: >-
      {{ query('sailpoint.isc.pending_tasks',
               type='CLOUD_ACCOUNT_AGGREGATION',
               source_id='2c9180835d2e5168015d32f890ca1581',
               older_than='2d') }}
  vars:
    sail_tenant: acme
    sail_client_id: "{{ vault_isc_client_id }}"
    sail_client_secret: "{{ vault_isc_client_secret }}"

- name: Clear what the lookup found, in one module run
  sailpoint.isc.task_status:
    ids: "{{ query('sailpoint.isc.pending_tasks', older_than='1d', type=['IDENTITY_REFRESH', 'CLOUD_REFRESH_ROLE']) | map(attribute='id') }}"
    completion_status: ERROR
"""

RETURN = r"""
_raw:
  description:
    - The pending tasks, oldest first, as ISC's TaskStatus objects.
  type: list
  elements: dict
  contains:
    id:
      description: Task ID.
      type: str
      sample: 2c9180835d2e5168015d32f890ca1581
    type:
      description: Kind of task record (V(QUARTZ), V(QPOC) or V(QUEUED_TASK)); not the task definition.
      type: str
      sample: QUARTZ
    uniqueName:
      description: Name of the task.
      type: str
      sample: Cloud Account Aggregation
    taskDefinitionSummary:
      description: The task's definition; its C(uniqueName) is what O(type) matches.
      type: dict
    target:
      description: What the task works on; a source when its C(type) is C(APPLICATION).
      type: dict
    created:
      description: When the task was created (UTC).
      type: str
      sample: "2025-03-08T10:15:00.000Z"
    launched:
      description: When the task was launched (UTC); null while queued.
      type: str
      sample: "2025-03-08T10:15:02.000Z"
    completed:
      description: Always null for a pending task.
      type: str
    completionStatus:
      description: Always null for a pending task.
      type: str
    launcher:
      description: Who or what launched the task.
      type: str
"""

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient
from ansible_collections.sailpoint.isc.plugins.module_utils._durations import parse_duration, stalest_first
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError, IscError
from ansible_collections.sailpoint.isc.plugins.module_utils._options import CONNECTION_OPTION_NAMES, CONNECTION_OPTIONS, ConnectionOption, options_from_plugin
from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig, boolean_option
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import TASK_DEFINITION_TYPES

display = Display()


def task_types(values: list[str] | None) -> list[str]:
    """Validate the ``type`` option (case-insensitively) and return the names in ISC's spelling."""
    names = []
    for value in values or []:
        name = str(value).strip().upper()
        if name not in TASK_DEFINITION_TYPES:
            raise IscConfigError("type", f"'{value}' is not a supported task type.", f"Use one of: {', '.join(TASK_DEFINITION_TYPES)}.")
        names.append(name)
    return names


def source_ids(values: list[str] | None) -> list[str]:
    ids = [str(value).strip() for value in values or []]
    if any(not value for value in ids):
        raise IscConfigError("source_id", "a source ID is empty.", "Give non-empty source IDs, or leave the option out.")
    return ids


def pending_filters(types: list[str], sources: list[str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if types:
        filters["type"] = types
    if sources:
        filters["sourceId"] = sources
    return filters


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise IscConfigError("limit", f"must be 1 or more, got {limit}.", "Leave the option out to get every task.")


def select_tasks(tasks: list[Mapping[str, Any]], older_than: str | None, limit: int | None, now: datetime) -> list[dict[str, Any]]:
    """Keep the tasks waiting at least ``older_than``, oldest first, at most ``limit`` of them."""
    check_limit(limit)
    return stalest_first(tasks, parse_duration(older_than) if older_than else None, limit, now)


LOOKUP_OPTION_NAMES = ("type", "source_id", "older_than", "limit", *CONNECTION_OPTION_NAMES)
BOOLEAN_OPTIONS = ("validate_certs", "experimental_header")


def strict_booleans(direct: Mapping[str, Any], connection_variables: Mapping[str, Any]) -> None:
    for name in BOOLEAN_OPTIONS:
        for value in (direct.get(name), connection_variables.get(f"sail_{name}"), os.environ.get(f"SAIL_{name.upper()}") or None):
            if value is not None:
                boolean_option(name, value)


def empty_environment_options() -> list[ConnectionOption]:
    """Connection options whose SAIL_* variable is set but empty (a blank credential field): they count as unset."""
    return [option for option in CONNECTION_OPTIONS if option.env and os.environ.get(option.env) == ""]


class LookupModule(LookupBase):
    def _set_options_ignoring_empty_environment(self, direct: dict[str, Any], connection_variables: Mapping[str, Any]) -> None:
        empty = empty_environment_options()
        given = set(direct) | {name.removeprefix("sail_") for name in connection_variables}
        # Ansible's configuration would read the empty text and refuse it (choices, numbers): give it the default.
        defaults = {option.name: option.default for option in empty if option.name not in given and option.default is not None}
        self.set_options(var_options=connection_variables, direct={**defaults, **direct})
        for option in empty:
            if option.name not in given and option.default is None:
                self.set_option(option.name, None)

    def _connection_variables(self, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        """The ``sail_*`` variables, templated: lookups get play variables as written (``"{{ vault_secret }}"``)."""
        names = [f"sail_{name}" for name in CONNECTION_OPTION_NAMES]
        return {name: self._templar.template(variables[name]) for name in names if variables and name in variables}

    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        try:
            return self._pending_tasks(terms, variables, kwargs)
        except IscError as err:
            raise AnsibleLookupError(str(err)) from err

    def _pending_tasks(self, terms: list[Any], variables: dict[str, Any] | None, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        unknown = sorted(set(kwargs) - set(LOOKUP_OPTION_NAMES))
        if unknown:
            raise IscConfigError(unknown[0], "sailpoint.isc.pending_tasks has no such option.", f"Its options are {', '.join(LOOKUP_OPTION_NAMES)}.")
        if terms:
            raise IscConfigError("terms", "sailpoint.isc.pending_tasks takes no terms.", "Use the keyword options type, source_id, older_than and limit.")
        connection_variables = self._connection_variables(variables)
        # Ansible's option parsing reads any unknown word as false; a mistyped validate_certs must not turn TLS checks off.
        strict_booleans(kwargs, connection_variables)
        self._set_options_ignoring_empty_environment(kwargs, connection_variables)
        older_than = self.get_option("older_than")
        limit = self.get_option("limit")
        if older_than is not None and not str(older_than).strip():
            raise IscConfigError("older_than", "it is empty.", "Give a duration such as 6h, or leave the option out for every pending task.")
        if older_than:
            # Refuse a bad duration before any request is sent.
            parse_duration(older_than)
        check_limit(limit)
        filters = pending_filters(task_types(self.get_option("type")), source_ids(self.get_option("source_id")))
        config = ClientConfig.from_options(options_from_plugin(self))
        client = IscClient(config, warn=display.warning)
        pending = list(client.iter_pending_tasks(filters=filters or None))
        return select_tasks(pending, older_than, limit, datetime.now(UTC))
