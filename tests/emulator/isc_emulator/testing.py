"""Helpers for the collection's tests and benchmarks: the emulator in a process of its own, TLS files for it, and a
forwarding HTTP proxy that remembers what it forwarded."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class EmulatorProcess:
    """``python -m isc_emulator`` with the given command-line arguments, in its own process (its own GIL).

    >>> with EmulatorProcess("--seed", "empty", "--generate", "10000") as emulator:
    ...     emulator.url, emulator.control("GET", "/requests/summary")
    """

    def __init__(self, *arguments: str, start_timeout_s: float = 60.0) -> None:
        self.work_dir = Path(tempfile.mkdtemp(prefix="isc-emulator-"))
        port_file = self.work_dir / "port"
        command = [sys.executable, "-m", "isc_emulator", "--port", "0", "--port-file", str(port_file), *arguments]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + start_timeout_s
        while not port_file.exists() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start: {' '.join(command)}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the control interface, e.g. ``control("DELETE", "/requests")``; returns the decoded JSON answer."""
        response = requests.request(method, f"{self.url}/_emulator{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def write_tls_files(folder: Path) -> tuple[str, str, str]:
    """A certificate for 127.0.0.1 and localhost from a throw-away CA: (certificate, key, CA bundle) paths."""
    import trustme  # noqa: PLC0415 - only TLS tests need it

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert_file))
    certificate.private_key_pem.write_to_path(str(key_file))
    authority.cert_pem.write_to_path(str(ca_file))
    return str(cert_file), str(key_file), str(ca_file)


class ForwardingProxy:
    """A plain HTTP proxy on loopback; ``seen`` lists the requests it forwarded as "METHOD absolute-URL"."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                seen.append(f"{self.command} {self.path}")
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

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ForwardingProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
