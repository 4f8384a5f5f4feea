# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""TLS and proxies through real playbook runs: a self-signed certificate is refused by default, trusted with
ca_path, accepted with a warning under validate_certs: false; HTTP(S)_PROXY and NO_PROXY are honoured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import AnsibleRunner

from isc_emulator import Emulator
from isc_emulator.testing import ForwardingProxy

PLAYBOOK = "tls_and_proxy.yml"


def pending(server: Emulator) -> int:
    return sum(1 for task in server.tenant.tasks() if task["completionStatus"] is None and not task["_expired"])


def test_self_signed_certificate_refused_by_default_trusted_with_ca_path_or_skipped_with_a_warning(tls_emulator: Any, tmp_path: Path) -> None:
    server, ca_file = tls_emulator
    runner = AnsibleRunner(server, tmp_path)
    expected = {"expected_pending": pending(server)}

    logged_before = len(server.tenant.request_log())  # the TLS emulator is shared by the session
    refused = runner.playbook(PLAYBOOK, extra_vars=expected, expect_rc=2)
    message = refused.result("Count pending tasks")["msg"]
    assert "TLS error talking to base_url" in message and "CERTIFICATE_VERIFY_FAILED" in message and "ca_path" in message
    assert "Retrying" not in refused.output, "a refused certificate fails at once"
    assert server.tenant.request_log()[logged_before:] == [], "nothing reached the API"

    trusted = runner.playbook(PLAYBOOK, extra_vars={**expected, "tls_ca_path": ca_file})
    assert trusted.status("Check the count") == "ok"
    assert "validate_certs is false" not in trusted.output

    unverified = runner.playbook(PLAYBOOK, extra_vars={**expected, "tls_validate_certs": False})
    assert unverified.status("Check the count") == "ok"
    assert "validate_certs is false: the TLS certificate of the ISC tenant is not verified" in " ".join(unverified.output.split())

    missing = runner.playbook(PLAYBOOK, extra_vars={**expected, "tls_ca_path": str(tmp_path / "no-such-ca.pem")}, expect_rc=2)
    assert "Invalid option 'ca_path'" in missing.result("Count pending tasks")["msg"]


def test_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(emulator: Any, run_playbook: Any) -> None:
    emulator.reset(seed="demo")
    expected = {"expected_pending": pending(emulator)}
    with ForwardingProxy() as proxy:
        through = {"HTTP_PROXY": proxy.url, "http_proxy": proxy.url}
        run_playbook(PLAYBOOK, extra_vars=expected, env={**through, "NO_PROXY": None, "no_proxy": None})
        assert any(line.startswith("POST http://127.0.0.1") and line.endswith("/oauth/token") for line in proxy.seen)
        assert any("/task-status/v1" in line for line in proxy.seen)

        forwarded = len(proxy.seen)
        run_playbook(PLAYBOOK, extra_vars=expected, env={**through, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        assert len(proxy.seen) == forwarded, "NO_PROXY must bypass the proxy"
