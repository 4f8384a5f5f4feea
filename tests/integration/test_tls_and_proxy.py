# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""TLS and proxies through real playbook runs: a self-signed certificate is refused by default, trusted with
ca_path, accepted with a warning under validate_certs: false; HTTP(S)_PROXY and NO_PROXY are honoured."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import AnsibleRunner

from isc_emulator import Emulator

PLAYBOOK = "tls_and_proxy.yml"


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    folder = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert_file))
    certificate.private_key_pem.write_to_path(str(key_file))
    authority.cert_pem.write_to_path(str(ca_file))
    server = Emulator(port=0, seed="demo", tls_cert=str(cert_file), tls_key=str(key_file)).start()
    try:
        yield server, str(ca_file)
    finally:
        server.stop()


def pending(server: Emulator) -> int:
    return sum(1 for task in server.tenant.tasks() if task["completionStatus"] is None and not task["_expired"])


def test_self_signed_certificate_refused_by_default_trusted_with_ca_path_or_skipped_with_a_warning(tls_emulator: Any, tmp_path: Path) -> None:
    server, ca_file = tls_emulator
    runner = AnsibleRunner(server, tmp_path)
    expected = {"expected_pending": pending(server)}

    refused = runner.playbook(PLAYBOOK, extra_vars=expected, expect_rc=2)
    message = refused.result("Count pending tasks")["msg"]
    assert "TLS error" in message and "CERTIFICATE_VERIFY_FAILED" in message and "ca_path" in message
    assert not any(entry["path"].startswith("/beta") for entry in server.tenant.request_log()), "nothing reached the API"

    trusted = runner.playbook(PLAYBOOK, extra_vars={**expected, "tls_ca_path": ca_file})
    assert trusted.status("Check the count") == "ok"
    assert "validate_certs is false" not in trusted.output

    unverified = runner.playbook(PLAYBOOK, extra_vars={**expected, "tls_validate_certs": False})
    assert unverified.status("Check the count") == "ok"
    assert "validate_certs is false: the TLS certificate of the ISC tenant is not verified" in " ".join(unverified.output.split())

    missing = runner.playbook(PLAYBOOK, extra_vars={**expected, "tls_ca_path": str(tmp_path / "no-such-ca.pem")}, expect_rc=2)
    assert "Invalid option 'ca_path'" in missing.result("Count pending tasks")["msg"]


class ForwardingProxy(BaseHTTPRequestHandler):
    """A plain HTTP proxy: forwards absolute-form requests and remembers what it forwarded."""

    seen: list[str] = []

    def _forward(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {name: value for name, value in self.headers.items() if name.lower() not in ("host", "proxy-connection", "connection")}
        request = urllib.request.Request(self.path, data=body, headers=headers, method=self.command)
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request) as answer:
                status, answer_headers, payload = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, payload = error.code, error.headers, error.read()
        self.send_response(status)
        for name, value in answer_headers.items():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = do_PATCH = _forward

    def log_message(self, *args: Any) -> None:
        pass


def test_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(emulator: Any, run_playbook: Any) -> None:
    emulator.reset(seed="demo")
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), ForwardingProxy)
    ForwardingProxy.seen = []
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    expected = {"expected_pending": pending(emulator)}
    try:
        run_playbook(PLAYBOOK, extra_vars=expected, env={"HTTP_PROXY": proxy_url, "http_proxy": proxy_url, "NO_PROXY": None, "no_proxy": None})
        assert any(line.startswith("POST http://127.0.0.1") and line.endswith("/oauth/token") for line in ForwardingProxy.seen)
        assert any("/beta/task-status/pending-tasks" in line for line in ForwardingProxy.seen)

        through_proxy = len(ForwardingProxy.seen)
        run_playbook(PLAYBOOK, extra_vars=expected, env={"HTTP_PROXY": proxy_url, "http_proxy": proxy_url, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        assert len(ForwardingProxy.seen) == through_proxy, "NO_PROXY must bypass the proxy"
    finally:
        proxy.shutdown()
        proxy.server_close()
