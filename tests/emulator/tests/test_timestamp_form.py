"""The timestamp_form switch: how API answers write TaskStatus timestamps (z-millis, offset-micros, z-seconds)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from emulator_testlib import ApiSession
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

import isc_emulator
from isc_emulator import Emulator, Tenant
from isc_emulator.__main__ import _parser, main
from isc_emulator.records import TIMESTAMP_FIELDS, TIMESTAMP_FORMS, format_timestamp, parse_timestamp
from isc_emulator.testing import EmulatorProcess

PATTERNS = {
    "z-millis": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
    "offset-micros": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00"),
    "z-seconds": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
}
MOMENT = datetime(2024, 5, 17, 19, 33, 16, 470000, tzinfo=UTC)


def _instant(text: str, form: str) -> datetime:
    """The instant a served timestamp names; z-seconds drops the fraction, so compare at that precision."""
    moment = parse_timestamp(text)
    return moment.replace(microsecond=0) if form == "z-seconds" else moment


def _assert_form(served: dict[str, Any], stored: dict[str, Any], form: str) -> None:
    """Every timestamp of a served TaskStatus is written in `form` and names the stored instant."""
    written = 0
    for name in TIMESTAMP_FIELDS:
        if stored[name] is None:
            assert served[name] is None, name
            continue
        assert PATTERNS[form].fullmatch(served[name]), f"{name}: {served[name]!r} is not {form}"
        assert _instant(served[name], form) == _instant(stored[name], form), name
        written += 1
    assert written >= 3, "the task must carry timestamps to check"


def _stored(emu: Emulator, task_id: str) -> dict[str, Any]:
    return next(task for task in emu.tenant.tasks() if task["id"] == task_id)


def test_the_forms_match_the_vendor_examples() -> None:
    assert format_timestamp(MOMENT) == "2024-05-17T19:33:16.470Z"
    assert format_timestamp(MOMENT, "z-millis") == "2024-05-17T19:33:16.470Z"
    assert format_timestamp(MOMENT, "offset-micros") == "2024-05-17 19:33:16.470000+00:00"
    assert format_timestamp(MOMENT, "z-seconds") == "2024-05-17T19:33:16Z"
    assert Tenant(seed="empty").config.timestamp_form == "z-millis"


@pytest.mark.parametrize("form", TIMESTAMP_FORMS)
def test_every_answer_writes_timestamps_in_the_form(emu: Emulator, pat: ApiSession, form: str) -> None:
    emu.tenant.configure(timestamp_form=form)
    pending = emu.tenant.add_task(completion_status=None, age_s=3 * 3600)
    finished = emu.tenant.add_task(completion_status="SUCCESS", age_s=600)
    for path in ("/beta/task-status", "/v2024/task-status", "/v2025/task-status", "/v2026/task-status", "/task-status/v1"):
        listed = pat.list_all(path)
        assert finished["id"] in {task["id"] for task in listed}, path
        for task in listed:
            _assert_form(task, _stored(emu, task["id"]), form)
    for prefix in ("/beta", "/v2024", "/v2025"):
        answer = pat.get(f"{prefix}/task-status/pending-tasks")
        assert answer.status_code == 200 and [task["id"] for task in answer.json()] == [pending["id"]]
        _assert_form(answer.json()[0], pending, form)
    for task in (pending, finished):
        answer = pat.get(f"/task-status/v1/{task['id']}")
        assert answer.status_code == 200
        _assert_form(answer.json(), task, form)
    patched = pat.patch(f"/v2025/task-status/{pending['id']}", [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}])
    assert patched.status_code == 200, patched.text
    _assert_form(patched.json(), _stored(emu, pending["id"]), form)


@pytest.mark.parametrize("form", TIMESTAMP_FORMS)
def test_records_keep_the_canonical_form(emu: Emulator, pat: ApiSession, form: str) -> None:
    emu.tenant.configure(timestamp_form=form)
    task = emu.tenant.add_task(completion_status="SUCCESS", age_s=60)
    assert pat.get(f"/v2025/task-status/{task['id']}").status_code == 200
    for name in TIMESTAMP_FIELDS:
        assert PATTERNS["z-millis"].fullmatch(_stored(emu, task["id"])[name]), name


def test_switching_the_form_reaches_records_already_served(emu: Emulator, pat: ApiSession) -> None:
    task = emu.tenant.add_task(completion_status="SUCCESS", age_s=60)
    path = f"/v2025/task-status/{task['id']}"
    for form in ("z-millis", "offset-micros", "z-seconds", "z-millis"):
        emu.tenant.configure(timestamp_form=form)
        # Twice: the second answer comes from the record's cached JSON.
        for _repeat in range(2):
            _assert_form(pat.get(path).json(), task, form)
            _assert_form(pat.list_all("/v2025/task-status")[0], task, form)


def test_a_timestamp_test_compares_the_served_text(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(timestamp_form="offset-micros")
    task = emu.tenant.add_task(completion_status=None, age_s=3600)
    served = pat.get(f"/v2025/task-status/{task['id']}").json()
    change = {"op": "replace", "path": "/description", "value": "cleared"}
    assert pat.patch(f"/v2025/task-status/{task['id']}", [{"op": "test", "path": "/modified", "value": task["modified"]}, change]).status_code == 400
    answer = pat.patch(f"/v2025/task-status/{task['id']}", [{"op": "test", "path": "/modified", "value": served["modified"]}, change])
    assert answer.status_code == 200, answer.text
    stored = _stored(emu, task["id"])
    assert stored["description"] == "cleared"
    assert stored["created"] == task["created"] and stored["launched"] == task["launched"]


def test_completed_in_the_offset_form_is_accepted_and_stored_canonically(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(timestamp_form="offset-micros")
    task = emu.tenant.add_task(completion_status=None, age_s=3600)
    operations = [
        {"op": "replace", "path": "/completionStatus", "value": "Error"},
        {"op": "replace", "path": "/completed", "value": "2024-05-17 19:33:16.470000+00:00"},
    ]
    answer = pat.patch(f"/task-status/v1/{task['id']}", operations)
    assert answer.status_code == 200, answer.text
    assert answer.json()["completed"] == "2024-05-17 19:33:16.470000+00:00"
    assert _stored(emu, task["id"])["completed"] == "2024-05-17T19:33:16.470Z"


def test_a_stored_value_that_is_no_timestamp_is_served_as_given(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(timestamp_form="z-seconds")
    task = emu.tenant.add_task(completion_status=None, modified="yesterday")
    served = pat.get(f"/v2025/task-status/{task['id']}").json()
    assert served["modified"] == "yesterday"
    assert PATTERNS["z-seconds"].fullmatch(served["created"])


def _spec_validator(emu: Emulator, version: str) -> OpenAPI:
    spec_dir = Path(isc_emulator.__file__).parent / "specs"
    spec = yaml.safe_load((spec_dir / f"task-management.{version}.yaml").read_text())
    spec["servers"] = [{"url": f"{emu.url}/{version}"}]
    return OpenAPI.from_dict(spec)


@pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
@pytest.mark.parametrize("form", TIMESTAMP_FORMS)
def test_spec_date_time_check(emu: Emulator, pat: ApiSession, form: str) -> None:
    """RFC 3339 forms pass the specs' `format: date-time`; the offset form of the vendor's own PATCH example does not."""
    emu.tenant.configure(timestamp_form=form)
    emu.tenant.add_task(completion_status="SUCCESS", age_s=60)
    response = pat.get("/v2025/task-status")
    openapi = _spec_validator(emu, "v2025")
    arguments = (RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
    if form == "offset-micros":
        with pytest.raises(Exception, match="is not a 'date-time'"):
            openapi.validate_response(*arguments)
    else:
        openapi.validate_response(*arguments)


def test_control_api_round_trip_and_refusal(emu: Emulator) -> None:
    url = f"{emu.url}/_emulator/config"
    assert requests.get(url, timeout=5).json()["timestamp_form"] == "z-millis"
    answer = requests.post(url, json={"timestamp_form": "offset-micros"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["timestamp_form"] == "offset-micros"
    refused = requests.post(url, json={"timestamp_form": "iso"}, timeout=5)
    assert refused.status_code == 400
    assert "timestamp_form" in refused.json()["error"] and "z-seconds" in refused.json()["error"]
    assert requests.get(url, timeout=5).json()["timestamp_form"] == "offset-micros"
    assert requests.post(f"{emu.url}/_emulator/reset", json={}, timeout=5).status_code == 200
    assert requests.get(url, timeout=5).json()["timestamp_form"] == "z-millis"


def test_python_settings_and_refusals() -> None:
    tenant = Tenant(seed="empty", timestamp_form="z-seconds")
    tenant.configure(timestamp_form="offset-micros")
    tenant.reset()
    assert tenant.config.timestamp_form == "z-seconds"
    assert Emulator(port=0, seed="empty", timestamp_form="offset-micros").tenant.config.timestamp_form == "offset-micros"
    with pytest.raises(ValueError, match="timestamp_form"):
        Tenant(seed="empty", timestamp_form="Z-MILLIS")
    with pytest.raises(ValueError, match="timestamp_form"):
        Emulator(port=0, seed="empty", timestamp_form="")
    with pytest.raises(ValueError, match="timestamp_form"):
        tenant.configure(timestamp_form=None)
    assert tenant.config.timestamp_form == "z-seconds"


def test_command_line_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert _parser().parse_args([]).timestamp_form == "z-millis"
    assert [_parser().parse_args(["--timestamp-form", form]).timestamp_form for form in TIMESTAMP_FORMS] == list(TIMESTAMP_FORMS)
    with pytest.raises(SystemExit) as refused:
        main(["--timestamp-form", "iso"])
    assert refused.value.code == 2
    assert "--timestamp-form" in capsys.readouterr().err


def test_command_line_flag_reaches_the_answers() -> None:
    with EmulatorProcess("--seed", "empty", "--timestamp-form", "z-seconds") as process:
        assert process.control("GET", "/config")["timestamp_form"] == "z-seconds"
        task = process.control("POST", "/tasks", {"completion_status": "SUCCESS"})
        _assert_form(ApiSession(process.url).get(f"/beta/task-status/{task['id']}").json(), task, "z-seconds")
