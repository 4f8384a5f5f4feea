"""Request validation: every API request held to its version's vendor spec subset (isc_emulator/validation.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_testlib import PATCH_HEADERS, ApiSession

from isc_emulator import Emulator

TESTS_ROOT = Path(__file__).resolve().parents[2]
JSON_PATCH_UTF8 = "application/json-patch+json; charset=utf-8"
VALID_PATCH = [{"op": "replace", "path": "/completionStatus", "value": "Error"}, {"op": "replace", "path": "/completed", "value": "2024-05-17T19:33:16.470Z"}]


def control(emu: Emulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{emu.url}/_emulator{path}", timeout=5, **kwargs)


def test_an_undocumented_query_parameter_is_400_naming_it(emu: Emulator, pat: ApiSession) -> None:
    response = pat.get("/v2025/task-status", params={"limit": 10, "colour": "blue"})
    assert response.status_code == 400
    text = response.json()["messages"][0]["text"]
    assert "undocumented query parameter 'colour'" in text and "task-management.v2025.yaml" in text
    (violation,) = emu.tenant.validation.take_violations()
    assert violation.startswith("GET /v2025/task-status?limit=10&colour=blue: ") and "'colour'" in violation


def _bad_requests(emu: Emulator, pat: ApiSession, task_id: str) -> dict[str, tuple[requests.Response, str]]:
    """Requests that break the specs, each with a part of the violation it must be reported as."""
    patch_path = f"/v2026/task-status/{task_id}"
    return {
        "limit above the maximum": (pat.get("/beta/task-status", params={"limit": 251}), "251 is greater than the maximum of 250"),
        "negative offset": (pat.get("/task-status/v1", params={"offset": -1}), "-1 is less than the minimum of 0"),
        "a boolean spelled as Python does": (pat.get("/v2025/task-status", params={"count": True}), "'count' is a boolean: true or false, not 'True'"),
        "a parameter given twice": (pat.get("/v2024/task-status", params=[("limit", "5"), ("limit", "6")]), "'limit' given 2 times"),
        "filters on pending-tasks": (pat.get("/v2025/task-status/pending-tasks", params={"filters": 'id eq "x"'}), "undocumented query parameter 'filters'"),
        "count on get by id": (pat.get(f"/v2026/task-status/{task_id}", params={"count": "true"}), "undocumented query parameter 'count'"),
        "an empty filter": (pat.get("/v2026/task-status", params={"filters": ""}), "filters"),
        "no bearer token": (pat.get("/v2025/task-status", auth=False), "no 'Authorization: Bearer <token>' header"),
        "basic instead of bearer": (pat.get("/v2025/task-status", auth=False, headers={"Authorization": "Basic cGF0OnNlY3JldA=="}), "Bearer"),
        "PATCH as application/json": (pat.patch(patch_path, VALID_PATCH, headers={"Content-Type": "application/json"}), "application/json-patch+json"),
        "PATCH value null": (pat.patch(patch_path, [{"op": "replace", "path": "/progress", "value": None}]), "0/value: None is not valid"),
        "PATCH op unknown": (pat.patch(patch_path, [{"op": "merge", "path": "/progress", "value": "x"}]), "0/op: 'merge' is not one of"),
        "PATCH body an object": (pat.patch(patch_path, {"op": "replace", "path": "/progress", "value": "x"}), "is not of type 'array'"),
        "PATCH without a body": (pat.request("PATCH", patch_path, headers=PATCH_HEADERS), "Missing required request body"),
        "a path in no spec": (pat.get("/v3/task-status"), "no spec subset has the path /v3/task-status"),
        "a method the spec lacks": (pat.request("DELETE", patch_path), "Operation delete not found"),
        "pending-tasks where it is gone": (pat.head("/v2026/task-status/pending-tasks"), "Operation head not found"),
    }


def test_requests_that_break_the_spec_are_400_and_reported(emu: Emulator, pat: ApiSession) -> None:
    task_id = emu.tenant.add_task(completion_status=None)["id"]
    cases = _bad_requests(emu, pat, task_id)
    violations = emu.tenant.validation.take_violations()
    assert len(violations) == len(cases), violations
    for (name, (response, expected)), violation in zip(cases.items(), violations, strict=True):
        assert response.status_code == 400, name
        assert expected in violation, f"{name}: {violation}"
        if response.request.method != "HEAD":
            assert expected in response.json()["messages"][0]["text"], name
    assert emu.tenant.tasks()[0]["completionStatus"] is None, "no PATCH that broke the spec was carried out"


def test_what_a_careful_client_sends_passes(emu: Emulator, pat: ApiSession) -> None:
    task_id = emu.tenant.add_task(completion_status=None)["id"]
    filters = 'type in ("CLOUD_ACCOUNT_AGGREGATION","IDENTITY_REFRESH") and completionStatus isnull'
    answers = [
        pat.get("/v2025/task-status", params={"limit": 250, "offset": 0, "count": "true", "filters": filters, "sorters": "-created"}),
        pat.get("/task-status/v1", params={"count": "false", "filters": 'sourceId eq "a \\"b\\" #&%"'}),
        pat.head("/beta/task-status/pending-tasks", params={"count": "true"}),
        pat.get("/v2024/task-status/pending-tasks", params={"offset": 0, "limit": 0}),
        pat.get(f"/task-status/v1/{task_id}", headers={"X-SailPoint-Experimental": "true"}),
        pat.request("PATCH", f"/beta/task-status/{task_id}", data=json.dumps(VALID_PATCH), headers={"Content-Type": JSON_PATCH_UTF8}),
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 200, 200]
    assert emu.tenant.validation.take_violations() == []


def test_counted_and_switched_through_the_control_interface(emu: Emulator, pat: ApiSession) -> None:
    pat.token  # noqa: B018 - /oauth/token is not in the task-management specs: not validated, not counted
    before = control(emu, "GET", "/validation").json()
    assert before["enabled"] is True and before["violations"] == []
    pat.get("/beta/task-status")
    pat.get("/beta/task-status", params={"colour": "blue"})
    control(emu, "GET", "/health")
    report = control(emu, "GET", "/validation").json()
    assert report["validated"] == before["validated"] + 2
    assert len(report["violations"]) == 1 and "'colour'" in report["violations"][0]
    assert control(emu, "DELETE", "/validation/violations").json()["violations"] == report["violations"]
    assert control(emu, "POST", "/config", json={"validate_requests": False}).json()["validate_requests"] is False
    assert pat.get("/beta/task-status", params={"colour": "blue"}).status_code == 200  # off: as a lenient tenant
    assert control(emu, "GET", "/validation").json()["validated"] == report["validated"]
    emu.reset()
    assert control(emu, "GET", "/config").json()["validate_requests"] is True  # back to the startup setting


def test_a_violation_fails_the_test_that_caused_it_with_its_text(tmp_path: Path) -> None:
    """The suite's own mechanism (tests/conftest.py), in a pytest run of its own: a test that passes but sent a bad request fails."""
    (tmp_path / "conftest.py").write_text((TESTS_ROOT / "conftest.py").read_text())
    (tmp_path / "test_sample.py").write_text(
        textwrap.dedent(
            """
            import requests

            def test_sends_an_undocumented_parameter(emulator):
                requests.get(emulator.url + "/beta/task-status", params={"colour": "blue"}, headers={"Authorization": "Bearer x"}, timeout=5)

            def test_sends_nothing_wrong(emulator):
                requests.get(emulator.url + "/beta/task-status", headers={"Authorization": "Bearer x"}, timeout=5)
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    assert "FAILED test_sample.py::test_sends_an_undocumented_parameter" in run.stdout
    assert "GET /beta/task-status?colour=blue: task-management.beta.yaml: undocumented query parameter 'colour'" in run.stdout
    assert "isc-emulator: 2 API requests validated against the vendor spec subsets" in run.stdout


@pytest.mark.parametrize("flag", [True, False])
def test_an_emulator_built_without_the_flag_does_not_validate(flag: bool) -> None:
    with Emulator(port=0, seed="empty", validate_requests=flag) as emu:
        answer = ApiSession(emu.url).get("/v2025/task-status", params={"colour": "blue"})
        assert answer.status_code == (400 if flag else 200)
        assert emu.tenant.validation.report()["validated"] == (1 if flag else 0)
        assert len(emu.tenant.validation.take_violations()) == (1 if flag else 0)
