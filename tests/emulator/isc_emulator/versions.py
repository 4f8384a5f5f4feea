"""What each task-status API version offers (sailpoint-task-api.md, sections 1 and 1.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

EQ_IN = frozenset({"eq", "in"})
EQ_IN_ISNULL = frozenset({"eq", "in", "isnull"})


@dataclass(frozen=True)
class ApiVersion:
    name: str
    # Path of the list endpoint; get/PATCH by id live at f"{list_path}/{id}".
    list_path: str
    has_pending_endpoint: bool
    list_includes_in_progress: bool
    filter_fields: dict[str, frozenset[str]] = field(default_factory=dict)
    spec_file: str = ""


_LEGACY_FIELDS = {"id": EQ_IN, "sourceId": EQ_IN, "completionStatus": EQ_IN, "type": EQ_IN}
_V2025_FIELDS = {**_LEGACY_FIELDS, "completionStatus": EQ_IN_ISNULL}
_CURRENT_FIELDS = {**_V2025_FIELDS, "launcher": EQ_IN}

API_VERSIONS: dict[str, ApiVersion] = {
    "beta": ApiVersion("beta", "/beta/task-status", True, False, _LEGACY_FIELDS, "task-management.beta.yaml"),
    "v2024": ApiVersion("v2024", "/v2024/task-status", True, False, _LEGACY_FIELDS, "task-management.v2024.yaml"),
    "v2025": ApiVersion("v2025", "/v2025/task-status", True, True, _V2025_FIELDS, "task-management.v2025.yaml"),
    "v2026": ApiVersion("v2026", "/v2026/task-status", False, True, _CURRENT_FIELDS, "task-management.v2026.yaml"),
    "v1": ApiVersion("v1", "/task-status/v1", False, True, _CURRENT_FIELDS, "task-management.v1.yaml"),
}

COMPLETION_STATUSES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR")
TASK_STATUS_TYPES = ("QUARTZ", "QPOC", "QUEUED_TASK")

# Task-definition names accepted by the `type` filter: the union of the values the v2025 and v2026/v1 specs list.
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


def definition_title(definition_type: str) -> str:
    """The name shown as taskDefinitionSummary.uniqueName: CLOUD_ACCOUNT_AGGREGATION -> Cloud Account Aggregation."""
    return definition_type.replace("_", " ").title()


def version_for_path(path: str) -> ApiVersion | None:
    for version in API_VERSIONS.values():
        if path == version.list_path or path.startswith(version.list_path + "/"):
            return version
    return None
