# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Tasks named as people know them, and one line per cause for the failures of a run over many tasks.

A 403 repeated over 50 tasks is one line with a count ("HTTP 403 on 50 of 50 tasks (...): ...") instead of 50
copies of the same message; each task's own message stays in the module's ``results``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._durations import format_duration, task_age
from ._errors import IscApiError, IscError

NAMES_SHOWN = 3


def task_label(task: Mapping[str, Any] | None, fallback: str) -> str:
    """``Cloud Account Aggregation on Workday [source]``, or ``fallback`` (such as the id) for a task never read."""
    if not task:
        return fallback
    name = (task.get("taskDefinitionSummary") or {}).get("uniqueName") or task.get("uniqueName") or fallback
    target = (task.get("target") or {}).get("name")
    return f"{name} on {target}" if target else name


def describe_task(task_id: str, task: Mapping[str, Any] | None = None) -> str:
    """``Cloud Account Aggregation on Workday [source] (id)``, and for a pending task how long it has shown no progress."""
    text = f"{task_label(task, 'task')} ({task_id})"
    idle = task_age(task) if task and task.get("completionStatus") is None else None
    return text if idle is None else f"{text}, no progress for {format_duration(idle)}"


def _cause(error: IscError | None, msg: str) -> tuple[Any, ...]:
    if isinstance(error, IscApiError):
        return (type(error), error.status, error.detail_code, error.error_text)
    return (type(error), error.message) if error is not None else (None, msg)


def _describe_cause(error: IscError | None, msg: str) -> tuple[str, str]:
    """A short label (``HTTP 403``) and what to say about it, without anything that names one task."""
    if isinstance(error, IscApiError):
        text = (error.error_text or "").rstrip(". ")
        detail = f"detailCode '{error.detail_code}'" if error.detail_code else ""
        said = ": ".join(part for part in (detail, text) if part)
        return f"HTTP {error.status}", ". ".join(part for part in (said, error.hint or "") if part)
    return "failed", msg


def _names(labels: Sequence[str]) -> str:
    distinct = list(dict.fromkeys(labels))
    shown = ", ".join(distinct[:NAMES_SHOWN])
    return shown + (f" and {len(distinct) - NAMES_SHOWN} more" if len(distinct) > NAMES_SHOWN else "")


def failure_summary(failures: Iterable[tuple[str, dict[str, Any] | None, str, IscError | None]], total: int) -> str:
    """One sentence per cause: ``(task id, task, message, error)`` of each failed task, of ``total`` tasks in all."""
    groups: dict[tuple[Any, ...], list[tuple[str, dict[str, Any] | None, str, IscError | None]]] = {}
    for failure in failures:
        groups.setdefault(_cause(failure[3], failure[2]), []).append(failure)
    sentences = []
    for members in groups.values():
        task_id, _task, msg, error = members[0]
        if len(members) == 1:
            sentences.append(msg)
            continue
        label, said = _describe_cause(error, msg)
        names = _names([task_label(task, member_id) for member_id, task, _msg, _error in members])
        sentences.append(f"{label} on {len(members)} of {total} tasks ({names}): {said}".rstrip(": "))
    return " ".join(sentence if sentence.endswith(".") else sentence + "." for sentence in sentences)
