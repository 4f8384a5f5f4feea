# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How errors render themselves for fail_json."""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError, IscServerError, error_for_status


def test_fail_json_output_leaves_out_details_without_a_value():
    error = IscServerError(method="GET", path="/beta/task-status", status=502)
    output = error.to_fail_json()
    assert output["status"] == 502
    assert "tracking_id" not in output and "detail_code" not in output
    assert output["msg"] == str(error)


def test_fail_json_output_keeps_isc_identifiers():
    error = IscServerError(method="GET", path="/beta/task-status", status=500, detail_code="500.1", tracking_id="e7eab609")
    output = error.to_fail_json()
    assert (output["detail_code"], output["tracking_id"]) == ("500.1", "e7eab609")
    assert "e7eab609" in output["msg"]


def test_config_errors_name_the_option_and_the_fix():
    output = IscConfigError("limit", "must be 1 or more, got 0.", "Leave the option out to get every task.").to_fail_json()
    assert output["msg"] == "Invalid option 'limit': must be 1 or more, got 0. Leave the option out to get every task."


@pytest.mark.parametrize(("method", "needs"), [("GET", "idn:task-management:read"), ("PATCH", "idn:task-management:write")])
def test_403_names_the_scope_and_user_levels_of_the_operation(method, needs):
    error = error_for_status(403)(method=method, path="/task-status/v1/x", status=403)
    assert needs in error.hint and "ORG_ADMIN" in error.hint
    assert ("not HELPDESK" in error.hint) == (method == "PATCH")
