# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""sailpoint.isc.task_status against the emulator, on every API version, with request counts from its log.

Each playbook loops over the API versions itself, so one ``ansible-playbook`` run covers all five.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from conftest import release_when_held

VERSIONS = ("beta", "v2024", "v2025", "v2026", "v1")
TOKEN = "POST /oauth/token"


def task_template(version: str) -> str:
    return "/task-status/v1/{id}" if version == "v1" else f"/{version}/task-status/{{id}}"


def list_template(version: str) -> str:
    return "/task-status/v1" if version == "v1" else f"/{version}/task-status"


def truth(emulator: Any, task_id: str) -> dict[str, Any]:
    return next(task for task in emulator.tenant.tasks() if task["id"] == task_id)


def step_counts(run: Any) -> list[dict[str, int]]:
    """The emulator's request counts of each step (see playbooks/task_status_counts.yml), first one dropped."""
    return [result["json"] for result in run.results("Request counts of the step")][1:]


def per_version(counts: dict[str, int], version: str) -> dict[str, int]:
    """The counts of one API version's paths, keyed "METHOD path-kind" (get, list, pending, patch)."""
    kinds = {
        f"GET {task_template(version)}": "get",
        f"PATCH {task_template(version)}": "patch",
        f"GET {list_template(version)}": "list",
        f"GET {list_template(version)}/pending-tasks": "pending",
    }
    prefix = "/task-status/v1" if version == "v1" else f"/{version}/"
    mine = {key: value for key, value in counts.items() if key.split(" ", 1)[1].startswith(prefix)}
    unknown = set(mine) - set(kinds)
    assert not unknown, f"unexpected requests on {version}: {unknown}"
    return {kinds[key]: value for key, value in mine.items()}


def diff_dict(value: Any) -> dict[str, Any]:
    # The default stdout callback serialises dict diffs in place before other callbacks may see them.
    return json.loads(value) if isinstance(value, str) else value


def unknown_task_id() -> str:
    return secrets.token_hex(16)


def test_clear_check_mode_diff_idempotency_force_and_raw_patch_on_every_version(emulator, run_playbook):
    cases = []
    for version in VERSIONS:
        cases.append(
            {
                "version": version,
                "pending_id": emulator.tenant.add_task(completion_status=None)["id"],
                "done_id": emulator.tenant.add_task(completion_status="SUCCESS")["id"],
                "raw_id": emulator.tenant.add_task(completion_status=None)["id"],
                "default_id": emulator.tenant.add_task(completion_status=None)["id"],
            }
        )
    done_before = {case["done_id"]: truth(emulator, case["done_id"]) for case in cases}
    raw_patch = [
        {"op": "replace", "path": "/completionStatus", "value": "Terminated"},
        # The v2024+ vendor example's spelling of a timestamp; compared as an instant on the second run.
        {"op": "replace", "path": "/completed", "value": "2024-05-17 19:33:16.470000+00:00"},
        {"op": "replace", "path": "/progress", "value": "Cleared by a raw patch"},
    ]
    started = datetime.now(UTC)

    run = run_playbook(
        "task_status_clear.yml",
        extra_vars={"cases": cases, "cleared_at": "2024-05-17T21:33:16.470+02:00", "raw_patch": raw_patch},
        diff=True,
        # At -v and above Ansible prints whole results; at 0 the screen shows only what --diff prints.
        verbosity=0,
    )

    finished = datetime.now(UTC)
    steps = dict(zip(["check", "clear", "again", "kept", "forced", "forced_again", "raw", "raw_again"], step_counts(run), strict=True))
    expected_patches = {"check": 0, "clear": 1, "again": 0, "kept": 0, "forced": 1, "forced_again": 0, "raw": 1, "raw_again": 0}
    for step, counts in steps.items():
        # Five module runs per step (one per version): at most one token each.
        assert counts.get(TOKEN, 0) <= len(VERSIONS), (step, counts)
        for version in VERSIONS:
            expected = {"get": 1, "patch": expected_patches[step]} if expected_patches[step] else {"get": 1}
            assert per_version(counts, version) == expected, (step, version, counts)

    predicted = run.result("Predict clearing in check mode")["results"]
    cleared = run.result("Clear the pending task")["results"]
    again = run.result("Clear it again")["results"]
    kept = run.result("Leave a finished task alone")["results"]
    forced = run.result("Overwrite the finished task when forced")["results"]
    forced_again = run.result("Force again")["results"]
    raw = run.result("Apply a raw patch")["results"]
    raw_again = run.result("Apply the raw patch again")["results"]
    defaults = run.result("Clear with defaults only")["results"]
    fields = ("completionStatus", "completed", "description")

    for index, case in enumerate(cases):
        pending = truth(emulator, case["pending_id"])
        # Check mode predicted exactly what the real run then did, and what the tenant now holds.
        assert predicted[index]["changed"] is True
        assert cleared[index]["changed"] is True
        assert {f: predicted[index]["task"][f] for f in fields} == {f: cleared[index]["task"][f] for f in fields}
        assert {f: pending[f] for f in fields} == {
            "completionStatus": "ERROR",
            "completed": "2024-05-17T19:33:16.470Z",
            "description": "Cleared by the integration test (stuck since the connector restart)",
        }
        assert diff_dict(predicted[index]["diff"]["after"]) == diff_dict(cleared[index]["diff"]["after"])
        # Diff shows the changed fields only, before and after.
        cleared_diff = {side: diff_dict(cleared[index]["diff"][side]) for side in ("before", "after")}
        assert set(cleared_diff["before"]) == set(cleared_diff["after"]) == set(fields)
        assert cleared_diff["before"]["completionStatus"] is None
        assert cleared_diff["after"]["completionStatus"] == "ERROR"
        assert f"--- before: task {case['pending_id']}" in run.stdout
        assert f"+++ after: task {case['pending_id']}" in run.stdout

        assert again[index]["changed"] is False and "diff" not in again[index]
        assert again[index]["task"]["modified"] == pending["modified"]

        assert kept[index]["changed"] is False
        assert kept[index]["left_alone"] is True
        assert "force" in kept[index]["msg"]

        done = truth(emulator, case["done_id"])
        assert forced[index]["changed"] is True and forced_again[index]["changed"] is False
        assert done["completionStatus"] == "TERMINATED"
        assert done["completed"] == done_before[case["done_id"]]["completed"]
        assert set(diff_dict(forced[index]["diff"]["after"])) == {"completionStatus"}

        raw_task = truth(emulator, case["raw_id"])
        assert raw[index]["changed"] is True and raw_again[index]["changed"] is False
        assert (raw_task["completionStatus"], raw_task["completed"], raw_task["progress"]) == (
            "TERMINATED",
            "2024-05-17T19:33:16.470Z",
            "Cleared by a raw patch",
        )

        default_task = truth(emulator, case["default_id"])
        assert defaults[index]["changed"] is True and defaults[index]["task"]["completed"] == default_task["completed"]
        assert default_task["completionStatus"] == "ERROR"
        completed_at = datetime.fromisoformat(default_task["completed"])
        assert started.replace(microsecond=0) <= completed_at <= finished
        assert default_task["completed"].endswith("Z") and len(default_task["completed"]) == len("2024-05-17T19:33:16.470Z")

    # Only changed fields reach the screen: nothing else of the task is printed.
    assert "uniqueName" not in run.stdout
    assert "taskDefinitionSummary" not in run.stdout


def test_many_ids_one_paged_read_and_every_outcome_on_every_version(emulator, run_playbook):
    cases = []
    for version in VERSIONS:
        pending = [emulator.tenant.add_task(completion_status=None)["id"] for _repeat in range(3)]
        done = emulator.tenant.add_task(completion_status="SUCCESS")["id"]
        cases.append({"version": version, "ids": [*pending, done], "pending": pending, "done": done, "unknown_id": unknown_task_id()})

    run = run_playbook("task_status_many.yml", extra_vars={"cases": cases})

    first, second = step_counts(run)
    bulk = run.result("Clear many tasks, one of them unknown")["results"]
    bulk_again = run.result("Clear the known ones again")["results"]
    for index, case in enumerate(cases):
        version = case["version"]
        reads = {"pending": 1, "list": 1} if version in ("beta", "v2024") else {"list": 1}
        # One paged read for all ids, one GET for the id the reads did not find, one PATCH per pending task.
        assert per_version(first, version) == {**reads, "get": 1, "patch": 3}, (version, first)
        # Idempotent: the paged read only, no GET per task and no PATCH.
        assert per_version(second, version) == reads, (version, second)

        outcome = bulk[index]
        assert outcome["failed"] is True
        assert outcome["changed"] is True
        assert "1 of 5 tasks failed" in outcome["msg"]
        by_id = {entry["id"]: entry for entry in outcome["results"]}
        assert [entry["id"] for entry in outcome["results"]] == [*case["ids"], case["unknown_id"]]
        for task_id in case["pending"]:
            assert by_id[task_id]["changed"] is True and by_id[task_id]["failed"] is False
            assert truth(emulator, task_id)["completionStatus"] == "TERMINATED"
            assert truth(emulator, task_id)["description"] == "Cleared in bulk"
        assert by_id[case["done"]]["left_alone"] is True and by_id[case["done"]]["changed"] is False
        assert truth(emulator, case["done"])["completionStatus"] == "SUCCESS"
        unknown = by_id[case["unknown_id"]]
        assert unknown["failed"] is True and unknown["status"] == 404
        # A bodiless 404 has no trackingId, and RETURN says tracking_id is returned only when there is one.
        assert "tracking_id" not in unknown
        assert "older than 90 days" in unknown["msg"]
        # A failing result names the tasks (results) but carries no whole task object, so Ansible prints it short.
        assert "tasks" not in outcome and not any("task" in entry for entry in outcome["results"])
        assert [entry["name"] for entry in outcome["results"]][:3] == ["Cloud Account Aggregation"] * 3

        assert bulk_again[index]["changed"] is False
        assert not any(entry["changed"] or entry["failed"] for entry in bulk_again[index]["results"])
        assert "diff" not in outcome and "diff" not in bulk_again[index]


def test_403_with_api_client_and_404_on_every_version(emulator, run_playbook):
    cases = [
        {
            "version": version,
            "pending_id": emulator.tenant.add_task(completion_status=None)["id"],
            "many_ids": [emulator.tenant.add_task(completion_status=None)["id"] for _repeat in range(3)],
            "unknown_id": unknown_task_id(),
        }
        for version in VERSIONS
    ]

    run = run_playbook("task_status_errors.yml", extra_vars={"cases": cases}, client="api")

    forbidden = run.result("Clear with an API-client token")["results"]
    forbidden_many = run.result("Clear many with an API-client token")["results"]
    missing = run.result("Clear an unknown task")["results"]
    log = emulator.tenant.request_log()
    for index, case in enumerate(cases):
        assert forbidden[index]["failed"] is True
        assert forbidden[index]["status"] == 403
        assert "personal access token" in forbidden[index]["msg"]
        assert forbidden[index]["tracking_id"]
        assert f"trackingId {forbidden[index]['tracking_id']}" in forbidden[index]["msg"]
        assert truth(emulator, case["pending_id"])["completionStatus"] is None

        # The 403 would repeat for every task, so the run stops sending after the first and says so.
        results = forbidden_many[index]["results"]
        assert results[0]["status"] == 403 and "personal access token" in results[0]["msg"]
        assert all(entry["failed"] and entry["msg"].startswith("Not attempted") for entry in results[1:])
        patches = [entry for entry in log if entry["method"] == "PATCH" and any(task_id in entry["path"] for task_id in case["many_ids"])]
        assert len(patches) == 1

        assert missing[index]["failed"] is True
        assert missing[index]["status"] == 404
        assert "unknown, or the task is older than 90 days" in missing[index]["msg"]


def test_wait_for_completion_error_end_and_timeout_on_every_version(emulator, run_playbook):
    run = run_playbook("task_status_wait.yml", extra_vars={"versions": list(VERSIONS)})

    waited = run.results("Wait for the running task")
    failing = run.results("Wait for the failing task")
    tolerated = run.results("Wait for the failing task without failing")
    timed_out = run.results("Wait for the task that never finishes")
    launched = [result["json"] for result in run.results("Launch a task that succeeds once read")]
    log = emulator.tenant.request_log()
    assert len(waited) == len(failing) == len(tolerated) == len(timed_out) == len(launched) == len(VERSIONS)
    for index, version in enumerate(VERSIONS):
        task = waited[index]["task"]
        assert waited[index]["changed"] is False
        assert task["id"] == launched[index]["id"] and launched[index]["completionStatus"] is None
        assert task["completionStatus"] == "SUCCESS"
        polls = [entry for entry in log if entry["method"] == "GET" and entry["path"].endswith(task["id"])]
        # It really waited: the task was seen unfinished at least once before it was seen finished.
        assert len(polls) >= 2, (version, polls)
        assert {entry["api_version"] for entry in polls} == {version}

        assert failing[index].get("failed") is True, (version, failing[index])
        assert "finished with ERROR" in failing[index]["msg"]
        assert failing[index]["task"]["completionStatus"] == "ERROR"
        assert tolerated[index].get("failed", False) is False
        assert tolerated[index]["task"]["completionStatus"] == "ERROR"

        assert timed_out[index]["failed"] is True
        assert "had not finished after 2 seconds" in timed_out[index]["msg"]
        assert timed_out[index]["task"]["completionStatus"] is None
        assert timed_out[index]["task"]["progress"] == "Still aggregating"
        assert "42% complete" in timed_out[index]["msg"]


def test_task_finished_meanwhile_is_left_alone(emulator, run_playbook):
    """Beta reads pending tasks from pending-tasks, v2025 from the list: both paths of the bulk read.

    The playbook runs in a thread; once the module's bulk read of a version shows in the request log, the test
    finishes the second task as ISC would, while the emulator holds the first PATCH; then it lets that PATCH go.
    """
    cases = []
    for version in ("beta", "v2025"):
        slow_id = emulator.tenant.add_task(completion_status=None)["id"]
        other_id = emulator.tenant.add_task(completion_status=None)["id"]
        # Held until released below, however long this machine takes to get there.
        emulator.tenant.inject_fault("slow", seconds=600, method="PATCH", path_contains=slow_id)
        cases.append({"version": version, "slow_id": slow_id, "other_id": other_id})

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run_playbook, "task_status_race.yml", extra_vars={"cases": cases})
        for case in cases:
            read_path = "/beta/task-status/pending-tasks" if case["version"] == "beta" else "/v2025/task-status"
            deadline = time.monotonic() + 120
            while not any(entry["path"] == read_path for entry in emulator.tenant.request_log()):
                assert time.monotonic() < deadline and not future.done(), "the module never read the task states"
                time.sleep(0.02)
            # As the emulator's own run ends a task (records.py, TaskRecord.advance): status, time, progress and 100%.
            finished = emulator.tenant.patch_task(
                case["other_id"],
                [
                    {"op": "replace", "path": "/completionStatus", "value": "SUCCESS"},
                    {"op": "replace", "path": "/completed", "value": "2024-05-17T19:33:16.470Z"},
                    {"op": "replace", "path": "/progress", "value": "Completed"},
                    {"op": "replace", "path": "/percentComplete", "value": 100},
                ],
            )
            assert finished is not None
            release_when_held(emulator, future)
        run = future.result()

    outcomes = run.result("Clear both while the first PATCH is slow")["results"]
    log = emulator.tenant.request_log()
    for case, outcome in zip(cases, outcomes, strict=True):
        slow_entry, other_entry = outcome["results"]
        assert slow_entry["changed"] is True
        assert truth(emulator, case["slow_id"])["completionStatus"] == "ERROR"
        assert other_entry["changed"] is False and other_entry["failed"] is False
        assert other_entry["left_alone"] is True
        assert "finished by itself" in other_entry["msg"]
        assert other_entry["task"]["completionStatus"] == "SUCCESS"
        assert truth(emulator, case["other_id"])["completionStatus"] == "SUCCESS"
        # The guard did it: a PATCH was sent and refused (its test operation failed), then the task was re-read.
        patches = [entry for entry in log if entry["method"] == "PATCH" and entry["path"].endswith(case["other_id"])]
        assert [entry["status"] for entry in patches] == [400]
        rereads = [entry for entry in log if entry["method"] == "GET" and entry["path"].endswith(case["other_id"])]
        assert len(rereads) == 1


def change_after_the_read(emulator: Any, task_id: str, change: list[dict[str, Any]], run: Callable[[], Any]) -> Any:
    """Call ``run`` (a module run) in a thread and, once its read of the task shows in the log, change the task as ISC would.

    The emulator holds the module's first PATCH of the task until the change is made, so the change lands between
    the read and the PATCH.
    """
    emulator.tenant.inject_fault("slow", seconds=600, method="PATCH", path_contains=task_id)
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run)
        deadline = time.monotonic() + 120
        while not any(entry["method"] == "GET" and entry["path"].endswith(task_id) for entry in emulator.tenant.request_log()):
            assert time.monotonic() < deadline and not future.done(), "the module never read the task"
            time.sleep(0.02)
        assert emulator.tenant.patch_task(task_id, change) is not None
        release_when_held(emulator, future)
        return future.result()


def requests_for(emulator: Any, method: str, task_id: str) -> list[int | None]:
    return [entry["status"] for entry in emulator.tenant.request_log() if entry["method"] == method and entry["path"].endswith(task_id)]


def test_pending_task_that_progresses_while_being_cleared_is_read_again_and_cleared(emulator, run_adhoc):
    """The guards of a pending task are its percentComplete and progress (null is no JSON Patch value in ISC); progress moves them."""
    task_id = emulator.tenant.add_task(completion_status=None)["id"]
    progress = [{"op": "replace", "path": "/progress", "value": "Aggregated 5000 accounts"}, {"op": "replace", "path": "/percentComplete", "value": 60}]

    run = change_after_the_read(emulator, task_id, progress, lambda: run_adhoc({"id": task_id}, module="sailpoint.isc.task_status", api_version="beta"))

    result = run.result()
    assert result["changed"] is True and not result.get("failed"), result["msg"]
    task = truth(emulator, task_id)
    assert (task["completionStatus"], task["progress"]) == ("ERROR", "Aggregated 5000 accounts")
    # The first PATCH failed its guard; the task read again had only progressed, so it was planned again and sent once more.
    assert requests_for(emulator, "PATCH", task_id) == [400, 200]
    assert requests_for(emulator, "GET", task_id) == [200, 200]


def test_raw_patch_test_operations_also_hold_when_isc_applies_the_patch(emulator, run_adhoc):
    """A finished task is guarded by its status fields only: the raw patch's own test is what catches this change."""
    task_id = emulator.tenant.add_task(completion_status="SUCCESS")["id"]
    before = truth(emulator, task_id)
    raw_patch = [
        {"op": "test", "path": "/progress", "value": before["progress"]},
        {"op": "replace", "path": "/description", "value": "Marked by hand"},
    ]
    rerun = [{"op": "replace", "path": "/progress", "value": "Rerun requested"}]

    run = change_after_the_read(
        emulator,
        task_id,
        rerun,
        lambda: run_adhoc({"id": task_id, "force": True, "patch": raw_patch}, module="sailpoint.isc.task_status", api_version="v2025"),
    )

    result = run.result()
    assert result["changed"] is False and result["left_alone"] is True and not result.get("failed")
    assert "test operation in patch does not hold" in result["msg"]
    assert truth(emulator, task_id)["description"] == before["description"]
    assert requests_for(emulator, "PATCH", task_id) == [400]


def test_a_patch_isc_refuses_keeps_status_and_tracking_id_in_results(emulator, run_adhoc):
    task_id = emulator.tenant.add_task(completion_status=None)["id"]

    run = run_adhoc(
        {"ids": [task_id], "patch": [{"op": "replace", "path": "/uniqueName", "value": "Renamed"}]},
        module="sailpoint.isc.task_status",
        api_version="v2026",
        expect_rc=None,
    )

    result = run.result()
    assert result["failed"] is True and result["changed"] is False
    (entry,) = result["results"]
    assert entry["failed"] is True and entry["status"] == 400 and entry["tracking_id"]
    assert f"trackingId {entry['tracking_id']}" in entry["msg"]
    assert "sent uniqueName='Renamed'" in entry["msg"]
    assert "filters" not in entry["msg"]
    assert truth(emulator, task_id)["uniqueName"] != "Renamed"


def test_raw_patch_values_isc_would_refuse_are_refused_before_any_request(emulator, run_adhoc):
    task_id = emulator.tenant.add_task(completion_status=None)["id"]
    for operation, expected in (
        ({"op": "replace", "path": "/progress", "value": None}, "has a null value"),
        ({"op": "replace", "path": "/completionStatus", "value": "DONE"}, "'DONE' is not a task completion status"),
        ({"op": "replace", "path": "/completed", "value": "soon"}, "'soon' is not an ISO 8601 date and time"),
    ):
        emulator.tenant.clear_request_log()
        for check in (False, True):
            run = run_adhoc({"id": task_id, "patch": [operation]}, module="sailpoint.isc.task_status", check=check, expect_rc=2)
            message = run.result()["msg"]
            assert "Invalid option 'patch'" in message and expected in message, message
        assert emulator.tenant.request_counts() == {}, f"{operation}: refused before any request"


def test_ids_from_a_lookup_that_found_nothing_change_nothing(run_playbook, emulator):
    emulator.tenant.add_task(completion_status=None, age_s=3600)  # pending, but not for 12 hours
    run = run_playbook("task_status_lookup_nothing_found.yml")
    result = run.result("Clear every task pending for more than 12 hours")
    assert (result["changed"], result["tasks"], result["results"]) == (False, [], [])
    assert "PATCH" not in " ".join(emulator.tenant.request_counts()), "nothing to clear, so no PATCH"
