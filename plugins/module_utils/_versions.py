# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""What each ISC API version offers for task status: paths and capabilities."""

from __future__ import annotations

from dataclasses import dataclass, field

EQ_IN = frozenset({"eq", "in"})
EQ_IN_ISNULL = frozenset({"eq", "in", "isnull"})


@dataclass(frozen=True)
class ApiVersion:
    name: str
    list_path: str
    has_pending_endpoint: bool
    list_includes_in_progress: bool
    filter_fields: dict[str, frozenset[str]] = field(default_factory=dict)

    def task_path(self, task_id: str) -> str:
        return f"{self.list_path}/{task_id}"

    @property
    def pending_path(self) -> str:
        return f"{self.list_path}/pending-tasks"


_COMMON_FIELDS = {"id": EQ_IN, "sourceId": EQ_IN, "type": EQ_IN}

API_VERSIONS: dict[str, ApiVersion] = {
    "beta": ApiVersion("beta", "/beta/task-status", True, False, {**_COMMON_FIELDS, "completionStatus": EQ_IN}),
    "v2024": ApiVersion("v2024", "/v2024/task-status", True, False, {**_COMMON_FIELDS, "completionStatus": EQ_IN}),
    "v2025": ApiVersion("v2025", "/v2025/task-status", True, True, {**_COMMON_FIELDS, "completionStatus": EQ_IN_ISNULL}),
    "v2026": ApiVersion("v2026", "/v2026/task-status", False, True, {**_COMMON_FIELDS, "completionStatus": EQ_IN_ISNULL, "launcher": EQ_IN}),
    "v1": ApiVersion("v1", "/task-status/v1", False, True, {**_COMMON_FIELDS, "completionStatus": EQ_IN_ISNULL, "launcher": EQ_IN}),
}

# /task-status/v1: the per-service version SailPoint's current SDK calls, and not deprecated.
DEFAULT_API_VERSION = "v1"

COMPLETION_STATUSES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR")

# Task-definition names the ``type`` filter takes (v2025 list plus the v2026/v1 additions).
TASK_DEFINITION_TYPES = (
    "CLOUD_ACCOUNT_AGGREGATION",
    "CLOUD_GROUP_AGGREGATION",
    "CLOUD_PROCESS_UNCORRELATED_ACCOUNTS",
    "CLOUD_REFRESH_ROLE",
    "SOURCE_APPLICATION_DISCOVERY",
    "AI_AGENT_AGGREGATION",
    "APPLICATION_DISCOVERY",
    "MACHINE_IDENTITY_AGGREGATION",
    "MACHINE_IDENTITY_DELETION",
    "ACCOUNT_DELETION",
    "CLOUD_ENTITLEMENT_IMPORT",
    "CLOUD_UNCORRELATED_REFRESH",
    "CLOUD_IDENTITY_AGGREGATION",
    "CLOUD_ATTRIBUTE_SYNCHRONIZATION",
    "IDENTITY_REFRESH",
)


def task_definition_type(task: dict) -> str | None:
    """The task-definition name a ``type`` filter matches, derived from ``taskDefinitionSummary.uniqueName``.

    ISC does not document which response field the ``type`` filter matches; the definition's unique name
    ("Cloud Account Aggregation") upper-cased with underscores is the closest documented field.
    """
    summary = task.get("taskDefinitionSummary") or {}
    unique_name = summary.get("uniqueName")
    if not unique_name:
        return None
    return "_".join(unique_name.upper().split())


def task_source_id(task: dict) -> str | None:
    """The source a task works on: its target when the target is an APPLICATION (source)."""
    target = task.get("target") or {}
    if target.get("type") == "APPLICATION":
        return target.get("id")
    return None
