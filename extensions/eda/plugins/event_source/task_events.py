# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: task_events
short_description: Events when SailPoint ISC tasks finish or get stuck
version_added: 1.1.0
author:
  - sailpoint.isc community contributors (@sailpoint-isc-community)
description:
  - An ansible-rulebook event source that polls the task status of one SailPoint Identity Security Cloud tenant
    every O(interval) seconds and sends one event per change it sees.
  - A V(finished) event when a task has finished (it has a C(completionStatus)), a V(stuck) event when a task is
    still pending and has not progressed for O(stuck_after), measured from its C(modified) time, else C(launched),
    else C(created).
  - 'Each event is C({"sailpoint_isc": {"kind": "finished" | "stuck", "task": <the task as ISC served it>}}).'
  - No task is reported twice for the same kind in one run. Tasks that had finished before the source started are
    not reported, unless O(since) asks for them; tasks already stuck when it starts are.
  - Uses the collection's client, as the modules do, with the same connection options and E(SAIL_*) environment
    variables; one token is reused and renewed, requests are paced under ISC's rate limit, and O(types) and
    O(statuses) are sent to ISC as filters. Pending tasks come from the task list filtered with
    C(completionStatus isnull) where the API version has that filter, else from the pending-tasks endpoint.
  - Keeps running through network errors, rate limiting and server errors (logs a warning and tries again at the
    next poll); stops with an error when the credentials are refused (HTTP 401 or 403), ISC rejects the request as
    invalid (HTTP 400), or an option is wrong.
options:
  interval:
    description:
      - Seconds between two polls (1 or more). A poll costs one request per kind of event, more when tasks finish.
    type: int
    default: 60
  kinds:
    description:
      - Which events to send.
    type: list
    elements: str
    choices: [finished, stuck]
    default: [finished, stuck]
  types:
    description:
      - Only tasks of these task definitions, such as V(CLOUD_ACCOUNT_AGGREGATION) or V(IDENTITY_REFRESH).
      - An empty list means every type.
    type: list
    elements: str
    default: []
  statuses:
    description:
      - Only V(finished) events for tasks that ended with one of these completion statuses (any casing).
      - An empty list means every status.
    type: list
    elements: str
    choices: [SUCCESS, WARNING, ERROR, TERMINATED, TEMPERROR]
    default: []
  stuck_after:
    description:
      - A pending task is stuck when it has not progressed for this long.
      - A number and a unit, C(s), C(m), C(h), C(d) or C(w), such as V(30m), V(6h), V(2d), or combined, V(1d12h).
    type: str
    default: 6h
  since:
    description:
      - Also report the tasks that finished at or after this time before the source started, on its first poll
        (which then reads the whole task list, up to ISC's 90 days).
      - A date and time such as V(2025-03-08T10:00:00Z), or a duration before the start, such as V(2h).
      - Not set means only tasks that finish while the source runs.
    type: str
  base_url:
    description:
      - URL of the ISC tenant's API, for example V(https://acme.api.identitynow.com).
      - Plain V(http://) is accepted only for loopback addresses (a local emulator).
      - One of O(base_url) and O(tenant) is required. When both are set and one of them comes from the environment,
        the other one is used.
      - If not set, the value of the E(SAIL_BASE_URL) environment variable is used.
    type: str
  tenant:
    description:
      - Tenant name; the API URL becomes V(https://{tenant}.api.identitynow.com).
      - If not set, the value of the E(SAIL_TENANT) environment variable is used.
    type: str
  client_id:
    description:
      - OAuth client ID of a personal access token or API client.
      - If not set, the value of the E(SAIL_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - OAuth client secret belonging to O(client_id).
      - If not set, the value of the E(SAIL_CLIENT_SECRET) environment variable is used.
    type: str
  access_token:
    description:
      - An access token to use instead of O(client_id) and O(client_secret). It cannot be renewed when it expires.
      - When both this and O(client_secret) are set and one of them comes from the environment, the other one is
        used.
      - If not set, the value of the E(SAIL_ACCESS_TOKEN) environment variable is used.
    type: str
  api_version:
    description:
      - ISC API version to call. V(v1) (C(/task-status/v1)) is the per-service version SailPoint's current SDK calls
        and is not deprecated. V(beta), V(v2024), V(v2025) and V(v2026) are the legacy versions.
      - From V(v2025) on, the task list holds every task and pending tasks are listed with the C(completionStatus
        isnull) filter. On V(beta) and V(v2024) the list holds completed tasks only, so pending tasks come from
        their deprecated pending-tasks endpoint, which takes no filters (matched locally).
      - If not set, the value of the E(SAIL_API_VERSION) environment variable is used.
    type: str
    choices:
      - beta
      - v2024
      - v2025
      - v2026
      - v1
    default: v1
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate. Set to V(false) only for testing; a warning is shown.
      - If not set, the value of the E(SAIL_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file, or a directory prepared with C(openssl rehash), of CA certificates to trust instead of the system
        store.
      - It takes precedence over E(REQUESTS_CA_BUNDLE).
      - If not set, the value of the E(SAIL_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each response.
      - If not set, the value of the E(SAIL_TIMEOUT) environment variable is used.
    type: float
    default: 30.0
  retries:
    description:
      - How many times a request is retried after a 500, 502, 503 or 504, or a connection error. 5xx answers and
        read errors are retried only where repeating the request is safe (never a PATCH).
      - 429 answers are retried on every method, after the C(Retry-After) the service asks for (at least one second),
        for as long as O(max_retry_wait) allows and at most 100 times in a row, whatever this count.
      - 400, 403 and 404 are never retried. After a 401 a new token is requested once, when O(client_id) and O(client_secret)
        are given.
      - If not set, the value of the E(SAIL_RETRIES) environment variable is used.
    type: int
    default: 5
  max_retry_wait:
    description:
      - Upper bound, in seconds, on the total time spent waiting between retries of one request, jitter included.
        Pacing by O(rate_limit) is not counted.
      - If not set, the value of the E(SAIL_MAX_RETRY_WAIT) environment variable is used.
    type: float
    default: 120.0
  rate_limit:
    description:
      - Most requests, retries included, this process sends in any 10 seconds, so bulk work paces itself under ISC's
        limit of 100 requests per 10 seconds per client ID and API version. V(0) turns pacing off.
      - If not set, the value of the E(SAIL_RATE_LIMIT) environment variable is used.
    type: int
    default: 95
  experimental_header:
    description:
      - 'Send C(X-SailPoint-Experimental: true), which endpoints that were once experimental required and which
        the others ignore.'
      - If not set, the value of the E(SAIL_EXPERIMENTAL_HEADER) environment variable is used.
    type: bool
    default: true
requirements:
  - ansible-rulebook 1.x (Java 17 and E(JAVA_HOME))
  - ansible-core and the Python library requests where ansible-rulebook runs (in AAP, the decision environment)
notes:
  - Every process that uses the same client ID shares ISC's rate limit of 100 requests per 10 seconds.
  - Run one source per tenant; several sources in one rulebook are fine.
  - Times are compared as UTC instants, O(stuck_after) against the clock of the host that runs the source.
seealso:
  - module: sailpoint.isc.task_status
  - module: sailpoint.isc.task_status_info
"""

EXAMPLES = r"""
- name: Clear stuck tasks, show failed ones
  hosts: localhost
  sources:
    - sailpoint.isc.task_events:
        interval: 300
        stuck_after: 6h
  rules:
    - name: Clear a task that has been stuck for 6 hours
      condition: event.sailpoint_isc.kind == "stuck"
      action:
        run_module:
          name: sailpoint.isc.task_status
          module_args:
            id: "{{ event.sailpoint_isc.task.id }}"
            completion_status: ERROR
    - name: Show an aggregation that failed
      condition: event.sailpoint_isc.kind == "finished" and event.sailpoint_isc.task.completionStatus == "ERROR"
      action:
        debug:
          msg: "{{ event.sailpoint_isc.task.uniqueName }} failed"

- name: Only failed account aggregations, from a tenant named in the source
  hosts: localhost
  sources:
    - sailpoint.isc.task_events:
        tenant: acme
        client_id: "{{ isc_client_id }}"
        client_secret: "{{ isc_client_secret }}"
        api_version: v2025
        kinds: [finished]
        types: [CLOUD_ACCOUNT_AGGREGATION]
        statuses: [ERROR, TERMINATED]
  rules:
    - name: Tell the on-call team
      condition: true
      action:
        run_playbook:
          name: notify_on_call.yml
"""

import asyncio
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any


def _make_collection_importable() -> None:
    """ansible-rulebook runs this file by path: put the collections root it sits in on sys.path for module_utils."""
    here = os.path.abspath(__file__)  # not realpath: a symlinked collection is found through the link, as ansible-galaxy lists it
    parts = here.split(os.sep)
    if len(parts) > 8 and parts[-8] == "ansible_collections":
        root = os.sep.join(parts[:-8]) or os.sep
        if root not in sys.path:
            sys.path.insert(0, root)


_make_collection_importable()

from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import (
    IscAuthenticationError,
    IscBadRequestError,
    IscConfigError,
    IscError,
    IscForbiddenError,
    IscMissingLibraryError,
)
from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig
from ansible_collections.sailpoint.isc.plugins.plugin_utils._task_events import EventSettings, TaskWatcher

logger = logging.getLogger("sailpoint.isc.task_events")

# Errors that the next poll would meet again: the source ends with the error's message.
FATAL_ERRORS = (IscAuthenticationError, IscForbiddenError, IscBadRequestError, IscConfigError, IscMissingLibraryError)


def build_watcher(args: dict[str, Any]) -> TaskWatcher:
    """Check every option and build the client, before any request."""
    settings = EventSettings.from_args(args, datetime.now(UTC))
    config = ClientConfig.from_options(args)
    return TaskWatcher(IscClient(config, warn=logger.warning), settings)


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    """Poll, put the events on the queue, wait; until cancelled or a fatal error."""
    watcher = build_watcher(args)
    settings, config = watcher.settings, watcher.client.config
    logger.info("Watching %s (API %s) every %gs for %s tasks", config.base_url, config.api_version, settings.interval, " and ".join(sorted(settings.kinds)))
    try:
        while True:
            try:
                await asyncio.to_thread(watcher.poll)
            except FATAL_ERRORS as err:
                logger.error("sailpoint.isc.task_events stops: %s", err)
                raise
            except IscError as err:
                logger.warning("Polling %s failed, trying again in %gs: %s", config.base_url, settings.interval, err)
            for event in watcher.take_events():
                await queue.put(event)
            await asyncio.sleep(settings.interval)
    except asyncio.CancelledError:
        logger.info("Stopped watching %s", config.base_url)
        raise


if __name__ == "__main__":
    # Try it without ansible-rulebook, from an installed copy, with SAIL_BASE_URL, SAIL_CLIENT_ID and
    # SAIL_CLIENT_SECRET set:  python .../task_events.py  (Ctrl-C stops it)
    import contextlib
    import json

    class _PrintQueue(asyncio.Queue):
        async def put(self, item: Any) -> None:
            print(json.dumps(item, indent=2))

    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(_PrintQueue(), {"interval": 10, "stuck_after": "1h"}))
