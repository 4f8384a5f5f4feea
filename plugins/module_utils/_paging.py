# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Listing and paging: every task of a list endpoint once, in the service's order, however its pages are read.

``ReadPage(offset, size, count)`` reads one page and, when ``count`` is asked, the total (``None`` when the service
sends none). The first page is read alone and tells the total; the rest are read ``concurrency`` at a time. Each
later page starts ``PAGE_OVERLAP`` positions before the one before it ended: tasks leaving the front of the list
meanwhile (ISC's 90-day window) move the rest forward, and the overlap reads what moved. Repeats are dropped by id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any, Protocol

PAGE_SIZE = 250
PAGE_OVERLAP = 5

Task = dict[str, Any]


class ReadPage(Protocol):
    def __call__(self, offset: int, size: int, count: bool, /) -> tuple[list[Task], int | None]: ...


def list_tasks(read_page: ReadPage, offset: int = 0, limit: int | None = None, concurrency: int = 4) -> Iterator[Task]:
    """At most ``limit`` tasks from position ``offset`` on, each once."""
    return take(unique(_pages(read_page, offset, limit, max(1, concurrency))), limit)


def take(tasks: Iterable[Task], limit: int | None) -> Iterator[Task]:
    return iter(tasks) if limit is None else islice(tasks, limit)


def unique(tasks: Iterable[Task]) -> Iterator[Task]:
    seen: set[Any] = set()
    for task in tasks:
        task_id = task.get("id") if isinstance(task, dict) else None
        if task_id is not None:
            if task_id in seen:
                continue
            seen.add(task_id)
        yield task


def _pages(read_page: ReadPage, offset: int, limit: int | None, concurrency: int) -> Iterator[Task]:
    first_size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
    first, total = read_page(offset, first_size, True)
    yield from first
    if len(first) < first_size:
        return
    read_to = offset + len(first)
    end = None if total is None else total if limit is None else min(total, offset + limit)
    if end is not None:
        starts = range(read_to - PAGE_OVERLAP, end - PAGE_OVERLAP, PAGE_SIZE - PAGE_OVERLAP)
        if not starts:
            return
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            # A bounded window of pages in flight keeps memory flat and the order intact.
            in_flight: deque[Any] = deque()
            for start in starts:
                in_flight.append(pool.submit(read_page, start, min(PAGE_SIZE, end - start), False))
                if len(in_flight) >= concurrency * 2:
                    yield from in_flight.popleft().result()[0]
            while in_flight:
                yield from in_flight.popleft().result()[0]
        # Tasks added while listing land after the total read on the first page: read on until a short page.
        read_to = end
    yield from _sequential(read_page, read_to, None if limit is None else offset + limit - read_to)


def _sequential(read_page: ReadPage, read_to: int, remaining: int | None) -> Iterator[Task]:
    """Pages from ``read_to`` on (``remaining`` positions at most), each reaching PAGE_OVERLAP back into the page before."""
    while remaining is None or remaining > 0:
        start = read_to - PAGE_OVERLAP
        size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining + PAGE_OVERLAP)
        page, _total = read_page(start, size, False)
        yield from page
        if len(page) < size:
            return
        read_to = start + len(page)
        if remaining is not None:
            remaining -= len(page) - PAGE_OVERLAP
