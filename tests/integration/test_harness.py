# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The integration harness itself: hermetic environment, result recording, return codes, ad hoc runs."""

from __future__ import annotations

import sys


def test_playbook_sees_harness_environment_and_records_results(run_playbook, emulator, monkeypatch):
    monkeypatch.setenv("SAIL_TENANT", "caller-tenant-must-not-leak")
    monkeypatch.setenv("SAIL_API_VERSION", "v1")

    run = run_playbook(
        "harness_smoke.yml",
        extra_vars={"smoke_value": {"nested": ["a", 'quote"d']}},
        env={"HARNESS_CUSTOM": "custom-value"},
        client="api",
        api_version="v2025",
    )

    shown = run.result("Show the environment the harness set")["msg"]
    assert shown["base_url"] == emulator.url
    assert shown["client_id"] == "api-0002-demo-client"
    assert shown["api_version"] == "v2025"
    assert shown["tenant"] == ""
    assert shown["custom"] == "custom-value"
    assert shown["check_mode"] is False
    assert shown["python"] == sys.executable
    assert run.result("Echo extra vars")["smoke_value"] == {"nested": ["a", 'quote"d']}
    assert len(run.result("Loop over three items")["results"]) == 3
    assert run.status("Skipped task") == "skipped"
    assert run.status("Fail when asked to") == "skipped"


def test_inherited_sail_variables_are_dropped_without_client(run_playbook, monkeypatch):
    monkeypatch.setenv("SAIL_CLIENT_ID", "caller-client")
    monkeypatch.setenv("SAIL_API_VERSION", "v1")

    run = run_playbook("harness_smoke.yml", client=None, check=True)

    shown = run.result("Show the environment the harness set")["msg"]
    assert shown["client_id"] == ""
    assert shown["api_version"] == ""
    assert shown["check_mode"] is True


def test_failure_is_recorded_and_return_code_checked(run_playbook):
    run = run_playbook("harness_smoke.yml", extra_vars={"smoke_fail": True}, expect_rc=2)

    assert run.status("Fail when asked to") == "failed"
    assert run.result("Fail when asked to")["msg"] == "failing on purpose"


def test_adhoc_run_is_recorded(run_adhoc):
    run = run_adhoc("msg='hello from ad hoc'", module="ansible.builtin.debug")

    assert run.result()["msg"] == "hello from ad hoc"
    assert run.status() == "ok"
