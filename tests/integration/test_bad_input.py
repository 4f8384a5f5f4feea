# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What users mistype is refused before anything is sent: every option of both modules, the lookup and the role.

One ``ansible-playbook`` run (playbooks/bad_input.yml) goes through the whole table, spread over a few local
hosts so forks run cases in parallel. Each case must fail, with a message naming the option, and the emulator
must see no request at all. Each case that does not set its own credentials sends ``client_id`` bad-input-<n>,
so a request that does slip through names the case that sent it.

Options that take any text (``description``, ``progress`` of task_status, ``clear_stuck_tasks_reason`` of the
role) have no invalid value and are not in the table.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLE_DEFAULTS = REPO_ROOT / "roles" / "clear_stuck_tasks" / "defaults" / "main.yml"
PLACEHOLDER_ID = "2c9180835d2e5168015d32f890ca1581"
WORKERS = 4
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Case:
    """Invalid ``args`` (role: ``vars``) whose failure message must contain every text of ``names``."""

    plugin: str
    names: tuple[str, ...]
    args: dict[str, Any]
    terms: tuple[str, ...] = ()
    number: int = field(default_factory=lambda: next(_numbers))

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"number": self.number, ("vars" if self.plugin == "role" else "args"): self.args}
        if self.terms:
            row["terms"] = list(self.terms)
        return row


def connection_cases(plugin: str, **required: Any) -> list[Case]:
    """The shared connection options, with whatever else ``plugin`` needs to get as far as the connection."""
    cases = [
        ("api_version", {"api_version": "v9"}),
        ("api_version", {"api_version": ""}),
        ("base_url", {"base_url": "http://isc.example.com"}),
        ("base_url", {"base_url": "http://10.1.2.3:8080"}),
        ("base_url", {"base_url": "ftp://127.0.0.1/"}),
        ("base_url", {"base_url": "https://acme.api.identitynow.com/beta"}),
        ("base_url", {"base_url": "https://acme.api.identitynow.com/?tenant=acme"}),
        ("base_url", {"base_url": ""}),
        ("client_id", {"client_id": ""}),
        ("client_secret", {"client_secret": ""}),
        ("access_token", {"access_token": "not-a-real-token", "client_secret": "also-given"}),
        ("validate_certs", {"validate_certs": "maybe"}),
        ("ca_path", {"ca_path": "/nonexistent/ca-bundle.pem"}),
        # An existing CA bundle and no verification contradict each other.
        ("ca_path", {"ca_path": str(REPO_ROOT / "LICENSE"), "validate_certs": False}),
        ("timeout", {"timeout": 0}),
        ("timeout", {"timeout": -1}),
        ("timeout", {"timeout": "slow"}),
        ("retries", {"retries": -1}),
        ("retries", {"retries": "twice"}),
        ("max_retry_wait", {"max_retry_wait": -5}),
        ("rate_limit", {"rate_limit": -1}),
        ("experimental_header", {"experimental_header": "sometimes"}),
    ]
    return [Case(plugin, (name,), {**required, **args}) for name, args in cases]


INFO_CASES = [
    Case("task_status_info", ("id",), {"id": ""}),
    Case("task_status_info", ("id",), {"id": "not a task id!"}),
    Case("task_status_info", ("id",), {"id": "../pending-tasks"}),
    Case("task_status_info", ("id",), {"id": "a" * 200}),
    Case("task_status_info", ("id", "filters"), {"id": PLACEHOLDER_ID, "filters": {"type": "CLOUD_ACCOUNT_AGGREGATION"}}),
    Case("task_status_info", ("filters",), {"filters": 42}),
    Case("task_status_info", ("filters",), {"filters": ""}),
    Case("task_status_info", ("filters",), {"filters": "{not json"}),
    Case("task_status_info", ("filters", "name"), {"filters": {"name": "Big Task"}}),
    Case("task_status_info", ("filters", "launcher"), {"filters": {"launcher": "sweep"}, "api_version": "beta"}),
    Case("task_status_info", ("filters", "launcher"), {"filters": {"launcher": "sweep"}, "api_version": "v2025"}),
    Case("task_status_info", ("filters", "completionStatus"), {"filters": {"completionStatus": None}, "api_version": "v2024"}),
    Case("task_status_info", ("filters", "type"), {"filters": {"type": {"gt": "CLOUD_ACCOUNT_AGGREGATION"}}}),
    Case("task_status_info", ("filters", "sourceId"), {"filters": {"sourceId": []}}),
    Case("task_status_info", ("filters", "sourceId"), {"filters": {"sourceId": ""}}),
    Case("task_status_info", ("filters",), {"filters": 'sourceId eq "x"', "pending": True}),
    Case("task_status_info", ("filters", "completionStatus"), {"filters": {"completion_status": "ERROR"}, "pending": True, "api_version": "v2025"}),
    Case("task_status_info", ("sorters",), {"sorters": "name"}),
    Case("task_status_info", ("sorters",), {"sorters": ""}),
    Case("task_status_info", ("sorters", "pending"), {"sorters": "created", "pending": True}),
    Case("task_status_info", ("offset",), {"offset": -1}),
    Case("task_status_info", ("offset",), {"offset": "ten"}),
    Case("task_status_info", ("limit",), {"limit": 0}),
    Case("task_status_info", ("limit",), {"limit": -5}),
    Case("task_status_info", ("limit",), {"limit": "many"}),
    Case("task_status_info", ("pending",), {"pending": "maybe"}),
    Case("task_status_info", ("count_only",), {"count_only": "perhaps"}),
    Case("task_status_info", ("count_only", "limit"), {"count_only": True, "limit": 5}),
    *connection_cases("task_status_info"),
]

STATUS_CASES = [
    Case("task_status", ("id", "ids"), {}),
    Case("task_status", ("id",), {"id": ""}),
    Case("task_status", ("id",), {"id": "a/b"}),
    Case("task_status", ("id",), {"id": "../../pending-tasks"}),
    Case("task_status", ("id",), {"id": "a" * 200}),
    # Not one path segment below task-status: another endpoint's name, or characters that would change the URL.
    *(Case("task_status", ("id",), {"id": bad}) for bad in ("pending-tasks", "Pending-Tasks", " ", "a?b", "a#b", "a%2Fb", "a..b")),
    *(Case("task_status", ("ids",), {"ids": [PLACEHOLDER_ID, bad]}) for bad in ("pending-tasks", "a/b", "a?b", "a%20b", "..")),
    Case("task_status_info", ("id",), {"id": "pending-tasks"}),
    Case("task_status", ("id", "ids"), {"id": PLACEHOLDER_ID, "ids": [PLACEHOLDER_ID]}),
    Case("task_status", ("ids",), {"ids": [PLACEHOLDER_ID, ""]}),
    Case("task_status", ("ids",), {"ids": [PLACEHOLDER_ID, "not a task id"]}),
    Case("task_status", ("completion_status",), {"id": PLACEHOLDER_ID, "completion_status": "DONE"}),
    Case("task_status", ("guard",), {"id": PLACEHOLDER_ID, "guard": "sometimes"}),
    Case("task_status", ("completion_status",), {"id": PLACEHOLDER_ID, "completion_status": ""}),
    Case("task_status", ("completed",), {"id": PLACEHOLDER_ID, "completed": "yesterday"}),
    Case("task_status", ("completed",), {"id": PLACEHOLDER_ID, "completed": "2024-13-45T00:00:00Z"}),
    Case("task_status", ("completed",), {"id": PLACEHOLDER_ID, "completed": "2024-05-17T25:00:00Z"}),
    Case("task_status", ("completed",), {"id": PLACEHOLDER_ID, "completed": ""}),
    Case("task_status", ("patch",), {"id": PLACEHOLDER_ID, "patch": "replace"}),
    Case("task_status", ("patch",), {"id": PLACEHOLDER_ID, "patch": []}),
    Case("task_status", ("patch",), {"id": PLACEHOLDER_ID, "patch": [{"op": "explode", "path": "/description"}]}),
    Case("task_status", ("patch",), {"id": PLACEHOLDER_ID, "patch": [{"op": "replace", "path": "description", "value": "x"}]}),
    Case("task_status", ("patch",), {"id": PLACEHOLDER_ID, "patch": [{"op": "replace", "path": "/description"}]}),
    Case("task_status", ("patch",), {"id": PLACEHOLDER_ID, "patch": [{"op": "move", "path": "/description"}]}),
    Case("task_status", ("patch", "description"), {"id": PLACEHOLDER_ID, "patch": [{"op": "add", "path": "/progress", "value": "x"}], "description": "y"}),
    Case("task_status", ("force",), {"id": PLACEHOLDER_ID, "force": "maybe"}),
    Case("task_status", ("wait",), {"id": PLACEHOLDER_ID, "wait": "soon"}),
    Case("task_status", ("wait", "completion_status"), {"id": PLACEHOLDER_ID, "wait": True, "completion_status": "ERROR"}),
    Case("task_status", ("wait", "force"), {"id": PLACEHOLDER_ID, "wait": True, "force": True}),
    Case("task_status", ("wait_timeout",), {"id": PLACEHOLDER_ID, "wait": True, "wait_timeout": -1}),
    Case("task_status", ("wait_timeout",), {"id": PLACEHOLDER_ID, "wait": True, "wait_timeout": "forever"}),
    Case("task_status", ("wait_sleep",), {"id": PLACEHOLDER_ID, "wait": True, "wait_sleep": 0}),
    Case("task_status", ("wait_sleep",), {"id": PLACEHOLDER_ID, "wait": True, "wait_sleep": "often"}),
    Case("task_status", ("fail_on_error",), {"id": PLACEHOLDER_ID, "wait": True, "fail_on_error": "unsure"}),
    *connection_cases("task_status", id=PLACEHOLDER_ID),
]

LOOKUP_CASES = [
    Case("pending_tasks", ("terms",), {}, terms=("CLOUD_ACCOUNT_AGGREGATION",)),
    Case("pending_tasks", ("type",), {"type": ["NOT_A_TASK_TYPE"]}),
    Case("pending_tasks", ("type",), {"type": ["CLOUD_ACCOUNT_AGGREGATION", ""]}),
    Case("pending_tasks", ("source_id",), {"source_id": [""]}),
    Case("pending_tasks", ("older_than",), {"older_than": "soon"}),
    Case("pending_tasks", ("older_than",), {"older_than": "-5m"}),
    Case("pending_tasks", ("older_than",), {"older_than": "0h"}),
    Case("pending_tasks", ("older_than",), {"older_than": "12"}),
    Case("pending_tasks", ("older_than",), {"older_than": ""}),
    Case("pending_tasks", ("limit",), {"limit": 0}),
    Case("pending_tasks", ("limit",), {"limit": -1}),
    Case("pending_tasks", ("limit",), {"limit": "many"}),
    Case("pending_tasks", ("colour",), {"colour": "red"}),
    *connection_cases("pending_tasks"),
]

ROLE_CASES = [
    Case("role", ("older_than",), {"clear_stuck_tasks_older_than": "soon"}),
    Case("role", ("older_than",), {"clear_stuck_tasks_older_than": "0m"}),
    Case("role", ("older_than",), {"clear_stuck_tasks_older_than": ""}),
    Case("role", ("type",), {"clear_stuck_tasks_types": ["NOT_A_TASK_TYPE"]}),
    Case("role", ("clear_stuck_tasks_types",), {"clear_stuck_tasks_types": {"a": 1}}),
    # An empty entry in a list (an unset variable, say) must not widen the run to every type or source.
    Case("role", ("clear_stuck_tasks_types",), {"clear_stuck_tasks_types": ["CLOUD_ACCOUNT_AGGREGATION", ""]}),
    Case("role", ("clear_stuck_tasks_sources",), {"clear_stuck_tasks_sources": [""]}),
    Case("role", ("clear_stuck_tasks_completion_status",), {"clear_stuck_tasks_completion_status": "DONE"}),
    Case("role", ("clear_stuck_tasks_completion_status",), {"clear_stuck_tasks_completion_status": ""}),
    Case("role", ("clear_stuck_tasks_max",), {"clear_stuck_tasks_max": "many"}),
    Case("role", ("clear_stuck_tasks_max",), {"clear_stuck_tasks_max": -1}),
    Case("role", ("clear_stuck_tasks_dry_run",), {"clear_stuck_tasks_dry_run": "maybe"}),
    Case("role", ("clear_stuck_tasks_guard",), {"clear_stuck_tasks_guard": "sometimes"}),
    # A report that cannot be written must stop the run before it clears anything, not after.
    Case("role", ("clear_stuck_tasks_report_file",), {"clear_stuck_tasks_report_file": "/nonexistent-directory/report.json"}),
    Case("role", ("base_url",), {"sail_base_url": "http://isc.example.com"}),
    Case("role", ("api_version",), {"sail_api_version": "v9"}),
    Case("role", ("timeout",), {"sail_timeout": -1}),
]

# Run without SAIL_BASE_URL: with it, a module's tenant option would only meet "mutually exclusive: base_url|tenant".
TENANT_CASES = [
    case
    for tenant in ("not a tenant!", "acme.api.identitynow.com", "")
    for case in (
        Case("task_status_info", ("tenant",), {"tenant": tenant}),
        Case("task_status", ("tenant",), {"tenant": tenant, "id": PLACEHOLDER_ID}),
        Case("pending_tasks", ("tenant",), {"tenant": tenant}),
    )
]

ALL_CASES = INFO_CASES + STATUS_CASES + LOOKUP_CASES + ROLE_CASES + TENANT_CASES


def role_defaults() -> dict[str, Any]:
    defaults = yaml.safe_load(ROLE_DEFAULTS.read_text(encoding="utf-8"))
    defaults.pop("clear_stuck_tasks_reason")
    return defaults


def outcomes_by_number(run: Any) -> dict[int, dict[str, Any]]:
    """Each case's result: the loop items of the plugin tasks, and the role outcomes the playbook recorded."""
    outcomes: dict[int, dict[str, Any]] = {}
    for task in ("Run task_status_info with invalid input", "Run task_status with invalid input", "Run the pending_tasks lookup with invalid input"):
        for result in run.results(task):
            for item in result.get("results", []):
                outcomes[int(item["item"]["number"])] = item
    for result in run.results("Record the role's failure") + run.results("Record that the role ran through"):
        outcome = result["ansible_facts"]["bad_input_role_outcome"]
        outcomes[int(outcome["number"])] = outcome
    return outcomes


def playbook_vars(cases: list[Case], workers: int) -> dict[str, Any]:
    by_plugin = {plugin: [case.row() for case in cases if case.plugin == plugin] for plugin in ("task_status_info", "task_status", "pending_tasks", "role")}
    return {
        "workers": workers,
        "info_cases": by_plugin["task_status_info"],
        "status_cases": by_plugin["task_status"],
        "lookup_cases": by_plugin["pending_tasks"],
        "role_cases": by_plugin["role"],
        "role_defaults": role_defaults(),
    }


def test_every_invalid_option_is_refused_by_name_before_any_request(emulator: Any, ansible_runner: Any, tmp_path: Path) -> None:
    main_cases = INFO_CASES + STATUS_CASES + LOOKUP_CASES + ROLE_CASES
    tenant_dir = tmp_path / "without-base-url"
    tenant_dir.mkdir()
    tenant_runner = type(ansible_runner)(emulator, tenant_dir)
    with ThreadPoolExecutor(max_workers=2) as pool:
        main = pool.submit(ansible_runner.playbook, "bad_input.yml", extra_vars=playbook_vars(main_cases, WORKERS))
        without_base_url = pool.submit(tenant_runner.playbook, "bad_input.yml", extra_vars=playbook_vars(TENANT_CASES, 1), env={"SAIL_BASE_URL": None})
        runs = [main.result(), without_base_url.result()]
    outcomes = {number: outcome for run in runs for number, outcome in outcomes_by_number(run).items()}

    log = emulator.tenant.request_log()
    reached = {}
    for entry in log:
        client_id = entry.get("client_id") or ""
        number = int(client_id.removeprefix("bad-input-")) if client_id.startswith("bad-input-") else None
        reached.setdefault(number, []).append(f"{entry['method']} {entry['path']} -> {entry['status']}")

    problems = []
    for case in ALL_CASES:
        where = f"#{case.number} {case.plugin} {case.args}{' terms ' + str(case.terms) if case.terms else ''}:"
        outcome = outcomes.get(case.number)
        if outcome is None:
            problems.append(f"{where} no outcome recorded")
            continue
        message = str(outcome.get("msg", ""))
        print(f"{where} {message[-200:]}")
        if not outcome.get("failed"):
            problems.append(f"{where} was accepted")
        else:
            missing = [name for name in case.names if name not in message]
            if missing:
                problems.append(f"{where} the message does not name {missing}: {message}")
        if case.number in reached:
            problems.append(f"{where} reached the emulator: {reached[case.number]}")
    if None in reached:
        problems.append(f"requests no case can be blamed for: {reached[None]}")
    print(f"{len(ALL_CASES)} invalid inputs in {max(run.duration_s for run in runs):.1f}s; {len(log)} requests reached the emulator")
    assert not problems, f"{len(problems)} of {len(ALL_CASES)} cases:\n" + "\n".join(problems)
    assert not log
