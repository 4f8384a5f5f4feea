# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Sending plans (client mocked): guarded PATCH, refusals, lost answers, many tasks, read-back."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._apply import GuardPolicy, apply_plan, set_many_task_states, set_task_state
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import (
    IscBadRequestError,
    IscConnectionError,
    IscError,
    IscForbiddenError,
    IscPatchOutcomeUnknownError,
    IscServerError,
    IscTaskError,
    IscUnconfirmedPatchError,
)
from ansible_collections.sailpoint.isc.plugins.module_utils._plan import plan_change
from ansible_collections.sailpoint.isc.tests.unit.fakes import mock_client
from ansible_collections.sailpoint.isc.tests.unit.task_state_fakes import NOW, NOW_TEXT, desired, make_task, no_null_values, patched

# --- applying ------------------------------------------------------------------------------------------------


def test_check_mode_predicts_and_sends_nothing():
    client = mock_client()
    task = make_task()
    outcome = apply_plan(client, plan_change(task, desired(), NOW), desired(), check_mode=True, now=NOW)

    assert outcome.changed and outcome.task["completionStatus"] == "ERROR"
    assert outcome.diff["after"] == {"completionStatus": "ERROR", "completed": NOW_TEXT}
    client.patch_task.assert_not_called()


def test_patch_is_guarded_and_result_read_back():
    client = mock_client()
    task = make_task()
    client.get_task.return_value = task
    client.patch_task.side_effect = lambda task_id, operations: patched(task, operations)

    outcome = set_task_state(client, "t1", desired(description="Stuck"), check_mode=False, now=NOW)

    sent = client.patch_task.call_args.args[1]
    assert sent[0] == {"op": "test", "path": "/percentComplete", "value": 10}
    assert no_null_values(sent)
    assert outcome.changed and outcome.task["description"] == "Stuck"
    assert set(outcome.diff["after"]) == {"completionStatus", "completed", "description"}


def test_idempotent_run_sends_no_patch():
    client = mock_client()
    client.get_task.return_value = make_task(status="ERROR", completed=NOW_TEXT, description="Stuck")

    outcome = set_task_state(client, "t1", desired(completion_status="Error", description="Stuck"), check_mode=False, now=NOW)

    assert not outcome.changed and "already in the desired state" in outcome.msg
    client.patch_task.assert_not_called()


def test_unknown_task_is_a_not_found_error_with_the_90_day_hint():
    client = mock_client("v2025")
    client.get_task.return_value = None
    with pytest.raises(IscError) as caught:
        set_task_state(client, "gone", desired(), check_mode=False, now=NOW)
    assert caught.value.details["status"] == 404
    assert "90 days" in str(caught.value)
    assert "/v2025/task-status/gone" in str(caught.value)


def test_read_back_that_differs_is_changed_and_failed_naming_the_value_sent():
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.return_value = make_task(status="SUCCESS", completed=NOW_TEXT)

    outcome = set_task_state(client, "t1", desired(completion_status="terminated"), check_mode=False, now=NOW)

    # ISC accepted the PATCH, so the task did change, whatever it answered.
    assert outcome.changed and outcome.failed
    assert isinstance(outcome.error, IscTaskError)
    assert "'SUCCESS' (sent 'TERMINATED')" in outcome.msg
    assert outcome.task["completionStatus"] == "SUCCESS"
    assert outcome.diff["after"]["completionStatus"] == "SUCCESS"


def bad_request() -> IscBadRequestError:
    return IscBadRequestError(method="PATCH", path="/beta/task-status/{id}", status=400, tracking_id="abc123", error_text="test failed")


def test_task_that_finished_meanwhile_is_left_alone():
    client = mock_client()
    finished = make_task(status="SUCCESS", completed=NOW_TEXT)
    client.get_task.side_effect = [make_task(), finished]
    client.patch_task.side_effect = bad_request()

    outcome = set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    assert not outcome.changed and not outcome.failed and outcome.left_alone
    assert "finished by itself with SUCCESS" in outcome.msg
    assert outcome.task == finished
    assert client.patch_task.call_count == 1


def test_task_that_finished_meanwhile_is_overwritten_with_force_guarded_by_its_new_state():
    client = mock_client()
    finished = make_task(status="SUCCESS", completed=NOW_TEXT)
    client.get_task.side_effect = [make_task(), finished]
    client.patch_task.side_effect = [bad_request(), patched(finished, [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}])]

    outcome = set_task_state(client, "t1", desired(completion_status="ERROR", force=True), check_mode=False, now=NOW)

    assert outcome.changed and outcome.task["completionStatus"] == "ERROR"
    retry = client.patch_task.call_args_list[1].args[1]
    assert retry[0] == {"op": "test", "path": "/completionStatus", "value": "SUCCESS"}
    assert retry[-1] == {"op": "replace", "path": "/completionStatus", "value": "ERROR"}


def test_refused_value_fails_naming_what_was_sent_and_keeps_the_api_error():
    client = mock_client()
    client.get_task.side_effect = [make_task(), make_task()]
    client.patch_task.side_effect = bad_request()
    warnings: list[str] = []
    guard = GuardPolicy("auto", warnings.append)

    with pytest.raises(IscBadRequestError) as caught:
        set_task_state(client, "t1", desired(completion_status="temperror"), check_mode=False, now=NOW, guard=guard)
    assert "completionStatus='TEMPERROR'" in str(caught.value)
    assert "HTTP 400" in str(caught.value) and "test failed" in str(caught.value)
    assert "filters" not in str(caught.value) and "values sent" in str(caught.value)
    assert (caught.value.status, caught.value.tracking_id) == (400, "abc123")
    assert caught.value.to_fail_json()["tracking_id"] == "abc123"
    # Refused with and without guards: the values are what ISC refuses, so the guards stay on and nothing is warned.
    assert caught.value.details["sent"] == [
        {"op": "replace", "path": "/completionStatus", "value": "TEMPERROR"},
        {"op": "replace", "path": "/completed", "value": NOW_TEXT},
    ]
    assert client.patch_task.call_count == 2
    assert guard.active and warnings == []


def test_auto_guard_sends_the_change_once_more_unguarded_when_the_task_did_not_move():
    client = mock_client("v2025")
    tasks = {task_id: make_task(task_id) for task_id in ("t1", "t2", "t3")}
    client.iter_tasks.return_value = iter(tasks.values())
    client.get_task.side_effect = lambda task_id: tasks[task_id]

    def tenant_refusing_tests(task_id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        if any(operation["op"] == "test" for operation in operations):
            raise bad_request()
        return patched(tasks[task_id], operations)

    client.patch_task.side_effect = tenant_refusing_tests
    warnings: list[str] = []

    outcomes = set_many_task_states(client, list(tasks), desired(), check_mode=False, now=NOW, guard=GuardPolicy("auto", warnings.append))

    assert [outcome.changed for outcome in outcomes] == [True, True, True]
    sent = [(call.args[0], any(op["op"] == "test" for op in call.args[1])) for call in client.patch_task.call_args_list]
    # t1: guarded, refused, then unguarded; t2 and t3: unguarded from the start (the rest of the run).
    assert sent == [("t1", True), ("t1", False), ("t2", False), ("t3", False)]
    assert len(warnings) == 1 and "guard" in warnings[0] and "t1" in warnings[0]


def test_always_guard_never_sends_an_unguarded_patch_and_names_the_option():
    client = mock_client()
    client.get_task.side_effect = [make_task(), make_task()]
    client.patch_task.side_effect = bad_request()

    with pytest.raises(IscBadRequestError) as caught:
        set_task_state(client, "t1", desired(), check_mode=False, now=NOW, guard=GuardPolicy("always"))
    assert "guard" in caught.value.hint and "not changed since it was read" in caught.value.hint
    assert client.patch_task.call_count == 1


def test_never_guard_sends_no_test_operation():
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.side_effect = lambda task_id, operations: patched(make_task(), operations)

    outcome = set_task_state(client, "t1", desired(), check_mode=False, now=NOW, guard=GuardPolicy("never"))

    assert outcome.changed
    (operations,) = (call.args[1] for call in client.patch_task.call_args_list)
    assert [operation["op"] for operation in operations] == ["replace", "replace"]


def test_unguarded_patch_refused_by_a_task_that_did_not_move_fails_as_refused_values():
    client = mock_client()
    client.get_task.side_effect = [make_task(), make_task()]
    client.patch_task.side_effect = bad_request()

    with pytest.raises(IscBadRequestError) as caught:
        set_task_state(client, "t1", desired(), check_mode=False, now=NOW, guard=GuardPolicy("never"))
    assert "values sent" in str(caught.value)
    assert client.patch_task.call_count == 1


def test_refused_patch_keeps_status_and_tracking_id_in_the_results_of_many():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("t1")])
    client.get_task.return_value = make_task("t1")
    client.patch_task.side_effect = bad_request()

    (outcome,) = set_many_task_states(client, ["t1"], desired(), check_mode=False, now=NOW)

    result = outcome.as_result()
    assert result["failed"] and (result["status"], result["tracking_id"]) == (400, "abc123")
    assert "sent completionStatus='ERROR'" in result["msg"]


def test_task_that_progressed_meanwhile_is_planned_again_and_sent_once_more():
    client = mock_client()
    progressed = make_task(progress="Aggregating", percentComplete=40, modified="2024-05-17T19:00:00.000Z")
    client.get_task.side_effect = [make_task(), progressed]
    # ISC's answer to the second PATCH: the progressed task, cleared.
    client.patch_task.side_effect = [bad_request(), {**progressed, "completionStatus": "ERROR", "completed": NOW_TEXT}]

    outcome = set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    assert outcome.changed and not outcome.failed and not outcome.left_alone
    assert outcome.task["completionStatus"] == "ERROR"
    first, second = (call.args[1][0] for call in client.patch_task.call_args_list)
    assert first == {"op": "test", "path": "/percentComplete", "value": 10}
    assert second == {"op": "test", "path": "/percentComplete", "value": 40}


def test_refusal_after_the_second_plan_is_reported_as_refused_when_nothing_moved_since():
    client = mock_client()
    progressed = make_task(modified="2024-05-17T19:00:00.000Z", percentComplete=40)
    client.get_task.side_effect = [make_task(), progressed, progressed]
    client.patch_task.side_effect = [bad_request(), bad_request()]

    with pytest.raises(IscBadRequestError) as caught:
        set_task_state(client, "t1", desired(), check_mode=False, now=NOW)
    # No third PATCH: a task gets two at most.
    assert caught.value.details["sent"][0] == {"op": "test", "path": "/percentComplete", "value": 40}
    assert client.patch_task.call_count == 2


def test_task_that_keeps_moving_fails_after_one_more_try_and_changes_nothing():
    client = mock_client()
    client.get_task.side_effect = [make_task(modified=f"2024-05-17T18:0{minute}:00.000Z") for minute in range(3)]
    client.patch_task.side_effect = [bad_request(), bad_request()]

    with pytest.raises(IscTaskError) as caught:
        set_task_state(client, "t1", desired(), check_mode=False, now=NOW)
    assert "changed again" in str(caught.value) and "nothing was changed" in str(caught.value)
    assert caught.value.task["modified"] == "2024-05-17T18:02:00.000Z"
    assert client.patch_task.call_count == 2


def test_raw_patch_whose_test_fails_in_isc_is_left_alone_after_the_read_again():
    client = mock_client()
    raw = [{"op": "test", "path": "/progress", "value": "Started"}, {"op": "replace", "path": "/description", "value": "Cleared"}]
    moved_on = make_task(progress="Restarted", modified="2024-05-17T19:00:00.000Z")
    client.get_task.side_effect = [make_task(), moved_on]
    client.patch_task.side_effect = bad_request()

    outcome = set_task_state(client, "t1", desired(patch=raw), check_mode=False, now=NOW)

    assert outcome.left_alone and not outcome.changed and not outcome.failed
    assert "test operation in patch does not hold" in outcome.msg
    assert {"op": "test", "path": "/progress", "value": "Started"} in client.patch_task.call_args.args[1]
    assert client.patch_task.call_count == 1


# --- a PATCH whose answer is lost ------------------------------------------------------------------------------


def timed_out() -> IscConnectionError:
    return IscConnectionError("ISC API PATCH /beta/task-status/{id} got no answer within 0.5s after 1 attempt: read timed out.", hint="Raise timeout.")


def gateway_timeout() -> IscServerError:
    return IscServerError(method="PATCH", path="/beta/task-status/{id}", status=504, tracking_id="gw504")


def tenant_behind(client: Any, task: dict[str, Any], *, applies: bool, error: IscError) -> None:
    """The mocked client as a tenant whose PATCH answers are lost, after applying the patch when ``applies``."""
    state = {"task": task}

    def patch(task_id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        if applies:
            state["task"] = patched(state["task"], operations)
        raise error

    client.get_task.side_effect = lambda task_id: dict(state["task"])
    client.patch_task.side_effect = patch


@pytest.mark.parametrize("lost", [timed_out, gateway_timeout], ids=["timeout", "504"])
def test_lost_answer_of_an_applied_patch_is_a_change(lost):
    client = mock_client()
    tenant_behind(client, make_task(), applies=True, error=lost())

    outcome = set_task_state(client, "t1", desired(description="Stuck"), check_mode=False, now=NOW)

    assert outcome.changed and not outcome.failed
    assert "answer to the PATCH was lost" in outcome.msg and "shows the change" in outcome.msg
    assert outcome.task["completionStatus"] == "ERROR" and outcome.task["description"] == "Stuck"
    assert set(outcome.diff["after"]) == {"completionStatus", "completed", "description"}
    assert client.patch_task.call_count == 1
    assert client.get_task.call_count == 2


@pytest.mark.parametrize("lost", [timed_out, gateway_timeout], ids=["timeout", "504"])
def test_lost_answer_of_a_patch_not_applied_fails_saying_a_rerun_is_safe(lost):
    client = mock_client()
    error = lost()
    tenant_behind(client, make_task(), applies=False, error=error)

    with pytest.raises(IscUnconfirmedPatchError) as caught:
        set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    message = str(caught.value)
    assert error.message in message and "did not show the change" in message and "Running again is safe" in message
    assert caught.value.details.get("status") == error.details.get("status")
    assert caught.value.details.get("tracking_id") == error.details.get("tracking_id")
    assert caught.value.to_fail_json()["task"]["completionStatus"] is None
    assert client.patch_task.call_count == 1


def test_lost_answer_and_a_failed_read_again_say_the_outcome_is_unknown():
    client = mock_client()
    client.get_task.side_effect = [make_task(), IscConnectionError("Could not complete ISC API GET /beta/task-status/{id} after 6 attempts.")]
    client.patch_task.side_effect = gateway_timeout()

    with pytest.raises(IscPatchOutcomeUnknownError) as caught:
        set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    assert "may or may not have been applied" in str(caught.value) and "Running again is safe" in str(caught.value)
    assert "after 6 attempts" in str(caught.value)
    assert caught.value.details["tracking_id"] == "gw504"


def test_lost_answer_fails_that_task_only_and_the_run_goes_on():
    client = mock_client("v2025")
    tasks = {task_id: make_task(task_id) for task_id in ("t0", "t1", "t2")}
    client.iter_tasks.return_value = iter(tasks.values())
    client.get_task.side_effect = lambda task_id: tasks[task_id]

    def patch(task_id, operations):
        if task_id == "t0":
            raise timed_out()
        return patched(tasks[task_id], operations)

    client.patch_task.side_effect = patch

    outcomes = set_many_task_states(client, ["t0", "t1", "t2"], desired(), check_mode=False, now=NOW)

    assert [(o.changed, o.failed) for o in outcomes] == [(False, True), (True, False), (True, False)]
    assert "did not show the change" in outcomes[0].msg
    assert "status" not in outcomes[0].as_result() and "tracking_id" not in outcomes[0].as_result()
    assert client.patch_task.call_count == 3


def test_lost_answer_with_a_failed_read_again_stops_the_run():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("t0"), make_task("t1")])
    client.get_task.side_effect = IscConnectionError("Could not complete ISC API GET /v2025/task-status/{id} after 6 attempts.")
    client.patch_task.side_effect = timed_out()

    outcomes = set_many_task_states(client, ["t0", "t1"], desired(), check_mode=False, now=NOW)

    assert all(o.failed for o in outcomes)
    assert "may or may not have been applied" in outcomes[0].msg
    assert outcomes[1].msg.startswith("Not attempted after an earlier error")
    assert client.patch_task.call_count == 1


def test_read_back_mismatch_in_many_is_changed_and_failed():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("t0")])
    client.patch_task.return_value = make_task("t0", status="SUCCESS", completed=NOW_TEXT)

    (outcome,) = set_many_task_states(client, ["t0"], desired(completion_status="ERROR"), check_mode=False, now=NOW)

    result = outcome.as_result()
    assert (result["changed"], result["failed"]) == (True, True)
    assert "(sent 'ERROR')" in result["msg"]


# --- many tasks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["beta", "v2024"])
def test_many_reads_pending_endpoint_where_the_list_has_completed_tasks_only(version):
    client = mock_client(version)
    pending = [make_task(f"p{index}") for index in range(3)]
    done = make_task("d1", status="SUCCESS", completed=NOW_TEXT)
    client.iter_pending_tasks.return_value = iter([*pending, make_task("other")])
    client.iter_tasks.return_value = iter([done])
    client.patch_task.side_effect = lambda task_id, operations: patched(next(t for t in pending if t["id"] == task_id), operations)

    outcomes = set_many_task_states(client, ["p0", "p1", "p2", "d1"], desired(), check_mode=False, now=NOW)

    client.iter_pending_tasks.assert_called_once_with()
    client.iter_tasks.assert_called_once_with(filters={"id": ["d1"]})
    client.get_task.assert_not_called()
    assert [o.changed for o in outcomes] == [True, True, True, False]
    assert client.patch_task.call_count == 3
    assert "other" not in [o.id for o in outcomes]


def test_many_reads_the_list_in_chunks_and_gets_only_what_it_misses():
    client = mock_client("v2025")
    ids = [f"t{index}" for index in range(120)]
    tasks = {task_id: make_task(task_id, status="ERROR", completed=NOW_TEXT) for task_id in ids[:-1]}
    client.iter_tasks.side_effect = lambda filters: iter([tasks[task_id] for task_id in filters["id"] if task_id in tasks])
    client.get_task.return_value = None

    outcomes = set_many_task_states(client, ids, desired(completion_status="error"), check_mode=False, now=NOW)

    assert [len(call.kwargs["filters"]["id"]) for call in client.iter_tasks.call_args_list] == [50, 50, 20]
    client.iter_pending_tasks.assert_not_called()
    client.get_task.assert_called_once_with("t119")
    assert [o.failed for o in outcomes] == [False] * 119 + [True]
    assert outcomes[-1].as_result()["status"] == 404
    # Returned only when there is one, as RETURN says: the emulator's and ISC's bodiless 404 has none.
    assert "tracking_id" not in outcomes[-1].as_result()
    client.patch_task.assert_not_called()


def test_one_failure_does_not_hide_the_others():
    client = mock_client("v2026")
    tasks = [make_task(f"t{index}") for index in range(3)]
    client.iter_tasks.return_value = iter(tasks)
    client.get_task.side_effect = lambda task_id: next(task for task in tasks if task["id"] == task_id)
    server_error = IscServerError(method="PATCH", path="/v2026/task-status/{id}", status=500, tracking_id="trk")

    def patch(task_id, operations):
        if task_id != "t0":
            raise server_error
        return patched(tasks[0], operations)

    client.patch_task.side_effect = patch

    outcomes = set_many_task_states(client, ["t0", "t1", "t2"], desired(completion_status="ERROR", completed=NOW_TEXT), check_mode=False, now=NOW)

    assert [(o.changed, o.failed) for o in outcomes] == [(True, False), (False, True), (False, True)]
    assert outcomes[1].as_result()["tracking_id"] == "trk" and outcomes[1].as_result()["status"] == 500
    assert "did not show the change" in outcomes[1].msg
    assert client.patch_task.call_count == 3


def test_a_403_stops_the_run_instead_of_repeating_for_every_task():
    client = mock_client("v1")
    client.iter_tasks.return_value = iter([make_task(f"t{index}") for index in range(3)])
    client.patch_task.side_effect = IscForbiddenError(method="PATCH", path="/task-status/v1/{id}", status=403, tracking_id="trk")

    outcomes = set_many_task_states(client, ["t0", "t1", "t2"], desired(), check_mode=False, now=NOW)

    assert client.patch_task.call_count == 1
    assert all(o.failed for o in outcomes)
    assert "personal access token" in outcomes[0].msg
    assert outcomes[1].msg.startswith("Not attempted after an earlier error")


def test_many_in_check_mode_sends_no_patch():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("t0"), make_task("t1")])

    outcomes = set_many_task_states(client, ["t0", "t1", "t0"], desired(), check_mode=True, now=NOW)

    assert [o.id for o in outcomes] == ["t0", "t1"]
    assert all(o.changed and o.diff for o in outcomes)
    client.patch_task.assert_not_called()


@pytest.mark.parametrize(
    "served",
    [
        "2024-05-17 19:33:16.470000+00:00",  # the v2024+ spec examples' form
        "2024-05-17T21:33:16.470+02:00",  # another offset
        "2024-05-17T19:33:16Z",  # fraction dropped
        "2024-05-17T19:33:16.470123Z",  # more precision than sent
    ],
)
def test_read_back_accepts_a_completed_time_the_tenant_wrote_otherwise(served):
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.side_effect = lambda task_id, operations: {**patched(make_task(), operations), "completed": served}

    outcome = set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    assert outcome.changed and not outcome.failed, outcome.msg


def test_read_back_refuses_a_completed_time_a_second_off():
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.side_effect = lambda task_id, operations: {**patched(make_task(), operations), "completed": "2024-05-17T19:33:17.470Z"}

    outcome = set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    assert outcome.changed and outcome.failed
