# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clearing 300 stuck tasks under ISC's rate limit: ``task_status`` with ``ids``, the role, and a ``loop:``.

The emulator runs in its own process with its default limit of 100 requests per 10 s per client_id and API
version, holding 1,000 finished tasks plus the stuck (pending) ones. Each leg gets fresh stuck tasks (2 h without
progress) and starts after the rate window has drained.

1. Module: one ``ansible-playbook`` run of ``sailpoint.isc.task_status`` with ``ids`` (the 300 stuck tasks).
2. Role: one ``ansible-playbook`` run of the role ``sailpoint.isc.clear_stuck_tasks`` (``older_than: 1h``, ``max``
   the number of tasks), which lists the pending tasks with ``task_status_info`` and clears them with one
   ``task_status`` run.

   For both, the measured time is taken from the emulator's request log: from the first request's arrival to the
   last answer, token requests included. It is compared with what the rate limit allows for the requests answered
   (answered / 100 per 10 s, about 30 s for 300 tasks); target: at most 1.15x. The wall time of the whole
   ``ansible-playbook`` run (Ansible's start-up included) is printed beside it, for context only. Every task must
   end cleared by one PATCH, no task may fail, and 429 answers must be few.

   The client sends up to ``rate_limit`` (95) requests at once and then waits for the window to free, so N requests
   take about 10 s x floor((N - 1) / 95) plus the time spent outside requests: the ratio steps with N instead of
   growing smoothly. Both legs send 300 PATCHes and a few reads (about 4 windows), so they compare directly; what
   the role adds is the hand-over from its listing run to its clearing run, which the script prints.
3. Loop: the same clearing as a ``loop:`` over single-task runs (``id: "{{ item }}"``), on fresh stuck tasks.
   An Ansible task execution per id costs far more than the requests, so by default the loop runs over 60 tasks
   and its time per task is extrapolated to 300 (``--loop-tasks 300`` runs it in full; ``0`` skips it).

    python bench/bench_task_status.py [--tasks 300] [--loop-tasks 60] [--api-version beta]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS_PATH = REPO_ROOT / ".build" / "collections"
sys.path.insert(0, str(REPO_ROOT / "tests" / "emulator"))
from isc_emulator.testing import EmulatorProcess  # noqa: E402

CLIENT_ID, CLIENT_SECRET = "pat-0001-demo-client", "pat-demo-secret"
RATE_REQUESTS, RATE_WINDOW_S = 100, 10.0
TIME_TARGET = 1.15
FEW_429 = 5
BACKGROUND_TASKS = 1000

BULK_PLAYBOOK = """---
- name: Clear stuck tasks in one module run
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Clear them all
      sailpoint.isc.task_status:
        ids: "{{ ids }}"
        description: Cleared by bench_task_status
      register: cleared
      ignore_errors: true
    - name: Keep the result for the benchmark
      ansible.builtin.copy:
        content: "{{ cleared | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""

ROLE_PLAYBOOK = """---
- name: Clear stuck tasks with the role
  hosts: localhost
  gather_facts: false
  roles:
    - role: sailpoint.isc.clear_stuck_tasks
      vars:
        clear_stuck_tasks_older_than: 1h
        clear_stuck_tasks_max: "{{ ids | length }}"
        clear_stuck_tasks_reason: Cleared by bench_task_status
  post_tasks:
    - name: Keep the report for the benchmark
      ansible.builtin.copy:
        content: "{{ clear_stuck_tasks_report | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""

LOOP_PLAYBOOK = """---
- name: Clear stuck tasks one module run per task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Clear one
      sailpoint.isc.task_status:
        id: "{{ item }}"
        description: Cleared by bench_task_status
      loop: "{{ ids }}"
      register: cleared
      ignore_errors: true
    - name: Keep the result for the benchmark
      ansible.builtin.copy:
        content: "{{ cleared | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""


def add_stuck_tasks(emulator: EmulatorProcess, count: int) -> list[str]:
    return [emulator.control("POST", "/tasks", {"completionStatus": None, "age_s": 7200})["id"] for _repeat in range(count)]


def run_playbook(emulator: EmulatorProcess, playbook_text: str, ids: list[str], api_version: str, name: str) -> tuple[float, object]:
    playbook = emulator.work_dir / f"{name}.yml"
    playbook.write_text(playbook_text, encoding="utf-8")
    result_file = emulator.work_dir / f"{name}-result.json"
    vars_file = emulator.work_dir / f"{name}-vars.json"
    vars_file.write_text(json.dumps({"ids": ids, "result_file": str(result_file)}), encoding="utf-8")
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("SAIL_", "ANSIBLE_"))},
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_LOCAL_TEMP": str(emulator.work_dir / "tmp"),
        "SAIL_BASE_URL": emulator.url,
        "SAIL_CLIENT_ID": CLIENT_ID,
        "SAIL_CLIENT_SECRET": CLIENT_SECRET,
        "SAIL_API_VERSION": api_version,
    }
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), "-e", f"@{vars_file}"]
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{name} playbook failed ({completed.returncode}):\n{completed.stdout[-4000:]}\n{completed.stderr[-2000:]}")
    return seconds, json.loads(result_file.read_text(encoding="utf-8"))


def request_figures(log: list[dict], ids: list[str]) -> dict[str, object]:
    by_kind = collections.Counter(f"{entry['method']} {entry['template']}" for entry in log)
    statuses = collections.Counter(entry["status"] for entry in log)
    wanted = set(ids)
    ok_patches = collections.Counter(
        entry["path"].rsplit("/", 1)[-1]
        for entry in log
        if entry["method"] == "PATCH" and entry["status"] == 200 and entry["path"].rsplit("/", 1)[-1] in wanted
    )
    span = (max(entry["time"] + entry["duration_ms"] / 1000 for entry in log) - min(entry["time"] for entry in log)) if log else 0.0
    # Each module run asks for its own token: the time before a later token request, with no request in flight, is
    # the hand-over from one module run to the next (Ansible between tasks), spent outside the requests.
    handovers, answered_by = [], None
    for entry in sorted(log, key=lambda entry: entry["time"]):
        if answered_by is not None and entry["template"] == "/oauth/token":
            handovers.append(max(0.0, entry["time"] - answered_by))
        end = entry["time"] + entry["duration_ms"] / 1000
        answered_by = end if answered_by is None else max(answered_by, end)
    return {
        "by_kind": dict(sorted(by_kind.items())),
        "statuses": dict(sorted(statuses.items(), key=lambda item: str(item[0]))),
        "requests": len(log),
        "answered": sum(count for status, count in statuses.items() if status != 429),
        "too_many": statuses.get(429, 0),
        "max_patches_per_task": max(ok_patches.values(), default=0),
        "tasks_patched": len(ok_patches),
        "other_patches": sum(1 for entry in log if entry["method"] == "PATCH" and entry["path"].rsplit("/", 1)[-1] not in wanted),
        "span_s": span,
        "handovers_s": handovers,
    }


def show(label: str, figures: dict[str, object]) -> None:
    print(f"  {label} requests (emulator log): {figures['requests']} in {figures['span_s']:.1f} s, statuses {figures['statuses']}")
    for kind, count in figures["by_kind"].items():
        print(f"    {count:5d}  {kind}")


def fresh_stuck_tasks(emulator: EmulatorProcess, count: int, drain: bool = True) -> list[str]:
    """New stuck tasks and an empty request log; after the rate window drained, so each leg starts with the same budget."""
    if drain:
        time.sleep(RATE_WINDOW_S)
    ids = add_stuck_tasks(emulator, count)
    emulator.control("DELETE", "/requests")
    return ids


def measure_clearing(emulator: EmulatorProcess, label: str, playbook: str, ids: list[str], api_version: str) -> tuple[float, float, list[str]]:
    """Run one clearing leg, print its figures; return the ratio to the rate-limit time, the wall time and the failures."""
    wall, result = run_playbook(emulator, playbook, ids, api_version, label)
    figures = request_figures(emulator.control("GET", "/requests"), ids)
    show(label, figures)
    truth = {task["id"]: task for task in emulator.control("GET", "/tasks")}
    not_cleared = [task_id for task_id in ids if truth[task_id]["completionStatus"] != "ERROR"]
    if label == "role":  # the role's report fact
        failed = [entry["id"] for entry in result["failed"]]
        if result["found"] != len(ids) or result["count"] != len(ids):
            failed.append(f"role found {result['found']} and cleared {result['count']} of {len(ids)}")
    else:  # task_status's result over ids
        failed = [entry["id"] for entry in result.get("results", []) if entry["failed"]]
    allowed = figures["answered"] / (RATE_REQUESTS / RATE_WINDOW_S)
    ratio = figures["span_s"] / allowed
    print(f"  rate limit allows {figures['answered']} requests in {allowed:.1f} s; the requests took {figures['span_s']:.1f} s:")
    print(f"  {ratio:.3f}x the rate-limit time (target <= {TIME_TARGET}x)")
    if figures["handovers_s"]:
        print("  idle between module runs: " + ", ".join(f"{gap:.2f} s" for gap in figures["handovers_s"]))
    print(f"  whole ansible-playbook run: {wall:.1f} s ({wall / allowed:.3f}x, including Ansible's start-up)")
    print(f"  tasks cleared: {len(ids) - len(not_cleared)}/{len(ids)}, failed: {len(failed)}, PATCHes per task at most {figures['max_patches_per_task']}")
    print(f"  429 answers: {figures['too_many']} (target <= {FEW_429})")
    print(f"  requests besides one PATCH per task: {figures['answered'] - figures['tasks_patched']} (reads and tokens)")
    failures = []
    if ratio > TIME_TARGET:
        failures.append(f"{label} took {ratio:.3f}x the rate-limit time")
    if not_cleared or failed:
        failures.append(f"{label}: {len(not_cleared)} tasks not cleared, {len(failed)} failed")
    if figures["max_patches_per_task"] > 1 or figures["tasks_patched"] != len(ids) or figures["other_patches"]:
        failures.append(f"{label}: not exactly one successful PATCH per task")
    if figures["too_many"] > FEW_429:
        failures.append(f"{label}: {figures['too_many']} answers were 429")
    return ratio, wall, failures


def measure_loop(emulator: EmulatorProcess, tasks: int, loop_tasks: int, api_version: str) -> tuple[float, list[str]]:
    """Run the loop leg; return its wall time extrapolated to ``tasks`` and the failures."""
    ids = fresh_stuck_tasks(emulator, loop_tasks)
    extrapolated = loop_tasks != tasks
    print(f"\nloop: a loop over single-task runs on {loop_tasks} stuck tasks" + (f" (extrapolated per task to {tasks})" if extrapolated else ""))
    wall, result = run_playbook(emulator, LOOP_PLAYBOOK, ids, api_version, "loop")
    show("loop", request_figures(emulator.control("GET", "/requests"), ids))
    failed = [entry["item"] for entry in result.get("results", []) if entry.get("failed")]
    for_all = wall / loop_tasks * tasks
    print(f"  loop playbook: {wall:.1f} s for {loop_tasks} tasks = {wall / loop_tasks:.2f} s per task, failed: {len(failed)}")
    print(f"  loop for {tasks} tasks: {for_all:.1f} s" + (" (extrapolated)" if extrapolated else " (measured)"))
    return for_all, [f"{len(failed)} loop items failed"] if failed else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=300, help="stuck tasks cleared by the module run and by the role (300)")
    parser.add_argument("--loop-tasks", type=int, default=60, help="stuck tasks cleared by the loop, extrapolated to --tasks (60; 0 skips it)")
    parser.add_argument("--api-version", default="beta", choices=["beta", "v2024", "v2025", "v2026", "v1"])
    args = parser.parse_args()

    emulator = EmulatorProcess("--seed", "empty", "--generate", str(BACKGROUND_TASKS), "--rate-limit", str(RATE_REQUESTS))
    failures: list[str] = []
    try:
        limit = f"{args.api_version}, emulator limit {RATE_REQUESTS}/{RATE_WINDOW_S:g} s"
        print(f"module: one task_status run with ids = {args.tasks} stuck tasks ({limit})")
        module_ids = fresh_stuck_tasks(emulator, args.tasks, drain=False)
        module_ratio, module_wall, found = measure_clearing(emulator, "module", BULK_PLAYBOOK, module_ids, args.api_version)
        failures += found
        print(f"\nrole: sailpoint.isc.clear_stuck_tasks on {args.tasks} fresh stuck tasks ({limit})")
        role_ratio, role_wall, found = measure_clearing(emulator, "role", ROLE_PLAYBOOK, fresh_stuck_tasks(emulator, args.tasks), args.api_version)
        failures += found
        print(f"\nrequests' time / rate-limit time: module {module_ratio:.3f}x, role {role_ratio:.3f}x (target <= {TIME_TARGET}x)")
        print(f"whole ansible-playbook runs: module {module_wall:.1f} s, role {role_wall:.1f} s")
        if args.loop_tasks > 0:
            loop_for_all, found = measure_loop(emulator, args.tasks, args.loop_tasks, args.api_version)
            failures += found
            print(f"\nratio: loop {loop_for_all:.1f} s / module {module_wall:.1f} s = {loop_for_all / module_wall:.1f}x (whole playbook runs)")
    finally:
        emulator.stop()

    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    print("\nOK: every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
