# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Several ansible-playbook processes, and forks within them, sharing one client_id against the rate limit.

Three copies of playbooks/concurrency_clear.yml (three local hosts each, run by forks) and one run of the
clear_stuck_tasks role start together against an emulator limit of 3 requests per second per client_id and API
version (ISC's is 100 per 10 s). All of them list every task, find the stuck ones and clear them. Each listing
reads its pages 4 at a time, so every listing alone goes over the limit, on a fast machine or a slow one: some
requests are answered 429 and retried. Every run must finish without a failure, every listing must return every
task once, and every stuck task must be PATCHed into effect exactly once: the guarded PATCHes of the losing
clearers are refused by ISC and their tasks reported as left alone.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CLEARING_RUNS = 3
HOSTS_PER_RUN = 3
FINISHED_TASKS = 1300  # six pages of 250 per listing: the first, then five read 4 at a time
STUCK_TASKS = 15
WINDOW_S = 1.0
LIMIT = 3


def busiest_window(times: list[float]) -> int:
    """The most requests the emulator received in any window of WINDOW_S seconds."""
    times = sorted(times)
    busiest, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= WINDOW_S:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


def test_parallel_runs_and_forks_sharing_a_client_id_all_succeed_and_clear_each_task_once(emulator: Any, ansible_runner: Any, tmp_path: Path) -> None:
    emulator.tenant.configure(rate_limit={"requests": LIMIT, "window_s": WINDOW_S})
    emulator.tenant.generate(FINISHED_TASKS, span_days=30)
    stuck = [emulator.tenant.add_task(completion_status=None, age_s=3 * 3600)["id"] for _task in range(STUCK_TASKS)]
    finished = {task["id"] for task in emulator.tenant.tasks() if task["completionStatus"] is not None and not task["_expired"]}

    def start(name: str, playbook: str, extra_vars: dict[str, Any] | None = None) -> Any:
        work_dir = tmp_path / name
        work_dir.mkdir()
        return type(ansible_runner)(emulator, work_dir).playbook(playbook, extra_vars=extra_vars)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLEARING_RUNS + 1) as pool:
        clearing = [pool.submit(start, f"run{n}", "concurrency_clear.yml", {"run_name": f"run{n}", "hosts": HOSTS_PER_RUN}) for n in range(CLEARING_RUNS)]
        role = pool.submit(start, "role", "concurrency_role.yml")
        runs = [future.result() for future in clearing]  # each asserts its own return code 0
        role_run = role.result()
    duration = time.monotonic() - started

    log = emulator.tenant.request_log()
    api = [entry for entry in log if entry["api_version"] == "v1"]
    statuses = Counter(entry["status"] for entry in api)
    print(
        f"{CLEARING_RUNS} runs x {HOSTS_PER_RUN} hosts + the role in {duration:.1f}s: {len(api)} API requests, "
        f"busiest {WINDOW_S:g} s: {busiest_window([entry['time'] for entry in api])}, statuses {dict(statuses)}"
    )

    # The limit was really reached, and survived.
    assert busiest_window([entry["time"] for entry in api]) > LIMIT
    assert statuses[429] > 0, f"the runs went over {LIMIT} requests in {WINDOW_S:g} s, so the emulator must have answered 429"
    assert {entry["client_id"] for entry in log} == {ansible_client_id(ansible_runner)}, "one client_id shared by every run"

    # Every listing returned every task that existed throughout, each once.
    for run in runs:
        for host, listing in run.results_by_host("List every task").items():
            ids = [task["id"] for task in listing["tasks"]]
            assert len(ids) == len(set(ids)), f"{host} listed a task twice"
            assert finished <= set(ids), f"{host} missed {len(finished - set(ids))} tasks"

    # Each stuck task was cleared by exactly one clearer and PATCHed into effect exactly once.
    changed = Counter()
    left_alone = Counter()
    for run in runs:
        for host, result in run.results_by_host("Clear the stuck tasks").items():
            assert not result.get("failed"), f"{host}: {result.get('msg')}"
            for outcome in result.get("results", []):
                changed[outcome["id"]] += outcome["changed"]
                left_alone[outcome["id"]] += outcome["left_alone"]
    role_report = role_run.result("Build the report")["ansible_facts"]["clear_stuck_tasks_report"]
    assert role_report["failed"] == [] and role_report["error"] is None
    changed.update(role_report["cleared"])
    assert changed == Counter(stuck), f"clearers that changed each task: {changed}"
    applied = Counter(entry["path"].rsplit("/", 1)[-1] for entry in api if entry["method"] == "PATCH" and entry["status"] == 200)
    assert applied == Counter(stuck), f"PATCHes answered 200 per task: {applied}"
    refused = sum(1 for entry in api if entry["method"] == "PATCH" and entry["status"] == 400)
    print(f"{refused} guarded PATCHes refused because another clearer got there first; {sum(left_alone.values())} left-alone outcomes")
    tasks = {task["id"]: task for task in emulator.tenant.tasks()}
    assert all(tasks[task_id]["completionStatus"] == "ERROR" for task_id in stuck)


def ansible_client_id(ansible_runner: Any) -> str:
    """The client_id every run shares (the harness's personal access token client)."""
    return ansible_runner.environment(client="pat", api_version=None, results_file=ansible_runner.work_dir / "unused.jsonl", env=None)["SAIL_CLIENT_ID"]
