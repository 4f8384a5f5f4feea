# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""The task-status calls: one task, a change to one task, the list, the count and the pending tasks.

Knows nothing of AnsibleModule: modules, the lookup and the event source build a ``ClientConfig`` from their options
and pass a ``warn`` callable. Each API version's paths and filters come from ``_versions``; HTTP from ``_transport``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from ._errors import IscApiError, IscConfigError, IscResponseError
from ._filters import build_filter, matches, normalize_structured_filter, validate_sorters
from ._paging import Task, list_tasks, take
from ._settings import ClientConfig
from ._transport import Transport, Warn, json_body
from ._versions import API_VERSIONS, ApiVersion

# Segments below /task-status that name other endpoints, not tasks.
RESERVED_PATH_SEGMENTS = frozenset({"pending-tasks"})
TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def validate_task_id(task_id: Any, option: str = "id") -> str:
    """An id usable as one path segment below task-status: not a name ISC gives another endpoint there."""
    if not isinstance(task_id, str) or not TASK_ID_PATTERN.match(task_id) or ".." in task_id or task_id.lower() in RESERVED_PATH_SEGMENTS:
        raise IscConfigError(
            option,
            f"{task_id!r} is not a task id.",
            "Task ids are letters, digits, '-', '_', '.' or ':' (for example 2c9180835d2e5168015d32f890ca1581); to list pending tasks use "
            "sailpoint.isc.task_status_info with pending: true.",
        )
    return task_id


class IscClient:
    """ISC's task-status API on one tenant and one API version."""

    def __init__(self, config: ClientConfig, warn: Warn | None = None, page_concurrency: int = 4) -> None:
        self.config = config
        self.version: ApiVersion = API_VERSIONS[config.api_version]
        self.page_concurrency = max(1, page_concurrency)
        self.transport = Transport(config, warn, pool_size=max(10, self.page_concurrency * 2))

    def get_task(self, task_id: str) -> Task | None:
        """The task, or ``None`` when ISC does not know it (404)."""
        path = self.version.task_path(validate_task_id(task_id))
        try:
            return json_body(self.transport.request("GET", path), "GET", path)
        except IscApiError as err:
            if err.status == 404:
                return None
            raise

    def patch_task(self, task_id: str, operations: list[dict[str, Any]]) -> Task:
        path = self.version.task_path(validate_task_id(task_id))
        response = self.transport.request("PATCH", path, json_body=operations, content_type="application/json-patch+json")
        body = json_body(response, "PATCH", path)
        if not isinstance(body, dict) or "id" not in body:
            raise IscResponseError(f"ISC API PATCH {path} did not answer with the updated task.")
        return body

    def iter_tasks(
        self, filters: Mapping[str, Any] | str | None = None, sorters: str | None = None, offset: int = 0, limit: int | None = None
    ) -> Iterator[Task]:
        """Every task the list endpoint returns for these filters, each once, in the service's order."""
        # Oldest first unless asked otherwise: new tasks then land after the pages already read, so offsets stay stable.
        params = {"filters": self._filter_param(filters), "sorters": validate_sorters(sorters) or "created"}
        return self._list(self.version.list_path, params, offset, limit)

    def count_tasks(self, filters: Mapping[str, Any] | str | None = None) -> int:
        params = {"count": "true", "limit": 1, "filters": self._filter_param(filters)}
        path = self.version.list_path
        return _total(self.transport.request("GET", path, params={key: value for key, value in params.items() if value}), path)

    def iter_pending_tasks(self, filters: Mapping[str, Any] | None = None, limit: int | None = None) -> Iterator[Task]:
        """In-progress tasks: the list filtered on ``completionStatus isnull`` with the other filters sent to ISC, or on
        beta and v2024, whose list has finished tasks only, the deprecated pending-tasks endpoint (no filters there)."""
        if isinstance(filters, str):
            raise IscConfigError("filters", "a raw filter string cannot be combined with pending.", "Give filters in the structured form (a dictionary).")
        if self.version.list_includes_in_progress:
            params = {"filters": self._filter_param(filters, {"completionStatus": None}), "sorters": "created"}
            return self._list(self.version.list_path, params, 0, limit)
        normalized = normalize_structured_filter(filters or {}, self.version)
        tasks = self._list(self.version.pending_path, {}, 0, None if normalized else limit)
        return take((task for task in tasks if matches(task, normalized)), limit) if normalized else tasks

    def count_pending_tasks(self, filters: Mapping[str, Any] | None = None) -> int:
        if self.version.list_includes_in_progress:
            return self.count_tasks(self._filter_param(filters, {"completionStatus": None}))
        if not filters:
            response = self.transport.request("HEAD", self.version.pending_path, params={"count": "true"})
            return 0 if response.status_code == 204 else _total(response, self.version.pending_path)
        return sum(1 for _task in self.iter_pending_tasks(filters))

    def _filter_param(self, filters: Mapping[str, Any] | str | None, extra: Mapping[str, Any] | None = None) -> str | None:
        if isinstance(filters, str):
            if extra:
                rendered = build_filter(extra, self.version)
                return f"({filters}) and {rendered}" if filters.strip() else rendered
            return filters.strip() or None
        structured = {**(filters or {}), **(extra or {})}
        return build_filter(structured, self.version) if structured else None

    def _list(self, path: str, params: Mapping[str, Any], offset: int, limit: int | None) -> Iterator[Task]:
        read_page = partial(self._page, path, {key: value for key, value in params.items() if value is not None})
        return list_tasks(read_page, offset, limit, self.page_concurrency)

    def _page(self, path: str, params: Mapping[str, Any], offset: int, size: int, count: bool) -> tuple[list[Task], int | None]:
        page_params = {**params, "limit": size, "offset": offset, **({"count": "true"} if count else {})}
        try:
            response = self.transport.request("GET", path, params=page_params)
        except IscApiError as err:
            # Some ISC collections answer a request just past the last full page with "offset is invalid".
            if err.status == 400 and offset > 0 and "offset" in (err.error_text or "").lower():
                return [], None
            raise
        if response.status_code == 204 or not response.content:
            return [], 0 if count else None
        body = json_body(response, "GET", path)
        if not isinstance(body, list):
            raise IscResponseError(f"ISC API GET {path} answered with {type(body).__name__}, not a list of tasks.")
        return body, _total(response, path) if count and "X-Total-Count" in response.headers else None


def _total(response: Any, path: str) -> int:
    header = response.headers.get("X-Total-Count")
    if header is None:
        if response.status_code == 204:
            return 0
        raise IscResponseError(f"ISC API {path} sent no X-Total-Count although count=true was asked.")
    try:
        return int(header)
    except ValueError:
        raise IscResponseError(f"ISC API {path} sent a non-numeric X-Total-Count ({header!r}).") from None
