# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Properties of the comparisons that make task_status idempotent: timestamps as instants, statuses by casing.

A second run must send no PATCH however the desired state is spelled, and a real difference must never be
mistaken for none. Instants are drawn between 1970 and 2100 (ISC keeps 90 days of tasks) in every UTC offset
from -12:00 to +14:00, spelled with seconds, milliseconds or microseconds, ``Z`` or ``+00:00``, ``T`` or a space.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from ansible_collections.sailpoint.isc.plugins.module_utils._desired_state import (
    TIMESTAMP_FIELDS,
    DesiredState,
    format_instant,
    normalize_completion_status,
    normalize_timestamp,
    values_equivalent,
)
from ansible_collections.sailpoint.isc.plugins.module_utils._durations import parse_timestamp
from ansible_collections.sailpoint.isc.plugins.module_utils._plan import plan_change

# The vendor's TaskStatus.completionStatus enum (every spec subset, components/schemas/TaskStatus).
COMPLETION_STATUSES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR")
PRECISIONS = {"seconds": 1_000_000, "milliseconds": 1_000, "microseconds": 1}
VENDOR_FORM = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

instants = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
precisions = st.sampled_from(list(PRECISIONS))


def sends_a_change(plan) -> bool:
    """A PATCH would be sent: operations, and no reason to leave the task alone."""
    return bool(plan.operations) and plan.left_alone is None


def truncated(moment: datetime, precision: str) -> datetime:
    step = PRECISIONS[precision]
    return moment.replace(microsecond=moment.microsecond // step * step)


def finer_or_equal(precision: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name for name, step in PRECISIONS.items() if step <= PRECISIONS[precision]])


@st.composite
def spellings(draw: Any, moment: datetime, coarsest: str = "microseconds") -> str:
    """``moment`` written in some offset and form; digits at least as fine as ``coarsest`` so the instant is exact."""
    offset = draw(offsets)
    text = moment.astimezone(offset).isoformat(sep=draw(st.sampled_from(["T", " "])), timespec=draw(finer_or_equal(coarsest)))
    if text.endswith("+00:00"):
        text = text[: -len("+00:00")] + draw(st.sampled_from(["Z", "+00:00", ""]))  # "" is naive: taken as UTC
    return text


@st.composite
def instant_and_two_spellings(draw: Any) -> tuple[datetime, str, str]:
    precision = draw(precisions)
    moment = truncated(draw(instants), precision)
    return moment, draw(spellings(moment, precision)), draw(spellings(moment, precision))


def any_casing(text: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda uppers: "".join(char.upper() if upper else char.lower() for char, upper in zip(text, uppers, strict=True))
    )


# --- timestamps ----------------------------------------------------------------------------------------------


@given(instant_and_two_spellings(), st.sampled_from(sorted(TIMESTAMP_FIELDS)))
def test_the_same_instant_in_any_offset_and_precision_compares_equal(case, field_name):
    moment, first, second = case
    assert parse_timestamp(first) == moment
    assert values_equivalent(field_name, first, second)
    assert values_equivalent(field_name, second, first)


@given(instants, instants, st.data(), st.sampled_from(sorted(TIMESTAMP_FIELDS)))
def test_different_instants_never_compare_equal(first, second, data, field_name):
    assume(first != second)
    first_text, second_text = data.draw(spellings(first)), data.draw(spellings(second))
    assert not values_equivalent(field_name, first_text, second_text)
    assert not values_equivalent(field_name, second_text, first_text)


@given(instants, st.data())
def test_a_timestamp_is_sent_in_the_vendors_form_as_the_same_instant_to_the_millisecond(moment, data):
    text = data.draw(spellings(moment))
    sent = normalize_timestamp(text)
    assert VENDOR_FORM.match(sent), sent
    assert parse_timestamp(sent) == truncated(moment, "milliseconds")
    assert normalize_timestamp(sent) == sent


@given(st.text(max_size=30))
def test_text_that_is_no_timestamp_is_never_equal_to_one(text):
    assume(parse_timestamp(text) is None)
    assert not values_equivalent("completed", text, "2024-05-17T19:33:16.470Z")


# --- statuses ------------------------------------------------------------------------------------------------


@given(st.sampled_from(COMPLETION_STATUSES).flatmap(lambda status: st.tuples(st.just(status), any_casing(status))))
def test_a_status_in_any_casing_is_the_same_status(case):
    status, spelled = case
    assert normalize_completion_status(f"  {spelled} ") == status
    assert values_equivalent("completionStatus", spelled, status)
    assert values_equivalent("completionStatus", status, spelled)


@given(st.data(), st.sampled_from(COMPLETION_STATUSES), st.sampled_from(COMPLETION_STATUSES))
def test_different_statuses_never_compare_equal_whatever_the_casing(data, first, second):
    assume(first != second)
    assert not values_equivalent("completionStatus", data.draw(any_casing(first)), data.draw(any_casing(second)))


# --- what task_status does with them ---------------------------------------------------------------------------


def finished_task(status: str, completed: str) -> dict[str, Any]:
    return {"id": "t1", "completionStatus": status, "completed": completed, "description": "Done", "progress": "Completed"}


@given(st.sampled_from(COMPLETION_STATUSES), st.data(), st.booleans())
def test_the_state_a_task_already_has_needs_no_patch_however_it_is_spelled(status, data, force):
    # ISC keeps milliseconds: a task's completed time has no finer digits, however the service writes it.
    moment = truncated(data.draw(instants), "milliseconds")
    task = finished_task(data.draw(any_casing(status)), data.draw(spellings(moment, "milliseconds")))
    wanted = DesiredState.from_params(
        {"completion_status": data.draw(any_casing(status)), "completed": data.draw(spellings(moment, "milliseconds")), "force": force}
    )
    plan = plan_change(task, wanted, datetime.now(UTC))
    assert plan.operations == [] and not sends_a_change(plan) and plan.left_alone is None


@given(st.sampled_from(COMPLETION_STATUSES), instants, instants, st.data())
def test_another_completed_instant_is_a_change_of_that_field_only(status, current, wanted_moment, data):
    current, wanted_moment = truncated(current, "milliseconds"), truncated(wanted_moment, "milliseconds")
    assume(current != wanted_moment)
    task = finished_task(status, format_instant(current))
    wanted = DesiredState.from_params({"completion_status": status.lower(), "completed": data.draw(spellings(wanted_moment)), "force": True})
    plan = plan_change(task, wanted, datetime.now(UTC))
    assert sends_a_change(plan)
    assert [(op["op"], op["path"]) for op in plan.operations] == [("replace", "/completed")]
    assert parse_timestamp(plan.operations[0]["value"]) == wanted_moment
