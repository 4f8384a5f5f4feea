# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Listing and paging with no server: pages come from a list that may change while it is read."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._paging import PAGE_OVERLAP, PAGE_SIZE, list_tasks


class Pages:
    """A task list read page by page; ``on_read`` may change it between reads, as a tenant does."""

    def __init__(self, count: int, send_total: bool = True) -> None:
        self.tasks = [{"id": f"t{number:05d}"} for number in range(count)]
        self.send_total = send_total
        self.reads: list[tuple[int, int, bool]] = []
        self.on_read = None
        self._lock = threading.Lock()

    def __call__(self, offset: int, size: int, count: bool) -> tuple[list[dict], int | None]:
        with self._lock:
            self.reads.append((offset, size, count))
            if self.on_read is not None:
                self.on_read(self)
            return list(self.tasks[offset : offset + size]), len(self.tasks) if count and self.send_total else None


@pytest.mark.parametrize(("count", "reads"), [(0, 1), (249, 1), (250, 1), (251, 3), (500, 4)])
def test_every_task_once_in_order(count, reads):
    pages = Pages(count)
    assert [task["id"] for task in list_tasks(pages)] == [task["id"] for task in pages.tasks]
    assert len(pages.reads) == reads


def test_ten_thousand_tasks_in_parallel_equal_a_sequential_read():
    parallel, sequential = Pages(10_000), Pages(10_000)
    assert list(list_tasks(parallel, concurrency=4)) == list(list_tasks(sequential, concurrency=1)) == parallel.tasks
    assert len(parallel.reads) == 42, "the first page, then pages of 245 new tasks each, and the short one at the end"


def test_without_a_total_pages_are_read_until_a_short_one():
    pages = Pages(600, send_total=False)
    assert list(list_tasks(pages)) == pages.tasks
    assert [offset for offset, _size, _count in pages.reads] == [0, 250 - PAGE_OVERLAP, 495 - PAGE_OVERLAP]


def test_offset_and_limit_count_tasks_not_pages():
    pages = Pages(1000)
    assert [task["id"] for task in list_tasks(pages, offset=10, limit=300)] == [task["id"] for task in pages.tasks[10:310]]
    assert all(offset + size <= 310 for offset, size, _count in pages.reads)


def test_tasks_leaving_the_front_during_a_listing_push_no_task_out():
    pages = Pages(1000)

    def expire_three(listing: Pages) -> None:
        del listing.tasks[:3]

    pages.on_read = expire_three
    seen = [task["id"] for task in list_tasks(pages, concurrency=1)]
    lasting = [task["id"] for task in pages.tasks]
    assert len(pages.reads) > 3 and set(lasting) <= set(seen), "the overlap reads the tasks that moved forward"
    assert len(seen) == len(set(seen)), "repeats from the overlap are dropped"


def test_tasks_added_during_a_listing_are_read_after_the_total():
    pages = Pages(PAGE_SIZE + 10)

    def add_after_first(listing: Pages) -> None:
        if len(listing.reads) == 2:
            listing.tasks.extend({"id": f"new{number}"} for number in range(20))

    pages.on_read = add_after_first
    assert [task["id"] for task in list_tasks(pages)][-20:] == [f"new{number}" for number in range(20)]
