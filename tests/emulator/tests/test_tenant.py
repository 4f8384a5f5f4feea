"""The living tenant: seed data, the 90-day window, launched tasks that progress, the generator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from emulator_testlib import ApiSession

from isc_emulator import Emulator, Tenant
from isc_emulator.records import parse_timestamp


def _age(task: dict[str, Any]) -> timedelta:
    return datetime.now(UTC) - parse_timestamp(task["created"])


def test_demo_seed_looks_like_a_real_tenant(emu: Emulator) -> None:
    emu.reset(seed="demo")
    tasks = emu.tenant.tasks()
    visible = [task for task in tasks if not task["_expired"]]
    assert 35 <= len(visible) <= 50
    sources = {task["target"]["name"] for task in visible if task["target"]}
    assert {"Active Directory [source]", "Workday [source]", "ServiceNow [source]"} <= sources
    assert {"CLOUD_ACCOUNT_AGGREGATION", "CLOUD_GROUP_AGGREGATION", "IDENTITY_REFRESH"} <= {task["_definitionType"] for task in visible}
    by_status: dict[Any, list[dict[str, Any]]] = {}
    for task in visible:
        by_status.setdefault(task["completionStatus"], []).append(task)
    assert by_status["SUCCESS"]
    assert by_status["WARNING"] and all(task["messages"] and task["messages"][0]["type"] == "WARN" for task in by_status["WARNING"])
    assert by_status["ERROR"] and all(task["messages"][0]["localizedText"]["message"] for task in by_status["ERROR"])
    pending = by_status[None]
    assert len(pending) == 3
    assert all(task["completed"] is None and task["percentComplete"] < 100 and task["progress"] for task in pending)
    stuck = [task for task in pending if timedelta(days=2) <= _age(task) <= timedelta(days=5)]
    recent = [task for task in pending if _age(task) < timedelta(hours=1)]
    assert len(stuck) == 2 and len(recent) == 1
    expired = [task for task in tasks if task["_expired"]]
    assert len(expired) == 2 and all(_age(task) > timedelta(days=90) for task in expired)
    assert max(_age(task) for task in visible) <= timedelta(days=31)


def test_demo_seed_is_deterministic() -> None:
    first = [task["id"] for task in Tenant(seed="demo").tasks()]
    second = [task["id"] for task in Tenant(seed="demo").tasks()]
    assert first == second


def test_tasks_older_than_90_days_are_not_returned(emu: Emulator, pat: ApiSession) -> None:
    day = 86400
    inside = emu.tenant.add_task(age_s=89 * day)
    outside = emu.tenant.add_task(age_s=91 * day, completion_status=None)
    for list_path in ("/beta/task-status", "/v2025/task-status", "/task-status/v1"):
        assert {task["id"] for task in pat.list_all(list_path)} == {inside["id"]}
    assert pat.get(f"/v2025/task-status/{outside['id']}").status_code == 404
    assert pat.get("/v2025/task-status/pending-tasks").status_code == 204
    assert pat.patch(f"/v2025/task-status/{outside['id']}", [{"op": "replace", "path": "/progress", "value": "x"}]).status_code == 404
    emu.tenant.advance_clock(2 * day)
    pat._token = None  # the clock also aged the token past its expiry
    assert pat.get(f"/v2025/task-status/{inside['id']}").status_code == 404
    assert pat.list_all("/v2025/task-status") == []


def test_a_launched_task_progresses_and_completes(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.freeze_clock()  # the task moves as the tenant's clock is advanced, not with this machine's speed
    task = emu.tenant.launch_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_name="Workday", duration_s=1.0, completion_status="warning")
    assert task["completionStatus"] is None and task["completed"] is None
    assert [t["id"] for t in pat.list_all("/v2025/task-status", filters="completionStatus isnull")] == [task["id"]]
    assert pat.list_all("/beta/task-status") == []
    assert [t["id"] for t in pat.get("/beta/task-status/pending-tasks").json()] == [task["id"]]
    emu.tenant.advance_clock(0.5)
    halfway = pat.get(f"/v2025/task-status/{task['id']}").json()
    assert halfway["percentComplete"] == 50 and halfway["completionStatus"] is None
    emu.tenant.advance_clock(0.6)
    done = pat.get(f"/v2025/task-status/{task['id']}").json()
    assert done["completionStatus"] == "WARNING"
    assert done["percentComplete"] == 100
    assert done["messages"][0]["type"] == "WARN"
    completed = parse_timestamp(done["completed"]) - parse_timestamp(done["launched"])
    assert completed == timedelta(seconds=1.0)
    assert pat.get("/beta/task-status/pending-tasks").status_code == 204


def test_a_task_launched_to_complete_after_reads_completes_when_served(emu: Emulator, pat: ApiSession) -> None:
    launched = requests.post(f"{emu.url}/_emulator/tasks/launch", json={"complete_after_reads": 2, "completion_status": "ERROR"}, timeout=5).json()
    path = f"/v2026/task-status/{launched['id']}"
    emu.tenant.advance_clock(3600)  # the clock does not finish it
    pat._token = None
    assert pat.get(path).json()["completionStatus"] is None
    assert [task["completionStatus"] for task in pat.list_all("/v2026/task-status")] == [None]  # served a second time
    done = pat.get(path).json()
    assert done["completionStatus"] == "ERROR" and done["percentComplete"] == 100 and done["messages"][0]["type"] == "ERROR"


def test_launch_and_add_through_the_control_interface(emu: Emulator, pat: ApiSession) -> None:
    launched = requests.post(
        f"{emu.url}/_emulator/tasks/launch",
        json={"definition_type": "CLOUD_GROUP_AGGREGATION", "source_id": "2c91808568c529c60168cca6f90c1313", "duration_s": 30},
        timeout=5,
    )
    assert launched.status_code == 201
    added = requests.post(
        f"{emu.url}/_emulator/tasks",
        json={"definition_type": "IDENTITY_REFRESH", "age_s": 3600, "completionStatus": "ERROR", "launcher": "ops"},
        timeout=5,
    )
    assert added.status_code == 201
    assert added.json()["_definitionType"] == "IDENTITY_REFRESH"
    found = pat.list_all("/v2026/task-status", filters='launcher eq "ops"')
    assert [task["id"] for task in found] == [added.json()["id"]]
    workday = pat.list_all("/v2026/task-status", filters='sourceId eq "2c91808568c529c60168cca6f90c1313"')
    assert [task["id"] for task in workday] == [launched.json()["id"]]
    assert workday[0]["target"]["name"] == "Workday [source]"
    truth = requests.get(f"{emu.url}/_emulator/tasks", timeout=5).json()
    assert {task["_definitionType"] for task in truth} == {"CLOUD_GROUP_AGGREGATION", "IDENTITY_REFRESH"}
    bad = requests.post(f"{emu.url}/_emulator/tasks", json={"definition_type": "QUARTZ"}, timeout=5)
    assert bad.status_code == 400


def test_generator_makes_10000_tasks(emu: Emulator, pat: ApiSession) -> None:
    # How fast is for bench/bench_emulator.py to show; a test here would only measure this machine.
    total = emu.tenant.generate(10_000, pending_fraction=0.1)
    assert total == 10_000
    response = pat.get("/v2025/task-status", params={"count": "true", "filters": "completionStatus isnull", "limit": 1})
    assert 800 <= int(response.headers["X-Total-Count"]) <= 1200
    assert int(pat.get("/beta/task-status", params={"count": "true", "limit": 0}).headers["X-Total-Count"]) == 10_000 - int(response.headers["X-Total-Count"])


def test_generator_options(emu: Emulator) -> None:
    emu.tenant.generate(30, definition_types=["ACCOUNT_DELETION"], span_days=1)
    tasks = emu.tenant.tasks()
    assert {task["_definitionType"] for task in tasks} == {"ACCOUNT_DELETION"}
    assert all(_age(task) <= timedelta(days=1, minutes=1) for task in tasks)
