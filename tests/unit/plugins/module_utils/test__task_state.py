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
    IscError,
    IscForbiddenError,
    IscServerError,
    IscTaskError,
    IscWaitTimeoutError,
)
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import COMPLETION_STATUSES
from ansible_collections.sailpoint.isc.tests.unit.fakes import mock_client

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
    assert plan.guarded_operations()[:2] == [
        {"op": "test", "path": "/completionStatus", "value": None},
        {"op": "test", "path": "/completed", "value": None},
    ]
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
    assert plan.guarded_operations()[:2] == [
        {"op": "test", "path": "/completionStatus", "value": "SUCCESS"},
        {"op": "test", "path": "/completed", "value": "2024-01-01T00:00:00.000Z"},
    ]


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
    raw = [{"op": "test", "path": "/completionStatus", "value": None}, {"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
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
        after = patched(task, plan.guarded_operations())
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
    assert sent[0] == {"op": "test", "path": "/completionStatus", "value": None}
    assert sent[1] == {"op": "test", "path": "/completed", "value": None}
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


def test_read_back_that_differs_fails_naming_the_value_sent():
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.return_value = make_task(status="SUCCESS", completed=NOW_TEXT)

    with pytest.raises(IscTaskError) as caught:
        ts.set_task_state(client, "t1", desired(completion_status="terminated"), check_mode=False, now=NOW)
    assert "'SUCCESS' (sent 'TERMINATED')" in str(caught.value)
    assert caught.value.task["completionStatus"] == "SUCCESS"


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


def test_refused_value_fails_naming_what_was_sent():
    client = mock_client()
    client.get_task.side_effect = [make_task(), make_task()]
    client.patch_task.side_effect = bad_request()

    with pytest.raises(IscError) as caught:
        ts.set_task_state(client, "t1", desired(completion_status="temperror"), check_mode=False, now=NOW)
    assert "completionStatus='TEMPERROR'" in str(caught.value)
    assert caught.value.details["tracking_id"] == "abc123"
    assert caught.value.details["sent"][0]["op"] == "test"


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
    client.patch_task.assert_not_called()


def test_one_failure_does_not_hide_the_others():
    client = mock_client("v2026")
    tasks = [make_task(f"t{index}") for index in range(3)]
    client.iter_tasks.return_value = iter(tasks)
    server_error = IscServerError(method="PATCH", path="/v2026/task-status/{id}", status=500, tracking_id="trk")

    def patch(task_id, operations):
        if task_id != "t0":
            raise server_error
        return patched(tasks[0], operations)

    client.patch_task.side_effect = patch

    outcomes = ts.set_many_task_states(client, ["t0", "t1", "t2"], desired(completion_status="ERROR", completed=NOW_TEXT), check_mode=False, now=NOW)

    assert [(o.changed, o.failed) for o in outcomes] == [(True, False), (False, True), (False, True)]
    assert outcomes[1].as_result()["tracking_id"] == "trk"
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
