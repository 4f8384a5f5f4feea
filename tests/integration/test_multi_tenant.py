# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""playbooks/clear_stuck_tasks_all_tenants.yml over three tenants (three emulators, one of them stopped), forks 3.

Each tenant's connection comes from its host variables, over the SAIL_* variables of another tenant. The inventory is made as AWX
makes it from a project: a directory with host_vars/, each client secret vaulted with the tenant's own vault ID, turned
into JSON by ansible-inventory without any vault password (the secrets stay encrypted), and served to the run by an
inventory script. The run gets one vault ID per tenant, as an AWX job gets one Vault credential per tenant.

The two live tenants meet at a barrier in their first token request: with one fork at a time the first would wait
for the second in vain, so passing it shows the tenants ran in parallel.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CANARY_SECRET, CLIENTS, REPO_ROOT, AnsibleRunner, executable

from isc_emulator import Emulator

PLAYBOOK = REPO_ROOT / "playbooks" / "clear_stuck_tasks_all_tenants.yml"
GLOBEX_CLIENT = ("pat-9b2d-globex-client", "globex-S3cr3t-4a7c1e-must-never-be-printed")


@pytest.fixture
def second_emulator() -> Iterator[Emulator]:
    server = Emulator(host="127.0.0.1", port=0, seed="empty").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stopped_emulator_url() -> str:
    server = Emulator(host="127.0.0.1", port=0, seed="empty").start()
    url = server.url
    server.stop()
    return url


def vaulted(secret: str, vault_id: str, env: dict[str, str], work_dir: Path) -> str:
    """``ansible-vault encrypt_string`` of ``secret`` with the vault ID and the password file named after it."""
    password_file = work_dir / f"vault-{vault_id}"
    password_file.write_text(f"password of {vault_id}", encoding="utf-8")
    done = subprocess.run(
        [executable("ansible-vault"), "encrypt_string", "--vault-id", f"{vault_id}@{password_file}", "--", secret],
        capture_output=True,
        text=True,
        check=True,
        cwd=work_dir,
        env=env,
    )
    return done.stdout


def meet_at_barrier(tenant: Any, barrier: threading.Barrier, met: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    original = tenant.issue_token
    first = [True]

    def issue_token(client_id: str, secret: str) -> Any:
        if first[0]:
            first[0] = False
            try:
                barrier.wait()
                met.append(True)
            except threading.BrokenBarrierError:
                met.append(False)
        return original(client_id, secret)

    monkeypatch.setattr(tenant, "issue_token", issue_token)


def tenant(base_url: str, client_id: str, client_secret: str) -> dict[str, str]:
    return {"sailpoint_isc_base_url": base_url, "sailpoint_isc_client_id": client_id, "sailpoint_isc_client_secret": client_secret}


def write_inventory(work_dir: Path, tenants: dict[str, dict[str, Any]], env: dict[str, str]) -> Path:
    """The inventory directory, exported to JSON by ansible-inventory, behind an inventory script; returns the script."""
    inventory = work_dir / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"isc_tenants": {"hosts": dict.fromkeys(tenants)}}), encoding="utf-8")
    for host, variables in tenants.items():
        plain = {name: value for name, value in variables.items() if name != "sailpoint_isc_client_secret"}
        secret = vaulted(variables["sailpoint_isc_client_secret"], host, env, work_dir)
        (inventory / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(plain) + "sailpoint_isc_client_secret: " + secret, encoding="utf-8")
    exported = subprocess.run(
        [executable("ansible-inventory"), "-i", str(inventory), "--list"], capture_output=True, text=True, check=True, cwd=work_dir, env=env
    ).stdout
    hostvars = json.loads(exported)["_meta"]["hostvars"]
    assert all(set(hostvars[host]["sailpoint_isc_client_secret"]) == {"__ansible_vault"} for host in tenants), "the export must keep the secrets encrypted"
    script = work_dir / "inventory.sh"
    script.write_text(f"#!/bin/sh\ncat <<'JSON'\n{exported}\nJSON\n", encoding="utf-8")
    script.chmod(0o700)
    return script


def test_three_tenants_in_parallel_one_unreachable(
    emulator, second_emulator: Emulator, stopped_emulator_url: str, ansible_runner: AnsibleRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme, globex = emulator.tenant, second_emulator.tenant
    globex.add_client(*GLOBEX_CLIENT, user_context=True)
    acme_stuck = [acme.add_task(completion_status=None, age_s=hours * 3600)["id"] for hours in (8, 30)]
    acme_recent = acme.add_task(completion_status=None, age_s=600)["id"]
    globex_stuck = globex.add_task(completion_status=None, age_s=7 * 3600)["id"]
    barrier, met = threading.Barrier(2, timeout=60), []
    meet_at_barrier(acme, barrier, met, monkeypatch)
    meet_at_barrier(globex, barrier, met, monkeypatch)

    results_file = tmp_path / "results.jsonl"
    # SAIL_* variables of some other tenant on the controller: each tenant's host variables must win over them.
    env = ansible_runner.environment(
        client=None,
        api_version="v2026",
        results_file=results_file,
        env={"SAIL_BASE_URL": stopped_emulator_url, "SAIL_CLIENT_ID": "env-client", "SAIL_CLIENT_SECRET": "env-secret"},
    )
    inventory = write_inventory(
        tmp_path,
        {
            "acme": {**tenant(emulator.url, CLIENTS["pat"][0], CANARY_SECRET), "sailpoint_isc_api_version": "v1"},
            "globex": tenant(second_emulator.url, *GLOBEX_CLIENT),
            "initech": tenant(stopped_emulator_url, "pat-0003-initech", "initech-secret"),
        },
        env,
    )
    reports = tmp_path / "reports"
    vault_ids = [f"--vault-id={host}@{tmp_path / f'vault-{host}'}" for host in ("acme", "globex", "initech")]
    command = [
        executable("ansible-playbook"),
        "-i",
        str(inventory),
        str(PLAYBOOK),
        "-f",
        "3",
        *vault_ids,
        "-e",
        f"sailpoint_isc_report_dir={reports}",
        "-vv",
    ]
    run = ansible_runner.run(command, env, results_file, expect_rc=2)

    assert met == [True, True], "the two live tenants did not run at the same time"
    assert {task["id"] for task in acme.tasks() if task["completionStatus"] == "ERROR"} == set(acme_stuck)
    assert next(task for task in acme.tasks() if task["id"] == acme_recent)["completionStatus"] is None
    assert [task["completionStatus"] for task in globex.tasks()] == ["ERROR"]
    assert {entry["client_id"] for entry in acme.request_log() if entry["method"] == "PATCH"} == {CLIENTS["pat"][0]}
    assert {entry["api_version"] for entry in acme.request_log() if entry["path"] != "/oauth/token"} == {"v1"}
    assert [entry["client_id"] for entry in globex.request_log() if entry["method"] == "PATCH"] == [GLOBEX_CLIENT[0]]
    # Without sailpoint_isc_api_version, a tenant gets SAIL_API_VERSION.
    assert {entry["api_version"] for entry in globex.request_log() if entry["path"] != "/oauth/token"} == {"v2026"}

    by_tenant = {host: json.loads((reports / f"{host}.json").read_text()) for host in ("acme", "globex", "initech")}
    assert (by_tenant["acme"]["status"], sorted(by_tenant["acme"]["cleared"]), by_tenant["acme"]["pending"]) == ("ok", sorted(acme_stuck), 3)
    assert (by_tenant["globex"]["status"], by_tenant["globex"]["cleared"]) == ("ok", [globex_stuck])
    assert by_tenant["initech"]["status"] == "failed"
    assert "Could not complete ISC API" in by_tenant["initech"]["error"]
    assert by_tenant["initech"]["base_url"] == stopped_emulator_url

    summary = run.result("One line per tenant")["msg"]
    assert [line.split()[:2] for line in summary] == [["acme", "ok"], ["globex", "ok"], ["initech", "failed"]]
    assert "stuck 2, cleared 2" in summary[0] and "stuck 1, cleared 1" in summary[1]
    assert summary[2].split(None, 2)[2].startswith("Could not complete ISC API POST /oauth/token")
    assert "Failed tenants: initech" in run.output
    leaks = [secret for secret in (GLOBEX_CLIENT[1], "initech-secret", *globex.issued_tokens()) if secret in run.output or secret in results_file.read_text()]
    assert leaks == []
