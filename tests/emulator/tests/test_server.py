"""The server itself: the command line, SIGTERM/Ctrl-C, HTTPS, HTTP/1.1 keep-alive, clean stop."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import trustme
from emulator_testlib import ApiSession, allow_spec_violations

from isc_emulator import Emulator


def _start_cli(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], int, str]:
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [sys.executable, "-m", "isc_emulator", "--port", "0", "--port-file", str(port_file), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("isc-emulator listening on "), line + process.stderr.read()
    url = line.split(" on ", 1)[1].strip()
    return process, int(port_file.read_text()), url


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_command_line_serves_and_stops_cleanly(tmp_path: Path, stop_signal: int) -> None:
    process, port, url = _start_cli(tmp_path, "--seed", "demo", "--token-ttl", "42", "--rate-limit", "off")
    try:
        assert url == f"http://127.0.0.1:{port}"
        session = ApiSession(url)
        assert session.login().json()["expires_in"] == 42
        assert len(session.list_all("/v2025/task-status")) == 43
        assert requests.get(f"{url}/_emulator/config", timeout=5).json()["rate_limit"] is None
    finally:
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
    assert "stopped" in process.stdout.read()


@pytest.mark.parametrize("validate", [True, False])
def test_command_line_validate_requests(tmp_path: Path, validate: bool) -> None:
    process, _port, url = _start_cli(tmp_path, "--seed", "demo", *(["--validate-requests"] if validate else []))
    try:
        session = ApiSession(url)
        answer = session.get("/v2025/task-status", params={"limit": 1, "colour": "blue"})
        report = requests.get(f"{url}/_emulator/validation", timeout=5).json()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    if validate:
        assert answer.status_code == 400
        assert "undocumented query parameter 'colour'" in answer.json()["messages"][0]["text"]
        assert report["enabled"] is True and report["validated"] == 1 and "'colour'" in report["violations"][0]
    else:
        assert answer.status_code == 200 and len(answer.json()) == 1
        assert report == {"enabled": False, "validated": 0, "violations": [], "total_violations": 0}


def test_command_line_generate_and_latency(tmp_path: Path) -> None:
    process, _port_file, url = _start_cli(tmp_path, "--seed", "empty", "--generate", "300", "--latency-ms", "100")
    try:
        session = ApiSession(url)
        session.token  # noqa: B018
        started = time.monotonic()
        response = session.get("/beta/task-status", params={"count": "true", "limit": 1})
        assert time.monotonic() - started >= 0.1
        assert response.headers["X-Total-Count"] == "300"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_https_with_a_given_certificate(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert_file))
    for extra in certificate.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_file), append=True)
    certificate.private_key_pem.write_to_path(str(key_file))
    authority.cert_pem.write_to_path(str(ca_file))
    with Emulator(port=0, seed="demo", tls_cert=str(cert_file), tls_key=str(key_file)) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        session = ApiSession(emu.url, verify=str(ca_file))
        assert session.get("/v2026/task-status", params={"limit": 2}).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{emu.url}/_emulator/health", timeout=5)  # not trusted without the CA
        assert requests.get(f"{emu.url}/_emulator/health", verify=str(ca_file), timeout=5).json() == {"status": "ok"}


def test_http11_keep_alive_serves_many_requests_on_one_connection(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.add_task()
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    sockets = set()
    for _repeat in range(5):
        connection.request("GET", "/beta/task-status", headers={"Authorization": f"Bearer {pat.token}"})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200 and response.version == 11
        assert int(response.headers["Content-Length"]) == len(body)
        sockets.add(id(connection.sock))
    assert len(sockets) == 1
    connection.close()


def test_stop_does_not_wait_for_idle_keep_alive_connections() -> None:
    emu = Emulator(port=0, seed="empty").start()
    session = requests.Session()
    assert session.get(f"{emu.url}/_emulator/health", timeout=5).status_code == 200
    # Waiting for the idle connection would wait until the client closes it: forever, as this session never does.
    # The join's timeout only tells that apart from a stop that returns; it is not a speed limit.
    stopping = threading.Thread(target=emu.stop, daemon=True)
    stopping.start()
    stopping.join(timeout=60)
    assert not stopping.is_alive(), "stop() waited for an idle keep-alive connection"
    with pytest.raises(requests.ConnectionError):
        session.get(f"{emu.url}/_emulator/health", timeout=2)


def test_unknown_paths_and_methods(emu: Emulator, pat: ApiSession) -> None:
    allow_spec_violations(emu)  # paths and methods that no spec has
    assert pat.get("/v3/task-status").status_code == 404
    assert pat.get("/beta/task-status/a/b").status_code == 404
    assert pat.request("DELETE", "/beta/task-status/abc").status_code == 405
    assert pat.request("POST", "/beta/task-status").status_code == 405
    assert requests.get(f"{emu.url}/oauth/token", timeout=5).status_code == 405
