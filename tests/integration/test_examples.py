# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Documented examples behave as their docs say, against the emulator."""

from __future__ import annotations

import pytest

CASES = [
    # (final status the emulator gives the task, seconds it runs, wait timeout, expected rc, expected message, PATCHes)
    ("SUCCESS", 2, 20, 0, None, 0),
    ("ERROR", 2, 20, 2, "ended with ERROR", 0),
    # an hour: the wait times out first, on a machine of any speed
    ("SUCCESS", 3600, 3, 2, "did not finish in time and was cleared", 1),
]


@pytest.mark.parametrize(("final", "runs_s", "timeout_s", "rc", "message", "patches"), CASES, ids=["success", "error", "timeout"])
def test_nightly_wait_example_fails_loudly_and_clears_only_when_still_running(emulator, run_playbook, final, runs_s, timeout_s, rc, message, patches):
    task = emulator.tenant.launch_task(duration_s=runs_s, completion_status=final)
    run = run_playbook(
        "example_nightly_wait.yml",
        extra_vars={"aggregation_task_id": task["id"], "wait_timeout_s": timeout_s},
        api_version="v2025",
        expect_rc=rc,
    )
    assert sum(1 for entry in emulator.tenant.request_log() if entry["method"] == "PATCH") == patches
    if message:
        assert message in run.result("Fail the job either way, saying why")["msg"]
    else:
        assert run.status("Wait (an ERROR or TERMINATED end fails this task)") == "ok"
    if patches:
        cleared = next(t for t in emulator.tenant.tasks() if t["id"] == task["id"])
        assert cleared["completionStatus"] == "ERROR" and cleared["description"] == "Cleared by the nightly job"
