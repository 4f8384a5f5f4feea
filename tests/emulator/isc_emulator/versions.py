"""What each task-status API version offers, read from the vendor spec subsets in specs/ when the module loads.

Nothing here is written by hand from a reading of the API: paths come from each spec's `servers` and `paths`,
whether the version has pending-tasks from its paths, whether the list covers in-progress tasks from the list's
description ("statuses for **all** tasks" or "**completed** tasks"), the filterable fields and operators, the
`type` filter's values and the sorters from the `filters` and `sorters` parameter descriptions, the enums from
the TaskStatus schema. The collection's own table (plugins/module_utils/_versions.py) stays hand-written; a unit
test compares the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

SPEC_DIR = Path(__file__).resolve().parent / "specs"
_SPEC_NAME = re.compile(r"task-management\.(?P<version>[a-z0-9]+)\.yaml\Z")
_FIELD_OPERATORS = re.compile(r"\*\*(?P<field>[A-Za-z]+)\*\*: \*(?P<operators>[a-z]+(?:, [a-z]+)*)\*")
_POSSIBLE_VALUES = re.compile(r"\*\*Possible Values:\*\*(?P<values>[A-Z0-9_,\s]+)")
_SORT_FIELDS = re.compile(r"Sorting is supported for the following fields: (?P<fields>.+)")
_LIST_SCOPE = re.compile(r"statuses for \*\*(?P<scope>all|completed)\*\* tasks")


class SpecError(ValueError):
    """A spec subset does not say what the emulator needs to know, in the form it expects."""


@dataclass(frozen=True)
class ApiVersion:
    name: str
    # Path of the list endpoint; get/PATCH by id live at f"{list_path}/{id}".
    list_path: str
    has_pending_endpoint: bool
    list_includes_in_progress: bool
    filter_fields: dict[str, frozenset[str]] = field(default_factory=dict)
    spec_file: str = ""
    # The spec's server path ("/beta", "" for v1): spec paths are relative to it.
    base_path: str = ""
    sorters: frozenset[str] = frozenset()
    # Values the spec lists for the `type` filter (empty when it lists none).
    type_values: tuple[str, ...] = ()


@cache
def load_spec(spec_file: str) -> dict[str, Any]:
    """One spec subset, parsed (shared by the table here and request validation)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((SPEC_DIR / spec_file).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader


def _version_order(name: str) -> tuple[int, str]:
    # beta, then the yearly versions in order, then the per-service versions (v1).
    return (0 if name == "beta" else 1 if re.fullmatch(r"v20\d\d", name) else 2, name)


def _parameter(operation: dict[str, Any], spec: dict[str, Any], name: str) -> dict[str, Any] | None:
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        if parameter.get("in") == "query" and parameter.get("name") == name:
            return parameter
    return None


def _list_operation(spec: dict[str, Any], spec_file: str) -> tuple[str, dict[str, Any]]:
    for path, item in spec["paths"].items():
        operation = item.get("get") or {}
        if operation.get("operationId", "").startswith("getTaskStatusList"):
            return path, operation
    raise SpecError(f"{spec_file}: no getTaskStatusList operation")


def _filter_fields(description: str, spec_file: str) -> dict[str, frozenset[str]]:
    fields = {match["field"]: frozenset(match["operators"].split(", ")) for match in _FIELD_OPERATORS.finditer(description)}
    if not fields:
        raise SpecError(f"{spec_file}: the filters description lists no '**field**: *operators*' pairs")
    return fields


def _derive(spec_file: str) -> ApiVersion:
    name = _SPEC_NAME.match(spec_file)["version"]  # type: ignore[index]
    spec = load_spec(spec_file)
    base_path = urlsplit(spec["servers"][0]["url"].replace("{", "").replace("}", "")).path.rstrip("/")
    list_path, operation = _list_operation(spec, spec_file)
    scope = _LIST_SCOPE.search(operation.get("description", ""))
    if scope is None:
        raise SpecError(f"{spec_file}: the list description says neither **all** nor **completed** tasks")
    filters = _parameter(operation, spec, "filters")
    sorters = _parameter(operation, spec, "sorters")
    if filters is None or sorters is None:
        raise SpecError(f"{spec_file}: the list operation has no filters or sorters parameter")
    values = _POSSIBLE_VALUES.search(filters["description"])
    sort_fields = _SORT_FIELDS.search(sorters["description"])
    if sort_fields is None:
        raise SpecError(f"{spec_file}: the sorters description names no fields")
    sortable = re.findall(r"\*\*([A-Za-z]+)\*\*", sort_fields["fields"])
    return ApiVersion(
        name=name,
        list_path=base_path + list_path,
        has_pending_endpoint=f"{list_path}/pending-tasks" in spec["paths"],
        list_includes_in_progress=scope["scope"] == "all",
        filter_fields=_filter_fields(filters["description"], spec_file),
        spec_file=spec_file,
        base_path=base_path,
        sorters=frozenset(sortable) | frozenset(f"-{name}" for name in sortable),
        type_values=tuple(value.strip() for value in values["values"].split(",")) if values else (),
    )


def _derive_all() -> dict[str, ApiVersion]:
    files = [path.name for path in SPEC_DIR.glob("task-management.*.yaml") if _SPEC_NAME.match(path.name)]
    versions = [_derive(spec_file) for spec_file in files]
    if not versions:
        raise SpecError(f"no task-management.*.yaml spec subsets in {SPEC_DIR}")
    return {version.name: version for version in sorted(versions, key=lambda version: _version_order(version.name))}


def _schema_enum(schema_field: str) -> tuple[str, ...]:
    """The non-null values of a TaskStatus enum, identical in every spec (else the specs disagree: an error)."""
    found = set()
    for version in API_VERSIONS.values():
        enum = load_spec(version.spec_file)["components"]["schemas"]["TaskStatus"]["properties"][schema_field]["enum"]
        found.add(tuple(value for value in enum if value is not None))
    if len(found) != 1:
        raise SpecError(f"the specs disagree on TaskStatus.{schema_field}: {sorted(found)}")
    return found.pop()


API_VERSIONS: dict[str, ApiVersion] = _derive_all()

COMPLETION_STATUSES = _schema_enum("completionStatus")
TASK_STATUS_TYPES = _schema_enum("type")

# Task-definition names accepted by the `type` filter (on every version): every value any spec lists, in the order
# first listed. beta and v2024 list none; the newer specs list more than v2025.
TASK_DEFINITION_TYPES = tuple(dict.fromkeys(value for version in API_VERSIONS.values() for value in version.type_values))


def definition_title(definition_type: str) -> str:
    """The name shown as taskDefinitionSummary.uniqueName: CLOUD_ACCOUNT_AGGREGATION -> Cloud Account Aggregation.

    Not vendor-documented: the one pair the specs show is the example uniqueName "Cloud Account Aggregation"
    beside the filter value CLOUD_ACCOUNT_AGGREGATION.
    """
    return definition_type.replace("_", " ").title()


def version_for_path(path: str) -> ApiVersion | None:
    for version in API_VERSIONS.values():
        if path == version.list_path or path.startswith(version.list_path + "/"):
            return version
    return None
