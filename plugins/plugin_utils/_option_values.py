# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Option values typed by hand (``-e``, an AWX survey, a rulebook), for the role's filters and the event source."""

from __future__ import annotations

from typing import Any

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError


def word_list(option: str, value: Any) -> list[str]:
    """A list as given, or comma-separated text whose empty parts are dropped; None is the empty list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        raise IscConfigError(option, f"expected a list, got {type(value).__name__}.", "Give a list, or a comma-separated string.")
    items = [str(item).strip() for item in value]
    if not all(items):
        raise IscConfigError(option, "an entry of the list is empty.", "Remove it, or leave the option out.")
    return items
