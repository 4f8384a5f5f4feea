# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clearing 300 stuck tasks under ISC's rate limit: one ``task_status`` run with ``ids`` against a ``loop:``.

The emulator runs in its own process with its default limit of 100 requests per 10 s per client_id and API
version, holding 1,000 finished tasks plus the stuck (pending) ones.

1. Bulk: one ``ansible-playbook`` run of ``sailpoint.isc.task_status`` with ``ids`` (the 300 stuck tasks). Its
   requests come from the emulator's log: at most one successful PATCH per task plus the paged reads (and one
   token). The time those requests took (first request to last answer) is compared with what the rate limit
   allows for that many requests (requests / 100 per 10 s, about 30 s); target: at most 1.15x. Every task must
   end cleared, no task may fail, and 429 answers must be few.
2. Loop: the same clearing as a ``loop:`` over single-task runs (``id: "{{ item }}"``), on fresh stuck tasks.
   An Ansible task execution per id costs far more than the requests, so by default the loop runs over 60 tasks
   and its time per task is extrapolated to 300 (``--loop-tasks 300`` runs it in full); the script says which.

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
    return {
        "by_kind": dict(sorted(by_kind.items())),
        "statuses": dict(sorted(statuses.items(), key=lambda item: str(item[0]))),
        "requests": len(log),
        "answered": sum(count for status, count in statuses.items() if status != 429),
        "too_many": statuses.get(429, 0),
        "max_patches_per_task": max(ok_patches.values(), default=0),
        "tasks_patched": len(ok_patches),
        "span_s": span,
    }


def show(label: str, figures: dict[str, object]) -> None:
    print(f"  {label} requests (emulator log): {figures['requests']} in {figures['span_s']:.1f} s, statuses {figures['statuses']}")
    for kind, count in figures["by_kind"].items():
        print(f"    {count:5d}  {kind}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=300, help="stuck tasks cleared by the bulk run (300)")
    parser.add_argument("--loop-tasks", type=int, default=60, help="stuck tasks cleared by the loop, extrapolated to --tasks (60)")
    parser.add_argument("--api-version", default="beta", choices=["beta", "v2024", "v2025", "v2026", "v1"])
    args = parser.parse_args()

    emulator = EmulatorProcess("--seed", "empty", "--generate", str(BACKGROUND_TASKS), "--rate-limit", str(RATE_REQUESTS))
    failures: list[str] = []
    try:
        bulk_ids = add_stuck_tasks(emulator, args.tasks)
        emulator.control("DELETE", "/requests")
        print(f"bulk: one task_status run with ids = {args.tasks} stuck tasks ({args.api_version}, emulator limit {RATE_REQUESTS}/{RATE_WINDOW_S:g} s)")
        bulk_wall, bulk_result = run_playbook(emulator, BULK_PLAYBOOK, bulk_ids, args.api_version, "bulk")
        bulk = request_figures(emulator.control("GET", "/requests"), bulk_ids)
        show("bulk", bulk)
        truth = {task["id"]: task for task in emulator.control("GET", "/tasks")}
        not_cleared = [task_id for task_id in bulk_ids if truth[task_id]["completionStatus"] != "ERROR"]
        failed = [entry["id"] for entry in bulk_result.get("results", []) if entry["failed"]]
        allowed = bulk["answered"] / (RATE_REQUESTS / RATE_WINDOW_S)
        ratio = bulk["span_s"] / allowed
        wall_ratio = bulk_wall / allowed
        print(f"  rate limit allows {bulk['answered']} requests in {allowed:.1f} s; the requests took {bulk['span_s']:.1f} s:")
        print(f"  {ratio:.3f}x the rate-limit time (target <= {TIME_TARGET}x)")
        print(f"  whole ansible-playbook run: {bulk_wall:.1f} s ({wall_ratio:.3f}x, including Ansible's start-up)")
        print(f"  tasks cleared: {args.tasks - len(not_cleared)}/{args.tasks}, failed: {len(failed)}, PATCHes per task at most {bulk['max_patches_per_task']}")
        print(f"  429 answers: {bulk['too_many']} (target <= {FEW_429})")
        reads = bulk["answered"] - bulk["tasks_patched"]
        print(f"  requests besides one PATCH per task: {reads} (paged reads and token)")
        if ratio > TIME_TARGET:
            failures.append(f"bulk took {ratio:.3f}x the rate-limit time")
        if not_cleared or failed:
            failures.append(f"{len(not_cleared)} tasks not cleared, {len(failed)} failed")
        if bulk["max_patches_per_task"] > 1 or bulk["tasks_patched"] != args.tasks:
            failures.append("not exactly one successful PATCH per task")
        if bulk["too_many"] > FEW_429:
            failures.append(f"{bulk['too_many']} answers were 429")

        # Let the rate window drain so the loop starts with the same budget.
        time.sleep(RATE_WINDOW_S)
        loop_ids = add_stuck_tasks(emulator, args.loop_tasks)
        emulator.control("DELETE", "/requests")
        extrapolated = args.loop_tasks != args.tasks
        print(f"\nloop: a loop over single-task runs on {args.loop_tasks} stuck tasks" + (f" (extrapolated per task to {args.tasks})" if extrapolated else ""))
        loop_wall, loop_result = run_playbook(emulator, LOOP_PLAYBOOK, loop_ids, args.api_version, "loop")
        loop = request_figures(emulator.control("GET", "/requests"), loop_ids)
        show("loop", loop)
        loop_failed = [entry["item"] for entry in loop_result.get("results", []) if entry.get("failed")]
        loop_for_all = loop_wall / args.loop_tasks * args.tasks
        print(f"  loop playbook: {loop_wall:.1f} s for {args.loop_tasks} tasks = {loop_wall / args.loop_tasks:.2f} s per task, failed: {len(loop_failed)}")
        print(f"  loop for {args.tasks} tasks: {loop_for_all:.1f} s" + (" (extrapolated)" if extrapolated else " (measured)"))
        print(f"\nratio: loop {loop_for_all:.1f} s / bulk {bulk_wall:.1f} s = {loop_for_all / bulk_wall:.1f}x (whole playbook runs)")
        if loop_failed:
            failures.append(f"{len(loop_failed)} loop items failed")
    finally:
        emulator.stop()

    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    print("\nOK: every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
