"""limit / offset / count / sorters, the page boundaries, and the pending-tasks endpoint."""

from __future__ import annotations

import re

import pytest
from emulator_testlib import ApiSession, allow_spec_violations

from isc_emulator import Emulator
from isc_emulator.versions import API_VERSIONS


@pytest.mark.parametrize("total", [0, 1, 249, 250, 251, 500])
def test_reading_every_page_returns_each_task_once(emu: Emulator, pat: ApiSession, total: int) -> None:
    emu.reset(seed="empty", generate=total)
    seen: list[str] = []
    offset = 0
    requests_made = 0
    while True:
        response = pat.get("/v2025/task-status", params={"offset": offset, "limit": 250, "count": "true"})
        requests_made += 1
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == str(total)
        page = response.json()
        seen.extend(task["id"] for task in page)
        if len(page) < 250:
            break
        offset += 250
    assert len(seen) == len(set(seen)) == total
    assert set(seen) == {task["id"] for task in emu.tenant.tasks()}
    assert requests_made == total // 250 + 1


def test_default_limit_is_250_and_count_is_off_by_default(emu: Emulator, pat: ApiSession) -> None:
    emu.reset(seed="empty", generate=300)
    response = pat.get("/v2026/task-status")
    assert len(response.json()) == 250
    assert "X-Total-Count" not in response.headers


@pytest.mark.parametrize(("limit", "offset", "expected"), [(0, 0, 0), (1, 0, 1), (250, 0, 250), (10, 295, 5), (10, 300, 0), (10, 10_000, 0)])
def test_limit_and_offset_boundaries(emu: Emulator, pat: ApiSession, limit: int, offset: int, expected: int) -> None:
    emu.reset(seed="empty", generate=300)
    response = pat.get("/beta/task-status", params={"limit": limit, "offset": offset, "count": "true"})
    assert response.status_code == 200
    assert len(response.json()) == expected
    assert response.headers["X-Total-Count"] == "300"


@pytest.mark.parametrize("version_name", list(API_VERSIONS))
@pytest.mark.parametrize(
    ("params", "breaks_the_spec"),
    [
        # The specs' schemas: limit int32 0..250, offset int32 >= 0, count boolean.
        ({"limit": "251"}, True),
        ({"limit": "-1"}, True),
        ({"limit": "ten"}, True),
        ({"offset": "-1"}, True),
        ({"offset": "1.5"}, True),
        ({"count": "yes"}, True),
        # Strings the schema allows, refused by the server: "Sorting is supported for the following fields: **created**",
        # and a filter that does not parse.
        ({"sorters": "modified"}, False),
        ({"sorters": "created,-created"}, False),
        ({"filters": "id eq"}, False),
    ],
)
def test_invalid_collection_parameters_are_400(emu: Emulator, pat: ApiSession, version_name: str, params: dict[str, str], breaks_the_spec: bool) -> None:
    emu.tenant.configure(rate_limit=None)
    path = API_VERSIONS[version_name].list_path
    response = pat.get(path, params=params)
    assert response.status_code == 400
    (name,) = params
    violations = emu.tenant.validation.take_violations()
    assert len(violations) == breaks_the_spec, violations
    assert all(re.search(rf"query parameter[^;]*\b{name}\b", violation, re.IGNORECASE) for violation in violations), violations
    allow_spec_violations(emu)  # now the emulator's own answer, as a tenant would give it
    response = pat.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["detailCode"] == "400.1 Bad Request Content"
    assert body["messages"][0]["text"]


def test_sorters_created_ascending_and_descending(emu: Emulator, pat: ApiSession) -> None:
    emu.reset(seed="demo")
    ascending = pat.list_all("/v2025/task-status", sorters="created")
    descending = pat.list_all("/v2025/task-status", sorters="-created")
    created = [task["created"] for task in ascending]
    assert created == sorted(created)
    assert [task["id"] for task in descending] == [task["id"] for task in reversed(ascending)]
    first_page_descending = pat.list_all("/v2025/task-status", sorters="-created", limit=5)
    assert first_page_descending == descending[:5]


@pytest.mark.parametrize("version_name", ["beta", "v2024", "v2025"])
def test_pending_tasks_pages_and_204_when_empty(emu: Emulator, pat: ApiSession, version_name: str) -> None:
    pending_path = API_VERSIONS[version_name].list_path + "/pending-tasks"
    response = pat.get(pending_path)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["X-Deprecated"] == "true"
    assert pat.head(pending_path).status_code == 204
    for _repeat in range(3):
        emu.tenant.add_task(completion_status=None)
    emu.tenant.add_task(completion_status="SUCCESS")
    response = pat.get(pending_path, params={"count": "true", "limit": 2})
    assert response.status_code == 200
    assert len(response.json()) == 2
    assert all(task["completionStatus"] is None for task in response.json())
    assert response.headers["X-Total-Count"] == "3"
    head = pat.head(pending_path, params={"count": "true"})
    assert head.status_code == 200
    assert head.headers["X-Total-Count"] == "3"
    assert head.content == b""
    assert pat.get(pending_path, params={"offset": 3}).status_code == 204
    allow_spec_violations(emu)  # limit 251 is above the spec's maximum
    assert pat.get(pending_path, params={"limit": 251}).status_code == 400


@pytest.mark.parametrize("version_name", ["v2026", "v1"])
def test_pending_tasks_does_not_exist_in_newer_versions(emu: Emulator, pat: ApiSession, version_name: str) -> None:
    pending_path = API_VERSIONS[version_name].list_path + "/pending-tasks"
    emu.tenant.add_task(completion_status=None)
    response = pat.get(pending_path)
    assert response.status_code == 404
    assert "X-Deprecated" not in response.headers
    allow_spec_violations(emu)  # these specs have no HEAD operation
    assert pat.head(pending_path).status_code == 405


@pytest.mark.parametrize(("version_name", "lists_in_progress"), [("beta", False), ("v2024", False), ("v2025", True), ("v2026", True), ("v1", True)])
def test_which_tasks_each_version_lists(emu: Emulator, pat: ApiSession, version_name: str, lists_in_progress: bool) -> None:
    done = emu.tenant.add_task(completion_status="SUCCESS")
    running = emu.tenant.add_task(completion_status=None)
    listed = {task["id"] for task in pat.list_all(API_VERSIONS[version_name].list_path)}
    assert listed == ({done["id"], running["id"]} if lists_in_progress else {done["id"]})
    # get by id finds in-progress tasks in every version
    assert pat.get(f"{API_VERSIONS[version_name].list_path}/{running['id']}").json()["id"] == running["id"]
