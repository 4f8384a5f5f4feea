# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Names people know, and one line per cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscForbiddenError, IscNotFoundError
from ansible_collections.sailpoint.isc.plugins.module_utils._summary import describe_task, failure_summary, task_label


def aggregation(task_id: str, source: str = "Workday", **fields: object) -> dict:
    return {"id": task_id, "taskDefinitionSummary": {"uniqueName": "Cloud Account Aggregation"}, "target": {"name": f"{source} [source]"}, **fields}


def test_a_task_is_named_by_its_definition_and_target():
    assert task_label(aggregation("t1"), "t1") == "Cloud Account Aggregation on Workday [source]"
    assert task_label({"uniqueName": "Identity Refresh"}, "t2") == "Identity Refresh"
    assert task_label(None, "t3") == "t3", "a task never read is named by its id"


def test_a_pending_task_says_how_long_it_has_not_moved():
    modified = (datetime.now(UTC) - timedelta(hours=7, minutes=12, seconds=5)).isoformat()
    assert describe_task("t1", aggregation("t1", modified=modified)) == "Cloud Account Aggregation on Workday [source] (t1), no progress for 7h12m"
    assert describe_task("t2", aggregation("t2", completionStatus="SUCCESS", modified=modified)).endswith("(t2)")


def test_one_cause_over_fifty_tasks_is_one_sentence_with_a_count_and_three_names():
    failures = []
    for number in range(50):
        error = IscForbiddenError(method="PATCH", path=f"/task-status/v1/t{number}", status=403, tracking_id=f"track-{number}")
        failures.append((f"t{number}", aggregation(f"t{number}", source=f"Source {number}"), str(error), error))
    summary = failure_summary(failures, total=60)
    assert summary.count("HTTP 403 on 50 of 60 tasks") == 1 and "and 47 more" in summary
    assert "Source 0" in summary and "Source 3" not in summary and "track-" not in summary, "nothing that names one task's request"
    assert "idn:task-management:write" in summary


def test_each_cause_gets_its_own_sentence_and_a_single_failure_keeps_its_message():
    missing = IscNotFoundError(method="GET", path="/task-status/v1/gone", status=404)
    forbidden = [IscForbiddenError(method="PATCH", path=f"/task-status/v1/t{number}", status=403) for number in range(2)]
    failures = [("gone", None, str(missing), missing)]
    failures += [(f"t{number}", aggregation(f"t{number}"), str(error), error) for number, error in enumerate(forbidden)]
    summary = failure_summary(failures, total=3)
    assert summary.startswith(str(missing).rstrip(".") + ".") and "HTTP 403 on 2 of 3 tasks (Cloud Account Aggregation on Workday [source])" in summary
