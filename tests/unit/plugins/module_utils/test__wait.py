# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting for tasks to finish (client mocked, clock faked)."""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConnectionError, IscServerError, IscWaitTimeoutError
from ansible_collections.sailpoint.isc.plugins.module_utils._wait import wait_for_tasks
from ansible_collections.sailpoint.isc.tests.unit.fakes import mock_client
from ansible_collections.sailpoint.isc.tests.unit.task_state_fakes import NOW_TEXT, make_task

# --- waiting -------------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_polls_until_the_task_finishes():
    client = mock_client()
    clock = FakeClock()
    client.get_task.side_effect = [make_task(), make_task(), make_task(status="SUCCESS", completed=NOW_TEXT)]

    (outcome,) = wait_for_tasks(client, ["t1"], timeout=60, interval=10, fail_on_error=True, clock=clock, sleep=clock.sleep)

    assert not outcome.failed and outcome.task["completionStatus"] == "SUCCESS"
    assert clock.sleeps == [10, 10]


def test_wait_timeout_fails_with_the_last_state_seen():
    client = mock_client()
    clock = FakeClock()
    client.get_task.side_effect = lambda task_id: make_task(progress=f"at {clock.now:g}", percentComplete=int(clock.now))

    (outcome,) = wait_for_tasks(client, ["t1"], timeout=25, interval=10, fail_on_error=True, clock=clock, sleep=clock.sleep)

    assert outcome.failed and isinstance(outcome.error, IscWaitTimeoutError)
    assert clock.sleeps == [10, 10, 5]
    assert outcome.task["progress"] == "at 25"
    assert outcome.error.to_fail_json()["task"]["progress"] == "at 25"
    assert "had not finished after 25 seconds" in outcome.msg


@pytest.mark.parametrize(
    ("status", "fail_on_error", "failed"), [("ERROR", True, True), ("Terminated", True, True), ("ERROR", False, False), ("WARNING", True, False)]
)
def test_wait_fails_on_error_end_only_when_asked(status, fail_on_error, failed):
    client = mock_client()
    client.get_task.return_value = make_task(status=status, completed=NOW_TEXT)

    (outcome,) = wait_for_tasks(client, ["t1"], timeout=0, interval=1, fail_on_error=fail_on_error, sleep=pytest.fail)

    assert outcome.failed is failed
    assert outcome.task["completionStatus"] == status


def test_wait_for_many_reports_each_task():
    client = mock_client()
    clock = FakeClock()
    finished = make_task("a", status="SUCCESS", completed=NOW_TEXT)
    client.get_task.side_effect = lambda task_id: {"a": finished, "b": make_task("b"), "c": None}[task_id]

    outcomes = wait_for_tasks(client, ["a", "b", "c"], timeout=5, interval=2, fail_on_error=True, clock=clock, sleep=clock.sleep)

    assert [(o.id, o.failed) for o in outcomes] == [("a", False), ("b", True), ("c", True)]
    assert "90 days" in outcomes[2].msg
    assert [call.args[0] for call in client.get_task.call_args_list].count("a") == 1


def test_wait_goes_on_through_failed_polls_and_warns_once_per_cause():
    client = mock_client()
    clock = FakeClock()
    outage = IscServerError(method="GET", path="/task-status/v1/t1", status=500, attempts=6)
    client.get_task.side_effect = [make_task(), outage, outage, make_task(status="SUCCESS", completed=NOW_TEXT)]
    warnings: list[str] = []

    (outcome,) = wait_for_tasks(client, ["t1"], timeout=60, interval=10, fail_on_error=True, clock=clock, sleep=clock.sleep, warn=warnings.append)

    assert not outcome.failed and outcome.task["completionStatus"] == "SUCCESS"
    assert clock.sleeps == [10, 10, 10]
    assert len(warnings) == 1 and "HTTP 500" in warnings[0] and "wait_timeout" in warnings[0]


def test_wait_that_only_fails_to_poll_times_out():
    client = mock_client()
    clock = FakeClock()
    client.get_task.side_effect = IscConnectionError("Could not complete ISC API GET /task-status/v1/t1: connection refused.")

    (outcome,) = wait_for_tasks(client, ["t1"], timeout=25, interval=10, fail_on_error=True, clock=clock, sleep=clock.sleep)

    assert outcome.failed and isinstance(outcome.error, IscWaitTimeoutError)
    assert clock.sleeps == [10, 10, 5]
