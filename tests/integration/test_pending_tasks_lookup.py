# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``sailpoint.isc.pending_tasks`` lookup in real playbooks against the emulator, on every API version."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import add_long_run

API_VERSIONS = ("beta", "v2024", "v2025", "v2026", "v1")
SOURCE_A = "2c9180835d2e5168015d32f890ca1581"  # the emulator's "Active Directory"
SOURCE_B = "2c91808568c529c60168cca6f90c1313"  # the emulator's "Workday"
HOUR = 3600
DAY = 86400


def seed(emulator: Any) -> dict[str, str]:
    """Stuck, recent and finished tasks; returns their ids by role."""
    tenant = emulator.tenant
    ids = {
        "stuck_a": tenant.add_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_A, age_s=3 * DAY, completion_status=None),
        "stuck_b": tenant.add_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_B, age_s=2 * DAY, completion_status=None),
        "stuck_refresh": tenant.add_task(definition_type="IDENTITY_REFRESH", age_s=13 * HOUR, completion_status=None),
        "recent_a": tenant.add_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_A, age_s=600, completion_status=None),
        "finished_a": tenant.add_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_A, age_s=4 * DAY, completion_status="SUCCESS"),
        "failed_old": tenant.add_task(definition_type="IDENTITY_REFRESH", age_s=5 * DAY, completion_status="ERROR"),
        # A long run, launched four days ago, that progressed a minute ago: never stuck.
        "progressing": add_long_run(tenant, SOURCE_A),
    }
    return {name: task["id"] for name, task in ids.items()}


def found(run: Any) -> list[list[dict[str, Any]]]:
    """What each lookup call of ``lookup_pending_tasks.yml`` returned, one list per case."""
    return run.result("Record what the lookup returned")["msg"]


# (lookup options, the seeded tasks expected back, in this order)
CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["stuck_a", "stuck_b", "stuck_refresh", "recent_a", "progressing"]),
    ({"older_than": "12h"}, ["stuck_a", "stuck_b", "stuck_refresh"]),
    ({"older_than": "1d"}, ["stuck_a", "stuck_b"]),
    ({"type": "identity_refresh"}, ["stuck_refresh"]),
    ({"type": ["CLOUD_ACCOUNT_AGGREGATION"], "source_id": [SOURCE_A]}, ["stuck_a", "recent_a", "progressing"]),
    ({"source_id": SOURCE_A, "older_than": "6h"}, ["stuck_a"]),
    ({"type": "CLOUD_ACCOUNT_AGGREGATION,IDENTITY_REFRESH", "older_than": "1d12h"}, ["stuck_a", "stuck_b"]),
    ({"older_than": "1w"}, []),
    ({"limit": 2}, ["stuck_a", "stuck_b"]),
]


@pytest.mark.parametrize("api_version", API_VERSIONS)
def test_lookup_on_every_api_version(emulator: Any, run_playbook: Any, api_version: str) -> None:
    ids = seed(emulator)
    run = run_playbook("lookup_pending_tasks.yml", extra_vars={"lookup_cases": [options for options, _expected in CASES]}, api_version=api_version)
    for (options, expected), tasks in zip(CASES, found(run), strict=True):
        assert [task["id"] for task in tasks] == [ids[name] for name in expected], options
    paths = {entry["path"] for entry in emulator.tenant.request_log()}
    # Only beta and v2024 lack the `completionStatus isnull` list filter (task-management.beta.yaml, .v2024.yaml).
    if api_version in ("beta", "v2024"):
        assert any(path.endswith("/task-status/pending-tasks") for path in paths), paths
    else:
        assert not any("pending-tasks" in path for path in paths), paths
    assert not any(entry["method"] == "PATCH" for entry in emulator.tenant.request_log())


def test_returned_tasks_are_the_tenants_task_status_objects(emulator: Any, run_playbook: Any) -> None:
    ids = seed(emulator)
    run = run_playbook("lookup_pending_tasks.yml", extra_vars={"lookup_cases": [{"older_than": "2d"}]}, api_version="v2025")
    (task,) = [task for task in found(run)[0] if task["id"] == ids["stuck_a"]]
    truth = next(item for item in emulator.tenant.tasks() if item["id"] == ids["stuck_a"])
    public = {key: value for key, value in truth.items() if not key.startswith("_")}
    assert task == public


def test_lookup_with_nothing_but_the_environment(emulator: Any, run_playbook: Any) -> None:
    ids = seed(emulator)
    run = run_playbook("lookup_plain.yml")
    assert run.result("Ids of the tasks pending for more than 12 hours")["msg"] == [ids["stuck_a"], ids["stuck_b"], ids["stuck_refresh"]]


def test_empty_sail_variables_count_as_unset(emulator: Any, run_playbook: Any) -> None:
    """Blank fields of an AWX credential arrive as empty variables; the lookup uses the defaults, as the modules do."""
    ids = seed(emulator)
    empty = {name: "" for name in ("SAIL_API_VERSION", "SAIL_VALIDATE_CERTS", "SAIL_TIMEOUT", "SAIL_CA_PATH", "SAIL_TENANT", "SAIL_ACCESS_TOKEN")}
    run = run_playbook("lookup_plain.yml", env=empty)
    assert run.result("Ids of the tasks pending for more than 12 hours")["msg"] == [ids["stuck_a"], ids["stuck_b"], ids["stuck_refresh"]]
    assert any(entry["path"] == "/task-status/v1" for entry in emulator.tenant.request_log()), "the default api_version, v1"


BAD_OPTIONS = [
    pytest.param({"older_than": "6x"}, "Invalid option 'older_than': unknown duration unit 'x' in '6x'.", id="unknown-duration-unit"),
    pytest.param({"older_than": "a while"}, "Invalid option 'older_than': 'a while' is not a duration.", id="not-a-duration"),
    pytest.param(
        {"type": "QUARTZ"},
        "Invalid option 'type': 'QUARTZ' is not a supported task type. Use one of: CLOUD_ACCOUNT_AGGREGATION",
        id="unsupported-type",
    ),
]


@pytest.mark.parametrize(("options", "expected"), BAD_OPTIONS)
def test_bad_options_fail_clearly_before_any_request(emulator: Any, run_playbook: Any, options: dict[str, Any], expected: str) -> None:
    seed(emulator)
    run = run_playbook("lookup_pending_tasks.yml", extra_vars={"lookup_cases": [options]}, expect_rc=2)
    output = " ".join(run.output.split())
    assert expected in output
    assert emulator.tenant.request_log() == []


def test_unsupported_api_version_is_refused_by_the_option_choices(emulator: Any, run_playbook: Any) -> None:
    run = run_playbook("lookup_pending_tasks.yml", extra_vars={"lookup_cases": [{"api_version": "v3"}]}, expect_rc=2)
    output = " ".join(run.output.split())
    assert "api_version" in output and "v3" in output and "v2025" in output
    assert emulator.tenant.request_log() == []


def test_missing_tenant_names_the_setting(emulator: Any, run_playbook: Any) -> None:
    run = run_playbook("lookup_plain.yml", env={"SAIL_BASE_URL": None}, expect_rc=2)
    assert "Invalid option 'base_url': no ISC tenant given." in " ".join(run.output.split())


def test_client_errors_reach_the_play_with_the_clients_message(emulator: Any, run_playbook: Any) -> None:
    run = run_playbook("lookup_plain.yml", env={"SAIL_CLIENT_SECRET": "wrong-secret"}, expect_rc=2)
    output = " ".join(run.output.split())
    assert "/oauth/token" in output
    assert "wrong-secret" not in run.output
