# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The event source's main() with a list queue and a stand-in tenant; its documentation against the modules'."""

from __future__ import annotations

import ast
import asyncio
import logging
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ansible
import pytest
import yaml

from ansible_collections.sailpoint.isc.extensions.eda.plugins.event_source import task_events
from ansible_collections.sailpoint.isc.plugins.doc_fragments.connection import ModuleDocFragment as ConnectionFragment
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscAuthenticationError, IscConfigError, IscConnectionError
from ansible_collections.sailpoint.isc.plugins.module_utils._options import CONNECTION_OPTION_NAMES
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import COMPLETION_STATUSES
from ansible_collections.sailpoint.isc.plugins.plugin_utils import _task_events
from ansible_collections.sailpoint.isc.tests.unit.task_events_fakes import FakeTenant, make_task

SOURCE_FILE = Path(task_events.__file__)


def ago(**delta: float) -> datetime:
    """The source reads the real clock."""
    return datetime.now(UTC) - timedelta(**delta)


ARGS = {"base_url": "https://acme.api.identitynow.com", "client_id": "id", "client_secret": "secret", "interval": 1, "stuck_after": "1h"}


class ListQueue(asyncio.Queue):
    """What ansible-rulebook hands the source, reduced to a list."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    async def put(self, item: dict[str, Any]) -> None:
        self.events.append(item)


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> FakeTenant:
    """The tenant every IscClient built by the source talks to; ``configs`` records the ClientConfig it was given."""
    fake = FakeTenant("v1")
    fake.configs = []

    def client(config: Any, warn: Any = None) -> FakeTenant:
        fake.configs.append(config)
        fake.config = config
        return fake

    monkeypatch.setattr(task_events, "IscClient", client)
    return fake


def run_source(args: dict[str, Any], monkeypatch: pytest.MonkeyPatch, polls: int, between: Any = None) -> tuple[ListQueue, BaseException | None]:
    """Run main() until it has slept ``polls`` times (then cancel it) or it ends; ``between(n)`` runs at each sleep."""
    queue = ListQueue()
    real_sleep = asyncio.sleep
    slept = []

    async def runner() -> BaseException | None:
        task = asyncio.ensure_future(task_events.main(queue, args))

        async def fake_sleep(delay: float) -> None:
            slept.append(delay)
            if between is not None:
                between(len(slept))
            if len(slept) >= polls:
                task.cancel()
            await real_sleep(0)

        monkeypatch.setattr(task_events.asyncio, "sleep", fake_sleep)
        try:
            await task
        except BaseException as err:  # noqa: BLE001 - the test looks at what ended the source
            return err
        finally:
            monkeypatch.setattr(task_events.asyncio, "sleep", real_sleep)
        return None

    ended = asyncio.run(runner())
    assert all(delay == args.get("interval", 60) for delay in slept)
    return queue, ended


def test_events_reach_the_queue_once_and_cancelling_stops_the_source(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    tenant.add(make_task("stuck", created=ago(hours=9), modified=ago(hours=8)))
    tenant.add(make_task("running", created=ago(minutes=5), modified=ago(minutes=1)))

    def between(poll: int) -> None:
        if poll == 1:
            tenant.finish("running", "ERROR", ago(seconds=1))

    caplog.set_level(logging.INFO, logger="sailpoint.isc.task_events")
    queue, ended = run_source(ARGS, monkeypatch, polls=4, between=between)
    assert isinstance(ended, asyncio.CancelledError)
    assert [(event["sailpoint_isc"]["kind"], event["sailpoint_isc"]["task"]["id"]) for event in queue.events] == [("stuck", "stuck"), ("finished", "running")]
    assert queue.events[1]["sailpoint_isc"]["task"]["completionStatus"] == "ERROR"
    assert len(tenant.reads("pending")) == 4
    assert "Stopped watching https://acme.api.identitynow.com" in caplog.text


def test_transient_errors_are_logged_and_the_source_goes_on(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    tenant.fail_on["pending"] = IscConnectionError("Could not complete ISC API GET /task-status/v1 on https://acme.api.identitynow.com after 6 attempts.")
    tenant.add(make_task("stuck", created=ago(hours=9), modified=ago(hours=8)))
    queue, ended = run_source(ARGS, monkeypatch, polls=2)
    assert isinstance(ended, asyncio.CancelledError)
    assert [event["sailpoint_isc"]["kind"] for event in queue.events] == ["stuck"]
    assert "Polling https://acme.api.identitynow.com failed, trying again in 1s: Could not complete" in caplog.text


def test_an_authentication_failure_ends_the_source_with_the_reason(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    tenant.fail_on["pending"] = IscAuthenticationError(method="POST", path="/oauth/token", status=401, error_text="Bad credentials")
    queue, ended = run_source(ARGS, monkeypatch, polls=5)
    assert isinstance(ended, IscAuthenticationError)
    assert "HTTP 401" in str(ended) and "Check client_id and client_secret" in str(ended)
    assert "sailpoint.isc.task_events stops: ISC API POST /oauth/token failed with HTTP 401" in caplog.text
    assert queue.events == []
    assert "secret" not in caplog.text.replace("client_secret", "")


def test_cancelling_during_a_poll_stops_at_once(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    original = tenant.iter_pending_tasks

    def slow_pending(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(tenant, "iter_pending_tasks", slow_pending)

    async def scenario() -> bool:
        task = asyncio.ensure_future(task_events.main(ListQueue(), ARGS))
        await asyncio.to_thread(entered.wait, 10)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        finally:
            release.set()
        return False

    assert asyncio.run(scenario())


def test_bad_options_fail_before_any_client_is_made(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    _queue, ended = run_source({**ARGS, "stuck_after": "soon"}, monkeypatch, polls=1)
    assert isinstance(ended, IscConfigError) and ended.option == "stuck_after"
    _queue, ended = run_source({**ARGS, "base_url": "http://acme.example.com"}, monkeypatch, polls=1)
    assert isinstance(ended, IscConfigError) and ended.option == "base_url"
    assert tenant.configs == [] and tenant.calls == []


def test_connection_comes_from_sail_variables(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAIL_BASE_URL", "https://env.api.identitynow.com")
    monkeypatch.setenv("SAIL_CLIENT_ID", "env-id")
    monkeypatch.setenv("SAIL_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("SAIL_API_VERSION", "v2026")
    run_source({"interval": 5}, monkeypatch, polls=1)
    [config] = tenant.configs
    assert (config.base_url, config.client_id, config.client_secret, config.api_version) == ("https://env.api.identitynow.com", "env-id", "env-secret", "v2026")
    run_source({"interval": 5, "api_version": "beta"}, monkeypatch, polls=1)
    assert tenant.configs[-1].api_version == "beta"


# --- documentation -------------------------------------------------------------------------------------------


def _literal(name: str) -> Any:
    tree = ast.parse(SOURCE_FILE.read_text(encoding="utf-8"))
    [value] = [node.value.value for node in tree.body if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name]
    return yaml.safe_load(value)


def test_connection_options_are_documented_as_for_the_modules() -> None:
    documented = _literal("DOCUMENTATION")["options"]
    modules = yaml.safe_load(ConnectionFragment.DOCUMENTATION)["options"]
    assert {name: documented[name] for name in CONNECTION_OPTION_NAMES} == modules


def test_source_options_are_documented_with_their_real_defaults() -> None:
    doc = _literal("DOCUMENTATION")
    options = doc["options"]
    assert set(options) == set(_task_events.SOURCE_OPTIONS) | set(CONNECTION_OPTION_NAMES)
    assert doc["version_added"] == "1.1.0" and doc["name"] == "task_events"
    assert options["interval"]["default"] == _task_events.DEFAULT_INTERVAL
    assert options["stuck_after"]["default"] == _task_events.DEFAULT_STUCK_AFTER
    assert options["kinds"]["default"] == list(_task_events.KINDS) == options["kinds"]["choices"]
    assert options["statuses"]["choices"] == list(COMPLETION_STATUSES)
    defaults = _task_events.EventSettings.from_args({}, ago())
    assert (defaults.interval, defaults.stuck_after, defaults.kinds) == (options["interval"]["default"], timedelta(hours=6), set(options["kinds"]["default"]))


def test_examples_use_this_source_with_documented_options() -> None:
    options = set(_literal("DOCUMENTATION")["options"])
    rulebooks = _literal("EXAMPLES")
    for rulebook in rulebooks:
        [source] = rulebook["sources"]
        assert set(source) == {"sailpoint.isc.task_events"}
        assert set(source["sailpoint.isc.task_events"]) <= options


def test_runs_by_path_as_ansible_rulebook_loads_it(tmp_path: Path) -> None:
    """runpy.run_path in a fresh interpreter with nothing but the file's location: module_utils must be found."""
    code = "import runpy, sys; module = runpy.run_path(sys.argv[1]); print(callable(module['main']))"
    # Only ansible-core on the path (ansible-test injects it), no collections root: the file must find its own.
    env = {"PATH": "", "PYTHONPATH": str(Path(ansible.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", code, str(SOURCE_FILE)], cwd=tmp_path, capture_output=True, text=True, check=False, env=env)
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr
