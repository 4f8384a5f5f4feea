# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""The decisions and the report of the clear_stuck_tasks role, so the role only orchestrates.

``plan`` checks the role's settings (any casing, comma-separated text from AWX surveys) and, given the pending
tasks ``task_status_info`` listed, picks the stuck ones and applies the cap. ``report`` turns what the modules
answered into the report and a short summary. Errors are data (``error``), never raised: the role ends with one
line naming the cause and the fix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.sailpoint.isc.plugins.module_utils._apply import GUARD_MODES
from ansible_collections.sailpoint.isc.plugins.module_utils._desired_state import normalize_completion_status
from ansible_collections.sailpoint.isc.plugins.module_utils._durations import format_duration, parse_duration, stalest_first, task_age
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError
from ansible_collections.sailpoint.isc.plugins.module_utils._summary import task_label
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import TASK_DEFINITION_TYPES
from ansible_collections.sailpoint.isc.plugins.plugin_utils._option_values import word_list


def _boolean(name: str, value: Any) -> bool:
    # An empty value (an AWX survey field left blank) is false; ansible's boolean() refuses it.
    if isinstance(value, str) and not value.strip():
        return False
    try:
        return boolean(value)
    except TypeError:
        raise IscConfigError(name, f"'{value}' is not a boolean.", "Use true or false.") from None


MODULE_RESULTS_POINTER = "Each task's outcome is in results."
REPORT_POINTER = "Each task's outcome is in the report's failed list (the clear_stuck_tasks_report fact, the JSON report file)."


def _directory_exists(path: str) -> bool:
    return os.path.isdir(os.path.dirname(os.path.abspath(path)))


def _count(name: str, value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise IscConfigError(name, f"'{value}' is not a whole number.", "Give 0 or more.") from None
    if number < 0:
        raise IscConfigError(name, f"{number} is negative.", "Give 0 or more.")
    return number


def _settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The role's settings, checked; raises IscConfigError naming the role variable."""
    older_than = str(raw.get("older_than") or "").strip()
    parse_duration(older_than, "clear_stuck_tasks_older_than")
    types = [name.upper() for name in word_list("clear_stuck_tasks_types", raw.get("types"))]
    unknown = [name for name in types if name not in TASK_DEFINITION_TYPES]
    if unknown:
        raise IscConfigError("clear_stuck_tasks_types", f"'{unknown[0]}' is not a task type.", f"Use some of: {', '.join(TASK_DEFINITION_TYPES)}.")
    status = normalize_completion_status(str(raw.get("completion_status") or ""), "clear_stuck_tasks_completion_status")
    guard = str(raw.get("guard") or "auto").strip().lower()
    if guard not in GUARD_MODES:
        raise IscConfigError("clear_stuck_tasks_guard", f"'{raw.get('guard')}' is not a guard mode.", "Use auto, always or never.")
    sources = word_list("clear_stuck_tasks_sources", raw.get("sources"))
    report_file = str(raw.get("report_file") or "")
    if report_file and not _directory_exists(report_file):
        raise IscConfigError(
            "clear_stuck_tasks_report_file", f"the directory of {report_file} does not exist.", "Create it, or leave the option empty for no file."
        )
    filters = {name: values for name, values in (("type", types), ("sourceId", sources)) if values}
    return {
        "older_than": older_than,
        "types": types,
        "sources": sources,
        "completion_status": status,
        "guard": guard,
        "max": _count("clear_stuck_tasks_max", raw.get("max")),
        "dry_run": _boolean("clear_stuck_tasks_dry_run", raw.get("dry_run")) or _boolean("check mode", raw.get("check_mode", False)),
        "filters": filters,
    }


def _row(task: Mapping[str, Any], stuck: bool, now: datetime) -> dict[str, Any]:
    idle = task_age(task, now)
    return {
        "id": task.get("id"),
        "name": task_label(dict(task), str(task.get("id"))),
        "source": (task.get("target") or {}).get("name"),
        "no_progress_for": format_duration(idle) if idle is not None else None,
        "stuck": stuck,
    }


def plan(raw: Mapping[str, Any], pending: Mapping[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The checked settings; with ``pending`` (task_status_info's result), also the stuck tasks and the cap check."""
    try:
        settings = _settings(raw)
    except IscConfigError as err:
        return {"error": str(err)}
    if pending is None:
        return {**settings, "error": None}
    if "tasks" not in pending:
        return {**settings, "error": pending.get("msg") or "Listing the pending tasks failed."}
    now = now or datetime.now(UTC)
    tasks = list(pending["tasks"])
    stuck = stalest_first(tasks, parse_duration(settings["older_than"]), None, now)
    stuck_ids = [task["id"] for task in stuck]
    rows = [_row(task, True, now) for task in stuck] + [_row(task, False, now) for task in stalest_first(tasks, None, None, now) if task["id"] not in stuck_ids]
    error = None
    if len(stuck) > settings["max"]:
        error = (
            f"{len(stuck)} tasks have shown no progress for more than {settings['older_than']}, more than clear_stuck_tasks_max "
            f"({settings['max']}). Nothing was changed. Check them, then raise clear_stuck_tasks_max for the run that should clear them."
        )
    started_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**settings, "error": error, "stuck_ids": stuck_ids, "pending": len(tasks), "rows": rows, "started_at": started_at}


def report(chosen: Mapping[str, Any], cleared: Mapping[str, Any] | None = None, previous: str | None = None, report_file: str = "") -> dict[str, Any]:
    """The role's report from its plan and task_status's result: ``report`` (with ``summary``, the lines to show),
    ``file_content`` (the JSON report file's text) and ``write_file``: whether ``report_file`` is asked for, can be
    written, and would differ from ``previous`` (its last text) other than in its timestamp."""
    outcomes = [] if not cleared or cleared.get("skipped") else list(cleared.get("results") or [])
    failed = [outcome for outcome in outcomes if outcome.get("failed")]
    error = chosen.get("error")
    if error is None and cleared and not cleared.get("skipped") and ("results" not in cleared or failed):
        # A whole failure (no results: authentication, network) or some tasks failed: the module's message says which.
        # It points its own users at its results; the role's operator finds each task in this report instead.
        error = str(cleared.get("msg") or "").replace(MODULE_RESULTS_POINTER, REPORT_POINTER) or None
    names = {row["id"]: row for row in chosen.get("rows", [])}
    result = {
        "dry_run": bool(chosen.get("dry_run")),
        "started_at": chosen.get("started_at") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "older_than": chosen.get("older_than"),
        "types": chosen.get("types", []),
        "sources": chosen.get("sources", []),
        "completion_status": chosen.get("completion_status"),
        "pending": chosen.get("pending", 0),
        "found": len(chosen.get("stuck_ids", [])),
        "cleared": [outcome["id"] for outcome in outcomes if outcome.get("changed")],
        "left_alone": [outcome["id"] for outcome in outcomes if outcome.get("left_alone")],
        "failed": [{"id": outcome["id"], "name": outcome.get("name"), "msg": outcome.get("msg", "")} for outcome in failed],
        "count": sum(1 for outcome in outcomes if outcome.get("changed")),
        "error": error,
        "tasks": chosen.get("rows", []),
    }
    return {
        "report": {**result, "summary": _summary(result, names)},
        "file_content": json.dumps(result, indent=2) + "\n",
        "write_file": bool(report_file) and _directory_exists(report_file) and _differs(result, previous),
    }


def _summary(result: Mapping[str, Any], rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    def described(task_id: str) -> str:
        row = rows.get(task_id, {})
        idle = f", no progress for {row['no_progress_for']}" if row.get("no_progress_for") else ""
        return f"{row.get('name', task_id)} ({task_id}){idle}"

    if result["error"] and not result["cleared"]:
        return [f"Failed, nothing was changed: {result['error']}"]
    if result["found"] == 0:
        return [f"Nothing to clear: no task has been without progress for {result['older_than']} ({result['pending']} pending)."]
    verb = "Dry run, nothing changed: would clear" if result["dry_run"] else "Cleared"
    lines = [
        f"{verb} {result['count']} of {result['found']} tasks with no progress for {result['older_than']} (of {result['pending']} pending), "
        f"setting {result['completion_status']}."
    ]
    lines += [f"  {'would clear' if result['dry_run'] else 'cleared'} {described(task_id)}" for task_id in result["cleared"]]
    lines += [f"  left alone (it finished meanwhile): {described(task_id)}" for task_id in result["left_alone"]]
    if result["failed"]:
        # task_status's own message: one sentence per cause, with a count.
        lines.append(f"  failed: {result['error']}")
    return lines


def _differs(new: Mapping[str, Any], previous_text: str | None) -> bool:
    """Whether ``new`` differs from the report file's last content, its timestamp aside."""
    try:
        previous = json.loads(previous_text) if previous_text else None
    except ValueError:
        return True
    # started_at changes on every run whatever the tenant does.
    return not isinstance(previous, dict) or {**previous, "started_at": None} != {**new, "started_at": None}
