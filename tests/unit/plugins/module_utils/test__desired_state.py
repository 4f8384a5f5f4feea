# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""task_status's options and raw patches checked, and values compared as ISC means them."""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._desired_state import (
    normalize_completion_status,
    normalize_timestamp,
    validate_raw_patch,
    values_equivalent,
)
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError
from ansible_collections.sailpoint.isc.tests.unit.task_state_fakes import COMPLETION_STATUSES, NOW_TEXT

# --- values --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given_status", ["error", "Error", "ERROR", " eRRor "])
def test_completion_status_accepts_any_casing_and_sends_upper_case(given_status):
    assert normalize_completion_status(given_status) == "ERROR"


def test_unknown_completion_status_names_option_and_choices():
    with pytest.raises(IscConfigError) as caught:
        normalize_completion_status("Completed")
    assert caught.value.option == "completion_status"
    assert "'Completed'" in str(caught.value)
    assert all(status in str(caught.value) for status in COMPLETION_STATUSES)


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("2024-05-17T19:33:16.470Z", NOW_TEXT),
        ("2024-05-17T21:33:16.470+02:00", NOW_TEXT),
        ("2024-05-17 19:33:16.470000+00:00", NOW_TEXT),
        ("2024-05-17T19:33:16.4701Z", NOW_TEXT),
        ("2024-05-17T19:33:16", "2024-05-17T19:33:16.000Z"),
        ("2024-05-17", "2024-05-17T00:00:00.000Z"),
    ],
)
def test_completed_is_sent_as_utc_with_milliseconds(given_text, expected):
    assert normalize_timestamp(given_text) == expected


@pytest.mark.parametrize("bad", ["yesterday", "17/05/2024", "2024-13-01T00:00:00Z", ""])
def test_invalid_completed_is_refused(bad):
    with pytest.raises(IscConfigError) as caught:
        normalize_timestamp(bad)
    assert caught.value.option == "completed"


def test_equivalence_ignores_status_case_and_timestamp_spelling_only():
    assert values_equivalent("completionStatus", "Error", "ERROR")
    assert not values_equivalent("completionStatus", "ERROR", "TEMPERROR")
    assert not values_equivalent("completionStatus", None, "ERROR")
    assert values_equivalent("completed", "2024-05-17T21:33:16.470+02:00", NOW_TEXT)
    assert not values_equivalent("completed", "2024-05-17T21:33:16.470Z", NOW_TEXT)
    assert not values_equivalent("completed", None, NOW_TEXT)
    # Only statuses ignore case: a description is text.
    assert not values_equivalent("description", "Reason", "reason")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ([], "empty"),
        (["replace"], "not a dictionary"),
        ([{"op": "merge", "path": "/x"}], "op 'merge'"),
        ([{"op": "replace", "path": "completionStatus", "value": "x"}], "path"),
        ([{"op": "replace", "path": "/completionStatus"}], "no value"),
        ([{"op": "copy", "path": "/description"}], "from"),
    ],
)
def test_malformed_raw_patch_is_refused_before_any_request(raw, problem):
    with pytest.raises(IscConfigError) as caught:
        validate_raw_patch(raw)
    assert problem in str(caught.value)
