# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared harness of the integration tests: real ``ansible-playbook`` / ``ansible`` runs against the emulator.

Fixtures (``emulator_server`` and ``emulator`` come from the shared ``tests/conftest.py``):

- ``run_playbook``: ``run_playbook(playbook, *, extra_vars=None, env=None, client="pat", api_version=None,
  check=False, diff=False, verbosity=0, expect_rc=0) -> PlaybookRun``.
- ``run_adhoc``: ``run_adhoc(module_args, module="sailpoint.isc.task_status_info", *, env=None, client="pat",
  api_version=None, check=False, verbosity=0, expect_rc=0) -> PlaybookRun``.

Every run is hermetic: inherited ``SAIL_*``, ``ANSIBLE_*`` and ``PYTHONPATH`` variables are dropped, the
collection comes from ``.build/collections`` of this checkout, temp dirs and config live in pytest's
``tmp_path``, and the ``record_results`` callback writes each task result to a JSON-lines file that
``PlaybookRun.results()`` reads.

Secrets: the ``pat`` client is a personal-access-token client with a distinctive secret, every run is made
at ``-vvvv`` unless a test asks for another verbosity, and after every run the secret and every token the
emulator has issued are searched for in stdout, stderr, the recorded results and every file under the
test's work directory (where the role writes its reports). Any hit fails the test: this is how the whole
integration suite proves no secret leaks at any verbosity.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

INTEGRATION_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEGRATION_DIR.parents[1]
PLAYBOOK_DIR = INTEGRATION_DIR / "playbooks"
CALLBACK_DIR = INTEGRATION_DIR / "callback_plugins"
COLLECTIONS_PATH = REPO_ROOT / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS_PATH / "ansible_collections" / "sailpoint" / "isc"
RESULTS_FILE_ENV = "ISC_TEST_RESULTS_FILE"

# "pat" is registered by the harness with a secret distinctive enough to search for; "api" is the emulator's
# built-in API client (no user context).
CANARY_SECRET = "canary-S3cr3t-7f1e2d9c4b-must-never-be-printed"
CLIENTS: dict[str, tuple[str, str]] = {
    "pat": ("pat-7f1e-canary-client", CANARY_SECRET),
    "api": ("api-0002-demo-client", "api-demo-secret"),
}
DEFAULT_VERBOSITY = 4

_DROPPED_PREFIXES = ("SAIL_", "ANSIBLE_", "ISC_TEST_")
_DROPPED_NAMES = frozenset({"PYTHONPATH"})
SUBPROCESS_TIMEOUT_S = 900


def executable(name: str) -> str:
    """The CLI (ansible-playbook, ansible-galaxy, ansible-runner, ...) installed next to the running interpreter (the venv under test), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found next to {sys.executable} or on PATH")
    return found


def _ensure_collection_link() -> None:
    """``hacking/setup.sh`` makes this link; make it here too so a fresh checkout's tests find the collection."""
    if COLLECTION_LINK.exists():
        return
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    COLLECTION_LINK.symlink_to(REPO_ROOT, target_is_directory=True)


@dataclass
class PlaybookRun:
    """The outcome of one ``ansible-playbook`` or ``ansible`` run."""

    command: list[str]
    rc: int
    stdout: str
    stderr: str
    duration_s: float
    records: list[dict[str, Any]] = field(default_factory=list)

    def _matching(self, task_name: str | None) -> list[dict[str, Any]]:
        if task_name is None:
            return list(self.records)
        return [record for record in self.records if task_name in (record["task"], record["name"])]

    def results(self, task_name: str | None = None) -> list[dict[str, Any]]:
        """The result dicts of every run of the task named ``task_name`` (all tasks when None), in order."""
        return [record["result"] for record in self._matching(task_name)]

    def results_by_host(self, task_name: str) -> dict[str, dict[str, Any]]:
        """The result dict of ``task_name`` on each host (for plays over several hosts, one run per host)."""
        matching = self._matching(task_name)
        by_host = {record["host"]: record["result"] for record in matching}
        if len(by_host) != len(matching):
            raise AssertionError(f"task {task_name!r} ran more than once on a host; use results()")
        return by_host

    def result(self, task_name: str | None = None) -> dict[str, Any]:
        """The result dict of the one run of ``task_name`` (or of the only task, e.g. an ad hoc run)."""
        matching = self._matching(task_name)
        if len(matching) != 1:
            names = sorted({record["task"] for record in self.records})
            raise AssertionError(f"expected exactly one result for task {task_name!r}, found {len(matching)}; tasks recorded: {names}")
        return matching[0]["result"]

    def status(self, task_name: str | None = None) -> str:
        """``ok``, ``changed``, ``failed``, ``skipped`` or ``unreachable`` of the one run of ``task_name``."""
        self.result(task_name)
        return self._matching(task_name)[0]["status"]

    def statuses(self, task_name: str | None = None) -> list[str]:
        return [record["status"] for record in self._matching(task_name)]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class AnsibleRunner:
    """Builds the hermetic environment and command lines; one per test (it owns that test's ``tmp_path``)."""

    def __init__(self, emulator: Any, work_dir: Path) -> None:
        self.emulator = emulator
        self.base_url = emulator.url
        self.work_dir = work_dir
        emulator.tenant.add_client(*CLIENTS["pat"], user_context=True)
        self._run_number = 0
        _ensure_collection_link()
        self.inventory = work_dir / "inventory.ini"
        self.inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n", encoding="utf-8")
        self.config = work_dir / "ansible.cfg"
        self.config.write_text("[defaults]\n", encoding="utf-8")

    def environment(
        self,
        *,
        client: str | None,
        api_version: str | None,
        results_file: Path,
        env: Mapping[str, str | None] | None,
    ) -> dict[str, str]:
        run_env = {name: value for name, value in os.environ.items() if not name.startswith(_DROPPED_PREFIXES) and name not in _DROPPED_NAMES}
        local_temp = self.work_dir / "ansible-local-tmp"
        local_temp.mkdir(exist_ok=True)
        run_env.update(
            {
                "ANSIBLE_CONFIG": str(self.config),
                "ANSIBLE_HOME": str(self.work_dir / "ansible-home"),
                "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
                "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
                "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
                "ANSIBLE_CALLBACKS_ENABLED": "record_results",
                # ad hoc `ansible` loads non-stdout callbacks only with this set
                "ANSIBLE_LOAD_CALLBACK_PLUGINS": "true",
                "ANSIBLE_LOCAL_TEMP": str(local_temp),
                "ANSIBLE_REMOTE_TEMP": str(self.work_dir / "ansible-remote-tmp"),
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_DEPRECATION_WARNINGS": "true",
                "ANSIBLE_RETRY_FILES_ENABLED": "false",
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
                "ANSIBLE_LOCALHOST_WARNING": "false",
                RESULTS_FILE_ENV: str(results_file),
                "SAIL_BASE_URL": self.base_url,
            }
        )
        if client is not None:
            if client not in CLIENTS:
                raise ValueError(f"client must be one of {sorted(CLIENTS)} or None, got {client!r}")
            run_env["SAIL_CLIENT_ID"], run_env["SAIL_CLIENT_SECRET"] = CLIENTS[client]
        if api_version is not None:
            run_env["SAIL_API_VERSION"] = api_version
        for name, value in (env or {}).items():
            if value is None:
                run_env.pop(name, None)
            else:
                run_env[name] = str(value)
        return run_env

    def _next_results_file(self) -> Path:
        self._run_number += 1
        path = self.work_dir / f"results-{self._run_number}.jsonl"
        path.unlink(missing_ok=True)
        return path

    def run(self, command: list[str], run_env: dict[str, str], results_file: Path, expect_rc: int | None) -> PlaybookRun:
        started = time.monotonic()
        completed = subprocess.run(
            command,
            env=run_env,
            cwd=self.work_dir,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
        duration = time.monotonic() - started
        records = []
        if results_file.exists():
            with results_file.open(encoding="utf-8") as stream:
                records = [json.loads(line) for line in stream if line.strip()]
        run = PlaybookRun(command, completed.returncode, completed.stdout, completed.stderr, duration, records)
        self.assert_no_secret_leaked(run)
        if expect_rc is not None and run.rc != expect_rc:
            pytest.fail(
                f"{' '.join(command)}\nexited {run.rc}, expected {expect_rc}\n--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr}",
                pytrace=False,
            )
        return run

    def assert_no_secret_leaked(self, run: PlaybookRun) -> None:
        secrets = [CANARY_SECRET, *self.emulator.tenant.issued_tokens()]
        places = {"stdout": run.stdout, "stderr": run.stderr}
        for path in self.work_dir.rglob("*"):
            if path.is_file() and path != self.config:
                places[str(path.relative_to(self.work_dir))] = path.read_text(encoding="utf-8", errors="replace")
        leaks = [
            f"{'the client secret' if secret == CANARY_SECRET else 'an issued access token'} in {place}"
            for place, text in places.items()
            for secret in secrets
            if secret in text
        ]
        if leaks:
            pytest.fail(f"{' '.join(run.command)}\nleaked: {'; '.join(sorted(set(leaks)))}", pytrace=False)

    def playbook(
        self,
        playbook: str | os.PathLike[str],
        *,
        extra_vars: Mapping[str, Any] | None = None,
        env: Mapping[str, str | None] | None = None,
        client: str | None = "pat",
        api_version: str | None = None,
        check: bool = False,
        diff: bool = False,
        verbosity: int = DEFAULT_VERBOSITY,
        expect_rc: int | None = 0,
    ) -> PlaybookRun:
        path = Path(playbook)
        if not path.is_absolute():
            path = PLAYBOOK_DIR / path
        if not path.exists():
            raise FileNotFoundError(path)
        results_file = self._next_results_file()
        command = [executable("ansible-playbook"), "-i", str(self.inventory), str(path)]
        if extra_vars:
            vars_file = self.work_dir / f"extra-vars-{self._run_number}.json"
            vars_file.write_text(json.dumps(dict(extra_vars)), encoding="utf-8")
            command += ["-e", f"@{vars_file}"]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbosity:
            command.append("-" + "v" * verbosity)
        run_env = self.environment(client=client, api_version=api_version, results_file=results_file, env=env)
        return self.run(command, run_env, results_file, expect_rc)

    def adhoc(
        self,
        module_args: str | Mapping[str, Any],
        module: str = "sailpoint.isc.task_status_info",
        *,
        env: Mapping[str, str | None] | None = None,
        client: str | None = "pat",
        api_version: str | None = None,
        check: bool = False,
        verbosity: int = DEFAULT_VERBOSITY,
        expect_rc: int | None = 0,
    ) -> PlaybookRun:
        results_file = self._next_results_file()
        args = module_args if isinstance(module_args, str) else json.dumps(dict(module_args))
        command = [executable("ansible"), "localhost", "-i", str(self.inventory), "-m", module]
        if args:
            command += ["-a", args]
        if check:
            command.append("--check")
        if verbosity:
            command.append("-" + "v" * verbosity)
        run_env = self.environment(client=client, api_version=api_version, results_file=results_file, env=env)
        return self.run(command, run_env, results_file, expect_rc)


def add_long_run(tenant: Any, source_id: str) -> dict[str, Any]:
    """A pending aggregation launched four days ago that progressed a minute ago: a long run, never a stuck one."""
    return tenant.add_task(
        definition_type="CLOUD_ACCOUNT_AGGREGATION",
        source_id=source_id,
        age_s=4 * 86400,
        completion_status=None,
        percentComplete=60,
        modified=(tenant.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    )


def release_when_held(emulator: Any, future: Any) -> None:
    """Let the PATCH a ``slow`` fault holds go on once it has arrived, so a change the test made lies before it.

    A race test holds a module's PATCH with a long ``slow`` fault, changes a task, then calls this: no part of the
    race depends on how fast this machine is (the 120 s only tell a module that never PATCHes from a slow one).
    """
    deadline = time.monotonic() + 120
    while not emulator.tenant.holding():
        assert time.monotonic() < deadline and not future.done(), "the module never sent the PATCH the emulator was to hold"
        time.sleep(0.02)
    emulator.tenant.release_held()


@pytest.fixture
def ansible_runner(emulator: Any, tmp_path: Path) -> AnsibleRunner:
    return AnsibleRunner(emulator, tmp_path)


@pytest.fixture
def run_playbook(ansible_runner: AnsibleRunner) -> Callable[..., PlaybookRun]:
    return ansible_runner.playbook


@pytest.fixture
def run_adhoc(ansible_runner: AnsibleRunner) -> Callable[..., PlaybookRun]:
    return ansible_runner.adhoc
