# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PATCH guards under every way a tenant may treat JSON Patch ``test`` operations (docs/assumptions.md).

Nothing documents that task-status honours ``test``; the emulator's ``test_ops`` switch plays each alternative:
``honour``, ``reject`` (400 to any PATCH with a test), ``ignore`` (tests skipped), ``fail-timestamps`` (every test
on a timestamp fails). Each test reads the emulator's request log: PATCHes per task and what they carried.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import release_when_held

TEST_OP_MODES = ["honour", "reject", "ignore", "fail-timestamps"]
STALE_S = 3 * 3600


def patches_by_task(emulator: Any) -> dict[str, list[dict[str, Any]]]:
    by_task: dict[str, list[dict[str, Any]]] = {}
    for entry in emulator.tenant.request_log():
        if entry["method"] == "PATCH":
            by_task.setdefault(entry["path"].rsplit("/", 1)[1], []).append(entry)
    return by_task


def carries_tests(entry: dict[str, Any]) -> bool:
    return any(operation["op"] == "test" for operation in json.loads(entry["body"]))


def truth(emulator: Any, task_id: str) -> dict[str, Any]:
    return next(task for task in emulator.tenant.tasks() if task["id"] == task_id)


def finish_as_isc_does(emulator: Any, task_id: str, status: str = "SUCCESS") -> None:
    """What the emulator's own run does when a task ends (records.py, TaskRecord.advance): status, time, progress, 100%."""
    finished = emulator.tenant.patch_task(
        task_id,
        [
            {"op": "replace", "path": "/completionStatus", "value": status},
            {"op": "replace", "path": "/completed", "value": "2024-05-17T19:33:16.470Z"},
            {"op": "replace", "path": "/progress", "value": "Completed"},
            {"op": "replace", "path": "/percentComplete", "value": 100},
        ],
    )
    assert finished is not None


@pytest.mark.parametrize("test_ops", TEST_OP_MODES)
def test_default_guard_clears_every_pending_task_with_at_most_two_patches(emulator, run_playbook, test_ops):
    emulator.tenant.configure(test_ops=test_ops)
    pending = [emulator.tenant.add_task(completion_status=None, age_s=STALE_S)["id"] for _index in range(7)]
    single_id, many_ids, by_role = pending[0], pending[1:4], pending[4:]

    run = run_playbook("guards.yml", extra_vars={"single_id": single_id, "many_ids": many_ids, "guard": "auto"})

    assert all(truth(emulator, task_id)["completionStatus"] == "ERROR" for task_id in pending)
    patches = patches_by_task(emulator)
    assert set(patches) == set(pending)
    assert all(len(entries) <= 2 for entries in patches.values())
    warned = [warning for result in run.results() for warning in result.get("warnings", []) if "guard" in warning]
    if test_ops in ("reject", "fail-timestamps"):
        # Each of the three runs (one id, the list, the role's one module run) tries one guarded PATCH, is refused
        # (every test, or the one on modified), sends it again without tests, warns once, and sends the rest unguarded.
        for first in (single_id, many_ids[0], by_role[0]):
            assert [(entry["status"], carries_tests(entry)) for entry in patches[first]] == [(400, True), (200, False)]
        for rest in (*many_ids[1:], *by_role[1:]):
            assert [(entry["status"], carries_tests(entry)) for entry in patches[rest]] == [(200, False)]
        assert len(warned) == 3
        assert all("guard: never" in warning and "guard: always" in warning for warning in warned)
    else:
        assert all([(entry["status"], carries_tests(entry)) for entry in entries] == [(200, True)] for entries in patches.values())
        assert warned == []
        bodies = [json.loads(entry["body"]) for entries in patches.values() for entry in entries]
        tested = {operation["path"] for body in bodies for operation in body if operation["op"] == "test"}
        # A pending task: its progress, and modified as served (status fields are null, which no test may hold).
        assert tested == {"/percentComplete", "/progress", "/modified"}


@pytest.mark.parametrize("test_ops", TEST_OP_MODES)
def test_guard_never_sends_no_test_operation(emulator, run_playbook, test_ops):
    emulator.tenant.configure(test_ops=test_ops)
    pending = [emulator.tenant.add_task(completion_status=None, age_s=STALE_S)["id"] for _index in range(4)]

    run_playbook("guards.yml", extra_vars={"single_id": pending[0], "many_ids": pending[1:3], "guard": "never"})

    patches = patches_by_task(emulator)
    assert set(patches) == set(pending)
    assert all([(entry["status"], carries_tests(entry)) for entry in entries] == [(200, False)] for entries in patches.values())


def test_guard_always_fails_naming_guard_and_sends_nothing_unguarded(emulator, run_adhoc):
    emulator.tenant.configure(test_ops="reject")
    task_id = emulator.tenant.add_task(completion_status=None, age_s=STALE_S)["id"]

    run = run_adhoc(f"id={task_id} guard=always", module="sailpoint.isc.task_status", expect_rc=2)

    result = run.result()
    assert result["failed"] and "guard" in result["msg"] and "HTTP 400" in result["msg"]
    assert [carries_tests(entry) for entry in patches_by_task(emulator)[task_id]] == [True]
    assert truth(emulator, task_id)["completionStatus"] is None


@pytest.mark.parametrize("test_ops", TEST_OP_MODES)
def test_task_that_finished_right_after_the_read(emulator, run_playbook, test_ops):
    """The module reads both tasks in one list read; the emulator holds the first PATCH, and once the read is
    answered the test finishes the other task, then lets the held PATCH go: before the module gets to its PATCH."""
    emulator.tenant.configure(test_ops=test_ops)
    slow_id = emulator.tenant.add_task(completion_status=None, age_s=STALE_S)["id"]
    other_id = emulator.tenant.add_task(completion_status=None, age_s=STALE_S)["id"]
    emulator.tenant.inject_fault("slow", seconds=600, method="PATCH", path_contains=slow_id)  # held until released

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run_playbook, "guards_race.yml", extra_vars={"ids": [slow_id, other_id]})
        deadline = time.monotonic() + 120
        while not any(entry["method"] == "GET" and entry["path"] == "/task-status/v1" for entry in emulator.tenant.request_log()):
            assert time.monotonic() < deadline and not future.done(), "the module never read the tasks"
            time.sleep(0.02)
        finish_as_isc_does(emulator, other_id)
        release_when_held(emulator, future)
        run = future.result()

    slow_entry, other_entry = run.result("Clear both")["results"]
    assert slow_entry["changed"] and truth(emulator, slow_id)["completionStatus"] == "ERROR"
    other_patches = patches_by_task(emulator)[other_id]
    if test_ops == "ignore":
        # A tenant that skips test operations cannot be kept from overwriting it: docs/assumptions.md says so.
        assert other_entry["changed"] and truth(emulator, other_id)["completionStatus"] == "ERROR"
        assert [(entry["status"], carries_tests(entry)) for entry in other_patches] == [(200, True)]
    elif test_ops in ("reject", "fail-timestamps"):
        # The first task's refusal already turned this run's guards off (guard: auto), so nothing protects the second.
        assert other_entry["changed"] and truth(emulator, other_id)["completionStatus"] == "ERROR"
        assert [(entry["status"], carries_tests(entry)) for entry in other_patches] == [(200, False)]
    else:
        # Refused (its guard failed, or the tenant refuses every test), read again, found finished: left alone.
        assert other_entry["left_alone"] and not other_entry["changed"] and not other_entry.get("failed")
        assert truth(emulator, other_id)["completionStatus"] == "SUCCESS"
        assert [entry["status"] for entry in other_patches] == [400]
