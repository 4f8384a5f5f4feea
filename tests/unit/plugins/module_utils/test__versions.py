# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What each API version offers. tests/integration/test_versions_match_specs.py holds the table to the vendor specs."""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._versions import API_VERSIONS, task_definition_type, task_source_id


@pytest.mark.parametrize(
    ("name", "task_path", "pending_in_list"),
    [
        ("beta", "/beta/task-status/x", False),
        ("v2024", "/v2024/task-status/x", False),
        ("v2025", "/v2025/task-status/x", True),
        ("v2026", "/v2026/task-status/x", True),
        ("v1", "/task-status/v1/x", True),
    ],
)
def test_paths_and_where_pending_tasks_are_listed(name, task_path, pending_in_list):
    version = API_VERSIONS[name]
    assert version.task_path("x") == task_path
    assert version.pending_path == task_path.replace("/x", "/pending-tasks")
    assert version.list_includes_in_progress is pending_in_list
    assert ("isnull" in version.filter_fields["completionStatus"]) is pending_in_list


def test_type_and_source_of_a_task():
    task = {"taskDefinitionSummary": {"uniqueName": "Cloud Account Aggregation"}, "target": {"type": "APPLICATION", "id": "src-1"}}
    assert (task_definition_type(task), task_source_id(task)) == ("CLOUD_ACCOUNT_AGGREGATION", "src-1")
    assert (task_definition_type({}), task_source_id({"target": {"type": "IDENTITY", "id": "i-1"}})) == (None, None)
