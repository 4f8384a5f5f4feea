# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""extensions/eda/rulebooks/clear_stuck_tasks.yml in a real ansible-rulebook (Java 17) against the emulator.

The event source polls the emulator's /task-status/v1 every INTERVAL seconds; its pending reads are the list reads
filtered with ``completionStatus isnull`` (the module's reads are by id), so the emulator's request log counts polls.
Bounds are in polls, not seconds; the deadlines below only stop a hung run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, AnsibleRunner, PlaybookRun, executable

RULEBOOK = REPO_ROOT / "extensions" / "eda" / "rulebooks" / "clear_stuck_tasks.yml"
INTERVAL = 6
STUCK_AFTER = "1h"
DEADLINE_S = 240


def java_home() -> tuple[str | None, str]:
    """(JAVA_HOME for a Java 17 or later, or None, and why not)."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    if shutil.which("java"):
        candidates.append(Path(os.path.realpath(shutil.which("java"))))
    for java in candidates:
        if not java.exists():
            continue
        answer = subprocess.run([str(java), "-XshowSettings:properties", "-version"], capture_output=True, text=True, check=False)
        version = re.search(r"java\.specification\.version = (\d+)", answer.stderr)
        if version and int(version.group(1)) >= 17:
            return str(java.parents[1]), ""
        return None, f"{java} is Java {version.group(1) if version else '?'}, ansible-rulebook needs 17 or later"
    return None, "no Java found (JAVA_HOME unset and no java on PATH); ansible-rulebook needs Java 17 or later"


def pending_polls(log: list[dict[str, Any]]) -> list[int]:
    """Positions in the request log of the event source's pending reads."""
    return [index for index, entry in enumerate(log) if entry["method"] == "GET" and "isnull" in (entry["query"].get("filters") or "")]


def wait_for(what: str, check: Callable[[], Any], process: subprocess.Popen, output: Path) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"ansible-rulebook ended (exit {process.returncode}) while waiting for {what}:\n{output.read_text()}", pytrace=False)
        time.sleep(0.2)
    pytest.fail(f"no {what} after {DEADLINE_S}s:\n{output.read_text()}", pytrace=False)


@pytest.fixture
def rulebook(emulator, ansible_runner: AnsibleRunner, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    home, why_not = java_home()
    if home is None:
        pytest.skip(why_not)
    variables = tmp_path / "vars.yml"
    variables.write_text(yaml.safe_dump({"isc_interval": INTERVAL, "isc_stuck_after": STUCK_AFTER}), encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    env = ansible_runner.environment(client="pat", api_version="v1", results_file=tmp_path / "results.jsonl", env=None)
    # ansible-rulebook finds ansible-galaxy, and ansible-runner ansible-playbook, on PATH: this venv's.
    env.update(
        JAVA_HOME=home,
        PATH=os.pathsep.join([str(Path(executable("ansible-rulebook")).parent), env.get("PATH", "")]),
        PYTHONUNBUFFERED="1",
        TMPDIR=str(tmp_path / "tmp"),
    )
    output = tmp_path / "rulebook.log"
    command = [executable("ansible-rulebook"), "-r", str(RULEBOOK), "-i", str(ansible_runner.inventory), "--vars", str(variables), "-v"]
    with output.open("w", encoding="utf-8") as stream:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=stream, stderr=subprocess.STDOUT)
    try:
        yield process, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_rulebook_clears_a_stuck_task_and_shows_a_failed_one_once(emulator, ansible_runner: AnsibleRunner, rulebook) -> None:
    process, output = rulebook
    tenant = emulator.tenant
    failed_before = tenant.add_task(completion_status="ERROR", age_s=600)
    wait_for("first poll", lambda: pending_polls(tenant.request_log()), process, output)

    # A task pending for two hours without progress: stuck after 1h.
    stuck = tenant.add_task(completion_status=None, age_s=7200)
    added_at = len(tenant.request_log())

    def patch_position() -> int | None:
        log = tenant.request_log()
        return next((index for index, entry in enumerate(log) if entry["method"] == "PATCH" and stuck["id"] in entry["path"]), None)

    patched_at = wait_for("PATCH of the stuck task", patch_position, process, output)
    polls_until_cleared = [index for index in pending_polls(tenant.request_log()) if added_at <= index < patched_at]
    assert 1 <= len(polls_until_cleared) <= 3, f"cleared after {len(polls_until_cleared)} polls"
    cleared = next(task for task in tenant.tasks() if task["id"] == stuck["id"])
    assert cleared["completionStatus"] == "ERROR"
    assert "no progress for 1h" in cleared["description"]

    failing = tenant.launch_task(duration_s=1, completion_status="ERROR")
    shown = f"ISC task {failing['id']} (Cloud Account Aggregation) finished with ERROR"
    wait_for("the failed task's message", lambda: shown in output.read_text(), process, output)
    # Two more polls: a repeated event would be shown by now.
    polls_seen = len(pending_polls(tenant.request_log()))
    wait_for("two more polls", lambda: len(pending_polls(tenant.request_log())) >= polls_seen + 2, process, output)

    process.terminate()
    process.wait(timeout=DEADLINE_S)
    text = output.read_text()
    assert text.count(shown) == 1
    assert text.count(f"ISC task {stuck['id']} ") == 1, "the cleared task is shown once, as finished with ERROR"
    assert failed_before["id"] not in text, "a task that failed before the source started is not reported"
    assert sum(entry["method"] == "PATCH" for entry in tenant.request_log()) == 1
    ansible_runner.assert_no_secret_leaked(PlaybookRun(process.args, process.returncode, text, "", 0.0))


STOP_RULEBOOK = """
- name: Stop at the first stuck task
  hosts: localhost
  sources:
    - sailpoint.isc.task_events:
        interval: 1
        kinds: [stuck]
        stuck_after: 1h
  rules:
    - name: Stop
      condition: event.sailpoint_isc.kind == "stuck"
      action:
        shutdown:
          delay: 0
          message: a stuck task was seen
"""


@pytest.mark.parametrize("secret", ["right", "wrong"])
def test_the_source_stops_cleanly_when_cancelled_and_at_once_on_bad_credentials(emulator, ansible_runner: AnsibleRunner, tmp_path: Path, secret: str) -> None:
    home, why_not = java_home()
    if home is None:
        pytest.skip(why_not)
    emulator.tenant.add_task(completion_status=None, age_s=7200)
    rulebook_file = tmp_path / "stop.yml"
    rulebook_file.write_text(STOP_RULEBOOK, encoding="utf-8")
    env = ansible_runner.environment(client="pat", api_version="v1", results_file=tmp_path / "results.jsonl", env=None)
    env.update(JAVA_HOME=home, PATH=os.pathsep.join([str(Path(executable("ansible-rulebook")).parent), env.get("PATH", "")]))
    if secret == "wrong":
        env["SAIL_CLIENT_SECRET"] = "not-the-secret"
    command = [executable("ansible-rulebook"), "-r", str(rulebook_file), "-i", str(ansible_runner.inventory), "-v"]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE_S, check=False)
    text = done.stdout + done.stderr
    if secret == "right":
        # The shutdown action cancels the source, which ends its loop and says so.
        assert done.returncode == 0, text
        assert "sailpoint.isc.task_events - INFO - Stopped watching" in text
    else:
        assert done.returncode != 0
        assert "sailpoint.isc.task_events stops: ISC API POST /oauth/token failed with HTTP 401" in text
        assert "Check client_id and client_secret" in text
        assert [entry["path"] for entry in emulator.tenant.request_log()] == ["/oauth/token"]
    ansible_runner.assert_no_secret_leaked(PlaybookRun(command, done.returncode, done.stdout, done.stderr, 0.0))
