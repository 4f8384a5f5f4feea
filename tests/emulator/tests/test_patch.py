"""PATCH: JSON Patch over the changeable fields, enum casing, all-or-nothing `test`, content type."""

from __future__ import annotations

import time
from typing import Any

import pytest
from emulator_testlib import ApiSession, allow_spec_violations

from isc_emulator import Emulator
from isc_emulator.versions import API_VERSIONS


@pytest.fixture
def pending_task(emu: Emulator) -> dict[str, Any]:
    return emu.tenant.add_task(completion_status=None, age_s=3 * 86400)


def _stored(emu: Emulator, task_id: str) -> dict[str, Any]:
    return next(task for task in emu.tenant.tasks() if task["id"] == task_id)


@pytest.mark.parametrize("version_name", list(API_VERSIONS))
def test_clearing_a_pending_task(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any], version_name: str) -> None:
    path = f"{API_VERSIONS[version_name].list_path}/{pending_task['id']}"
    response = pat.patch(
        path,
        [
            {"op": "replace", "path": "/completionStatus", "value": "Error"},
            {"op": "replace", "path": "/completed", "value": "2024-05-17 19:33:16.470000+00:00"},
        ],
    )
    assert response.status_code == 200
    body = response.json()
    assert body["completionStatus"] == "ERROR"
    assert body["completed"] == "2024-05-17T19:33:16.470Z"
    assert body["modified"] != pending_task["modified"]
    assert pat.get(path).json() == body


@pytest.mark.parametrize("value", ["success", "Success", "SUCCESS", "sUcCeSs"])
def test_enum_values_in_any_casing_are_stored_upper_case(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any], value: str) -> None:
    response = pat.patch(f"/v2026/task-status/{pending_task['id']}", [{"op": "replace", "path": "/completionStatus", "value": value}])
    assert response.status_code == 200
    assert _stored(emu, pending_task["id"])["completionStatus"] == "SUCCESS"


def test_test_operations_compare_enum_values_in_any_casing(emu: Emulator, pat: ApiSession) -> None:
    task = emu.tenant.add_task(completion_status="WARNING")
    operations = [{"op": "test", "path": "/completionStatus", "value": "Warning"}, {"op": "replace", "path": "/progress", "value": "checked"}]
    assert pat.patch(f"/v2025/task-status/{task['id']}", operations).status_code == 200


@pytest.mark.parametrize("path", ["/id", "/type", "/created", "/launcher", "/target", "/messages", "/uniqueName", "/target/name"])
def test_fields_a_client_may_not_change_are_400(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any], path: str) -> None:
    response = pat.patch(f"/v2025/task-status/{pending_task['id']}", [{"op": "replace", "path": path, "value": "x"}])
    assert response.status_code == 400
    assert path in response.json()["messages"][0]["text"]
    assert _stored(emu, pending_task["id"]) == pending_task


def test_a_failed_test_operation_applies_nothing(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any]) -> None:
    operations = [
        {"op": "replace", "path": "/description", "value": "changed"},
        {"op": "test", "path": "/progress", "value": "not the progress"},
        {"op": "replace", "path": "/completionStatus", "value": "ERROR"},
    ]
    response = pat.patch(f"/v2025/task-status/{pending_task['id']}", operations)
    assert response.status_code == 400
    assert "test" in response.json()["messages"][0]["text"]
    assert _stored(emu, pending_task["id"]) == pending_task


def test_a_passing_test_operation_lets_the_patch_through(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any]) -> None:
    operations = [
        {"op": "test", "path": "/modified", "value": pending_task["modified"]},
        {"op": "test", "path": "/id", "value": pending_task["id"]},
        {"op": "replace", "path": "/percentComplete", "value": 100},
        {"op": "add", "path": "/description", "value": "cleared by automation"},
    ]
    response = pat.patch(f"/v2025/task-status/{pending_task['id']}", operations)
    assert response.status_code == 200
    assert response.json()["percentComplete"] == 100
    assert response.json()["description"] == "cleared by automation"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "test", "path": "/completionStatus", "value": None},
        {"op": "replace", "path": "/progress", "value": None},
        {"op": "add", "path": "/description", "value": None},
    ],
)
def test_null_values_are_400_naming_the_schema_rule(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any], operation: dict[str, Any]) -> None:
    # JsonPatchOperation.value is oneOf string, boolean, integer, object, array: JSON null matches none of them,
    # even where it equals the current value.
    allow_spec_violations(emu)
    operations = [operation, {"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
    response = pat.patch(f"/v2025/task-status/{pending_task['id']}", operations)
    assert response.status_code == 400, response.text
    text = response.json()["messages"][0]["text"]
    assert "null" in text and "JsonPatchOperation.value" in text
    assert _stored(emu, pending_task["id"]) == pending_task


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "path": "/completionStatus", "value": "DONE"}],
        [{"op": "replace", "path": "/completed", "value": "yesterday"}],
        [{"op": "replace", "path": "/completed", "value": "2024-05-17T19:33:16"}],
        [{"op": "replace", "path": "/percentComplete", "value": 101}],
        [{"op": "remove", "path": "/progress"}],
        [{"op": "replace", "path": "/progress"}],
        [{"op": "jump", "path": "/progress", "value": "x"}],
        [{"path": "/progress", "value": "x"}],
        {"op": "replace", "path": "/progress", "value": "x"},
        [{"op": "replace", "path": "progress", "value": "x"}],
        [{"op": "move", "from": "/launcher", "path": "/description"}],
    ],
)
def test_invalid_patches_are_400_and_change_nothing(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any], operations: Any) -> None:
    allow_spec_violations(emu)  # some of these bodies break JsonPatchOperation itself
    response = pat.patch(f"/v2025/task-status/{pending_task['id']}", operations)
    assert response.status_code == 400, response.text
    assert response.json()["detailCode"].startswith("400")
    assert _stored(emu, pending_task["id"]) == pending_task


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_patch_needs_the_json_patch_content_type(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any], content_type: str | None) -> None:
    allow_spec_violations(emu)  # the spec's only media type is application/json-patch+json
    body = '[{"op": "replace", "path": "/progress", "value": "x"}]'
    headers = {"Content-Type": content_type} if content_type else {"Content-Type": ""}
    response = pat.request("PATCH", f"/v2025/task-status/{pending_task['id']}", data=body, headers=headers)
    assert response.status_code == 400
    assert "application/json-patch+json" in response.json()["messages"][0]["text"]
    ok = pat.request("PATCH", f"/v2025/task-status/{pending_task['id']}", data=body, headers={"Content-Type": "application/json-patch+json; charset=utf-8"})
    assert ok.status_code == 200


def test_body_that_is_not_json_is_400(emu: Emulator, pat: ApiSession, pending_task: dict[str, Any]) -> None:
    allow_spec_violations(emu)
    response = pat.patch(f"/v2025/task-status/{pending_task['id']}", None, data="[{not json")
    assert response.status_code == 400


def test_patching_an_unknown_task_is_404(emu: Emulator, pat: ApiSession) -> None:
    response = pat.patch("/v2025/task-status/" + "f" * 32, [{"op": "replace", "path": "/progress", "value": "x"}])
    assert response.status_code == 404
    assert response.json()["detailCode"] == "404 Not found"


def test_clearing_a_launched_task_stops_its_progress(emu: Emulator, pat: ApiSession) -> None:
    task = emu.tenant.launch_task(duration_s=0.5, completion_status="SUCCESS")
    response = pat.patch(f"/v2025/task-status/{task['id']}", [{"op": "replace", "path": "/completionStatus", "value": "TERMINATED"}])
    assert response.status_code == 200
    time.sleep(0.6)
    assert _stored(emu, task["id"])["completionStatus"] == "TERMINATED"
