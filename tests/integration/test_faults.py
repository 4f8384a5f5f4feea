# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the network and the service do, at the module and lookup level: real ``ansible-playbook`` runs.

One playbook run per plugin goes through a table of fault scenarios (playbooks/faults_matrix.yml): it queues the
emulator's faults, runs the plugin, and reads the emulator's request log, so each outcome is checked against the
requests that produced it: the retries made, the cause and attempts named on failure, and never a PATCH sent twice
where once was meant. The client-level behaviour is in tests/unit/plugins/module_utils/test__transport.py (backoff
arithmetic), test__paging.py (paging under churn) and tests/integration/test_client.py (the same against the
emulator, TLS, proxies); this file shows it survives the trip through Ansible.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLUGINS = ("task_status_info", "task_status", "pending_tasks")
TOKEN_PATH = "/oauth/token"
# A queued fault with this Retry-After is answered without the header, as a gateway in front of ISC may do.
NO_RETRY_AFTER = None
# A `slow` fault this long holds a request until the scenario's request log is read, which releases it (settle).
HELD_S = 600


def read_fault(kind: str = "status", **spec: Any) -> dict[str, Any]:
    return {"kind": kind, "method": "GET", "path_contains": "/task-status", **spec}


def patch_fault(kind: str = "status", **spec: Any) -> dict[str, Any]:
    return {"kind": kind, "method": "PATCH", "path_contains": "/task-status", **spec}


def token_fault(**spec: Any) -> dict[str, Any]:
    return {"kind": "status", "path_contains": TOKEN_PATH, **spec}


@dataclass(frozen=True)
class Scenario:
    """One row of the matrix: faults to queue, options to pass, and what the request log and outcome must show.

    ``reads``, ``tokens`` and ``patches`` are the statuses the emulator logged for the scenario's GETs of task
    status, token requests and PATCHes, in log order (``None``: connection dropped). ``patches`` of ``None``
    means (for task_status): one PATCH answered 200 when the scenario succeeds, none when it fails.
    """

    name: str
    faults: tuple[dict[str, Any], ...] = ()
    args: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    msg: tuple[str, ...] = ()
    reads: tuple[int | None, ...] = (200,)
    tokens: tuple[int | None, ...] = (200,)
    patches: tuple[int | None, ...] | None = None
    warning: str | None = None
    # The emulator saw the second read at least this many seconds after the first; how much later is the client's
    # plan, checked in its warning ("in 1.1s"), not on this machine's clock.
    retry_gap_at_least_s: float | None = None
    same_task_as_previous: bool = False
    many: int = 0

    def expected_patches(self) -> tuple[int | None, ...]:
        if self.patches is not None:
            return self.patches
        return (200,) if self.ok else ()


def five_xx_scenarios() -> Iterator[Scenario]:
    # 500 too: retried for reads (never for a PATCH, below).
    for status in (500, 502, 503, 504):
        yield Scenario(f"{status} run shorter than the retries", (read_fault(status=status, retry_after=0),), {"retries": 1}, reads=(status, 200))
        yield Scenario(
            f"{status} run longer than the retries",
            (read_fault(status=status, retry_after=0, count=2),),
            {"retries": 1},
            ok=False,
            reads=(status, status),
            msg=(f"HTTP {status}", "after 2 attempts"),
        )


COMMON_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "429 with Retry-After",
        (read_fault(status=429, retry_after=1),),
        reads=(429, 200),
        warning="after HTTP 429 (attempt 2; waits up to 120s in all) in 1.",
        retry_gap_at_least_s=0.95,
    ),
    Scenario(
        "429 without Retry-After",
        (read_fault(status=429, retry_after=NO_RETRY_AFTER),),
        reads=(429, 200),
        warning="after HTTP 429 (attempt 2; waits up to 120s in all) in 1.",
        # without Retry-After the rate limit is still in force: the retry waits the one-second minimum
        retry_gap_at_least_s=0.95,
    ),
    Scenario("429 storm shorter than the retries", (read_fault("rate_limit_storm", count=2, retry_after=1),), reads=(429, 429, 200)),
    # 429 answers are retried while max_retry_wait allows, whatever the retry count (that one bounds 5xx).
    Scenario("429 storm longer than the retry count", (read_fault("rate_limit_storm", count=2, retry_after=1),), {"retries": 1}, reads=(429, 429, 200)),
    Scenario(
        "429 storm longer than max_retry_wait",
        (read_fault("rate_limit_storm", count=3, retry_after=1),),
        {"max_retry_wait": 2.5},
        ok=False,
        reads=(429, 429, 429),
        msg=("HTTP 429", "after 3 attempts", "rate_limit"),
    ),
    Scenario(
        "429 asking for a wait beyond max_retry_wait",
        (read_fault("rate_limit_storm", count=1, retry_after=30),),
        {"max_retry_wait": 2},
        ok=False,
        reads=(429,),
        msg=("HTTP 429", "rate_limit"),
    ),
    *five_xx_scenarios(),
    Scenario("dropped connection", (read_fault("drop"),), {"retries": 1}, reads=(None, 200), warning="Retrying GET"),
    Scenario(
        "dropped connections longer than the retries",
        (read_fault("drop", count=2),),
        {"retries": 1},
        ok=False,
        reads=(None, None),
        msg=("Could not complete ISC API GET", "after 2 attempts"),
    ),
    # A held answer comes when the scenario's log is read (settle), long after the client gave up.
    Scenario(
        "answer slower than timeout",
        (read_fault("slow", seconds=HELD_S),),
        {"timeout": 0.5, "retries": 1},
        reads=(200, 200),
        warning="ReadTimeoutError",
    ),
    Scenario(
        "every answer slower than timeout",
        (read_fault("slow", seconds=HELD_S, count=2),),
        {"timeout": 0.5, "retries": 1},
        ok=False,
        reads=(200, 200),
        # the same words and hint as a PATCH that timed out (not retried), plus the attempts
        msg=("within 0.5s", "after 2 attempts", "Raise timeout"),
    ),
    Scenario("token endpoint failing once", (token_fault(status=503, retry_after=0),), tokens=(503, 200), warning=f"Retrying POST {TOKEN_PATH}"),
    Scenario(
        "token endpoint down",
        (token_fault(status=503, retry_after=0, count=2),),
        {"retries": 1},
        ok=False,
        reads=(),
        tokens=(503, 503),
        msg=(f"POST {TOKEN_PATH}", "HTTP 503", "after 2 attempts"),
    ),
    Scenario("token endpoint answering 500 once", (token_fault(status=500, retry_after=0),), tokens=(500, 200), warning=f"Retrying POST {TOKEN_PATH}"),
    Scenario(
        "token endpoint answering 500 longer than the retries",
        (token_fault(status=500, retry_after=0, count=2),),
        {"retries": 1},
        ok=False,
        reads=(),
        tokens=(500, 500),
        msg=(f"POST {TOKEN_PATH}", "HTTP 500", "after 2 attempts"),
    ),
    Scenario(
        "HTML error page from a gateway",
        (read_fault(status=502, html=True, count=2),),
        {"retries": 1},
        ok=False,
        reads=(502, 502),
        msg=("HTTP 502", "text/html", "proxy"),
    ),
)

# A PATCH whose answer is lost is not sent again: the task is read once more (the second read) to see whether
# ISC applied it. Not shown: the module fails, saying a rerun is safe. Shown: the task is reported changed.
NOT_SHOWN = "did not show the change"
LOST_BUT_APPLIED = "answer to the PATCH was lost"

PATCH_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("PATCH answered 429 is sent again", (patch_fault(status=429, retry_after=1),), patches=(429, 200), warning="Retrying PATCH"),
    Scenario(
        "PATCH answered 503 is not repeated",
        (patch_fault(status=503, retry_after=0),),
        ok=False,
        reads=(200, 200),
        patches=(503,),
        msg=("PATCH", "HTTP 503", NOT_SHOWN, "Running again is safe"),
    ),
    Scenario(
        "PATCH answered 500 is not repeated", (patch_fault(status=500),), ok=False, reads=(200, 200), patches=(500,), msg=("PATCH", "HTTP 500", NOT_SHOWN)
    ),
    Scenario(
        "PATCH answered 504 is not repeated", (patch_fault(status=504),), ok=False, reads=(200, 200), patches=(504,), msg=("PATCH", "HTTP 504", NOT_SHOWN)
    ),
    Scenario(
        "PATCH whose connection drops is not repeated",
        (patch_fault("drop"),),
        ok=False,
        reads=(200, 200),
        patches=(None,),
        msg=("PATCH", "after 1 attempt", NOT_SHOWN),
    ),
    Scenario(
        "PATCH slower than timeout is not repeated",
        # held until the log is read: the read after the timeout comes before the emulator applies the PATCH
        (patch_fault("slow", seconds=HELD_S),),
        {"timeout": 0.5},
        ok=False,
        reads=(200, 200),
        # the emulator applied it after the client gave up: exactly what must never be sent twice
        patches=(200,),
        msg=("PATCH", "no answer within 0.5s", "Raise timeout", NOT_SHOWN),
    ),
    Scenario("rerun after the timed-out PATCH sends none", same_task_as_previous=True, patches=()),
    Scenario(
        "PATCH applied but answered 504 is found applied by reading again",
        (patch_fault(status=504, apply_first=True),),
        reads=(200, 200),
        patches=(504,),
        msg=(LOST_BUT_APPLIED, "HTTP 504"),
    ),
    Scenario(
        "PATCH applied but its connection dropped is found applied by reading again",
        (patch_fault("drop", apply_first=True),),
        reads=(200, 200),
        patches=(None,),
        msg=(LOST_BUT_APPLIED, "after 1 attempt"),
    ),
    Scenario("rerun after the PATCH found applied sends none", same_task_as_previous=True, patches=()),
    Scenario(
        "many ids: a PATCH answered 503 fails that task only",
        (patch_fault(status=503, retry_after=0),),
        ok=False,
        reads=(200, 200),
        patches=(503, 200, 200),
        msg=("1 of 3 tasks failed", "HTTP 503", NOT_SHOWN),
        many=3,
    ),
    Scenario(
        "many ids: a dropped PATCH fails that task only",
        (patch_fault("drop"),),
        ok=False,
        reads=(200, 200),
        patches=(None, 200, 200),
        msg=("1 of 3 tasks failed", "after 1 attempt", NOT_SHOWN),
        many=3,
    ),
)


def scenarios_for(plugin: str) -> tuple[Scenario, ...]:
    return COMMON_SCENARIOS + (PATCH_SCENARIOS if plugin == "task_status" else ())


def statuses(entries: list[dict[str, Any]], method: str, path_part: str) -> tuple[int | None, ...]:
    return tuple(entry["status"] for entry in entries if entry["method"] == method and path_part in entry["path"])


def pending_task(emulator: Any) -> str:
    return emulator.tenant.add_task(completion_status=None, age_s=3 * 3600)["id"]


def truth(emulator: Any, task_id: str) -> dict[str, Any]:
    return next(task for task in emulator.tenant.tasks() if task["id"] == task_id)


@dataclass
class MatrixRun:
    """One plugin's pass through its scenarios, against its own emulator."""

    plugin: str
    emulator: Any
    scenarios: tuple[Scenario, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    task_ids: list[list[str]] = field(default_factory=list)
    lookup_pending: list[str] = field(default_factory=list)

    def prepare(self) -> None:
        # The matrix is about injected faults: the emulator's own limiter would add 429s no row expects.
        self.emulator.tenant.configure(rate_limit=None)
        for _task in range(3):
            self.emulator.tenant.add_task(completion_status="SUCCESS", age_s=86400)
        self.lookup_pending = [pending_task(self.emulator) for _task in range(2)]
        for scenario in self.scenarios:
            row = {"name": scenario.name, "faults": list(scenario.faults), "args": scenario.args}
            if self.plugin == "task_status":
                ids = self.task_ids[-1] if scenario.same_task_as_previous else [pending_task(self.emulator) for _task in range(scenario.many or 1)]
                self.task_ids.append(ids)
                row.update({"ids": ids} if scenario.many else {"task_id": ids[0]})
            self.rows.append(row)

    def check(self, run: Any) -> list[str]:
        outcome_task = {"task_status_info": "Run task_status_info", "task_status": "Run task_status", "pending_tasks": "Run the pending_tasks lookup"}
        outcomes = run.results(outcome_task[self.plugin])
        logs = [result["ansible_facts"]["faults_request_log"] for result in run.results("Read the request log")]
        if not len(outcomes) == len(logs) == len(self.scenarios):
            return [f"[{self.plugin}] {len(outcomes)} outcomes and {len(logs)} logs for {len(self.scenarios)} scenarios:\n{run.output[-3000:]}"]
        problems: list[str] = []
        seen = 0
        for index, (scenario, outcome, log) in enumerate(zip(self.scenarios, outcomes, logs, strict=True)):
            entries, seen = log[seen:], len(log)
            problems += check_scenario(self.plugin, scenario, outcome, entries, run.output)
            if self.plugin == "task_status":
                tasks = [truth(self.emulator, task_id) for task_id in self.task_ids[index]]
                problems += check_task_state(scenario, outcome, entries, tasks)
        if self.emulator.tenant.faults():
            problems.append(f"[{self.plugin}] faults left unconsumed (attempts differ from the table): {self.emulator.tenant.faults()}")
        # Nothing in the whole run was PATCHed into effect twice.
        applied = Counter(entry["path"] for entry in self.emulator.tenant.request_log() if took_effect(entry))
        problems += [f"[{self.plugin}] {path} PATCHed into effect {count} times" for path, count in applied.items() if count != 1]
        if self.plugin == "pending_tasks" and any(truth(self.emulator, task_id)["completionStatus"] for task_id in self.lookup_pending):
            problems.append("[pending_tasks] the lookup changed a task")
        return problems


def test_fault_matrix_for_both_modules_and_the_lookup(emulator: Any, extra_emulator: Any, ansible_runner: Any, tmp_path: Path) -> None:
    """Every scenario of the table, for each plugin; the three plugins run at once, each on its own emulator."""
    extra = [extra_emulator(seed="empty") for _plugin in PLUGINS[1:]]
    matrices = [MatrixRun(plugin, emu, scenarios_for(plugin)) for plugin, emu in zip(PLUGINS, [emulator, *extra], strict=True)]

    def play(matrix: MatrixRun) -> tuple[MatrixRun, Any, float]:
        matrix.prepare()
        work_dir = tmp_path / matrix.plugin
        work_dir.mkdir()
        runner = type(ansible_runner)(matrix.emulator, work_dir)
        started = time.monotonic()
        extra_vars = {"plugin": matrix.plugin, "scenarios": matrix.rows, "control_url": f"{matrix.emulator.url}/_emulator"}
        run = runner.playbook("faults_matrix.yml", extra_vars=extra_vars)
        return matrix, run, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=len(matrices)) as pool:
        finished = list(pool.map(play, matrices))
    problems = []
    for matrix, run, duration in finished:
        print(f"{matrix.plugin}: {len(matrix.scenarios)} scenarios in {duration:.1f}s")
        problems += matrix.check(run)
    assert not problems, "\n".join(problems)


def check_scenario(plugin: str, scenario: Scenario, outcome: dict[str, Any], entries: list[dict[str, Any]], output: str) -> list[str]:
    where = f"[{plugin}] {scenario.name}:"
    problems = []
    failed = bool(outcome.get("failed"))
    message = str(outcome.get("msg", ""))
    if failed == scenario.ok:
        problems.append(f"{where} expected {'success' if scenario.ok else 'failure'}, got failed={failed}: {message}")
    problems += [f"{where} message lacks {part!r}: {message}" for part in scenario.msg if part not in message]

    reads = statuses(entries, "GET", "/task-status")
    tokens = statuses(entries, "POST", TOKEN_PATH)
    patches = statuses(entries, "PATCH", "/task-status")
    if reads != scenario.reads:
        problems.append(f"{where} reads {reads}, expected {scenario.reads}")
    if tokens != scenario.tokens:
        problems.append(f"{where} token requests {tokens}, expected {scenario.tokens}")
    expected_patches = scenario.expected_patches() if plugin == "task_status" else ()
    if patches != expected_patches:
        problems.append(f"{where} PATCHes {patches}, expected {expected_patches}")

    if scenario.warning:
        # Modules return their warnings; the lookup prints them (Ansible shows each distinct text once per run).
        warnings = outcome.get("warnings", []) if plugin != "pending_tasks" else [output]
        if not any(scenario.warning in warning for warning in warnings):
            problems.append(f"{where} no warning containing {scenario.warning!r}: {warnings}")
    if scenario.retry_gap_at_least_s and len(entries) >= 2:
        times = [entry["time"] for entry in entries if entry["method"] == "GET"]
        gap = times[1] - times[0]
        if gap < scenario.retry_gap_at_least_s:
            problems.append(f"{where} retried after {gap:.2f}s, expected at least {scenario.retry_gap_at_least_s}s")

    if scenario.ok and not failed:
        problems += check_success(plugin, where, outcome)
    return problems


def check_success(plugin: str, where: str, outcome: dict[str, Any]) -> list[str]:
    # The v1 list (the default version) has every task: the 3 finished and the 2 pending ones (task-management.v1.yaml).
    if plugin == "task_status_info" and outcome.get("count") != 5:
        return [f"{where} listed {outcome.get('count')} tasks, expected the 3 finished and 2 pending ones"]
    if plugin == "pending_tasks":
        found = outcome.get("ansible_facts", {}).get("faults_found", [])
        # Two pending tasks for the lookup, plus pending ones task_status rows would add (none in this run).
        if len(found) != 2 or len({task["id"] for task in found}) != 2:
            return [f"{where} the lookup found {[task.get('id') for task in found]}, expected the 2 pending tasks"]
    return []


def took_effect(entry: dict[str, Any]) -> bool:
    """A PATCH answered 200, or one the emulator carried out before a fault took its answer (``apply_first``)."""
    return entry["method"] == "PATCH" and (entry["status"] == 200 or str(entry.get("fault")).endswith("+applied"))


def check_task_state(scenario: Scenario, outcome: dict[str, Any], entries: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> list[str]:
    """Each task is cleared exactly when one PATCH of it took effect, and the module says so."""
    where = f"[task_status] {scenario.name}:"
    problems = []
    for task in tasks:
        applied = [entry for entry in entries if took_effect(entry) and entry["path"].endswith(task["id"])]
        cleared = task["completionStatus"] == "ERROR"
        if scenario.same_task_as_previous:
            if not cleared or applied:
                problems.append(f"{where} the rerun must find task {task['id']} cleared and send nothing; PATCHed {len(applied)} times")
            continue
        if cleared != (len(applied) == 1) or len(applied) > 1:
            problems.append(f"{where} task {task['id']} is {task['completionStatus']} after {len(applied)} applied PATCHes")
    if scenario.same_task_as_previous and outcome.get("changed"):
        problems.append(f"{where} the rerun reported a change")
    if scenario.ok and not scenario.same_task_as_previous and not outcome.get("changed"):
        problems.append(f"{where} the task was cleared but the module reported no change")
    return problems


# -- token expiry in the middle of a paged listing ---------------------------------------------------------------


class TokenExpirer:
    """Expires every issued token once, as soon as the emulator has answered ``after`` matching requests."""

    def __init__(self, emulator: Any, *, method: str, path_part: str, after: int = 1) -> None:
        self.emulator = emulator
        self.method = method
        self.path_part = path_part
        self.after = after
        self.expired_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            log = self.emulator.tenant.request_log()
            answered = [entry for entry in log if entry["method"] == self.method and self.path_part in entry["path"] and entry["status"] == 200]
            if len(answered) >= self.after:
                self.emulator.tenant.expire_tokens()
                self.expired_at = time.monotonic()
                return
            time.sleep(0.01)

    def __enter__(self) -> TokenExpirer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def lasting_finished_ids(emulator: Any) -> set[str]:
    return {task["id"] for task in emulator.tenant.tasks() if task["completionStatus"] is not None and not task["_expired"]}


def test_token_expiry_mid_listing_and_faults_lose_no_task(emulator: Any, run_playbook: Callable[..., Any]) -> None:
    """A listing of 5 pages outlives its token (expired after the first page) and meets a 503 and a dropped page."""
    emulator.tenant.configure(rate_limit=None, latency_ms=150)
    emulator.tenant.generate(1100, span_days=30)
    expected = lasting_finished_ids(emulator)
    for spec in (read_fault(status=503, retry_after=0), read_fault("drop")):
        emulator.tenant.inject_fault(spec.pop("kind"), **spec)
    # The two faults answer the first two reads, so the first page arrives on the third try.
    with TokenExpirer(emulator, method="GET", path_part="/task-status", after=1) as expirer:
        run = run_playbook("faults_listing.yml", extra_vars={"listing": "task_status_info"})
    assert expirer.expired_at is not None
    listed = run.result("List every task").get("tasks", [])
    ids = [task["id"] for task in listed]
    assert len(ids) == len(set(ids)), "a task was listed twice"
    assert set(ids) == expected, f"missing {len(expected - set(ids))}, extra {len(set(ids) - expected)}"
    log = emulator.tenant.request_log()
    assert statuses(log, "GET", "/task-status").count(401) >= 1, "the expired token was used at least once"
    assert len(statuses(log, "POST", TOKEN_PATH)) >= 2, "a new token was fetched after the expiry"
    assert any("HTTP 503" in warning for warning in run.result("List every task").get("warnings", []))


def test_token_expiry_mid_run_of_the_lookup_and_bulk_clearing(emulator: Any, run_playbook: Callable[..., Any]) -> None:
    """The lookup pages 300 pending tasks and task_status clears 30 of them; tokens expire in the middle of each."""
    emulator.tenant.configure(rate_limit=None, latency_ms=100)
    pending = [pending_task(emulator) for _task in range(300)]
    to_clear = pending[:30]
    with (
        TokenExpirer(emulator, method="GET", path_part="/task-status/v1", after=1) as first,
        TokenExpirer(emulator, method="PATCH", path_part="/task-status", after=10) as second,
    ):
        run = run_playbook("faults_listing.yml", extra_vars={"listing": "lookup_then_clear", "to_clear": to_clear})
    assert first.expired_at is not None and second.expired_at is not None

    found = run.result("Find pending tasks").get("ansible_facts", {}).get("faults_pending", [])
    found_ids = [task["id"] for task in found]
    assert len(found_ids) == len(set(found_ids)) == 300 and set(found_ids) == set(pending)

    cleared = run.result("Clear thirty of them")
    assert cleared.get("changed") and not cleared.get("failed"), cleared.get("msg")
    log = emulator.tenant.request_log()
    applied = Counter(entry["path"].rsplit("/", 1)[-1] for entry in log if entry["method"] == "PATCH" and entry["status"] == 200)
    assert applied == Counter(to_clear), "each task PATCHed into effect exactly once"
    assert statuses(log, "PATCH", "/task-status").count(401) >= 1, "a PATCH met the expired token and was sent again after a new login"
    assert all(truth(emulator, task_id)["completionStatus"] == "ERROR" for task_id in to_clear)
    assert all(truth(emulator, task_id)["completionStatus"] is None for task_id in pending[30:])
