# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Structured task filters: validated against an API version, rendered as ISC filter syntax, or applied locally.

The structured form maps a field to a value (``eq``), a list of values (``in``) or ``None`` (``isnull``)::

    {"type": "CLOUD_ACCOUNT_AGGREGATION", "sourceId": ["a", "b"], "completionStatus": None}

Field names are ISC's (``sourceId``) or their snake_case spelling (``source_id``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ._errors import IscConfigError
from ._versions import ApiVersion, task_definition_type, task_source_id

FIELD_ALIASES = {
    "id": "id",
    "source_id": "sourceId",
    "sourceid": "sourceId",
    "completion_status": "completionStatus",
    "completionstatus": "completionStatus",
    "type": "type",
    "launcher": "launcher",
}

SORTERS = ("created", "-created")
# Ids per ``id in (...)`` filter: keeps the query string short (about 2 KB) and every answer on one page.
IDS_PER_FILTER = 50


def canonical_field(name: str) -> str | None:
    return FIELD_ALIASES.get(name) or FIELD_ALIASES.get(name.lower())


def _operator_for(value: Any) -> str:
    if value is None:
        return "isnull"
    if isinstance(value, (list, tuple)):
        return "in"
    return "eq"


def normalize_structured_filter(structured: Mapping[str, Any], version: ApiVersion, option: str = "filters") -> dict[str, Any]:
    """Check every field and operator against ``version``; return the filter keyed by ISC field names."""
    normalized: dict[str, Any] = {}
    for name, value in structured.items():
        field = canonical_field(str(name))
        allowed = version.filter_fields
        if field is None or field not in allowed:
            raise IscConfigError(
                option,
                f"field '{name}' cannot be filtered on API version {version.name}.",
                f"Use one of: {', '.join(sorted(allowed))}.",
            )
        operator = _operator_for(value)
        if operator not in allowed[field]:
            fix = f"API version {version.name} supports {', '.join(sorted(allowed[field]))} for '{field}'."
            if operator == "isnull":
                fix += " For in-progress tasks use the pending option, or api_version v2025, v2026 or v1."
            raise IscConfigError(option, f"'{field}' cannot be filtered with {operator} on API version {version.name}.", fix)
        if operator == "in":
            if not value:
                raise IscConfigError(option, f"the list of values for '{field}' is empty.", "Give at least one value.")
            values = [_scalar(option, field, item) for item in value]
            normalized[field] = values
        elif operator == "eq":
            normalized[field] = _scalar(option, field, value)
        else:
            normalized[field] = None
    return normalized


def _scalar(option: str, field: str, value: Any) -> str:
    if isinstance(value, (dict, list, tuple)) or value is None:
        raise IscConfigError(option, f"'{field}' values must be strings, got {type(value).__name__}.")
    text = str(value)
    if text == "":
        raise IscConfigError(option, f"'{field}' has an empty value.", "Give a non-empty value, or leave the field out.")
    return text


def quote_value(value: str) -> str:
    """Quote a string for ISC's filter syntax. ``#``, ``%`` and ``&`` are left to URL encoding of the query."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_filter(normalized: Mapping[str, Any]) -> str | None:
    """ISC filter syntax for a normalized structured filter (terms joined with ``and``)."""
    terms = []
    for field, value in normalized.items():
        if value is None:
            terms.append(f"{field} isnull")
        elif isinstance(value, list):
            terms.append(f"{field} in ({','.join(quote_value(item) for item in value)})")
        else:
            terms.append(f"{field} eq {quote_value(value)}")
    return " and ".join(terms) or None


def build_filter(structured: Mapping[str, Any], version: ApiVersion, option: str = "filters") -> str | None:
    return render_filter(normalize_structured_filter(structured, version, option))


def _task_field(task: Mapping[str, Any], field: str) -> Any:
    if field == "sourceId":
        return task_source_id(dict(task))
    if field == "type":
        return task_definition_type(dict(task))
    return task.get(field)


def matches(task: Mapping[str, Any], normalized: Mapping[str, Any]) -> bool:
    """Apply a normalized structured filter to one task locally, comparing strings case-insensitively as ISC does."""
    for field, wanted in normalized.items():
        actual = _task_field(task, field)
        if wanted is None:
            if actual is not None:
                return False
            continue
        if actual is None:
            return False
        candidates = wanted if isinstance(wanted, list) else [wanted]
        if str(actual).casefold() not in {candidate.casefold() for candidate in candidates}:
            return False
    return True


def validate_sorters(sorters: str | None, option: str = "sorters") -> str | None:
    if sorters is None:
        return None
    if sorters not in SORTERS:
        raise IscConfigError(option, f"'{sorters}' is not a supported sorter.", "ISC sorts task status only by created or -created.")
    return sorters


def id_chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    """``ids`` in lists of IDS_PER_FILTER, each one ``id in (...)`` filter."""
    for start in range(0, len(ids), IDS_PER_FILTER):
        yield list(ids[start : start + IDS_PER_FILTER])
