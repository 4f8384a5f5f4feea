"""The test_ops switch: how PATCH treats JSON Patch `test` operations (honour, reject, ignore, fail-timestamps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from emulator_testlib import ApiSession

from isc_emulator import Emulator, Tenant
from isc_emulator.__main__ import _parser, main
from isc_emulator.patching import TEST_OPS_MODES
from isc_emulator.testing import EmulatorProcess

CHANGE = {"op": "replace", "path": "/description", "value": "changed by the patch"}


def _stored(emu: Emulator, task_id: str) -> dict[str, Any]:
    return next(task for task in emu.tenant.tasks() if task["id"] == task_id)


def _matching(task: dict[str, Any], field: str) -> dict[str, Any]:
    return {"op": "test", "path": f"/{field}", "value": task[field]}


def _failing(field: str) -> dict[str, Any]:
    return {"op": "test", "path": f"/{field}", "value": "WARNING" if field == "completionStatus" else 0 if field == "percentComplete" else "other"}


def _patch(emu: Emulator, pat: ApiSession, tests: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> tuple[requests.Response, dict[str, Any], dict[str, Any]]:
    """PATCH a fresh finished task with its `tests(task)`, then CHANGE; (response, task before, task after)."""
    before = emu.tenant.add_task(completion_status="SUCCESS", age_s=3600)
    response = pat.patch(f"/v2025/task-status/{before['id']}", [*tests(before), CHANGE])
    return response, before, _stored(emu, before["id"])


# What each mode answers to a passing test of a plain field, a failing one, and a passing test of a timestamp.
EXPECTED = {
    "honour": (200, 400, 200),
    "reject": (400, 400, 400),
    "ignore": (200, 200, 200),
    "fail-timestamps": (200, 400, 400),
}


@pytest.mark.parametrize("mode", TEST_OPS_MODES)
def test_each_mode_over_http(emu: Emulator, pat: ApiSession, mode: str) -> None:
    if mode != "honour":
        emu.tenant.configure(test_ops=mode)
    cases = [
        lambda task: [_matching(task, "progress")],
        lambda task: [_failing("progress")],
        lambda task: [_matching(task, "modified")],
    ]
    statuses = []
    for tests in cases:
        response, before, after = _patch(emu, pat, tests)
        statuses.append(response.status_code)
        if response.status_code == 200:
            assert after["description"] == CHANGE["value"] == response.json()["description"]
        else:
            assert after == before, "a refused patch must change nothing"
            body = response.json()
            assert body["detailCode"] == "400.1 Bad Request Content" and body["trackingId"]
            expected_text = "test operations are not supported" if mode == "reject" else "test operation failed"
            assert expected_text in body["messages"][0]["text"]
    assert tuple(statuses) == EXPECTED[mode]


def test_reject_refuses_only_patches_that_carry_a_test(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(test_ops="reject")
    response, _before, after = _patch(emu, pat, lambda task: [])
    assert response.status_code == 200 and after["description"] == CHANGE["value"]


def test_ignore_applies_the_rest_even_when_a_test_would_fail(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(test_ops="ignore")
    failing = [_failing("completionStatus"), _failing("percentComplete"), {"op": "test", "path": "/nothing/here", "value": "x"}]
    response, _before, after = _patch(emu, pat, lambda task: failing)
    assert response.status_code == 200 and after["description"] == CHANGE["value"]


@pytest.mark.parametrize("field", ["created", "modified", "launched", "completed"])
def test_fail_timestamps_fails_every_timestamp_test_even_when_it_matches(emu: Emulator, pat: ApiSession, field: str) -> None:
    emu.tenant.configure(test_ops="fail-timestamps")
    task = emu.tenant.add_task(completion_status="SUCCESS", age_s=3600)
    response = pat.patch(f"/v2025/task-status/{task['id']}", [_matching(task, field), CHANGE])
    assert response.status_code == 400
    assert f"/{field}" in response.json()["messages"][0]["text"]
    assert _stored(emu, task["id"]) == task
    # The same test under the default mode passes: the failure is the switch's doing, not a mismatch.
    emu.tenant.configure(test_ops="honour")
    assert pat.patch(f"/v2025/task-status/{task['id']}", [_matching(task, field), CHANGE]).status_code == 200


@pytest.mark.parametrize("field", ["completionStatus", "percentComplete", "progress"])
def test_fail_timestamps_honours_tests_of_other_fields(emu: Emulator, pat: ApiSession, field: str) -> None:
    emu.tenant.configure(test_ops="fail-timestamps")
    task = emu.tenant.add_task(completion_status="SUCCESS", age_s=3600)
    assert pat.patch(f"/v2025/task-status/{task['id']}", [_matching(task, field), CHANGE]).status_code == 200
    assert pat.patch(f"/v2025/task-status/{task['id']}", [_failing(field), CHANGE]).status_code == 400


def test_control_api_round_trip_and_refusal(emu: Emulator) -> None:
    url = f"{emu.url}/_emulator/config"
    assert requests.get(url, timeout=5).json()["test_ops"] == "honour"
    answer = requests.post(url, json={"test_ops": "reject"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["test_ops"] == "reject"
    assert requests.get(url, timeout=5).json()["test_ops"] == "reject"
    refused = requests.post(url, json={"test_ops": "sometimes"}, timeout=5)
    assert refused.status_code == 400
    assert "test_ops" in refused.json()["error"] and "fail-timestamps" in refused.json()["error"]
    assert requests.get(url, timeout=5).json()["test_ops"] == "reject"
    assert requests.post(f"{emu.url}/_emulator/reset", json={}, timeout=5).status_code == 200
    assert requests.get(url, timeout=5).json()["test_ops"] == "honour"


def test_reset_restores_the_startup_mode() -> None:
    tenant = Tenant(seed="empty", test_ops="ignore")
    assert tenant.config.test_ops == "ignore"
    tenant.configure(test_ops="reject")
    tenant.reset()
    assert tenant.config.as_dict()["test_ops"] == "ignore"


def test_bad_modes_are_refused_in_python() -> None:
    with pytest.raises(ValueError, match="test_ops"):
        Tenant(seed="empty", test_ops="honor")
    with pytest.raises(ValueError, match="test_ops"):
        Emulator(port=0, seed="empty", test_ops="")
    tenant = Tenant(seed="empty")
    with pytest.raises(ValueError, match="test_ops"):
        tenant.configure(test_ops=None)
    assert tenant.config.test_ops == "honour"


def test_command_line_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert _parser().parse_args([]).test_ops == "honour"
    assert [_parser().parse_args(["--test-ops", mode]).test_ops for mode in TEST_OPS_MODES] == list(TEST_OPS_MODES)
    with pytest.raises(SystemExit) as refused:
        main(["--test-ops", "always"])
    assert refused.value.code == 2
    assert "--test-ops" in capsys.readouterr().err


def test_command_line_flag_reaches_the_tenant() -> None:
    with EmulatorProcess("--seed", "empty", "--test-ops", "reject") as process:
        assert process.control("GET", "/config")["test_ops"] == "reject"
        task = process.control("POST", "/tasks", {"completion_status": None})
        session = ApiSession(process.url)
        response = session.patch(f"/beta/task-status/{task['id']}", [_matching(task, "percentComplete"), CHANGE])
        assert response.status_code == 400
        assert "test operations are not supported" in response.json()["messages"][0]["text"]
