"""Throughput of the ISC emulator for parallel page reads: is it ever the bottleneck?

Starts `python -m isc_emulator` in a subprocess (its own GIL) with 10,000 generated tasks and no rate limit, then
reads all 40 pages of 250 tasks with 1, 4 and 8 parallel clients (one requests.Session each), at 0 ms and at
40 ms injected latency. Under latency the parallel/sequential ratio should approach the client count: the
emulator overlaps requests the way a real server does.

    python bench/bench_emulator.py [--tasks 10000] [--latencies 0,40] [--clients 1,4,8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "emulator"))
from isc_emulator.testing import EmulatorProcess  # noqa: E402

PAGE_SIZE = 250
CLIENT_ID, CLIENT_SECRET = "pat-0001-demo-client", "pat-demo-secret"
LIST_PATH = "/v2025/task-status"


def fetch_token(base_url: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = requests.post(f"{base_url}/oauth/token", data=form, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


def read_all_pages(base_url: str, token: str, task_count: int, clients: int) -> float:
    """Read every page with `clients` threads; returns the seconds taken. Checks each task came exactly once.

    Pages are parsed after the clock stops: JSON decoding in the benchmark's own threads (one GIL) would
    otherwise be what is measured.
    """
    offsets = list(range(0, task_count, PAGE_SIZE))
    local = threading.local()

    def read_page(offset: int) -> bytes:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
        response = session.get(f"{base_url}{LIST_PATH}", params={"offset": offset, "limit": PAGE_SIZE, "sorters": "created"}, timeout=30)
        response.raise_for_status()
        return response.content

    with ThreadPoolExecutor(max_workers=clients) as pool:
        # Open every client's connection before timing, as long-lived clients would have.
        list(pool.map(lambda _: read_page(0), range(clients * 2)))
        started = time.perf_counter()
        pages = list(pool.map(read_page, offsets))
        elapsed = time.perf_counter() - started
    ids = [task["id"] for page in pages for task in json.loads(page)]
    if len(ids) != task_count or len(set(ids)) != task_count:
        raise SystemExit(f"read {len(ids)} tasks ({len(set(ids))} distinct), expected {task_count}")
    return elapsed


def server_side_ms(base_url: str) -> list[float]:
    """Per-request handling time inside the emulator (parse, filter, page, excluding latency and sending)."""
    log = requests.get(f"{base_url}/_emulator/requests", timeout=10).json()
    requests.delete(f"{base_url}/_emulator/requests", timeout=10)
    return [entry["duration_ms"] for entry in log if entry["path"] == LIST_PATH]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--latencies", default="0,40", help="comma-separated latency_ms values")
    parser.add_argument("--clients", default="1,4,8", help="comma-separated parallel client counts")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cell; the median is shown")
    args = parser.parse_args()
    latencies = [float(value) for value in args.latencies.split(",")]
    client_counts = [int(value) for value in args.clients.split(",")]
    page_count = -(-args.tasks // PAGE_SIZE)

    emulator = EmulatorProcess("--seed", "empty", "--generate", str(args.tasks), "--rate-limit", "off")
    base_url = emulator.url
    try:
        token = fetch_token(base_url)
        print(f"isc-emulator at {base_url}: {args.tasks} tasks, {page_count} pages of {PAGE_SIZE}, median of {args.rounds} rounds")
        print(f"CPUs: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")
        print(f"{'latency':>8} {'clients':>7} {'seconds':>8} {'pages/s':>8} {'tasks/s':>9} {'vs 1 client':>11} {'emulator ms/page':>17}")
        for latency in latencies:
            requests.post(f"{base_url}/_emulator/config", json={"latency_ms": latency}, timeout=10).raise_for_status()
            sequential_rate = None
            for clients in client_counts:
                server_side_ms(base_url)
                timings = [read_all_pages(base_url, token, args.tasks, clients) for _repeat in range(args.rounds)]
                handling = server_side_ms(base_url)
                seconds = statistics.median(timings)
                pages_per_second = page_count / seconds
                if sequential_rate is None:
                    sequential_rate = pages_per_second
                ratio = pages_per_second / sequential_rate
                inside_ms = statistics.median(handling) - latency
                print(
                    f"{latency:>6.0f}ms {clients:>7} {seconds:>8.3f} {pages_per_second:>8.1f} {args.tasks / seconds:>9.0f} {ratio:>10.2f}x {inside_ms:>17.2f}"
                )
        print("emulator ms/page: median time inside the emulator per page, injected latency excluded")
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
