# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The clear_stuck_tasks role's decisions and report, without Ansible or HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ansible_collections.sailpoint.isc.plugins.plugin_utils import _stuck_tasks as stuck

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
SETTINGS = {"older_than": "6h", "types": [], "sources": [], "completion_status": "ERROR", "guard": "auto", "max": 20, "dry_run": False}


def pending_task(task_id: str, modified: str | None, launched: str = "2025-03-01T00:00:00Z", source: str | None = "Workday [source]") -> dict[str, Any]:
    return {
        "id": task_id,
        "completionStatus": None,
        "launched": launched,
        "modified": modified,
        "created": launched,
        "taskDefinitionSummary": {"uniqueName": "Cloud Account Aggregation"},
        "target": {"name": source, "type": "APPLICATION"} if source else None,
    }


def listing(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"changed": False, "tasks": list(tasks), "count": len(tasks)}


@pytest.mark.parametrize(
    ("changes", "variable", "text"),
    [
        ({"older_than": "6x"}, "clear_stuck_tasks_older_than", "unknown duration unit 'x'"),
        ({"types": ["CLOUD_ACCOUNT_AGGREGATON"]}, "clear_stuck_tasks_types", "'CLOUD_ACCOUNT_AGGREGATON' is not a task type"),
        ({"completion_status": "done"}, "clear_stuck_tasks_completion_status", "'done' is not a task completion status"),
        ({"guard": "sometimes"}, "clear_stuck_tasks_guard", "'sometimes' is not a guard mode"),
        ({"max": "lots"}, "clear_stuck_tasks_max", "'lots' is not a whole number"),
        ({"max": -1}, "clear_stuck_tasks_max", "-1 is negative"),
        ({"dry_run": "maybe"}, "clear_stuck_tasks_dry_run", "'maybe' is not a boolean"),
        ({"report_file": "/no/such/dir/report.json"}, "clear_stuck_tasks_report_file", "does not exist"),
    ],
)
def test_bad_settings_are_one_line_naming_the_role_variable(changes, variable, text):
    error = stuck.plan({**SETTINGS, **changes})["error"]
    assert f"Invalid option '{variable}'" in error and text in error and "\n" not in error


def test_settings_accept_any_casing_and_comma_separated_text():
    plan = stuck.plan({**SETTINGS, "completion_status": "terminated", "types": "cloud_account_aggregation, IDENTITY_REFRESH", "sources": "a1,b2"})
    assert plan["error"] is None and plan["completion_status"] == "TERMINATED"
    assert plan["filters"] == {"type": ["CLOUD_ACCOUNT_AGGREGATION", "IDENTITY_REFRESH"], "sourceId": ["a1", "b2"]}
    assert stuck.plan({**SETTINGS, "dry_run": "false", "check_mode": True})["dry_run"] is True


def test_stuck_means_no_progress_and_the_stalest_come_first():
    long_run = pending_task("long", modified="2025-03-10T11:59:00Z", launched="2025-03-01T00:00:00Z")
    stuck_a = pending_task("a", modified="2025-03-10 03:00:00.000000+00:00")
    stuck_b = pending_task("b", modified=None, launched="2025-03-09T12:00:00Z")
    plan = stuck.plan(SETTINGS, listing(long_run, stuck_a, stuck_b), NOW)
    assert plan["stuck_ids"] == ["b", "a"] and plan["pending"] == 3 and plan["error"] is None
    assert [(row["id"], row["stuck"], row["no_progress_for"]) for row in plan["rows"]] == [("b", True, "1d"), ("a", True, "9h"), ("long", False, "1m")]


def test_more_stuck_tasks_than_the_cap_is_an_error_before_any_change():
    tasks = [pending_task(str(index), modified="2025-03-09T00:00:00Z") for index in range(3)]
    plan = stuck.plan({**SETTINGS, "max": 2}, listing(*tasks), NOW)
    assert plan["error"].startswith("3 tasks have shown no progress for more than 6h, more than clear_stuck_tasks_max (2). Nothing was changed.")


def test_a_failed_listing_is_the_plan_error():
    assert stuck.plan(SETTINGS, {"failed_when_result": False, "msg": "ISC API POST /oauth/token failed with HTTP 401."}, NOW)["error"] == (
        "ISC API POST /oauth/token failed with HTTP 401."
    )


def test_report_names_each_cleared_task_and_how_long_it_showed_no_progress():
    plan = stuck.plan(SETTINGS, listing(pending_task("a", modified="2025-03-10T04:48:00Z")), NOW)
    cleared = {"changed": True, "results": [{"id": "a", "changed": True, "failed": False, "left_alone": False, "msg": "updated."}]}
    built = stuck.report(plan, cleared)
    assert built["report"]["summary"] == [
        "Cleared 1 of 1 tasks with no progress for 6h (of 1 pending), setting ERROR.",
        "  cleared Cloud Account Aggregation on Workday [source] (a), no progress for 7h12m",
    ]
    assert built["report"]["cleared"] == ["a"] and built["report"]["error"] is None


def test_a_whole_failure_of_the_clearing_is_the_report_error():
    plan = stuck.plan(SETTINGS, listing(pending_task("a", modified=None)), NOW)
    built = stuck.report(plan, {"failed_when_result": False, "msg": "Could not complete ISC API PATCH: connection refused."})
    assert built["report"]["error"] == "Could not complete ISC API PATCH: connection refused."
    assert built["report"]["summary"] == ["Failed, nothing was changed: Could not complete ISC API PATCH: connection refused."]


def test_failed_tasks_are_pointed_to_in_the_report_not_in_the_modules_results():
    plan = stuck.plan(SETTINGS, listing(pending_task("a", modified=None)), NOW)
    failed = {"id": "a", "name": "Cloud Account Aggregation on Workday [source]", "failed": True, "changed": False, "msg": "HTTP 403."}
    cleared = {"results": [failed], "msg": "1 of 1 tasks failed. HTTP 403 on a. Each task's outcome is in results."}
    error = stuck.report(plan, cleared)["report"]["error"]
    pointer = "Each task's outcome is in the report's failed list (the clear_stuck_tasks_report fact, the JSON report file)."
    assert error == f"1 of 1 tasks failed. HTTP 403 on a. {pointer}"


def test_the_report_file_is_rewritten_only_when_more_than_its_timestamp_changes(tmp_path):
    report_file = str(tmp_path / "report.json")
    plan = stuck.plan(SETTINGS, listing(), NOW)
    first = stuck.report(plan, {"skipped": True}, previous=None, report_file=report_file)
    assert first["write_file"] is True
    previous = json.loads(first["file_content"])
    previous["started_at"] = "2020-01-01T00:00:00Z"
    again = stuck.report(plan, {"skipped": True}, previous=json.dumps(previous), report_file=report_file)
    assert again["write_file"] is False
    assert "summary" not in json.loads(again["file_content"])
    assert stuck.report(plan, None, previous=None, report_file="")["write_file"] is False
