# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``sailpoint.isc.clear_stuck_tasks`` role against the emulator: selection, cap, dry run, check mode, reports,
the demo playbook, and a run through ansible-runner as AWX runs a scheduled job."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from conftest import CANARY_SECRET, COLLECTIONS_PATH, REPO_ROOT, add_long_run, executable

SOURCE_A = "2c9180835d2e5168015d32f890ca1581"  # the emulator's "Active Directory"
SOURCE_B = "2c91808568c529c60168cca6f90c1313"  # the emulator's "Workday"
HOUR = 3600
DAY = 86400
ROLE_PLAYBOOK = "role_clear_stuck_tasks.yml"


def seed(emulator: Any) -> dict[str, str]:
    tenant = emulator.tenant
    tasks = {
        "stuck_agg_a": tenant.add_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_A, age_s=3 * DAY, completion_status=None),
        "stuck_agg_b": tenant.add_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_B, age_s=2 * DAY, completion_status=None),
        "stuck_refresh": tenant.add_task(definition_type="IDENTITY_REFRESH", age_s=13 * HOUR, completion_status=None),
        "recent_agg_a": tenant.add_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_A, age_s=20 * 60, completion_status=None),
        "finished_agg_a": tenant.add_task(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_A, age_s=4 * DAY, completion_status="SUCCESS"),
        "failed_refresh": tenant.add_task(definition_type="IDENTITY_REFRESH", age_s=5 * DAY, completion_status="ERROR"),
        # Launched four days ago, progressed a minute ago: a long run, not a stuck one.
        "progressing_agg_a": add_long_run(tenant, SOURCE_A),
    }
    return {name: task["id"] for name, task in tasks.items()}


def truth(emulator: Any) -> dict[str, dict[str, Any]]:
    return {task["id"]: task for task in emulator.tenant.tasks()}


def patched_ids(emulator: Any) -> list[str]:
    return [entry["path"].rsplit("/", 1)[-1] for entry in emulator.tenant.request_log() if entry["method"] == "PATCH"]


def report(run: Any) -> dict[str, Any]:
    """The role's report fact, as set inside the role (also when the role then fails)."""
    return run.result("sailpoint.isc.clear_stuck_tasks : Build the report")["ansible_facts"]["clear_stuck_tasks_report"]


def stats(run: Any) -> dict[str, Any]:
    return run.result("Publish the report to the job (AWX shows set_stats data on the job)")["ansible_stats"]["data"]["clear_stuck_tasks"]


def test_clears_exactly_the_stuck_tasks_that_match_and_a_second_run_clears_nothing(emulator: Any, run_playbook: Any) -> None:
    ids = seed(emulator)
    before = truth(emulator)
    settings = {
        "clear_stuck_tasks_older_than": "6h",
        "clear_stuck_tasks_types": ["CLOUD_ACCOUNT_AGGREGATION"],
        "clear_stuck_tasks_sources": [SOURCE_A, SOURCE_B],
        "clear_stuck_tasks_completion_status": "TERMINATED",
        "clear_stuck_tasks_reason": "Cleared by the integration test (CHG-1)",
    }

    first = run_playbook(ROLE_PLAYBOOK, extra_vars=settings)

    stuck = [ids["stuck_agg_a"], ids["stuck_agg_b"]]
    assert sorted(patched_ids(emulator)) == sorted(stuck)
    after = truth(emulator)
    for task_id in stuck:
        assert after[task_id]["completionStatus"] == "TERMINATED"
        assert after[task_id]["completed"] is not None
        assert after[task_id]["description"] == "Cleared by the integration test (CHG-1)"
    for name in ("stuck_refresh", "recent_agg_a", "finished_agg_a", "failed_refresh", "progressing_agg_a"):
        assert after[ids[name]] == before[ids[name]], name
    first_report = report(first)
    assert sorted(first_report["cleared"]) == sorted(stuck)
    assert (first_report["count"], first_report["found"], first_report["pending"], first_report["dry_run"]) == (2, 2, 4, False)
    assert first_report["failed"] == [] and first_report["left_alone"] == []
    assert sorted(stats(first)["cleared"]) == sorted(stuck)
    assert stats(first)["count"] == 2 and stats(first)["dry_run"] is False
    summary = first.result("Show what was done")["msg"]
    assert summary[0] == "Cleared 2 of 2 tasks with no progress for 6h (of 4 pending), setting TERMINATED."
    # Each cleared task by name, source and how long it showed no progress: the stalest first.
    assert summary[1].startswith(f"  cleared Cloud Account Aggregation on Active Directory [source] ({ids['stuck_agg_a']}), no progress for 3d")
    assert summary[2].startswith(f"  cleared Cloud Account Aggregation on Workday [source] ({ids['stuck_agg_b']}), no progress for 2d")
    assert first.status("Clear the stuck tasks in one run") == "changed"

    emulator.tenant.clear_request_log()
    second = run_playbook(ROLE_PLAYBOOK, extra_vars=settings)

    assert patched_ids(emulator) == []
    assert report(second)["found"] == 0 and report(second)["count"] == 0 and report(second)["cleared"] == []
    assert stats(second)["count"] == 0
    assert second.status("Clear the stuck tasks in one run") == "skipped"
    assert second.result("Show what was done")["msg"] == ["Nothing to clear: no task has been without progress for 6h (2 pending)."]
    assert truth(emulator) == after


def test_defaults_clear_every_stuck_task_and_leave_recent_and_finished_ones(emulator: Any, run_playbook: Any) -> None:
    ids = seed(emulator)
    run = run_playbook(ROLE_PLAYBOOK)
    stuck = {ids["stuck_agg_a"], ids["stuck_agg_b"], ids["stuck_refresh"]}
    assert set(report(run)["cleared"]) == stuck
    after = truth(emulator)
    assert {task_id for task_id, task in after.items() if task["completionStatus"] is None} == {ids["recent_agg_a"], ids["progressing_agg_a"]}
    assert all(after[task_id]["completionStatus"] == "ERROR" for task_id in stuck)
    assert all(after[task_id]["description"] == "Cleared by sailpoint.isc.clear_stuck_tasks: pending for more than 6h" for task_id in stuck)


def test_more_candidates_than_the_cap_fails_before_any_change(emulator: Any, run_playbook: Any) -> None:
    ids = seed(emulator)
    before = truth(emulator)

    run = run_playbook(ROLE_PLAYBOOK, extra_vars={"clear_stuck_tasks_max": 2}, expect_rc=2)

    assert "3 tasks have shown no progress for more than 6h, more than clear_stuck_tasks_max (2). Nothing was changed." in " ".join(run.output.split())
    assert report(run)["error"].startswith("3 tasks have shown no progress") and report(run)["cleared"] == []
    assert patched_ids(emulator) == []
    assert [entry["method"] for entry in emulator.tenant.request_log() if entry["method"] not in ("GET", "HEAD", "POST")] == []
    assert truth(emulator) == before

    raised = run_playbook(ROLE_PLAYBOOK, extra_vars={"clear_stuck_tasks_max": 3})
    assert sorted(report(raised)["cleared"]) == sorted([ids["stuck_agg_a"], ids["stuck_agg_b"], ids["stuck_refresh"]])


def test_dry_run_changes_nothing_and_writes_the_report_file(emulator: Any, run_playbook: Any, tmp_path: Path) -> None:
    ids = seed(emulator)
    before = truth(emulator)
    report_file = tmp_path / "reports" / "clear.json"
    report_file.parent.mkdir()

    run = run_playbook(ROLE_PLAYBOOK, extra_vars={"clear_stuck_tasks_dry_run": True, "clear_stuck_tasks_report_file": str(report_file)})

    assert patched_ids(emulator) == []
    assert truth(emulator) == before
    stuck = sorted([ids["stuck_agg_a"], ids["stuck_agg_b"], ids["stuck_refresh"]])
    assert report(run)["dry_run"] is True and sorted(report(run)["cleared"]) == stuck
    assert run.result("Show what was done")["msg"][0].startswith("Dry run, nothing changed: would clear 3 of 3 tasks")
    written = json.loads(report_file.read_text(encoding="utf-8"))
    assert written == {name: value for name, value in report(run).items() if name != "summary"}
    assert {row["id"] for row in written["tasks"] if row["stuck"]} == set(stuck)
    assert {row["id"] for row in written["tasks"] if not row["stuck"]} == {ids["recent_agg_a"], ids["progressing_agg_a"]}
    text = report_file.read_text(encoding="utf-8")
    assert CANARY_SECRET not in text and "client_secret" not in text


def test_check_mode_changes_nothing(emulator: Any, run_playbook: Any) -> None:
    ids = seed(emulator)
    before = truth(emulator)
    run = run_playbook(ROLE_PLAYBOOK, check=True)
    assert patched_ids(emulator) == []
    assert truth(emulator) == before
    assert report(run)["dry_run"] is True
    assert len(report(run)["cleared"]) == 3 and ids["recent_agg_a"] not in report(run)["cleared"]


def test_check_mode_on_the_role_import_changes_nothing(emulator: Any, run_playbook: Any) -> None:
    seed(emulator)
    before = truth(emulator)
    run_playbook("role_check_mode_import.yml")
    assert patched_ids(emulator) == []
    assert truth(emulator) == before


def test_connection_from_sail_variables_reaches_lookup_and_module(emulator: Any, run_playbook: Any) -> None:
    ids = seed(emulator)
    run = run_playbook("role_sail_vars.yml", client=None, env={"SAIL_BASE_URL": None}, extra_vars={"test_base_url": emulator.url})
    assert len(report(run)["cleared"]) == 3
    assert sorted(patched_ids(emulator)) == sorted([ids["stuck_agg_a"], ids["stuck_agg_b"], ids["stuck_refresh"]])


def test_refused_clearing_is_reported_and_fails_the_run(emulator: Any, run_playbook: Any) -> None:
    seed(emulator)
    before = truth(emulator)
    # An API client has no user context: ISC refuses its PATCH with 403.
    run = run_playbook(ROLE_PLAYBOOK, client="api", expect_rc=2)
    assert truth(emulator) == before
    (line,) = run.result("Show what was done")["msg"]
    # One cause, once, with a count and what the client lacks.
    assert line.startswith("Failed, nothing was changed: 3 of 3 tasks failed. HTTP 403 on 3 of 3 tasks (")
    assert line.count("idn:task-management:write") == 1 and "personal access token" in line
    assert report(run)["error"] and [entry["id"] for entry in report(run)["failed"]]
    assert [record["task"] for record in run.records if record["result"].get("failed")] == ["sailpoint.isc.clear_stuck_tasks : Stop with the cause"]


def test_bad_age_threshold_is_refused_before_any_request(emulator: Any, run_playbook: Any) -> None:
    seed(emulator)
    run = run_playbook(ROLE_PLAYBOOK, extra_vars={"clear_stuck_tasks_older_than": "6x"}, expect_rc=2)
    assert "Invalid option 'clear_stuck_tasks_older_than': unknown duration unit 'x' in '6x'." in " ".join(run.output.split())
    assert emulator.tenant.request_log() == []


def test_bad_completion_status_is_refused_naming_the_role_variable(emulator: Any, run_playbook: Any) -> None:
    run = run_playbook(ROLE_PLAYBOOK, extra_vars={"clear_stuck_tasks_completion_status": "DONE"}, expect_rc=2)
    output = " ".join(run.output.split())
    assert "clear_stuck_tasks_completion_status" in output and "DONE" in output
    assert emulator.tenant.request_log() == []


def test_demo_playbook_on_the_demo_tenant(emulator: Any, run_playbook: Any) -> None:
    emulator.reset(seed="demo")
    pending_before = [task for task in emulator.tenant.tasks() if task["completionStatus"] is None and not task.get("_expired")]
    assert len(pending_before) == 3

    run = run_playbook(REPO_ROOT / "playbooks" / "demo.yml")

    assert len(patched_ids(emulator)) == 2
    still_pending = [task for task in emulator.tenant.tasks() if task["completionStatus"] is None and not task.get("_expired")]
    assert len(still_pending) == 1
    summaries = [result["msg"][0] for result in run.results("Show what was done")]
    assert summaries == [
        "Dry run, nothing changed: would clear 2 of 2 tasks with no progress for 6h (of 3 pending), setting ERROR.",
        "Cleared 2 of 2 tasks with no progress for 6h (of 3 pending), setting ERROR.",
        "Nothing to clear: no task has been without progress for 6h (1 pending).",
    ]


# -- as AWX runs it --------------------------------------------------------------------------------------------

RUNNER_CLIENT_ID = "awx-7f3e-scheduled-job"
RUNNER_SECRET = "S3cr3t-AWX-injected-9b1c4e7d2a"  # distinctive, so any leak is found by a plain search


def test_role_through_ansible_runner_with_awx_credential_injection_leaks_no_secret(emulator: Any, tmp_path: Path) -> None:
    ids = seed(emulator)
    emulator.tenant.add_client(RUNNER_CLIENT_ID, RUNNER_SECRET, user_context=True)
    credential_type = yaml.safe_load((REPO_ROOT / "docs" / "awx_credential_type.yml").read_text(encoding="utf-8"))
    injected = {
        name: template.replace("{{ base_url }}", emulator.url)
        .replace("{{ client_id }}", RUNNER_CLIENT_ID)
        .replace("{{ client_secret }}", RUNNER_SECRET)
        .replace("{{ api_version }}", "v2025")
        for name, template in credential_type["injectors"]["env"].items()
    }
    assert set(injected) == {"SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET", "SAIL_API_VERSION"}
    assert all("{{" not in value for value in injected.values()), injected

    private = tmp_path / "runner"
    (private / "project").mkdir(parents=True)
    (private / "inventory").mkdir()
    (private / "env").mkdir()
    (private / "project" / "clear_stuck_tasks.yml").write_text((REPO_ROOT / "playbooks" / "clear_stuck_tasks.yml").read_text(encoding="utf-8"))
    (private / "inventory" / "hosts").write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    envvars = {
        **injected,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
    }
    (private / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (private / "env" / "extravars").write_text(yaml.safe_dump({"clear_stuck_tasks_older_than": "12h", "clear_stuck_tasks_max": 5}))
    # AWX jobs may run at high verbosity; nothing secret may show even then.
    (private / "env" / "cmdline").write_text("-vvv")

    run_env = {name: value for name, value in os.environ.items() if not name.startswith(("SAIL_", "ANSIBLE_")) and name != "PYTHONPATH"}
    run_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{run_env.get('PATH', '')}"
    completed = subprocess.run(
        [executable("ansible-runner"), "run", str(private), "-p", "clear_stuck_tasks.yml", "--ident", "job-1"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    artifacts = private / "artifacts" / "job-1"
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"

    stuck = sorted([ids["stuck_agg_a"], ids["stuck_agg_b"], ids["stuck_refresh"]])
    assert sorted(patched_ids(emulator)) == stuck
    clients = {entry["client_id"] for entry in emulator.tenant.request_log() if entry.get("client_id")}
    assert clients == {RUNNER_CLIENT_ID}
    # v2025 lists pending tasks with completionStatus isnull: the deprecated pending-tasks endpoint is not used.
    log = emulator.tenant.request_log()
    assert not any("pending-tasks" in entry["path"] for entry in log)
    assert any(entry["path"] == "/v2025/task-status" and "completionStatus isnull" in entry["query"].get("filters", "") for entry in log)

    events = [json.loads(path.read_text()) for path in sorted((artifacts / "job_events").glob("*.json"))]
    assert events, "ansible-runner wrote no job events"
    stats_events = [event for event in events if event.get("event") == "playbook_on_stats"]
    assert len(stats_events) == 1
    published = stats_events[0]["event_data"]["artifact_data"]["clear_stuck_tasks"]
    assert sorted(published["cleared"]) == stuck and published["count"] == 3 and published["dry_run"] is False

    tokens = emulator.tenant.issued_tokens()
    assert tokens, "the emulator issued no token for the job"
    secrets = [RUNNER_SECRET, *tokens]
    leaks = []
    for path in sorted(artifacts.rglob("*")) + [Path("<stdout>"), Path("<stderr>")]:
        if path.name == "<stdout>":
            text = completed.stdout
        elif path.name == "<stderr>":
            text = completed.stderr
        elif path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
        else:
            continue
        if path.name == "command" and path.parent == artifacts:
            # ansible-runner's record of how it launched ansible-playbook: it holds the launch environment, i.e. the
            # credential AWX injected, by design and readable by the job's user only. It is input, not job output.
            assert RUNNER_SECRET in text and stat.S_IMODE(path.stat().st_mode) == 0o600
            assert not any(token in text for token in tokens)
            continue
        leaks += [(str(path), secret[:4] + "...") for secret in secrets if secret in text]
    assert leaks == []
    # The injected secret did reach the module (through env_fallback) and was masked in the -vvv invocation.
    (clearing,) = [event for event in events if event.get("event") == "runner_on_ok" and event["event_data"].get("task_action") == "sailpoint.isc.task_status"]
    module_args = clearing["event_data"]["res"]["invocation"]["module_args"]
    assert module_args["client_secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert module_args["client_id"] == RUNNER_CLIENT_ID


def test_types_and_sources_as_comma_separated_text(emulator: Any, run_playbook: Any) -> None:
    """-e and AWX text surveys hand the role a string, not a list."""
    ids = seed(emulator)
    run = run_playbook(
        ROLE_PLAYBOOK,
        extra_vars={"clear_stuck_tasks_types": "CLOUD_ACCOUNT_AGGREGATION, IDENTITY_REFRESH", "clear_stuck_tasks_sources": SOURCE_A},
        check=True,
    )
    assert report(run)["types"] == ["CLOUD_ACCOUNT_AGGREGATION", "IDENTITY_REFRESH"]
    assert report(run)["sources"] == [SOURCE_A]
    assert sorted(report(run)["cleared"]) == [ids["stuck_agg_a"]]
    assert patched_ids(emulator) == []


def test_a_bad_report_file_is_named_alone(emulator: Any, run_playbook: Any, tmp_path: Path) -> None:
    run = run_playbook(ROLE_PLAYBOOK, extra_vars={"clear_stuck_tasks_report_file": str(tmp_path / "missing" / "report.json")}, expect_rc=2)
    failures = [result["msg"] for result in run.results() if result.get("failed")]
    assert len(failures) == 1
    assert "Invalid option 'clear_stuck_tasks_report_file': the directory of" in failures[0] and "does not exist" in failures[0]
    assert "clear_stuck_tasks_max" not in failures[0], "only the option that is wrong is named"
    assert emulator.tenant.request_log() == [], "refused before any request"
