# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listing 10,000 tasks at 40 ms latency: the collection against SailPoint's SDK and against ansible.builtin.uri.

Two comparisons, measured side by side in one run against one emulator (its own process, so its GIL is not ours;
10,000 generated tasks, 40 ms added to every API request, rate limit off so neither side waits on it):

1. The collection's client (``IscClient.iter_tasks``) against the official Python SDK's ``Paginator.paginate``
   over ``TaskManagementApi.get_task_status_list_v1``. SDK 2.x calls only ``/task-status/v1``, so both use v1.
   Each side is timed from building its configuration (the token request included) to holding every task; the
   imports are not timed. The SDK (``sailpoint==2.1.72``) runs from its own venv, ``.venv-bench``, which this
   script creates when missing. Rounds alternate between the two; medians are compared.
   Target: the client at least 3x faster.
2. The whole one-task playbook (``bench/module_list_tasks.yml``) against the equivalent ``ansible.builtin.uri``
   playbook (``bench/uri_list_tasks.yml``: token, count, one call per page, pages joined), each a complete
   ``ansible-playbook`` process. Target: the module playbook at least 10x faster.
   For scale, three more playbooks, none of which makes a request:
   - startup: one ``ansible.builtin.debug`` task, what ansible-playbook costs before any result is carried;
   - module floor: a stand-in module that only prints the same 10,000-task result, recorded once here;
   - action floor: a stand-in action plugin that returns that recorded result inside the controller, so no
     module process, no module-side result encoding and no result decoding at all.
   Their times bound what any module or action plugin returning the whole tasks could reach: ansible-core's
   own handling of a 10,000-task result (its no_log scrub, result copies, callback conversion) is in both
   floors and is outside the collection.

Every listing is checked to return each of the 10,000 tasks exactly once, and the request counts come from the
emulator's request log.

    python bench/bench_task_status_info.py [--tasks 10000] [--latency-ms 40] [--rounds 3] [--playbook-rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
COLLECTIONS_PATH = REPO_ROOT / ".build" / "collections"
EMULATOR_PATH = REPO_ROOT / "tests" / "emulator"
BENCH_VENV = REPO_ROOT / ".venv-bench"
SDK_REQUIREMENT = "sailpoint==2.1.72"
CLIENT_ID, CLIENT_SECRET = "pat-0001-demo-client", "pat-demo-secret"
CLIENT_TARGET, PLAYBOOK_TARGET = 3.0, 10.0

sys.path[:0] = [str(COLLECTIONS_PATH), str(EMULATOR_PATH)]
from isc_emulator.testing import EmulatorProcess  # noqa: E402

# The SDK side, run by the bench venv's Python. Prints one JSON line.
SDK_SCRIPT = r"""
import json, sys, time
from sailpoint import ApiClient, Configuration, Paginator
from sailpoint.configuration import ConfigurationParams
from sailpoint.task_management.api.task_management_api import TaskManagementApi

params = ConfigurationParams()
params.base_url, params.client_id, params.client_secret = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.perf_counter()
configuration = Configuration(params)
with ApiClient(configuration) as api_client:
    tasks = Paginator.paginate(TaskManagementApi(api_client).get_task_status_list_v1, -1, limit=250)
seconds = time.perf_counter() - started
ids = [task.id for task in tasks]
print(json.dumps({"seconds": seconds, "count": len(ids), "unique": len(set(ids))}))
"""


def ensure_bench_venv() -> Path:
    python = BENCH_VENV / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('sailpoint'))"]
    if python.exists():
        installed = subprocess.run(probe, capture_output=True, text=True, check=False).stdout.strip()
        if installed == SDK_REQUIREMENT.split("==")[1]:
            return python
    print(f"setting up {BENCH_VENV} with {SDK_REQUIREMENT} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", SDK_REQUIREMENT], check=True)
    return python


def check_complete(label: str, count: int, unique: int, expected: int) -> None:
    if count != expected or unique != expected:
        raise SystemExit(f"{label}: got {count} tasks ({unique} distinct), expected {expected} exactly once")


def run_client(url: str, expected: int) -> float:
    from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient  # noqa: PLC0415
    from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig  # noqa: PLC0415

    started = time.perf_counter()
    config = ClientConfig.from_options({"base_url": url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "api_version": "v1"})
    tasks = list(IscClient(config).iter_tasks())
    seconds = time.perf_counter() - started
    check_complete("collection client", len(tasks), len({task["id"] for task in tasks}), expected)
    return seconds


def run_sdk(python: Path, url: str, expected: int) -> float:
    completed = subprocess.run([str(python), "-c", SDK_SCRIPT, url, CLIENT_ID, CLIENT_SECRET], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"SDK run failed:\n{completed.stderr}")
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    check_complete("SDK Paginator", outcome["count"], outcome["unique"], expected)
    return outcome["seconds"]


def ansible_env(url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("SAIL_", "ANSIBLE_")) and name != "PYTHONPATH"}
    env.update(
        {
            "SAIL_BASE_URL": url,
            "SAIL_CLIENT_ID": CLIENT_ID,
            "SAIL_CLIENT_SECRET": CLIENT_SECRET,
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        }
    )
    return env


FLOOR_MODULE = """#!/usr/bin/python
import sys
with open(%r) as stream:
    sys.stdout.write(stream.read())
"""
FLOOR_ACTION = """import json
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        with open(%r, "a") as marker:
            marker.write("ran\\n")
        with open(%r) as stream:
            return json.load(stream)
"""
FLOOR_PLAYBOOK = """- name: Return a recorded 10,000-task result without any HTTP
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Return the recorded result
      print_recorded_result:
      register: listed
"""
STARTUP_PLAYBOOK = """- name: Start ansible-playbook and run one task that carries no result
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: hello
"""


def write_floor_playbooks(url: str, work_dir: Path) -> tuple[Path, Path, Path]:
    """The startup, module-floor and action-floor playbooks, with the result task_status_info returns recorded once."""
    from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient  # noqa: PLC0415
    from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig  # noqa: PLC0415

    config = ClientConfig.from_options({"base_url": url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "api_version": "v1"})
    tasks = list(IscClient(config).iter_tasks())
    result_file = work_dir / "result.json"
    result_file.write_text(json.dumps({"changed": False, "tasks": tasks, "count": len(tasks)}), encoding="utf-8")
    startup = work_dir / "startup" / "startup.yml"
    module_floor = work_dir / "module_floor" / "floor.yml"
    action_floor = work_dir / "action_floor" / "floor.yml"
    for playbook in (startup, module_floor, action_floor):
        playbook.parent.mkdir()
    startup.write_text(STARTUP_PLAYBOOK, encoding="utf-8")
    # The module floor's directory holds the module under library/; the action floor's holds the same module
    # and an action plugin of the same name, which ansible-core then runs instead of the module.
    for playbook in (module_floor, action_floor):
        (playbook.parent / "library").mkdir()
        (playbook.parent / "library" / "print_recorded_result.py").write_text(FLOOR_MODULE % str(result_file), encoding="utf-8")
        playbook.write_text(FLOOR_PLAYBOOK, encoding="utf-8")
    (action_floor.parent / "action_plugins").mkdir()
    marker = action_floor.parent / "action_ran"
    action_source = FLOOR_ACTION % (str(marker), str(result_file))
    (action_floor.parent / "action_plugins" / "print_recorded_result.py").write_text(action_source, encoding="utf-8")
    return startup, module_floor, action_floor


def run_playbook(playbook: Path, url: str) -> float:
    executable = Path(sys.executable).parent / "ansible-playbook"
    command = [str(executable), "-i", "localhost,", "-c", "local", str(playbook)]
    env = ansible_env(url)
    library, action_plugins = playbook.parent / "library", playbook.parent / "action_plugins"
    if library.is_dir():
        command += ["-M", str(library)]
    if action_plugins.is_dir():
        env["ANSIBLE_ACTION_PLUGINS"] = str(action_plugins)
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=BENCH_DIR)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{playbook.name} failed:\n{completed.stdout}\n{completed.stderr}")
    return seconds


def requests_made(summary: dict[str, int]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in sorted(summary.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=3, help="client/SDK rounds (alternating)")
    parser.add_argument("--playbook-rounds", type=int, default=1)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target ratio is missed")
    args = parser.parse_args()

    sdk_python = ensure_bench_venv()
    emulator = EmulatorProcess("--seed", "empty", "--generate", str(args.tasks), "--rate-limit", "off", "--latency-ms", str(args.latency_ms))
    try:
        print(f"emulator {emulator.url}: {args.tasks} tasks, {args.latency_ms:g} ms latency, rate limit off; listing GET /task-status/v1\n")
        client_times: list[float] = []
        sdk_times: list[float] = []
        client_requests: dict[str, int] = {}
        sdk_requests: dict[str, int] = {}
        for _round in range(args.rounds):
            emulator.control("DELETE", "/requests")
            client_times.append(run_client(emulator.url, args.tasks))
            client_requests = emulator.control("GET", "/requests/summary")
            emulator.control("DELETE", "/requests")
            sdk_times.append(run_sdk(sdk_python, emulator.url, args.tasks))
            sdk_requests = emulator.control("GET", "/requests/summary")

        startup_playbook, module_floor_playbook, action_floor_playbook = write_floor_playbooks(emulator.url, Path(tempfile.mkdtemp(prefix="isc-bench-floor-")))
        module_times: list[float] = []
        uri_times: list[float] = []
        startup_times: list[float] = []
        module_floor_times: list[float] = []
        action_floor_times: list[float] = []
        projected_times: list[float] = []
        module_requests: dict[str, int] = {}
        uri_requests: dict[str, int] = {}
        for _round in range(args.playbook_rounds):
            emulator.control("DELETE", "/requests")
            module_times.append(run_playbook(BENCH_DIR / "module_list_tasks.yml", emulator.url))
            module_requests = emulator.control("GET", "/requests/summary")
            emulator.control("DELETE", "/requests")
            uri_times.append(run_playbook(BENCH_DIR / "uri_list_tasks.yml", emulator.url))
            uri_requests = emulator.control("GET", "/requests/summary")
            emulator.control("DELETE", "/requests")
            startup_times.append(run_playbook(startup_playbook, emulator.url))
            module_floor_times.append(run_playbook(module_floor_playbook, emulator.url))
            action_floor_times.append(run_playbook(action_floor_playbook, emulator.url))
            marker = action_floor_playbook.parent / "action_ran"
            if not marker.is_file() or len(marker.read_text().splitlines()) != len(action_floor_times):
                raise SystemExit("the action floor did not run its action plugin")
            if emulator.control("GET", "/requests/summary"):
                raise SystemExit("a floor playbook made a request; it must not")
            projected_times.append(run_playbook(BENCH_DIR / "module_list_tasks_fields.yml", emulator.url))
    finally:
        emulator.stop()

    client_s, sdk_s = statistics.median(client_times), statistics.median(sdk_times)
    module_s, uri_s = statistics.median(module_times), statistics.median(uri_times)
    client_ratio, playbook_ratio = sdk_s / client_s, uri_s / module_s
    rows = [
        ("collection client (IscClient.iter_tasks)", client_s, client_times, client_requests),
        (f"SDK {SDK_REQUIREMENT} Paginator.paginate", sdk_s, sdk_times, sdk_requests),
        ("playbook: one sailpoint.isc.task_status_info task", module_s, module_times, module_requests),
        ("playbook: ansible.builtin.uri token + count + page loop", uri_s, uri_times, uri_requests),
        ("startup: one debug task, no result carried", statistics.median(startup_times), startup_times, {}),
        ("module floor: a module that only prints the recorded result", statistics.median(module_floor_times), module_floor_times, {}),
        ("action floor: an action plugin returning it in the controller", statistics.median(action_floor_times), action_floor_times, {}),
        ("for information: the module with fields: [completionStatus]", statistics.median(projected_times), projected_times, {}),
    ]
    for label, median, runs, made in rows:
        print(f"{label:64} median {median:7.2f} s  (runs: {', '.join(f'{run:.2f}' for run in runs)})")
        if made:
            print(f"{'':64} requests: {requests_made(made)}")
    print()
    client_ok, playbook_ok = client_ratio >= CLIENT_TARGET, playbook_ratio >= PLAYBOOK_TARGET
    print(f"client vs SDK Paginator:   {client_ratio:5.1f}x faster (target >= {CLIENT_TARGET:g}x: {'met' if client_ok else 'MISSED'})")
    print(f"module playbook vs uri:    {playbook_ratio:5.1f}x faster (target >= {PLAYBOOK_TARGET:g}x: {'met' if playbook_ok else 'MISSED'})")
    best_floor_s = min(statistics.median(module_floor_times), statistics.median(action_floor_times))
    print(f"uri vs the lower floor:    {uri_s / best_floor_s:5.1f}x (the most any module or action plugin returning these tasks could reach here)")
    print(f"module vs the lower floor: {module_s - best_floor_s:5.2f} s more (listing over HTTP, module start, ansible-core's result encoding)")
    projected_ratio = uri_s / statistics.median(projected_times)
    print(f"uri vs module with fields: {projected_ratio:5.1f}x (not equivalent: two fields per task instead of whole tasks)")
    return 1 if args.strict and not (client_ok and playbook_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
