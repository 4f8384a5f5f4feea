# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The clear_stuck_tasks role's decisions and report, as filters (documentation in stuck_tasks_plan.yml and
stuck_tasks_report.yml beside this file)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.sailpoint.isc.plugins.plugin_utils._stuck_tasks import plan, report


def stuck_tasks_plan(settings: Mapping[str, Any], pending: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return plan(settings, pending)


def stuck_tasks_report(
    chosen: Mapping[str, Any], cleared: Mapping[str, Any] | None = None, previous: str | None = None, report_file: str = ""
) -> dict[str, Any]:
    return report(chosen, cleared, previous, report_file)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"stuck_tasks_plan": stuck_tasks_plan, "stuck_tasks_report": stuck_tasks_report}
