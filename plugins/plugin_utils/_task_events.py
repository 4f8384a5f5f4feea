# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Task events for the ``sailpoint.isc.task_events`` event source: the options and the watcher behind it.

``TaskWatcher.poll`` reads one tenant and decides which tasks finished or got stuck since the poll before; the event
source only runs it in a thread, puts the events on the rulebook's queue and waits. No HTTP here: the client does it.

How a finished task is noticed without reading the whole task list at every poll:

- a task seen pending and now gone from the pending list is read back by id (``id in (...)``);
- a task that started and finished between two polls is in the newest part of the list: the finished tasks are read
  newest first (sorted ``-created``) down to ``LOOKBACK`` before the newest task seen so far.

Each finished task is reported once (remembered while it can still be read again) and each stuck task once per run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible_collections.sailpoint.isc.plugins.module_utils._durations import is_older_than, parse_duration, parse_timestamp
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError
from ansible_collections.sailpoint.isc.plugins.module_utils._filters import id_chunks
from ansible_collections.sailpoint.isc.plugins.module_utils._options import CONNECTION_OPTIONS
from ansible_collections.sailpoint.isc.plugins.module_utils._paging import PAGE_SIZE
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import COMPLETION_STATUSES, TASK_DEFINITION_TYPES
from ansible_collections.sailpoint.isc.plugins.plugin_utils._option_values import word_list

KINDS = ("finished", "stuck")
SOURCE_OPTIONS = ("interval", "kinds", "types", "statuses", "stuck_after", "since")
DEFAULT_INTERVAL = 60
DEFAULT_STUCK_AFTER = "6h"
# How far below the newest task seen the finished list is read again: tasks that show up in the list a little
# after their created time are still found.
LOOKBACK = timedelta(minutes=15)


@dataclass(frozen=True)
class EventSettings:
    interval: float = DEFAULT_INTERVAL
    kinds: frozenset[str] = frozenset(KINDS)
    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    stuck_after: timedelta = timedelta(hours=6)
    since: datetime | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any], now: datetime) -> EventSettings:
        """Validate the source's own options; raise IscConfigError naming the option before any request."""
        known = set(SOURCE_OPTIONS) | {option.name for option in CONNECTION_OPTIONS}
        unknown = sorted(name for name in args if name not in known and not str(name).startswith("eda_"))
        if unknown:
            raise IscConfigError(unknown[0], "sailpoint.isc.task_events has no such option.", f"Its options are {', '.join(sorted(known))}.")
        kinds = _choices("kinds", args.get("kinds"), KINDS) or list(KINDS)
        return cls(
            interval=_interval(args.get("interval")),
            kinds=frozenset(kinds),
            types=tuple(_choices("types", args.get("types"), TASK_DEFINITION_TYPES)),
            statuses=tuple(_choices("statuses", args.get("statuses"), COMPLETION_STATUSES)),
            stuck_after=parse_duration(DEFAULT_STUCK_AFTER if args.get("stuck_after") is None else args["stuck_after"], "stuck_after"),
            since=_since(args.get("since"), now),
        )


def _choices(option: str, value: Any, allowed: tuple[str, ...]) -> list[str]:
    """The choices given as a list or as comma-separated text, in the casing of ``allowed``, each once."""
    items = word_list(option, value)
    names = [item.upper() if allowed[0].isupper() else item.lower() for item in items]
    for item, name in zip(items, names, strict=True):
        if name not in allowed:
            raise IscConfigError(option, f"'{item}' is not one of the choices.", f"Use one of: {', '.join(allowed)}.")
    return list(dict.fromkeys(names))


def _interval(value: Any) -> float:
    if value is None:
        return float(DEFAULT_INTERVAL)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if isinstance(value, bool) or not seconds >= 1:
        raise IscConfigError("interval", f"'{value}' is not a number of seconds of 1 or more.", f"Give seconds between polls, such as {DEFAULT_INTERVAL}.")
    return seconds


def _since(value: Any, now: datetime) -> datetime | None:
    """An instant: a timestamp (a YAML date-time arrives as a datetime) or a duration before ``now``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    moment = parse_timestamp(value) if isinstance(value, str) else None
    if moment is not None:
        return moment
    try:
        return now - parse_duration(value, "since")
    except IscConfigError:
        raise IscConfigError(
            "since", f"'{value}' is neither a date and time nor a duration.", "Write 2025-03-08T10:00:00Z, or a duration such as 2h."
        ) from None


def _event(kind: str, task: Mapping[str, Any]) -> dict[str, Any]:
    return {"sailpoint_isc": {"kind": kind, "task": dict(task)}}


class TaskWatcher:
    """Successive reads of one tenant turned into events; ``poll`` runs in a worker thread, one at a time."""

    def __init__(self, client: Any, settings: EventSettings, clock: Callable[[], datetime] | None = None) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.pending: dict[str, dict[str, Any]] = {}
        # Finished tasks already accounted for (reported, or finished before the first poll), by created time.
        self.finished: dict[str, datetime | None] = {}
        self.stuck: set[str] = set()
        self.horizon: datetime | None = None
        self.baselined = False
        self.outbox: list[dict[str, Any]] = []
        # What the finished list is read with, besides ids.
        self.filters = {name: list(values) for name, values in (("type", settings.types), ("completionStatus", settings.statuses)) if values}

    def take_events(self) -> list[dict[str, Any]]:
        events, self.outbox = self.outbox, []
        return events

    def poll(self) -> None:
        """One round of reads. Events go to ``outbox`` as soon as they are decided, so a failing read loses none."""
        now = self.clock()
        type_filter = {"type": list(self.settings.types)} if self.settings.types else {}
        pending = {task["id"]: task for task in self.client.iter_pending_tasks(filters=type_filter or None) if task.get("id")}
        newest = [created for created in map(_created, pending.values()) if created is not None]
        if "finished" in self.settings.kinds:
            newest += self._scan_finished(max(newest, default=None))
            pending.update(self._read_gone(pending))
        if "stuck" in self.settings.kinds:
            self._report_stuck(pending.values(), now)
        self.pending = pending
        self.horizon = max([*newest, *([self.horizon] if self.horizon else [])], default=None)
        self.baselined = True
        if self.horizon is not None:
            floor = self.horizon - LOOKBACK
            self.finished = {task_id: created for task_id, created in self.finished.items() if created is None or created >= floor}

    def _scan_finished(self, newest_pending: datetime | None) -> list[datetime]:
        """Read the finished list newest first, down to the floor, considering each task; return the created times seen."""
        read_all = self.horizon is None and (self.baselined or self.settings.since is not None)
        floor = None if self.horizon is None else self.horizon - LOOKBACK
        seen: list[datetime] = []
        offset = 0
        while True:
            page = list(self.client.iter_tasks(filters=self.filters or None, sorters="-created", offset=offset, limit=PAGE_SIZE))
            if floor is None and not read_all:
                # First poll: nothing older than the newest task then in the tenant, less LOOKBACK, is read again.
                times = [created for created in map(_created, page) if created is not None]
                newest = max([*times, *([newest_pending] if newest_pending else [])], default=None)
                floor = None if newest is None else newest - LOOKBACK
            below = False
            for task in page:
                created = _created(task)
                if floor is not None and not read_all and created is not None and created < floor:
                    below = True
                    continue
                if created is not None:
                    seen.append(created)
                self._consider(task, created)
            if below or len(page) < PAGE_SIZE:
                return seen
            offset += PAGE_SIZE

    def _read_gone(self, pending: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Read back the tasks that left the pending list; return those the list still shows as pending."""
        gone = [task_id for task_id in self.pending if task_id not in pending and task_id not in self.finished]
        still_pending = {}
        for chunk in id_chunks(gone):
            for task in self.client.iter_tasks(filters={"id": chunk, **self.filters}):
                task_id = task.get("id")
                if task_id in gone and task.get("completionStatus") is None:
                    still_pending[task_id] = task
                elif task_id in gone:
                    self._consider(task, _created(task))
        return still_pending

    def _consider(self, task: Mapping[str, Any], created: datetime | None) -> None:
        task_id = task.get("id")
        status = task.get("completionStatus")
        if not task_id or status is None or task_id in self.finished:
            return
        self.finished[task_id] = created
        if self.settings.statuses and str(status).upper() not in self.settings.statuses:
            return
        if not self.baselined:
            completed = parse_timestamp(task.get("completed"))
            # Finished before the source started: reported only when asked for with since.
            if self.settings.since is None or completed is None or completed < self.settings.since:
                return
        self.outbox.append(_event("finished", task))

    def _report_stuck(self, pending: Iterable[Mapping[str, Any]], now: datetime) -> None:
        for task in pending:
            if task["id"] not in self.stuck and is_older_than(task, self.settings.stuck_after, now):
                self.stuck.add(task["id"])
                self.outbox.append(_event("stuck", task))


def _created(task: Mapping[str, Any]) -> datetime | None:
    return parse_timestamp(task.get("created"))
