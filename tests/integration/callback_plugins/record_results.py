# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Test infrastructure only (not shipped in the collection tarball).

"""Record every task result as one JSON line, so pytest can assert on what modules returned.

Enabled by the integration harness (tests/integration/conftest.py) with
ANSIBLE_CALLBACK_PLUGINS=<this directory>, ANSIBLE_CALLBACKS_ENABLED=record_results and
ISC_TEST_RESULTS_FILE=<path of the JSON-lines file to append to>. Without ISC_TEST_RESULTS_FILE it does nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: record_results
type: aggregate
short_description: Write each task result as a JSON line to the file named by ISC_TEST_RESULTS_FILE
description:
  - Test infrastructure of the sailpoint.isc integration tests.
options: {}
"""

RESULTS_FILE_ENV = "ISC_TEST_RESULTS_FILE"


def _message_text(summary: Any) -> str:
    """The text of a warning/deprecation/exception summary (ansible-core 2.19+ objects) or a plain string."""
    event = getattr(summary, "event", None)
    message = getattr(event, "msg", None)
    if message is not None:
        return str(message)
    if isinstance(summary, dict) and "msg" in summary:
        return str(summary["msg"])
    return str(summary)


def _plain(result: Any) -> dict[str, Any]:
    """A JSON-safe copy of a result, without Ansible's internal ``_ansible_*`` keys."""
    if not isinstance(result, dict):
        return {"value": result}
    return {key: value for key, value in result.items() if not str(key).startswith("_ansible_")}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._path = os.environ.get(RESULTS_FILE_ENV)

    def _record(self, status: str, result: Any, **extra: Any) -> None:
        if not self._path:
            return
        task = result.task if hasattr(result, "task") else result._task
        host = result.host if hasattr(result, "host") else result._host
        data = result.result if hasattr(result, "result") else result._result
        # The stdout callback may already have popped these from the shared result dict; the properties
        # read the original data.
        warnings = [_message_text(item) for item in getattr(result, "warnings", None) or data.get("warnings") or []]
        deprecations = [_message_text(item) for item in getattr(result, "deprecations", None) or data.get("deprecations") or []]
        exception = getattr(result, "exception", None) or data.get("exception")
        record_result = _plain(data)
        record_result.pop("warnings", None)
        record_result.pop("deprecations", None)
        record_result.pop("exception", None)
        if warnings:
            record_result["warnings"] = warnings
        if deprecations:
            record_result["deprecations"] = deprecations
        if exception:
            record_result["exception"] = _message_text(exception)
        # As a registered variable would show them (the callback's copy may lack these flags).
        if status == "skipped":
            record_result.setdefault("skipped", True)
        elif status == "failed":
            record_result.setdefault("failed", True)
        record = {
            "task": task.get_name(),
            "name": task.name or "",
            "action": task.action,
            "host": host.get_name(),
            "status": status,
            "result": record_result,
        }
        record.update(extra)
        line = json.dumps(record, default=str, ensure_ascii=False)
        with open(self._path, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")

    def v2_runner_on_ok(self, result: Any) -> None:
        data = result.result if hasattr(result, "result") else result._result
        self._record("changed" if data.get("changed") else "ok", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record("failed", result, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record("skipped", result)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record("unreachable", result)
