# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""task_status: option checks, result shape (run() with a mocked client), main() end to end with a mocked client."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from unittest.mock import Mock

import jsonpatch
import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import (
    IscBadRequestError,
    IscConfigError,
    IscForbiddenError,
    IscServerError,
    IscWaitTimeoutError,
)
from ansible_collections.sailpoint.isc.plugins.modules import task_status
from ansible_collections.sailpoint.isc.tests.unit.fakes import mock_client

NOW = datetime(2024, 5, 17, 19, 33, 16, 470000, tzinfo=UTC)
CONNECTION = {"base_url": "http://127.0.0.1:9", "client_id": "pat-client", "client_secret": "s3cr3t-value"}


def make_task(task_id: str = "t1", status: str | None = None, **fields: Any) -> dict[str, Any]:
    task = {
        "id": task_id,
        "uniqueName": "Cloud Account Aggregation",
        "description": "Aggregate",
        "completed": "2024-05-17T19:00:00.000Z" if status else None,
        "completionStatus": status,
        "progress": "Started",
        "modified": "2024-05-17T18:00:00.000Z",
    }
    task.update(fields)
    return task


def params(**options: Any) -> dict[str, Any]:
    base = {name: spec.get("default") for name, spec in task_status.argument_spec().items()}
    base.update(options)
    return base


# --- build_request -------------------------------------------------------------------------------------------


def test_request_for_one_task_normalises_values():
    request = task_status.build_request(params(id=" t1 ", completion_status="warning", completed="2024-05-17T21:33:16.470+02:00"))

    assert request.task_ids == ("t1",) and not request.many
    assert request.desired.completion_status == "WARNING"
    assert request.desired.completed == "2024-05-17T19:33:16.470Z"


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"id": "t1", "completion_status": "done"}, "completion_status"),
        ({"id": "t1", "completed": "soon"}, "completed"),
        ({"ids": ["ok", "not an id"]}, "ids"),
        ({"id": "../x"}, "id"),
        ({"id": "t1", "wait": True, "description": "x"}, "wait"),
        ({"id": "t1", "wait": True, "force": True}, "wait"),
        ({"id": "t1", "wait": True, "wait_sleep": 0}, "wait_sleep"),
        ({"id": "t1", "wait": True, "wait_timeout": -1}, "wait_timeout"),
        ({"id": "t1", "patch": []}, "patch"),
        ({"id": "t1", "patch": [{"op": "replace", "path": "/completionStatus", "value": "DONE"}]}, "patch"),
        ({"id": "t1", "patch": [{"op": "replace", "path": "/completed", "value": "soon"}]}, "patch"),
        ({"id": "t1", "patch": [{"op": "test", "path": "/completed", "value": None}]}, "patch"),
    ],
)
def test_bad_options_are_refused_before_any_request(options, option):
    with pytest.raises(IscConfigError) as caught:
        task_status.build_request(params(**options))
    assert caught.value.option == option


# --- run -----------------------------------------------------------------------------------------------------


def test_run_single_returns_task_and_diff_only_in_diff_mode():
    task = make_task()
    for diff in (False, True):
        client = mock_client()
        client.get_task.return_value = task
        client.patch_task.side_effect = lambda task_id, operations: jsonpatch.apply_patch(task, operations)
        request = task_status.build_request(params(id="t1"))

        result, failure = task_status.run(request, client, check_mode=False, diff=diff, now=NOW)

        assert failure is None
        assert result["changed"] is True and result["left_alone"] is False
        assert result["task"]["completionStatus"] == "ERROR"
        assert ("diff" in result) is diff
    assert result["diff"]["before"] == {"completionStatus": None, "completed": None}


def test_run_many_fails_at_the_end_with_every_outcome():
    client = mock_client("v2025")
    tasks = [make_task("a"), make_task("b", status="SUCCESS")]
    client.iter_tasks.return_value = iter(tasks)
    client.get_task.return_value = None
    client.patch_task.side_effect = lambda task_id, operations: jsonpatch.apply_patch(tasks[0], operations)
    request = task_status.build_request(params(ids=["a", "b", "gone"], completion_status="error"))

    result, failure = task_status.run(request, client, check_mode=False, diff=True, now=NOW)

    assert failure.startswith("1 of 3 tasks failed")
    assert "90 days" in failure
    assert [(r["id"], r["changed"], r["left_alone"], r["failed"]) for r in result["results"]] == [
        ("a", True, False, False),
        ("b", False, True, False),
        ("gone", False, False, True),
    ]
    assert result["changed"] is True
    # A failing result is printed whole by Ansible: it names the tasks but carries no whole task object.
    assert "tasks" not in result and not any("task" in entry for entry in result["results"])
    assert [entry["name"] for entry in result["results"]] == ["Cloud Account Aggregation", "Cloud Account Aggregation", "gone"]
    assert [entry["before_header"] for entry in result["diff"]] == ["task a"]


def test_run_many_reports_a_failure_repeated_over_every_task_once_with_a_count():
    client = mock_client("v2025")
    tasks = [make_task(task_id) for task_id in ("a", "b", "c", "d", "e")]
    client.iter_tasks.return_value = iter(tasks)
    client.patch_task.side_effect = IscForbiddenError(method="PATCH", path="/v2025/task-status/a", status=403, tracking_id="t-1", error_text="Forbidden")
    request = task_status.build_request(params(ids=[task["id"] for task in tasks]))

    result, failure = task_status.run(request, client, check_mode=False, diff=False, now=NOW)

    assert failure.startswith("5 of 5 tasks failed. HTTP 403 on 5 of 5 tasks (Cloud Account Aggregation):")
    assert failure.count("idn:task-management:write") == 1 and "HELPDESK" in failure
    assert "/v2025/task-status/a" not in failure, "the cause, not one task's request"
    assert client.patch_task.call_count == 1, "the error would repeat: no PATCH after the first"


def test_run_wait_raises_the_timeout_for_one_task():
    client = mock_client()
    client.get_task.return_value = make_task()
    request = task_status.build_request(params(id="t1", wait=True, wait_timeout=0, wait_sleep=1))

    with pytest.raises(IscWaitTimeoutError) as caught:
        task_status.run(request, client, check_mode=False, diff=False, now=NOW)
    assert "had not finished" in str(caught.value)
    assert caught.value.to_fail_json()["task"]["id"] == "t1"
    client.patch_task.assert_not_called()


# --- main ----------------------------------------------------------------------------------------------------


def run_main(monkeypatch, capsys, client: Mock | None, **options: Any) -> tuple[int, dict[str, Any]]:
    if client is not None:
        monkeypatch.setattr(task_status, "IscClient", lambda config, warn: client)
    with patch_module_args({**CONNECTION, **options}), pytest.raises(SystemExit) as exited:
        task_status.main()
    output = capsys.readouterr().out
    assert "s3cr3t-value" not in output
    return exited.value.code, json.loads(output)


def test_main_check_mode_sends_no_patch(monkeypatch, capsys):
    client = mock_client()
    client.get_task.return_value = make_task()

    code, result = run_main(monkeypatch, capsys, client, id="t1", _ansible_check_mode=True, _ansible_diff=True)

    assert code == 0 and result["changed"] is True
    assert result["diff"]["after"]["completionStatus"] == "ERROR"
    client.patch_task.assert_not_called()


def test_main_surfaces_403_hint_and_tracking_id(monkeypatch, capsys):
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.side_effect = IscForbiddenError(method="PATCH", path="/beta/task-status/{id}", status=403, tracking_id="e7eab609")

    code, result = run_main(monkeypatch, capsys, client, id="t1")

    assert code == 1 and result["failed"] is True
    assert "personal access token" in result["msg"] and "trackingId e7eab609" in result["msg"]
    assert result["tracking_id"] == "e7eab609" and result["status"] == 403


def test_main_many_failure_keeps_results(monkeypatch, capsys):
    client = mock_client("v2026")
    client.iter_tasks.return_value = iter([])
    client.get_task.return_value = None

    code, result = run_main(monkeypatch, capsys, client, ids=["a", "b"])

    assert code == 1 and result["msg"].startswith("2 of 2 tasks failed")
    assert [entry["id"] for entry in result["results"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "one of the following is required: id, ids"),
        ({"id": "a", "ids": ["b"]}, "mutually exclusive: id|ids"),
        ({"id": "a", "completion_status": "ERROR", "patch": [{"op": "remove", "path": "/x"}]}, "mutually exclusive: patch|completion_status"),
    ],
)
def test_main_argument_rules(monkeypatch, capsys, options, message):
    code, result = run_main(monkeypatch, capsys, None, **options)
    assert code == 1 and message in result["msg"]


def test_main_accepts_camel_case_alias_and_env_connection(monkeypatch, capsys):
    client = mock_client()
    client.get_task.return_value = make_task(status="ERROR")
    seen: dict[str, Any] = {}

    def build(config, warn):
        seen["config"] = config
        return client

    monkeypatch.setattr(task_status, "IscClient", build)
    monkeypatch.setenv("SAIL_BASE_URL", "http://127.0.0.1:8")
    monkeypatch.setenv("SAIL_CLIENT_ID", "env-client")
    monkeypatch.setenv("SAIL_CLIENT_SECRET", "env-secret-value")
    monkeypatch.setenv("SAIL_API_VERSION", "v1")
    with patch_module_args({"id": "t1", "completionStatus": "error"}), pytest.raises(SystemExit):
        task_status.main()
    result = json.loads(capsys.readouterr().out)

    assert result["changed"] is False and result["msg"].endswith("already in the desired state.")
    assert seen["config"].base_url == "http://127.0.0.1:8" and seen["config"].api_version == "v1"
    client.patch_task.assert_not_called()


def test_main_read_back_mismatch_fails_and_reports_the_change(monkeypatch, capsys):
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.return_value = make_task(status="SUCCESS")

    code, result = run_main(monkeypatch, capsys, client, id="t1", completion_status="terminated", _ansible_diff=True)

    assert code == 1 and result["failed"] is True
    # ISC accepted the PATCH: the task changed, although not as sent.
    assert result["changed"] is True
    assert "(sent 'TERMINATED')" in result["msg"]
    assert result["task"]["completionStatus"] == "SUCCESS"
    assert result["diff"]["after"]["completionStatus"] == "SUCCESS"


def test_run_many_read_back_mismatch_is_changed_and_failed():
    client = mock_client("v2025")
    client.iter_tasks.return_value = iter([make_task("a")])
    client.patch_task.return_value = make_task("a", status="SUCCESS")
    request = task_status.build_request(params(ids=["a"], completion_status="error"))

    result, failure = task_status.run(request, client, check_mode=False, diff=False, now=NOW)

    assert failure.startswith("1 of 1 tasks failed")
    assert result["changed"] is True
    assert [(r["changed"], r["failed"]) for r in result["results"]] == [(True, True)]


def test_main_refused_patch_keeps_status_tracking_id_and_what_was_sent(monkeypatch, capsys):
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.side_effect = IscBadRequestError(method="PATCH", path="/beta/task-status/{id}", status=400, tracking_id="f00d", error_text="bad value")

    code, result = run_main(monkeypatch, capsys, client, id="t1", completion_status="temperror")

    assert code == 1 and not result.get("changed")
    assert (result["status"], result["tracking_id"]) == (400, "f00d")
    assert "completionStatus='TEMPERROR'" in result["msg"] and "filters" not in result["msg"]
    assert result["sent"][-2] == {"op": "replace", "path": "/completionStatus", "value": "TEMPERROR"}


def test_main_lost_answer_of_an_applied_patch_is_a_change(monkeypatch, capsys):
    client = mock_client()
    cleared = {**make_task(status="ERROR"), "completed": NOW.isoformat()}
    client.get_task.side_effect = [make_task(), cleared]
    client.patch_task.side_effect = IscServerError(method="PATCH", path="/beta/task-status/{id}", status=504, tracking_id="gw")

    code, result = run_main(monkeypatch, capsys, client, id="t1", completed=NOW.isoformat())

    assert code == 0 and result["changed"] is True
    assert "answer to the PATCH was lost" in result["msg"] and "HTTP 504" in result["msg"]
    assert client.patch_task.call_count == 1


def test_main_lost_answer_not_shown_fails_keeping_status_and_tracking_id(monkeypatch, capsys):
    client = mock_client()
    client.get_task.return_value = make_task()
    client.patch_task.side_effect = IscServerError(method="PATCH", path="/beta/task-status/{id}", status=504, tracking_id="gw")

    code, result = run_main(monkeypatch, capsys, client, id="t1")

    assert code == 1 and not result.get("changed")
    assert (result["status"], result["tracking_id"]) == (504, "gw")
    assert "did not show the change" in result["msg"] and "Running again is safe" in result["msg"]
    assert result["task"]["completionStatus"] is None


def test_main_without_jsonpatch_fails_with_ansibles_missing_library_message(monkeypatch, capsys):
    monkeypatch.setattr(task_status, "HAS_JSONPATCH", False)
    monkeypatch.setattr(task_status, "IscClient", lambda config, warn: pytest.fail("no client before the library check"))

    code, result = run_main(monkeypatch, capsys, None, id="t1")

    assert code == 1 and result["failed"] is True
    assert "Failed to import the required Python library (jsonpatch)" in result["msg"]
    assert "ansible_python_interpreter" in result["msg"]


def test_an_empty_list_of_ids_does_nothing_and_sends_nothing():
    client = mock_client()
    for wait in (False, True):
        request = task_status.build_request(params(ids=[], wait=wait))
        result, failure = task_status.run(request, client, check_mode=False, diff=True, now=NOW)
        assert failure is None
        assert result == {"changed": False, "tasks": [], "results": [], "msg": "No task ids given; nothing to do."}
    assert client.mock_calls == []


def test_an_id_given_twice_is_handled_once_and_counted_once():
    task = make_task("t1")
    client = mock_client("v2025")
    client.iter_tasks.side_effect = lambda filters=None, **kwargs: iter([task])
    client.patch_task.side_effect = lambda task_id, operations: jsonpatch.apply_patch(task, operations)
    request = task_status.build_request(params(ids=["t1", " t1"]))
    result, failure = task_status.run(request, client, check_mode=False, diff=False, now=NOW)
    assert failure is None
    assert [entry["id"] for entry in result["results"]] == ["t1"]
    assert result["msg"] == "1 task: 1 changed, 0 left alone, 0 failed."
    assert client.patch_task.call_count == 1
