"""Command line: `python -m isc_emulator --port 8080 --seed demo` (also the `isc-emulator` script)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .patching import TEST_OPS_MODES
from .records import DEFAULT_TIMESTAMP_FORM, TIMESTAMP_FORMS
from .seed import SEED_NAMES
from .server import Emulator
from .tenant import DEFAULT_TOKEN_TTL_S, parse_rate_limit


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="isc-emulator", description="Serve an emulated ISC tenant's task-status API on a local port.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument("--seed", choices=SEED_NAMES, default="demo", help="initial tasks (default demo)")
    parser.add_argument("--generate", type=int, default=0, metavar="N", help="also generate N tasks")
    parser.add_argument("--port-file", type=Path, help="write the port number to this file once listening")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) to serve HTTPS with")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL_S, metavar="S", help="token expires_in (749)")
    parser.add_argument(
        "--rate-limit",
        default="100",
        metavar="N|off",
        help="requests per 10 s per client_id and API version (default 100), or off",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every API request")
    parser.add_argument(
        "--require-experimental-header",
        action="store_true",
        help="make /task-status/v1 demand X-SailPoint-Experimental: true",
    )
    parser.add_argument(
        "--validate-requests",
        action="store_true",
        help="hold every API request to the vendor spec subsets; answer a violation with 400 naming it",
    )
    parser.add_argument(
        "--test-ops",
        choices=TEST_OPS_MODES,
        default="honour",
        help="how PATCH treats JSON Patch test operations: honour (default), reject (400), ignore, fail-timestamps",
    )
    parser.add_argument(
        "--timestamp-form",
        choices=TIMESTAMP_FORMS,
        default=DEFAULT_TIMESTAMP_FORM,
        help="how answers write timestamps: z-millis (default, 2024-05-17T19:33:16.470Z), "
        "offset-micros (2024-05-17 19:33:16.470000+00:00), z-seconds (2024-05-17T19:33:16Z)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        print("isc-emulator: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        rate_limit = parse_rate_limit(args.rate_limit)
    except ValueError as exc:
        print(f"isc-emulator: --rate-limit: {exc}", file=sys.stderr)
        return 2
    emulator = Emulator(
        host=args.host,
        port=args.port,
        seed=args.seed,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        generate=args.generate,
        token_ttl_s=args.token_ttl,
        rate_limit=rate_limit,
        latency_ms=args.latency_ms,
        require_experimental_header=args.require_experimental_header,
        validate_requests=args.validate_requests,
        test_ops=args.test_ops,
        timestamp_form=args.timestamp_form,
    ).start()
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if args.port_file:
        # Write-then-rename, so a reader never sees a partial port number.
        partial = args.port_file.with_name(args.port_file.name + f".{os.getpid()}.tmp")
        partial.write_text(f"{emulator.port}\n")
        partial.replace(args.port_file)
    print(f"isc-emulator listening on {emulator.url}", flush=True)
    while not stop_requested.wait(0.5):
        pass
    emulator.stop()
    print("isc-emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
