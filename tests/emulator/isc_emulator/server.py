"""The HTTP(S) server: HTTP/1.1 keep-alive, one thread per connection, and the `Emulator` wrapper."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import Reply, Request, apply_fault, check_request, error_reply, handle_api, is_deprecated_endpoint, json_reply, templated_path
from .control import CONTROL_PREFIX, handle_control
from .records import DEFAULT_TIMESTAMP_FORM
from .tenant import DEFAULT_RATE_LIMIT, DEFAULT_TOKEN_TTL_S, RateLimit, Tenant
from .validation import SECRET_PARAMETERS
from .versions import version_for_path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Clients keep connections alive; stop() closes them instead of waiting for them.
    block_on_close = False

    def __init__(self, address: tuple[str, int], tenant: Tenant) -> None:
        self.tenant = tenant
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-response (or fails the TLS handshake) is not an emulator error.
        if isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def close_open_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "isc-emulator"
    # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms per response.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            # The TLS handshake runs here, in the connection's thread, not in the accept loop.
            self.request.do_handshake()
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        pass

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
            self.close_connection = True  # the rest of the stream cannot be framed
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        started = time.monotonic()
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
        )
        tenant = self.server.tenant
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            if not ipaddress.ip_address(self.client_address[0].removeprefix("::ffff:")).is_loopback:
                self._send(json_reply(403, {"error": "the control interface answers loopback clients only"}))
            else:
                self._send(handle_control(tenant, request))
            return
        tenant.request_started()
        try:
            reply = self._answer(tenant, request, started)
        finally:
            tenant.request_finished()
        self._send(reply)

    def _answer(self, tenant: Tenant, request: Request, started: float) -> Reply:
        latency_ms = tenant.config.latency_ms
        if latency_ms > 0:
            time.sleep(latency_ms / 1000)
        try:
            reply = check_request(tenant, request) or apply_fault(tenant, request) or handle_api(tenant, request)
        except Exception:  # noqa: BLE001 - any bug must still produce a vendor-shaped 500
            traceback.print_exc()
            reply = error_reply(500)
        if is_deprecated_endpoint(request.path) and not reply.drop_connection:
            reply.headers["X-Deprecated"] = "true"
        version = version_for_path(request.path)
        tenant.record_request(
            {
                "method": request.method,
                "path": request.path,
                "template": templated_path(request.path),
                "query": {name: ("***" if name in SECRET_PARAMETERS else values[-1]) for name, values in request.query.items()},
                # What a PATCH carried, so tests can check its operations (token requests, which hold secrets, are left out).
                "body": request.body.decode("utf-8", "replace") if request.method == "PATCH" else None,
                "status": None if reply.drop_connection else reply.status,
                "client_id": reply.client_id,
                "api_version": version.name if version else ("oauth" if request.path == "/oauth/token" else None),
                "fault": reply.fault,
                "time": started,
                "duration_ms": round((time.monotonic() - started) * 1000, 3),
            }
        )
        return reply

    def _send(self, reply: Reply) -> None:
        if reply.drop_connection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.body and self.command != "HEAD":
            self.wfile.write(reply.body)


class Emulator:
    """An ISC tenant on a loopback port.

    >>> emu = Emulator(port=0, seed="demo").start()
    >>> emu.url, emu.tenant      # "http://127.0.0.1:PORT", the state (tasks, clients, faults, log, config)
    >>> emu.reset(seed="empty")  # or "demo", or generate=N
    >>> emu.stop()
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str = "demo",
        tls_cert: str | None = None,
        tls_key: str | None = None,
        *,
        generate: int = 0,
        token_ttl_s: float = DEFAULT_TOKEN_TTL_S,
        rate_limit: RateLimit | dict[str, Any] | int | str | None = DEFAULT_RATE_LIMIT,
        latency_ms: float = 0.0,
        require_experimental_header: bool = False,
        validate_requests: bool = False,
        test_ops: str = "honour",
        timestamp_form: str = DEFAULT_TIMESTAMP_FORM,
    ) -> None:
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("TLS needs both tls_cert and tls_key")
        self.host = host
        self.requested_port = port
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.tenant = Tenant(
            seed=seed,
            generate=generate,
            token_ttl_s=token_ttl_s,
            rate_limit=rate_limit,
            latency_ms=latency_ms,
            require_experimental_header=require_experimental_header,
            validate_requests=validate_requests,
            test_ops=test_ops,
            timestamp_form=timestamp_form,
        )
        self._server: _Server | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        server = _Server((self.host, self.requested_port), self.tenant)
        if self.tls_cert and self.tls_key:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls_cert, self.tls_key)
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.name = f"isc-emulator-{self.port}"
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        """The port it listens (or last listened) on."""
        if self._port is None:
            raise RuntimeError("the emulator has not been started")
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def reset(self, seed: str = "empty", generate: int = 0) -> None:
        self.tenant.reset(seed=seed, generate=generate)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
