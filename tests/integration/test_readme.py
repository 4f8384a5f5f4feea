# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The README's minimal playbook runs as written against the emulator, on the default api_version."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
GROUP = "group/sailpoint.isc.isc"


def _readme_playbook() -> list[dict[str, Any]]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A minimal playbook", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block, "README.md: no ```yaml block under '## A minimal playbook'"
    return yaml.safe_load(block.group(1))


def test_readme_minimal_playbook_prints_what_it_found(emulator: Any, run_playbook: Any, tmp_path: Path) -> None:
    plays = _readme_playbook()
    defaults = plays[0]["module_defaults"][GROUP]
    assert "api_version" not in defaults, "the README's playbook should use the default api_version"
    # The tenant URL is the one thing pointed at the emulator (a task's base_url wins over SAIL_BASE_URL).
    del defaults["base_url"]
    stuck_id = next(task for task in plays[0]["tasks"] if "sailpoint.isc.task_status" in task)["sailpoint.isc.task_status"]["id"]
    emulator.tenant.add_task(task_id=stuck_id, completion_status=None, age_s=13 * 3600)
    emulator.tenant.add_task(definition_type="IDENTITY_REFRESH", completion_status=None, age_s=60)
    failed = [emulator.tenant.add_task(completion_status="ERROR", source_name=name, age_s=3600 * hours) for name, hours in (("Workday", 5), ("Okta", 2))]
    emulator.tenant.add_task(completion_status="SUCCESS", age_s=1800)
    emulator.tenant.add_task(definition_type="IDENTITY_REFRESH", completion_status="ERROR", age_s=600)
    playbook = tmp_path / "readme_minimal.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")

    run = run_playbook(playbook)

    said = run.result("Say what was found")["msg"]
    assert said == "2 task(s) pending, 2 failed account aggregation(s) among the last 10", said
    named = [result["msg"] for result in run.results("Name each failed aggregation")[0]["results"]]
    newest_first = sorted(failed, key=lambda task: task["created"], reverse=True)
    assert named == [f"{task['uniqueName']} on {task['target']['name']}: ERROR at {task['completed']}" for task in newest_first], named
    assert "Okta" in named[0] and "Workday" in named[1], named
    paths = [entry["path"] for entry in emulator.tenant.request_log() if entry["path"] != "/oauth/token"]
    assert paths and all(path.startswith("/task-status/v1") for path in paths), paths
    cleared = next(task for task in emulator.tenant.tasks() if task["id"] == stuck_id)
    assert cleared["completionStatus"] == "ERROR" and cleared["description"] == "Cleared by the nightly job after 12 hours pending", cleared
