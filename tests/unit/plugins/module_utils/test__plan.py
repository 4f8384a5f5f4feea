# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planning a task's change: the operations, the guards sent with them, tasks left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.sailpoint.isc.plugins.module_utils._desired_state import format_instant, is_finished
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError
from ansible_collections.sailpoint.isc.plugins.module_utils._plan import plan_change
from ansible_collections.sailpoint.isc.tests.unit.task_state_fakes import COMPLETION_STATUSES, NOW, NOW_TEXT, desired, make_task, no_null_values, patched

# --- planning ------------------------------------------------------------------------------------------------


def sends_a_change(plan) -> bool:
    """A PATCH would be sent: operations, and no reason to leave the task alone."""
    return bool(plan.operations) and plan.left_alone is None


def test_clearing_pending_task_defaults_to_error_and_now():
    plan = plan_change(make_task(), desired(), NOW)

    assert sends_a_change(plan)
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
    plan = plan_change(task, desired(completion_status="warning", description="Reason", progress="Cleared"), NOW)

    assert [op["path"] for op in plan.operations] == ["/completionStatus", "/completed", "/progress"]
    assert set(plan.diff()["after"]) == {"completionStatus", "completed", "progress"}


def test_finished_task_in_desired_state_needs_nothing():
    task = make_task(status="ERROR", completed=NOW_TEXT)
    plan = plan_change(task, desired(completion_status="error", completed="2024-05-17T21:33:16.470+02:00"), NOW)

    assert not sends_a_change(plan)
    assert plan.operations == []
    assert plan.left_alone is None


def test_finished_task_without_options_is_left_as_is():
    plan = plan_change(make_task(status="SUCCESS", completed=NOW_TEXT), desired(), NOW + timedelta(days=1))
    assert plan.operations == [] and not sends_a_change(plan)


def test_finished_task_that_differs_is_left_alone_without_force():
    task = make_task(status="SUCCESS", completed=NOW_TEXT)
    plan = plan_change(task, desired(completion_status="ERROR"), NOW)

    assert not sends_a_change(plan)
    assert plan.left_alone is not None and "force" in plan.left_alone and "SUCCESS" in plan.left_alone
    assert plan.after == task


def test_force_overwrites_a_finished_task_but_keeps_its_completed_time():
    task = make_task(status="SUCCESS", completed="2024-01-01T00:00:00.000Z")
    plan = plan_change(task, desired(completion_status="ERROR", force=True), NOW)

    assert sends_a_change(plan)
    assert plan.operations == [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
    assert plan.operations_to_send(True)[:3] == [
        {"op": "test", "path": "/completionStatus", "value": "SUCCESS"},
        {"op": "test", "path": "/percentComplete", "value": 10},
        {"op": "test", "path": "/progress", "value": "Started"},
    ]


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
    plan = plan_change(task, desired(completion_status="ERROR", force=True, completed="2024-05-18T00:00:00Z"), NOW)

    assert [(guard["path"], guard["value"]) for guard in plan.guards()] == expected_guards
    assert no_null_values(plan.operations_to_send(True))
    assert patched(task, plan.operations_to_send(True)) == plan.after


def test_pending_task_without_testable_values_goes_unguarded_rather_than_tested_against_null():
    plan = plan_change(make_task(percentComplete=None, progress=None, modified=None), desired(), NOW)

    assert plan.guards() == []
    assert plan.operations_to_send(True) == plan.operations
    assert no_null_values(plan.operations_to_send(True))


def test_a_finished_task_is_guarded_without_timestamps():
    plan = plan_change(make_task(status="SUCCESS", completed=NOW_TEXT), desired(completion_status="ERROR", force=True), NOW)
    assert plan.guards()
    assert not [guard for guard in plan.guards() if guard["path"] in ("/created", "/modified", "/launched", "/completed")]


def test_a_pending_task_s_modified_guard_is_sent_exactly_as_served():
    served = "2024-05-17 18:00:00.000000+00:00"
    plan = plan_change(make_task(modified=served), desired(), NOW)
    assert {"op": "test", "path": "/modified", "value": served} in plan.guards()


def test_queued_task_without_progress_text_is_guarded_by_its_percent_complete():
    plan = plan_change(make_task(modified=None, launched=None, percentComplete=0, progress=None), desired(), NOW)  # queued

    assert plan.guards() == [{"op": "test", "path": "/percentComplete", "value": 0}]
    assert no_null_values(plan.operations_to_send(True))


def test_raw_patch_test_values_are_sent_as_written():
    written = "2024-05-17T18:00:00.000123Z"
    raw = [{"op": "test", "path": "/modified", "value": written}, {"op": "replace", "path": "/completed", "value": "2024-05-17T19:00:00+02:00"}]
    plan = plan_change(make_task(modified=written), desired(patch=raw), NOW)

    assert sends_a_change(plan), plan.left_alone
    sent = plan.operations_to_send(True)
    assert {"op": "test", "path": "/modified", "value": written} in sent
    assert {"op": "replace", "path": "/completed", "value": "2024-05-17T17:00:00.000Z"} in sent


def test_raw_patch_test_operations_are_sent_ahead_of_the_changes():
    raw = [
        {"op": "replace", "path": "/description", "value": "Cleared"},
        {"op": "test", "path": "/progress", "value": "Started"},
    ]
    plan = plan_change(make_task(), desired(patch=raw), NOW)

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
    plan = plan_change(task, desired(patch=raw, force=True), NOW)

    assert plan.operations == [{"op": "replace", "path": "/progress", "value": "Cleared"}]


def test_raw_patch_with_failing_test_leaves_task_alone():
    raw = [{"op": "test", "path": "/completionStatus", "value": "WARNING"}, {"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
    plan = plan_change(make_task(status="SUCCESS", completed=NOW_TEXT), desired(patch=raw), NOW)

    assert not sends_a_change(plan)
    assert "test operation" in plan.left_alone


def test_raw_patch_that_cannot_apply_is_a_config_error():
    with pytest.raises(IscConfigError) as caught:
        plan_change(make_task(), desired(patch=[{"op": "remove", "path": "/nosuchfield"}]), NOW)
    assert caught.value.option == "patch"


def test_raw_move_becomes_whole_field_writes_because_isc_has_no_from():
    raw = [{"op": "move", "from": "/progress", "path": "/description"}]
    plan = plan_change(make_task(progress="Why"), desired(patch=raw), NOW)

    assert {op["op"] for op in plan.operations} <= {"add", "remove", "replace"}
    assert patched(make_task(progress="Why"), plan.operations) == plan.after
    assert plan.after["description"] == "Why" and "progress" not in plan.after


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
    completed_text = format_instant(current_completed) if current_completed else None
    task = make_task(status=current_status, completed=completed_text if current_status else None)
    wanted = desired(
        completion_status=wanted_status,
        completed=wanted_completed[0].astimezone(wanted_completed[1]).isoformat() if wanted_completed else None,
        description=description,
        force=force,
    )

    plan = plan_change(task, wanted, NOW)
    if current_status is not None and not force:
        assert not sends_a_change(plan)
    if current_status is None:
        assert sends_a_change(plan)
    if sends_a_change(plan):
        assert no_null_values(plan.operations_to_send(True))
        after = patched(task, plan.operations_to_send(True))
        assert after == plan.after
        second = plan_change(after, wanted, NOW + timedelta(hours=1))
        assert second.operations == [] and not sends_a_change(second)
        assert is_finished(after)
    else:
        assert plan.after == task
