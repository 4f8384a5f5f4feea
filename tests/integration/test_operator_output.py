# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What an operator reads at default verbosity when the clear_stuck_tasks role runs: one cause, one line, named tasks.

Each test runs the role at verbosity 0, as a scheduled job does, and reads the play output and its recap.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROLE_PLAYBOOK = "role_clear_stuck_tasks.yml"
STALE_S = 3 * 86400


def recap(run: Any) -> dict[str, int]:
    line = next(line for line in run.output.splitlines() if line.startswith("localhost") and "ok=" in line)
    return {name: int(value) for name, value in re.findall(r"(\w+)=(\d+)", line)}


def failure_lines(run: Any) -> list[str]:
    """The lines a failure adds: from the first line that says fatal or ERROR up to the recap."""
    lines = run.output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(("fatal:", "[ERROR]")))
    end = next(index for index, line in enumerate(lines) if line.startswith("PLAY RECAP"))
    return [line for line in lines[start:end] if line.strip()]


def assert_one_line_failure(run: Any, *needles: str) -> str:
    lines = failure_lines(run)
    assert len(lines) <= 5, "\n".join(lines)
    text = " ".join(lines)
    for needle in needles:
        assert needle in text, (needle, text)
    for internal in ("clear_stuck_tasks__", "Traceback", "<<< caused by >>>", "{%", "{{", "argument_spec_data"):
        assert internal not in run.output, internal
    assert recap(run)["failed"] == 1 and recap(run)["changed"] == 0
    return text


def test_wrong_secret_is_one_line_naming_the_credentials(emulator: Any, run_playbook: Any) -> None:
    emulator.tenant.add_task(completion_status=None, age_s=STALE_S)
    run = run_playbook(ROLE_PLAYBOOK, env={"SAIL_CLIENT_SECRET": "not-the-secret"}, verbosity=0, expect_rc=2)
    assert_one_line_failure(run, "HTTP 401", "client_id and client_secret")


def test_unresolvable_host_fails_at_once_naming_base_url(emulator: Any, run_playbook: Any) -> None:
    run = run_playbook(ROLE_PLAYBOOK, env={"SAIL_BASE_URL": "https://acme-typo.invalid"}, verbosity=0, expect_rc=2)
    text = assert_one_line_failure(run, "base_url", "acme-typo.invalid", "does not resolve")
    assert "Retrying" not in run.output and "attempt 2" not in text


def test_read_only_client_gets_one_line_with_a_count_and_the_scope(emulator: Any, run_playbook: Any) -> None:
    for _task in range(5):
        emulator.tenant.add_task(completion_status=None, age_s=STALE_S)
    run = run_playbook(ROLE_PLAYBOOK, client="api", verbosity=0, expect_rc=2)
    text = assert_one_line_failure(run, "HTTP 403 on 5 of 5 tasks", "idn:task-management:write")
    assert text.count("idn:task-management:write") <= 2, "once in the summary, once in the failure"
    assert '"attributes"' not in run.output and '"messages"' not in run.output, "no whole task objects"
    assert "outcome is in results" not in run.output and "clear_stuck_tasks_report fact" in text, "points at what the operator has"


def test_nothing_to_clear_with_a_report_file_changes_nothing(emulator: Any, run_playbook: Any, tmp_path: Path) -> None:
    emulator.tenant.add_task(completion_status=None, age_s=60)
    report_file = tmp_path / "report.json"
    settings = {"clear_stuck_tasks_report_file": str(report_file)}

    first = run_playbook(ROLE_PLAYBOOK, extra_vars=settings, verbosity=0)
    written = json.loads(report_file.read_text(encoding="utf-8"))
    assert written["found"] == 0 and written["error"] is None
    assert recap(first)["changed"] == 1, "the first run writes the report file"

    second = run_playbook(ROLE_PLAYBOOK, extra_vars=settings, verbosity=0, diff=True)
    assert recap(second)["changed"] == 0 and recap(second)["failed"] == 0
    assert "Nothing to clear: no task has been without progress for 6h (1 pending)." in second.output
    assert "--- before" not in second.output and "+++ after" not in second.output, "--diff shows changes in the tenant, not the report"


def test_lowercase_status_is_accepted_by_the_role(emulator: Any, run_playbook: Any) -> None:
    task_id = emulator.tenant.add_task(completion_status=None, age_s=STALE_S)["id"]
    run = run_playbook(ROLE_PLAYBOOK, extra_vars={"clear_stuck_tasks_completion_status": "terminated"}, verbosity=0)
    assert recap(run)["failed"] == 0 and recap(run)["changed"] == 1
    assert next(task for task in emulator.tenant.tasks() if task["id"] == task_id)["completionStatus"] == "TERMINATED"
    assert "setting TERMINATED." in run.output


def test_a_bad_role_argument_is_one_line(emulator: Any, run_playbook: Any) -> None:
    run = run_playbook(ROLE_PLAYBOOK, extra_vars={"clear_stuck_tasks_max": "lots"}, verbosity=0, expect_rc=2)
    assert_one_line_failure(run, "clear_stuck_tasks_max", "'lots' is not a whole number")
    assert emulator.tenant.request_log() == []
