# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Desired-state logic of task_status: planning, guarded PATCH, many tasks, waiting (client mocked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonpatch
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.sailpoint.isc.plugins.module_utils import _task_state as ts
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import (
    IscBadRequestError,
    IscConfigError,
    IscConnectionError,
    IscError,
    IscForbiddenError,
    IscMissingLibraryError,
    IscServerError,
    IscTaskError,
    IscWaitTimeoutError,
)
from ansible_collections.sailpoint.isc.tests.unit.fakes import mock_client

# The vendor's TaskStatus.completionStatus enum (every spec subset, components/schemas/TaskStatus), written out
# here rather than taken from the code under test.
COMPLETION_STATUSES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR")

NOW = datetime(2024, 5, 17, 19, 33, 16, 470000, tzinfo=UTC)
NOW_TEXT = "2024-05-17T19:33:16.470Z"


def make_task(task_id: str = "t1", status: str | None = None, completed: str | None = None, **fields: Any) -> dict[str, Any]:
    task = {
        "id": task_id,
        "type": "QUARTZ",
        "uniqueName": "Cloud Account Aggregation",
        "description": "Aggregate accounts",
        "launcher": "sweep",
        "created": "2024-05-17T18:00:00.000Z",
        "modified": "2024-05-17T18:00:00.000Z",
        "launched": "2024-05-17T18:00:00.000Z",
        "completed": completed,
        "completionStatus": status,
        "progress": "Started",
        "percentComplete": 10,
        "attributes": {"identityCount": 0},
        "messages": [],
        "returns": [],
    }
    task.update(fields)
    return task


def patched(task: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """What ISC answers to a PATCH: the patch applied (test operations must hold)."""
    return jsonpatch.apply_patch(task, operations, in_place=False)


def desired(**params: Any) -> ts.DesiredState:
    return ts.DesiredState.from_params(params)


# --- values --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given_status", ["error", "Error", "ERROR", " eRRor "])
def test_completion_status_accepts_any_casing_and_sends_upper_case(given_status):
    assert ts.normalize_completion_status(given_status) == "ERROR"


def test_unknown_completion_status_names_option_and_choices():
    with pytest.raises(IscConfigError) as caught:
        ts.normalize_completion_status("Completed")
    assert caught.value.option == "completion_status"
    assert "'Completed'" in str(caught.value)
    assert all(status in str(caught.value) for status in COMPLETION_STATUSES)


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("2024-05-17T19:33:16.470Z", NOW_TEXT),
        ("2024-05-17T21:33:16.470+02:00", NOW_TEXT),
        ("2024-05-17 19:33:16.470000+00:00", NOW_TEXT),
        ("2024-05-17T19:33:16.4701Z", NOW_TEXT),
        ("2024-05-17T19:33:16", "2024-05-17T19:33:16.000Z"),
        ("2024-05-17", "2024-05-17T00:00:00.000Z"),
    ],
)
def test_completed_is_sent_as_utc_with_milliseconds(given_text, expected):
    assert ts.normalize_timestamp(given_text) == expected


@pytest.mark.parametrize("bad", ["yesterday", "17/05/2024", "2024-13-01T00:00:00Z", ""])
def test_invalid_completed_is_refused(bad):
    with pytest.raises(IscConfigError) as caught:
        ts.normalize_timestamp(bad)
    assert caught.value.option == "completed"


def test_equivalence_ignores_status_case_and_timestamp_spelling_only():
    assert ts.values_equivalent("completionStatus", "Error", "ERROR")
    assert not ts.values_equivalent("completionStatus", "ERROR", "TEMPERROR")
    assert not ts.values_equivalent("completionStatus", None, "ERROR")
    assert ts.values_equivalent("completed", "2024-05-17T21:33:16.470+02:00", NOW_TEXT)
    assert not ts.values_equivalent("completed", "2024-05-17T21:33:16.470Z", NOW_TEXT)
    assert not ts.values_equivalent("completed", None, NOW_TEXT)
    # Only statuses ignore case: a description is text.
    assert not ts.values_equivalent("description", "Reason", "reason")


# --- planning ------------------------------------------------------------------------------------------------


def test_clearing_pending_task_defaults_to_error_and_now():
    plan = ts.plan_change(make_task(), desired(), NOW)

    assert plan.changes
    assert plan.operations == [
        {"op": "replace", "path": "/completionStatus", "value": "ERROR"},
        {"op": "replace", "path": "/completed", "value": NOW_TEXT},
    ]
    # Null status fields cannot be tested (ISC's JsonPatchOperation.value cannot be null): a pending task is guarded by
    # its percentComplete and progress, and by modified as served (what moves when another job finishes it).
    assert plan.operations_to_send(True) == [
        {"op": "test", "path": "/percentComplete", "value": 10},
        {"op": "test", "path": "/progress", "value": "Started"},
        {"op": "test", "path": "/modified", "value": "2024-05-17T18:00:00.000Z"},
        *plan.operations,
    ]
    assert plan.operations_to_send(False) == plan.operations
    assert plan.diff()["before"] == {"completionStatus": None, "completed": None}
    assert plan.diff()["after"] == {"completionStatus": "ERROR", "completed": NOW_TEXT}


def test_only_differing_fields_are_patched():
    task = make_task(description="Reason")
    plan = ts.plan_change(task, desired(completion_status="warning", description="Reason", progress="Cleared"), NOW)

    assert [op["path"] for op in plan.operations] == ["/completionStatus", "/completed", "/progress"]
    assert set(plan.diff()["after"]) == {"completionStatus", "completed", "progress"}


def test_finished_task_in_desired_state_needs_nothing():
    task = make_task(status="ERROR", completed=NOW_TEXT)
    plan = ts.plan_change(task, desired(completion_status="error", completed="2024-05-17T21:33:16.470+02:00"), NOW)

    assert not plan.changes
    assert plan.operations == []
    assert plan.left_alone is None


def test_finished_task_without_options_is_left_as_is():
    plan = ts.plan_change(make_task(status="SUCCESS", completed=NOW_TEXT), desired(), NOW + timedelta(days=1))
    assert plan.operations == [] and not plan.changes


def test_finished_task_that_differs_is_left_alone_without_force():
    task = make_task(status="SUCCESS", completed=NOW_TEXT)
    plan = ts.plan_change(task, desired(completion_status="ERROR"), NOW)

    assert not plan.changes
    assert plan.left_alone is not None and "force" in plan.left_alone and "SUCCESS" in plan.left_alone
    assert plan.after == task


def test_force_overwrites_a_finished_task_but_keeps_its_completed_time():
    task = make_task(status="SUCCESS", completed="2024-01-01T00:00:00.000Z")
    plan = ts.plan_change(task, desired(completion_status="ERROR", force=True), NOW)

    assert plan.changes
    assert plan.operations == [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
    assert plan.operations_to_send(True)[:3] == [
        {"op": "test", "path": "/completionStatus", "value": "SUCCESS"},
        {"op": "test", "path": "/percentComplete", "value": 10},
        {"op": "test", "path": "/progress", "value": "Started"},
    ]


def no_null_values(operations: list[dict[str, Any]]) -> bool:
    return all(operation.get("value") is not None for operation in operations)


@pytest.mark.parametrize(
    ("status", "completed", "expected_guards"),
    [
        (None, None, [("/percentComplete", 10), ("/progress", "Started"), ("/modified", "2024-05-17T18:00:00.000Z")]),
        ("SUCCESS", None, [("/completionStatus", "SUCCESS"), ("/percentComplete", 10), ("/progress", "Started")]),
        ("SUCCESS", NOW_TEXT, [("/completionStatus", "SUCCESS"), ("/percentComplete", 10), ("/progress", "Started")]),
    ],
)
def test_guards_never_send_a_null_value(status, completed, expected_guards):
    task = make_task(status=status, completed=completed)
    plan = ts.plan_change(task, desired(completion_status="ERROR", force=True, completed="2024-05-18T00:00:00Z"), NOW)

    assert [(guard["path"], guard["value"]) for guard in plan.guards()] == expected_guards
    assert no_null_values(plan.operations_to_send(True))
    assert patched(task, plan.operations_to_send(True)) == plan.after


def test_pending_task_without_testable_values_goes_unguarded_rather_than_tested_against_null():
    plan = ts.plan_change(make_task(percentComplete=None, progress=None, modified=None), desired(), NOW)

    assert plan.guards() == []
    assert plan.operations_to_send(True) == plan.operations
    assert no_null_values(plan.operations_to_send(True))


def test_a_finished_task_is_guarded_without_timestamps():
    plan = ts.plan_change(make_task(status="SUCCESS", completed=NOW_TEXT), desired(completion_status="ERROR", force=True), NOW)
    assert plan.guards()
    assert not [guard for guard in plan.guards() if guard["path"] in ("/created", "/modified", "/launched", "/completed")]


def test_a_pending_task_s_modified_guard_is_sent_exactly_as_served():
    served = "2024-05-17 18:00:00.000000+00:00"
    plan = ts.plan_change(make_task(modified=served), desired(), NOW)
    assert {"op": "test", "path": "/modified", "value": served} in plan.guards()


def test_queued_task_without_progress_text_is_guarded_by_its_percent_complete():
    plan = ts.plan_change(make_task(modified=None, launched=None, percentComplete=0, progress=None), desired(), NOW)  # queued

    assert plan.guards() == [{"op": "test", "path": "/percentComplete", "value": 0}]
    assert no_null_values(plan.operations_to_send(True))


def test_raw_patch_test_values_are_sent_as_written():
    written = "2024-05-17T18:00:00.000123Z"
    raw = [{"op": "test", "path": "/modified", "value": written}, {"op": "replace", "path": "/completed", "value": "2024-05-17T19:00:00+02:00"}]
    plan = ts.plan_change(make_task(modified=written), desired(patch=raw), NOW)

    assert plan.changes, plan.left_alone
    sent = plan.operations_to_send(True)
    assert {"op": "test", "path": "/modified", "value": written} in sent
    assert {"op": "replace", "path": "/completed", "value": "2024-05-17T17:00:00.000Z"} in sent


def test_raw_patch_test_operations_are_sent_ahead_of_the_changes():
    raw = [
        {"op": "replace", "path": "/description", "value": "Cleared"},
        {"op": "test", "path": "/progress", "value": "Started"},
    ]
    plan = ts.plan_change(make_task(), desired(patch=raw), NOW)

    assert plan.operations_to_send(True) == [
        {"op": "test", "path": "/percentComplete", "value": 10},
        {"op": "test", "path": "/progress", "value": "Started"},
        {"op": "test", "path": "/modified", "value": "2024-05-17T18:00:00.000Z"},
        {"op": "test", "path": "/progress", "value": "Started"},
        {"op": "replace", "path": "/description", "value": "Cleared"},
    ]
    # guard: never sends no test operation, the raw patch's own included (they were checked locally).
    assert plan.operations_to_send(False) == [{"op": "replace", "path": "/description", "value": "Cleared"}]


def test_raw_patch_is_applied_locally_and_only_its_difference_is_sent():
    task = make_task(status="ERROR", completed=NOW_TEXT, progress="Done")
    raw = [
        {"op": "replace", "path": "/completionStatus", "value": "Error"},
        {"op": "replace", "path": "/completed", "value": "2024-05-17 19:33:16.470000+00:00"},
        {"op": "replace", "path": "/progress", "value": "Cleared"},
    ]
    plan = ts.plan_change(task, desired(patch=raw, force=True), NOW)

    assert plan.operations == [{"op": "replace", "path": "/progress", "value": "Cleared"}]


def test_raw_patch_with_failing_test_leaves_task_alone():
    raw = [{"op": "test", "path": "/completionStatus", "value": "WARNING"}, {"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
    plan = ts.plan_change(make_task(status="SUCCESS", completed=NOW_TEXT), desired(patch=raw), NOW)

    assert not plan.changes
    assert "test operation" in plan.left_alone


def test_raw_patch_that_cannot_apply_is_a_config_error():
    with pytest.raises(IscConfigError) as caught:
        ts.plan_change(make_task(), desired(patch=[{"op": "remove", "path": "/nosuchfield"}]), NOW)
    assert caught.value.option == "patch"


def test_raw_move_becomes_whole_field_writes_because_isc_has_no_from():
    raw = [{"op": "move", "from": "/progress", "path": "/description"}]
    plan = ts.plan_change(make_task(progress="Why"), desired(patch=raw), NOW)

    assert {op["op"] for op in plan.operations} <= {"add", "remove", "replace"}
    assert patched(make_task(progress="Why"), plan.operations) == plan.after
    assert plan.after["description"] == "Why" and "progress" not in plan.after


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ([], "empty"),
        (["replace"], "not a dictionary"),
        ([{"op": "merge", "path": "/x"}], "op 'merge'"),
        ([{"op": "replace", "path": "completionStatus", "value": "x"}], "path"),
        ([{"op": "replace", "path": "/completionStatus"}], "no value"),
        ([{"op": "copy", "path": "/description"}], "from"),
    ],
)
def test_malformed_raw_patch_is_refused_before_any_request(raw, problem):
    with pytest.raises(IscConfigError) as caught:
        ts.validate_raw_patch(raw)
    assert problem in str(caught.value)


statuses = st.sampled_from([None, *COMPLETION_STATUSES, "Error", "success", "Terminated"])
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000)
)
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@given(
    current_status=statuses,
    current_completed=st.one_of(st.none(), instants),
    wanted_status=st.one_of(st.none(), st.sampled_from(COMPLETION_STATUSES).map(str.lower)),
    wanted_completed=st.one_of(st.none(), st.tuples(instants, offsets)),
    description=st.one_of(st.none(), st.text(max_size=20)),
    force=st.booleans(),
)
def test_applying_a_plan_reaches_a_state_that_needs_no_further_change(current_status, current_completed, wanted_status, wanted_completed, description, force):
    completed_text = ts.format_instant(current_completed) if current_completed else None
    task = make_task(status=current_status, completed=completed_text if current_status else None)
    wanted = desired(
        completion_status=wanted_status,
        completed=wanted_completed[0].astimezone(wanted_completed[1]).isoformat() if wanted_completed else None,
        description=description,
        force=force,
    )

    plan = ts.plan_change(task, wanted, NOW)
    if current_status is not None and not force:
        assert not plan.changes
    if current_status is None:
        assert plan.changes
    if plan.changes:
        assert no_null_values(plan.operations_to_send(True))
        after = patched(task, plan.operations_to_send(True))
        assert after == plan.after
        second = ts.plan_change(after, wanted, NOW + timedelta(hours=1))
        assert second.operations == [] and not second.changes
        assert ts.is_finished(after)
    else:
        assert plan.after == task


# --- applying ------------------------------------------------------------------------------------------------


def test_check_mode_predicts_and_sends_nothing():
    client = mock_client()
    task = make_task()
    outcome = ts.apply_plan(client, ts.plan_change(task, desired(), NOW), desired(), check_mode=True, now=NOW)

    assert outcome.changed and outcome.task["completionStatus"] == "ERROR"
    assert outcome.diff["after"] == {"completionStatus": "ERROR", "completed": NOW_TEXT}
    client.patch_task.assert_not_called()


def test_patch_is_guarded_and_result_read_back():
    client = mock_client()
    task = make_task()
    client.get_task.return_value = task
    client.patch_task.side_effect = lambda task_id, operations: patched(task, operations)

    outcome = ts.set_task_state(client, "t1", desired(description="Stuck"), check_mode=False, now=NOW)

    sent = client.patch_task.call_args.args[1]
    assert sent[0] == {"op": "test", "path": "/percentComplete", "value": 10}
    assert no_null_values(sent)
    assert outcome.changed and outcome.task["description"] == "Stuck"
    assert set(outcome.diff["after"]) == {"completionStatus", "completed", "description"}


def test_idempotent_run_sends_no_patch():
    client = mock_client()
    client.get_task.return_value = make_task(status="ERROR", completed=NOW_TEXT, description="Stuck")

    outcome = ts.set_task_state(client, "t1", desired(completion_status="Error", description="Stuck"), check_mode=False, now=NOW)

    assert not outcome.changed and "already in the desired state" in outcome.msg
    client.patch_task.assert_not_called()


def test_unknown_task_is_a_not_found_error_with_the_90_day_hint():
    client = mock_client("v2025")
    client.get_task.return_value = None
    with pytest.raises(IscError) as caught:
        ts.set_task_state(client, "gone", desired(), check_mode=False, now=NOW)
    assert caught.value.details["status"] == 404
    assert "90 days" in str(caught.value)
    assert "/v2025/task-status/gone" in str(caught.value)


def test_read_back_that_differs_is_changed_and_failed_naming_the_value_sent():
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.return_value = make_task(status="SUCCESS", completed=NOW_TEXT)

    outcome = ts.set_task_state(client, "t1", desired(completion_status="terminated"), check_mode=False, now=NOW)

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

    outcome = ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    assert not outcome.changed and not outcome.failed and outcome.left_alone
    assert "finished by itself with SUCCESS" in outcome.msg
    assert outcome.task == finished
    assert client.patch_task.call_count == 1


def test_task_that_finished_meanwhile_is_overwritten_with_force_guarded_by_its_new_state():
    client = mock_client()
    finished = make_task(status="SUCCESS", completed=NOW_TEXT)
    client.get_task.side_effect = [make_task(), finished]
    client.patch_task.side_effect = [bad_request(), patched(finished, [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}])]

    outcome = ts.set_task_state(client, "t1", desired(completion_status="ERROR", force=True), check_mode=False, now=NOW)

    assert outcome.changed and outcome.task["completionStatus"] == "ERROR"
    retry = client.patch_task.call_args_list[1].args[1]
    assert retry[0] == {"op": "test", "path": "/completionStatus", "value": "SUCCESS"}
    assert retry[-1] == {"op": "replace", "path": "/completionStatus", "value": "ERROR"}


def test_refused_value_fails_naming_what_was_sent_and_keeps_the_api_error():
    client = mock_client()
    client.get_task.side_effect = [make_task(), make_task()]
    client.patch_task.side_effect = bad_request()
    warnings: list[str] = []
    guard = ts.GuardPolicy("auto", warnings.append)

    with pytest.raises(IscBadRequestError) as caught:
        ts.set_task_state(client, "t1", desired(completion_status="temperror"), check_mode=False, now=NOW, guard=guard)
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

    outcomes = ts.set_many_task_states(client, list(tasks), desired(), check_mode=False, now=NOW, guard=ts.GuardPolicy("auto", warnings.append))

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
        ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW, guard=ts.GuardPolicy("always"))
    assert "guard" in caught.value.hint and "not changed since it was read" in caught.value.hint
    assert client.patch_task.call_count == 1


def test_never_guard_sends_no_test_operation():
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.side_effect = lambda task_id, operations: patched(make_task(), operations)

    outcome = ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW, guard=ts.GuardPolicy("never"))

    assert outcome.changed
    (operations,) = (call.args[1] for call in client.patch_task.call_args_list)
    assert [operation["op"] for operation in operations] == ["replace", "replace"]


def test_unguarded_patch_refused_by_a_task_that_did_not_move_fails_as_refused_values():
    client = mock_client()
    client.get_task.side_effect = [make_task(), make_task()]
    client.patch_task.side_effect = bad_request()

    with pytest.raises(IscBadRequestError) as caught:
        ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW, guard=ts.GuardPolicy("never"))
    assert "values sent" in str(caught.value)
    assert client.patch_task.call_count == 1


def test_refused_patch_keeps_status_and_tracking_id_in_the_results_of_many():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("t1")])
    client.get_task.return_value = make_task("t1")
    client.patch_task.side_effect = bad_request()

    (outcome,) = ts.set_many_task_states(client, ["t1"], desired(), check_mode=False, now=NOW)

    result = outcome.as_result()
    assert result["failed"] and (result["status"], result["tracking_id"]) == (400, "abc123")
    assert "sent completionStatus='ERROR'" in result["msg"]


def test_task_that_progressed_meanwhile_is_planned_again_and_sent_once_more():
    client = mock_client()
    progressed = make_task(progress="Aggregating", percentComplete=40, modified="2024-05-17T19:00:00.000Z")
    client.get_task.side_effect = [make_task(), progressed]
    # ISC's answer to the second PATCH: the progressed task, cleared.
    client.patch_task.side_effect = [bad_request(), {**progressed, "completionStatus": "ERROR", "completed": NOW_TEXT}]

    outcome = ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

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
        ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW)
    # No third PATCH: a task gets two at most.
    assert caught.value.details["sent"][0] == {"op": "test", "path": "/percentComplete", "value": 40}
    assert client.patch_task.call_count == 2


def test_task_that_keeps_moving_fails_after_one_more_try_and_changes_nothing():
    client = mock_client()
    client.get_task.side_effect = [make_task(modified=f"2024-05-17T18:0{minute}:00.000Z") for minute in range(3)]
    client.patch_task.side_effect = [bad_request(), bad_request()]

    with pytest.raises(IscTaskError) as caught:
        ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW)
    assert "changed again" in str(caught.value) and "nothing was changed" in str(caught.value)
    assert caught.value.task["modified"] == "2024-05-17T18:02:00.000Z"
    assert client.patch_task.call_count == 2


def test_raw_patch_whose_test_fails_in_isc_is_left_alone_after_the_read_again():
    client = mock_client()
    raw = [{"op": "test", "path": "/progress", "value": "Started"}, {"op": "replace", "path": "/description", "value": "Cleared"}]
    moved_on = make_task(progress="Restarted", modified="2024-05-17T19:00:00.000Z")
    client.get_task.side_effect = [make_task(), moved_on]
    client.patch_task.side_effect = bad_request()

    outcome = ts.set_task_state(client, "t1", desired(patch=raw), check_mode=False, now=NOW)

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

    outcome = ts.set_task_state(client, "t1", desired(description="Stuck"), check_mode=False, now=NOW)

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

    with pytest.raises(ts.IscUnconfirmedPatchError) as caught:
        ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

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

    with pytest.raises(ts.IscPatchOutcomeUnknownError) as caught:
        ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

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

    outcomes = ts.set_many_task_states(client, ["t0", "t1", "t2"], desired(), check_mode=False, now=NOW)

    assert [(o.changed, o.failed) for o in outcomes] == [(False, True), (True, False), (True, False)]
    assert "did not show the change" in outcomes[0].msg
    assert "status" not in outcomes[0].as_result() and "tracking_id" not in outcomes[0].as_result()
    assert client.patch_task.call_count == 3


def test_lost_answer_with_a_failed_read_again_stops_the_run():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("t0"), make_task("t1")])
    client.get_task.side_effect = IscConnectionError("Could not complete ISC API GET /v2025/task-status/{id} after 6 attempts.")
    client.patch_task.side_effect = timed_out()

    outcomes = ts.set_many_task_states(client, ["t0", "t1"], desired(), check_mode=False, now=NOW)

    assert all(o.failed for o in outcomes)
    assert "may or may not have been applied" in outcomes[0].msg
    assert outcomes[1].msg.startswith("Not attempted after an earlier error")
    assert client.patch_task.call_count == 1


def test_read_back_mismatch_in_many_is_changed_and_failed():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("t0")])
    client.patch_task.return_value = make_task("t0", status="SUCCESS", completed=NOW_TEXT)

    (outcome,) = ts.set_many_task_states(client, ["t0"], desired(completion_status="ERROR"), check_mode=False, now=NOW)

    result = outcome.as_result()
    assert (result["changed"], result["failed"]) == (True, True)
    assert "(sent 'ERROR')" in result["msg"]


def test_missing_jsonpatch_is_an_error_with_ansibles_wording(monkeypatch):
    monkeypatch.setattr(ts, "HAS_JSONPATCH", False)
    monkeypatch.setattr(ts, "JSONPATCH_IMPORT_ERROR", "Traceback: No module named 'jsonpatch'")

    with pytest.raises(IscMissingLibraryError) as caught:
        ts.plan_change(make_task(), desired(), NOW)

    assert "Failed to import the required Python library (jsonpatch)" in str(caught.value)
    assert "ansible_python_interpreter" in str(caught.value)
    assert caught.value.to_fail_json()["exception"] == "Traceback: No module named 'jsonpatch'"


# --- many tasks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["beta", "v2024"])
def test_many_reads_pending_endpoint_where_the_list_has_completed_tasks_only(version):
    client = mock_client(version)
    pending = [make_task(f"p{index}") for index in range(3)]
    done = make_task("d1", status="SUCCESS", completed=NOW_TEXT)
    client.iter_pending_tasks.return_value = iter([*pending, make_task("other")])
    client.iter_tasks.return_value = iter([done])
    client.patch_task.side_effect = lambda task_id, operations: patched(next(t for t in pending if t["id"] == task_id), operations)

    outcomes = ts.set_many_task_states(client, ["p0", "p1", "p2", "d1"], desired(), check_mode=False, now=NOW)

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

    outcomes = ts.set_many_task_states(client, ids, desired(completion_status="error"), check_mode=False, now=NOW)

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

    outcomes = ts.set_many_task_states(client, ["t0", "t1", "t2"], desired(completion_status="ERROR", completed=NOW_TEXT), check_mode=False, now=NOW)

    assert [(o.changed, o.failed) for o in outcomes] == [(True, False), (False, True), (False, True)]
    assert outcomes[1].as_result()["tracking_id"] == "trk" and outcomes[1].as_result()["status"] == 500
    assert "did not show the change" in outcomes[1].msg
    assert client.patch_task.call_count == 3


def test_a_403_stops_the_run_instead_of_repeating_for_every_task():
    client = mock_client("v1")
    client.iter_tasks.return_value = iter([make_task(f"t{index}") for index in range(3)])
    client.patch_task.side_effect = IscForbiddenError(method="PATCH", path="/task-status/v1/{id}", status=403, tracking_id="trk")

    outcomes = ts.set_many_task_states(client, ["t0", "t1", "t2"], desired(), check_mode=False, now=NOW)

    assert client.patch_task.call_count == 1
    assert all(o.failed for o in outcomes)
    assert "personal access token" in outcomes[0].msg
    assert outcomes[1].msg.startswith("Not attempted after an earlier error")


def test_many_in_check_mode_sends_no_patch():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("t0"), make_task("t1")])

    outcomes = ts.set_many_task_states(client, ["t0", "t1", "t0"], desired(), check_mode=True, now=NOW)

    assert [o.id for o in outcomes] == ["t0", "t1"]
    assert all(o.changed and o.diff for o in outcomes)
    client.patch_task.assert_not_called()


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

    (outcome,) = ts.wait_for_tasks(client, ["t1"], timeout=60, interval=10, fail_on_error=True, clock=clock, sleep=clock.sleep)

    assert not outcome.failed and outcome.task["completionStatus"] == "SUCCESS"
    assert clock.sleeps == [10, 10]


def test_wait_timeout_fails_with_the_last_state_seen():
    client = mock_client()
    clock = FakeClock()
    client.get_task.side_effect = lambda task_id: make_task(progress=f"at {clock.now:g}", percentComplete=int(clock.now))

    (outcome,) = ts.wait_for_tasks(client, ["t1"], timeout=25, interval=10, fail_on_error=True, clock=clock, sleep=clock.sleep)

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

    (outcome,) = ts.wait_for_tasks(client, ["t1"], timeout=0, interval=1, fail_on_error=fail_on_error, sleep=pytest.fail)

    assert outcome.failed is failed
    assert outcome.task["completionStatus"] == status


def test_wait_for_many_reports_each_task():
    client = mock_client()
    clock = FakeClock()
    finished = make_task("a", status="SUCCESS", completed=NOW_TEXT)
    client.get_task.side_effect = lambda task_id: {"a": finished, "b": make_task("b"), "c": None}[task_id]

    outcomes = ts.wait_for_tasks(client, ["a", "b", "c"], timeout=5, interval=2, fail_on_error=True, clock=clock, sleep=clock.sleep)

    assert [(o.id, o.failed) for o in outcomes] == [("a", False), ("b", True), ("c", True)]
    assert "90 days" in outcomes[2].msg
    assert [call.args[0] for call in client.get_task.call_args_list].count("a") == 1


def test_wait_goes_on_through_failed_polls_and_warns_once_per_cause():
    client = mock_client()
    clock = FakeClock()
    outage = IscServerError(method="GET", path="/task-status/v1/t1", status=500, attempts=6)
    client.get_task.side_effect = [make_task(), outage, outage, make_task(status="SUCCESS", completed=NOW_TEXT)]
    warnings: list[str] = []

    (outcome,) = ts.wait_for_tasks(client, ["t1"], timeout=60, interval=10, fail_on_error=True, clock=clock, sleep=clock.sleep, warn=warnings.append)

    assert not outcome.failed and outcome.task["completionStatus"] == "SUCCESS"
    assert clock.sleeps == [10, 10, 10]
    assert len(warnings) == 1 and "HTTP 500" in warnings[0] and "wait_timeout" in warnings[0]


def test_wait_that_only_fails_to_poll_times_out():
    client = mock_client()
    clock = FakeClock()
    client.get_task.side_effect = IscConnectionError("Could not complete ISC API GET /task-status/v1/t1: connection refused.")

    (outcome,) = ts.wait_for_tasks(client, ["t1"], timeout=25, interval=10, fail_on_error=True, clock=clock, sleep=clock.sleep)

    assert outcome.failed and isinstance(outcome.error, IscWaitTimeoutError)
    assert clock.sleeps == [10, 10, 5]


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

    outcome = ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    assert outcome.changed and not outcome.failed, outcome.msg


def test_read_back_refuses_a_completed_time_a_second_off():
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.side_effect = lambda task_id, operations: {**patched(make_task(), operations), "completed": "2024-05-17T19:33:17.470Z"}

    outcome = ts.set_task_state(client, "t1", desired(), check_mode=False, now=NOW)

    assert outcome.changed and outcome.failed
