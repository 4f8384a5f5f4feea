# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The filters the clear_stuck_tasks role calls are the module_utils functions, under their documented names."""

from __future__ import annotations

from ansible_collections.sailpoint.isc.plugins.filter.stuck_tasks import FilterModule


def test_the_role_s_filters_are_registered_and_carry_errors_as_data():
    filters = FilterModule().filters()
    assert set(filters) == {"stuck_tasks_plan", "stuck_tasks_report"}
    plan = filters["stuck_tasks_plan"]({"older_than": "never", "completion_status": "ERROR", "max": 1, "dry_run": False})
    assert "clear_stuck_tasks_older_than" in plan["error"]
    built = filters["stuck_tasks_report"](plan)
    assert built["report"]["error"] == plan["error"] and built["write_file"] is False
