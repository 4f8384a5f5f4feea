"""The control interface: faults of every kind, latency, request log and summary, reset, config."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from emulator_testlib import ApiSession, allow_spec_violations

from isc_emulator import Emulator


def control(emu: Emulator, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{emu.url}/_emulator{path}", timeout=5, **kwargs)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_faults_answer_the_next_n_requests(emu: Emulator, pat: ApiSession, status: int) -> None:
    pat.token  # noqa: B018
    emu.tenant.clear_request_log()
    assert control(emu, "POST", "/faults", json={"kind": "status", "status": status, "count": 2}).status_code == 200
    first, second, third = (pat.get("/v2025/task-status") for _repeat in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [status, status, 200]
    assert first.json()["detailCode"].startswith(str(status))
    assert first.json()["messages"][0]["text"]
    assert [entry["fault"] for entry in emu.tenant.request_log()] == ["status", "status", None]


def test_html_fault_looks_like_a_proxy_page(emu: Emulator, pat: ApiSession) -> None:
    pat.token  # noqa: B018
    emu.tenant.inject_fault("status", status=502, html=True)
    response = pat.get("/v2025/task-status")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_faults_apply_before_auth_and_to_the_token_endpoint(emu: Emulator) -> None:
    allow_spec_violations(emu)  # a request without a bearer token breaks the spec's security requirement
    emu.tenant.inject_fault("status", status=503, retry_after=2)
    unauthenticated = requests.get(f"{emu.url}/beta/task-status", timeout=5)
    assert unauthenticated.status_code == 503
    assert unauthenticated.headers["Retry-After"] == "2"
    emu.tenant.inject_fault("status", status=504, path_contains="/oauth/token")
    assert ApiSession(emu.url).login().status_code == 504
    assert ApiSession(emu.url).login().status_code == 200


def test_fault_filters_by_method_and_path(emu: Emulator, pat: ApiSession) -> None:
    task = emu.tenant.add_task(completion_status=None)
    pat.token  # noqa: B018
    emu.tenant.inject_fault("status", status=500, method="PATCH", path_contains="/v2026/")
    assert pat.get(f"/v2026/task-status/{task['id']}").status_code == 200
    operations = [{"op": "replace", "path": "/progress", "value": "x"}]
    assert pat.patch(f"/v2025/task-status/{task['id']}", operations).status_code == 200
    assert pat.patch(f"/v2026/task-status/{task['id']}", operations).status_code == 500
    assert pat.patch(f"/v2026/task-status/{task['id']}", operations).status_code == 200


def test_drop_closes_the_connection_without_an_answer(emu: Emulator, pat: ApiSession) -> None:
    pat.token  # noqa: B018
    emu.tenant.clear_request_log()
    emu.tenant.inject_fault("drop")
    with pytest.raises(requests.ConnectionError):
        pat.get("/v2025/task-status")
    assert pat.get("/v2025/task-status").status_code == 200
    assert emu.tenant.request_log()[0]["status"] is None
    assert emu.tenant.request_log()[0]["fault"] == "drop"


@pytest.mark.parametrize(("fault", "status"), [({"kind": "status", "status": 504}, 504), ({"kind": "drop"}, None)])
def test_apply_first_carries_the_patch_out_then_loses_the_answer(emu: Emulator, pat: ApiSession, fault: dict, status: int | None) -> None:
    task = emu.tenant.add_task(completion_status=None)
    pat.token  # noqa: B018
    emu.tenant.clear_request_log()
    control(emu, "POST", "/faults", json={**fault, "method": "PATCH", "apply_first": True})
    operations = [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
    if status is None:
        with pytest.raises(requests.ConnectionError):
            pat.patch(f"/v2025/task-status/{task['id']}", operations)
    else:
        assert pat.patch(f"/v2025/task-status/{task['id']}", operations).status_code == status
    assert pat.get(f"/v2025/task-status/{task['id']}").json()["completionStatus"] == "ERROR"
    (patch_entry, _read) = emu.tenant.request_log()
    assert (patch_entry["status"], patch_entry["fault"], patch_entry["client_id"]) == (status, f"{fault['kind']}+applied", "pat-0001-demo-client")


@pytest.mark.parametrize("fault", [{"kind": "slow", "seconds": 1}, {"kind": "rate_limit_storm"}, {"kind": "status", "status": 429}])
def test_apply_first_is_refused_where_no_answer_could_follow_work(emu: Emulator, fault: dict) -> None:
    response = control(emu, "POST", "/faults", json={**fault, "apply_first": True})
    assert response.status_code == 400
    assert "apply_first" in response.json()["error"]
    assert emu.tenant.faults() == []


def test_slow_answers_after_the_client_timeout(emu: Emulator, pat: ApiSession) -> None:
    pat.token  # noqa: B018
    emu.tenant.clear_request_log()
    emu.tenant.inject_fault("slow", seconds=0.6)
    with pytest.raises(requests.Timeout):
        pat.get("/v2025/task-status", timeout=0.2)
    emu.tenant.inject_fault("slow", seconds=0.3)
    started = time.monotonic()
    assert pat.get("/v2025/task-status").status_code == 200
    assert time.monotonic() - started >= 0.3
    # The request the client gave up on is still carried out and answered (settle: without waiting for it).
    emu.tenant.settle()
    assert [entry["status"] for entry in emu.tenant.request_log()] == [200, 200]


def test_held_requests_go_on_when_released_and_settle_waits_for_them(emu: Emulator, pat: ApiSession) -> None:
    pat.token  # noqa: B018
    emu.tenant.clear_request_log()
    control(emu, "POST", "/faults", json={"kind": "slow", "seconds": 600, "count": 2})
    with ThreadPoolExecutor(2) as pool:
        answers = [pool.submit(pat.get, "/v2025/task-status", timeout=700) for _request in range(2)]
        while emu.tenant.faults():  # both requests have reached the fault
            time.sleep(0.01)
        assert emu.tenant.request_log() == [] and not any(answer.done() for answer in answers)
        assert control(emu, "GET", "/requests", params={"settle": "1"}).json()[0]["status"] == 200
        assert [answer.result().status_code for answer in answers] == [200, 200]
    assert len(emu.tenant.request_log()) == 2
    emu.tenant.inject_fault("slow", seconds=600)
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(pat.get, "/v2025/task-status", timeout=700)
        while emu.tenant.faults():
            time.sleep(0.01)
        control(emu, "POST", "/faults/release")
        assert answer.result().status_code == 200


def test_rate_limit_storm(emu: Emulator, pat: ApiSession) -> None:
    pat.token  # noqa: B018
    control(emu, "POST", "/faults", json={"kind": "rate_limit_storm", "count": 3, "retry_after": 2})
    answers = [pat.get("/beta/task-status") for _repeat in range(4)]
    assert [answer.status_code for answer in answers] == [429, 429, 429, 200]
    assert answers[0].json() == {"message": " Rate Limit Exceeded "}
    assert answers[0].headers["Retry-After"] == "2"


def test_429_without_retry_after(emu: Emulator, pat: ApiSession) -> None:
    pat.token  # noqa: B018
    control(emu, "POST", "/faults", json={"kind": "status", "status": 429, "retry_after": None})
    answer = pat.get("/beta/task-status")
    assert answer.status_code == 429 and "Retry-After" not in answer.headers
    assert pat.get("/beta/task-status").status_code == 200


def test_faults_are_listed_and_cleared(emu: Emulator) -> None:
    control(emu, "POST", "/faults", json=[{"kind": "drop"}, {"kind": "status", "status": 502, "count": 4}])
    assert [fault["kind"] for fault in control(emu, "GET", "/faults").json()] == ["drop", "status"]
    control(emu, "DELETE", "/faults")
    assert control(emu, "GET", "/faults").json() == []
    assert control(emu, "POST", "/faults", json={"kind": "explode"}).status_code == 400
    assert control(emu, "POST", "/faults", json={"kind": "status", "status": 200}).status_code == 400


def test_latency_is_per_request_and_overlaps_across_connections(emu: Emulator) -> None:
    sessions = [ApiSession(emu.url) for _repeat in range(8)]
    for session in sessions:
        session.token  # noqa: B018
    control(emu, "POST", "/config", json={"latency_ms": 300, "rate_limit": None})
    emu.tenant.clear_request_log()
    started = time.monotonic()
    assert sessions[0].get("/beta/task-status").status_code == 200
    assert time.monotonic() - started >= 0.3
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda session: session.get("/beta/task-status").status_code, sessions))
    assert statuses == [200] * 8
    log = emu.tenant.request_log()
    assert all(entry["duration_ms"] >= 300 for entry in log)
    # Served in parallel, not one after another: by the emulator's own log, some requests were in progress at once.
    spans = [(entry["time"], entry["time"] + entry["duration_ms"] / 1000) for entry in log[1:]]
    at_once = max(sum(1 for start, end in spans if start <= moment < end) for moment, _end in spans)
    assert at_once >= 2, spans


def test_request_log_and_summary(emu: Emulator, pat: ApiSession, api_client: ApiSession) -> None:
    task = emu.tenant.add_task()
    pat.get("/beta/task-status", params={"limit": 5, "filters": 'id eq "x"'})
    pat.get(f"/beta/task-status/{task['id']}")
    api_client.get(f"/task-status/v1/{task['id']}")
    pat.patch(f"/beta/task-status/{task['id']}", [{"op": "replace", "path": "/progress", "value": "x"}])
    log = control(emu, "GET", "/requests").json()
    assert [(entry["method"], entry["path"]) for entry in log] == [
        ("POST", "/oauth/token"),
        ("GET", "/beta/task-status"),
        ("GET", f"/beta/task-status/{task['id']}"),
        ("POST", "/oauth/token"),
        ("GET", f"/task-status/v1/{task['id']}"),
        ("PATCH", f"/beta/task-status/{task['id']}"),
    ]
    assert log[1]["query"] == {"limit": "5", "filters": 'id eq "x"'}
    assert [entry["status"] for entry in log] == [200, 200, 200, 200, 200, 200]
    assert [entry["api_version"] for entry in log] == ["oauth", "beta", "beta", "oauth", "v1", "beta"]
    assert log[4]["client_id"] == "api-0002-demo-client" and log[5]["client_id"] == "pat-0001-demo-client"
    assert all(isinstance(entry["time"], float) for entry in log)
    assert control(emu, "GET", "/requests/summary").json() == {
        "POST /oauth/token": 2,
        "GET /beta/task-status": 1,
        "GET /beta/task-status/{id}": 1,
        "GET /task-status/v1/{id}": 1,
        "PATCH /beta/task-status/{id}": 1,
    }
    control(emu, "DELETE", "/requests")
    assert emu.tenant.request_log() == [] and emu.tenant.request_counts() == {}


def test_reset_restores_a_clean_tenant(emu: Emulator, pat: ApiSession) -> None:
    pat.get("/beta/task-status")
    emu.tenant.inject_fault("drop")
    emu.tenant.configure(latency_ms=50, token_ttl_s=3)
    answer = control(emu, "POST", "/reset", json={"seed": "demo", "generate": 10})
    assert answer.status_code == 200 and answer.json()["tasks"] == 45 + 10
    assert emu.tenant.faults() == [] and emu.tenant.request_log() == []
    assert emu.tenant.config.latency_ms == 0 and emu.tenant.config.token_ttl_s == 749
    assert pat.get("/beta/task-status").status_code == 200  # tokens survive a reset
    control(emu, "POST", "/reset", json={})
    assert emu.tenant.tasks() == []
    assert control(emu, "POST", "/reset", json={"seed": "bogus"}).status_code == 400


def test_control_misc(emu: Emulator) -> None:
    assert control(emu, "GET", "/health").json() == {"status": "ok"}
    config = control(emu, "POST", "/config", json={"latency_ms": 5, "rate_limit": {"requests": 7, "window_s": 3}}).json()
    assert config["latency_ms"] == 5 and config["rate_limit"] == {"requests": 7, "window_s": 3.0}
    assert control(emu, "GET", "/config").json() == config
    assert control(emu, "POST", "/config", json={"colour": "blue"}).status_code == 400
    assert control(emu, "POST", "/config", data="{not json").status_code == 400
    assert control(emu, "GET", "/nothing").status_code == 404
    assert control(emu, "POST", "/clients", json={"client_id": "x-client", "secret": "s", "user_context": False}).status_code == 201
    assert ApiSession(emu.url, ("x-client", "s")).login().status_code == 200
    assert control(emu, "POST", "/clients", json={}).status_code == 400


def test_experimental_header_switch(emu: Emulator, pat: ApiSession) -> None:
    assert pat.get("/task-status/v1").status_code == 200
    emu.tenant.configure(require_experimental_header=True)
    refused = pat.get("/task-status/v1")
    assert refused.status_code == 400
    assert refused.json() == {"error": "Experimental Header is missing or invalid."}
    assert pat.get("/task-status/v1", headers={"X-SailPoint-Experimental": "true"}).status_code == 200
    assert pat.get("/v2026/task-status").status_code == 200
