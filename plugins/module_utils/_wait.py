# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Waiting for tasks to finish (``task_status`` with ``wait``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._apply import Outcome, read_task
from ._desired_state import is_finished
from ._errors import IscConnectionError, IscError, IscRateLimitError, IscResponseError, IscServerError, IscTaskError, IscWaitTimeoutError
from ._summary import describe_task

FAILURE_STATUSES = ("ERROR", "TERMINATED")
# A poll that fails with these (after the client's retries) is tried again at the next interval.
TRANSIENT_POLL_ERRORS = (IscConnectionError, IscServerError, IscRateLimitError, IscResponseError)


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
    started = clock()
    last_seen: dict[str, dict[str, Any] | None] = {}
    outcomes: dict[str, Outcome] = {}
    warned: set[str] = set()
    while True:
        for task_id in [task_id for task_id in ordered if task_id not in outcomes]:
            try:
                task = read_task(client, task_id)
            except TRANSIENT_POLL_ERRORS as err:
                if err.message not in warned:
                    warned.add(err.message)
                    label = describe_task(task_id, last_seen.get(task_id))
                    warn(f"Reading {label} failed ({err.message.rstrip('.')}); trying again every {interval:g}s until wait_timeout.")
                continue
            except IscError as err:
                outcomes[task_id] = Outcome.failure(task_id, err, last_seen.get(task_id))
                continue
            last_seen[task_id] = task
            if is_finished(task):
                outcomes[task_id] = _finished_outcome(task_id, task, fail_on_error, clock() - started)
        remaining = started + timeout - clock()
        if len(outcomes) == len(ordered) or remaining <= 0:
            break
        sleep(min(interval, remaining))
    for task_id in (task_id for task_id in ordered if task_id not in outcomes):
        task = last_seen.get(task_id)
        error = IscWaitTimeoutError(
            f"{describe_task(task_id, task)} had not finished after {timeout:g} seconds "
            f"(last seen: progress {(task or {}).get('progress')!r}, {(task or {}).get('percentComplete')}% complete).",
            task=task,
            hint="Raise wait_timeout, or clear the task if it is stuck.",
        )
        outcomes[task_id] = Outcome.failure(task_id, error, task)
    return [outcomes[task_id] for task_id in ordered]


def _finished_outcome(task_id: str, task: dict[str, Any], fail_on_error: bool, elapsed: float) -> Outcome:
    status = str(task.get("completionStatus"))
    label = describe_task(task_id, task)
    if fail_on_error and status.upper() in FAILURE_STATUSES:
        error = IscTaskError(f"{label} finished with {status}.", task=task, hint="Set fail_on_error=false to treat ERROR and TERMINATED as a normal end.")
        return Outcome.failure(task_id, error, task)
    return Outcome(task_id, msg=f"{label} finished with {status} after waiting {elapsed:.0f} seconds.", task=task)
