"""Every operation of every vendor spec subset: real responses validated by openapi-core against that spec.

The cases are generated from the spec files themselves, so an operation added to a spec without a scenario here
fails `test_every_spec_operation_has_scenarios`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from emulator_testlib import API_CLIENT, ApiSession, allow_spec_violations
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.request.exceptions import InvalidParameter, RequestBodyValidationError
from openapi_core.validation.response.exceptions import InvalidData
from openapi_core.validation.response.validators import V30ResponseHeadersValidator

import isc_emulator
from isc_emulator import Emulator
from isc_emulator.versions import API_VERSIONS, ApiVersion

# openapi-core cannot check oauth2 security schemes; auth is covered by test_auth.py.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

SPEC_DIR = Path(isc_emulator.__file__).parent / "specs"
HTTP_METHODS = ("get", "head", "patch", "post", "put", "delete")

# operationId without the V1 suffix -> the kind of scenario it gets
OPERATION_KINDS = {
    "getTaskStatusList": "list",
    "getTaskStatus": "get",
    "updateTaskStatus": "patch",
    "getPendingTasks": "pending",
    "getPendingTaskHeaders": "pending_head",
}

SCENARIOS = {
    "list": ["ok", "ok_empty", "limit_251", "negative_offset", "unknown_filter_field", "bad_sorter", "no_token", "expired_token", "rate_limited", "fault_500"],
    "get": ["ok", "not_found", "no_token", "expired_token", "rate_limited", "fault_500"],
    "patch": ["ok", "wrong_content_type", "forbidden_field", "failed_test", "api_client", "not_found", "no_token", "rate_limited", "fault_500"],
    "pending": ["ok", "empty", "limit_251", "no_token", "rate_limited", "fault_500"],
    "pending_head": ["ok", "empty", "limit_251", "no_token", "rate_limited", "fault_500"],
}
# Requests that break the spec itself, and what openapi-core must refuse them with: a query value outside its schema,
# a PATCH body in a media type the operation does not declare.
SPEC_VIOLATIONS = {"limit_251": InvalidParameter, "negative_offset": InvalidParameter, "wrong_content_type": RequestBodyValidationError}
# Requests without a bearer token break the operations' security requirement (which openapi-core cannot check).
UNAUTHENTICATED = {"no_token"}


def _spec_operations() -> list[tuple[str, str, str, str]]:
    """(version, path, method, operationId) for every operation in every spec file."""
    found = []
    for version in API_VERSIONS.values():
        spec = yaml.safe_load((SPEC_DIR / version.spec_file).read_text())
        for path, item in spec["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    found.append((version.name, path, method, item[method]["operationId"]))
    return found


SPEC_OPERATIONS = _spec_operations()
CASES = [
    pytest.param(version, path, method, operation_id, scenario, id=f"{version}-{operation_id}-{scenario}")
    for version, path, method, operation_id in SPEC_OPERATIONS
    for scenario in SCENARIOS[OPERATION_KINDS[operation_id.removesuffix("V1")]]
]


@pytest.fixture(scope="session")
def openapi_by_version(emu_server: Emulator) -> dict[str, OpenAPI]:
    validators = {}
    for version in API_VERSIONS.values():
        spec = yaml.safe_load((SPEC_DIR / version.spec_file).read_text())
        # The vendor servers name the tenant host; point them at the emulator, keeping each version's base path.
        base_path = "" if version.name == "v1" else version.list_path.removesuffix("/task-status")
        spec["servers"] = [{"url": emu_server.url + base_path}]
        validators[version.name] = OpenAPI.from_dict(spec)
    return validators


def test_every_spec_operation_has_scenarios() -> None:
    operation_ids = {operation[3] for operation in SPEC_OPERATIONS}
    assert {op.removesuffix("V1") for op in operation_ids} == set(OPERATION_KINDS)
    # beta/v2024/v2025: 5 operations, v2026 and v1: 3.
    assert len(SPEC_OPERATIONS) == 5 * 3 + 3 * 2


def test_the_validator_rejects_a_body_that_breaks_the_schema(emu: Emulator, pat: ApiSession, openapi_by_version):
    emu.tenant.add_task(completion_status="SUCCESS")
    response = pat.get("/v2025/task-status")
    _validate(openapi_by_version["v2025"], response)
    response._content = response.content.replace(b'"SUCCESS"', b'"Success"')
    with pytest.raises(InvalidData, match="(?i)invalid"):
        _validate(openapi_by_version["v2025"], response)


def _validate(openapi: OpenAPI, response: requests.Response) -> None:
    request = RequestsOpenAPIRequest(response.request)
    if response.request.method == "HEAD":
        # A HEAD answer has no body to check: validate the status (must be declared) and the headers.
        V30ResponseHeadersValidator(openapi.spec).validate(request, RequestsOpenAPIResponse(response))
    else:
        openapi.validate_response(request, RequestsOpenAPIResponse(response))


def _url_path(version: ApiVersion, spec_path: str, task_id: str) -> str:
    base = "" if version.name == "v1" else version.list_path.removesuffix("/task-status")
    return base + spec_path.replace("{id}", task_id)


Scenario = Callable[[], tuple[requests.Response, int]]


def _run_scenario(emu: Emulator, pat: ApiSession, version: ApiVersion, spec_path: str, method: str, scenario: str):
    pending = emu.tenant.add_task(completion_status=None, definition_type="IDENTITY_REFRESH", age_s=60)
    emu.tenant.add_task(completion_status="WARNING", source_name="Workday", age_s=120)
    task_id = pending["id"]
    path = _url_path(version, spec_path, task_id)
    valid_patch = [
        {"op": "replace", "path": "/completionStatus", "value": "Error"},
        {"op": "replace", "path": "/completed", "value": "2024-05-17T19:33:16.470Z"},
    ]

    def call(session: ApiSession = pat, **kwargs: Any) -> requests.Response:
        if method == "patch":
            return session.patch(path, kwargs.pop("operations", valid_patch), **kwargs)
        return session.request(method.upper(), path, **kwargs)

    if scenario in SPEC_VIOLATIONS or scenario in UNAUTHENTICATED:
        allow_spec_violations(emu)  # to see the emulator's own answer, as a tenant would give it
    if scenario == "ok":
        # count is a parameter of the list and pending-tasks operations only
        return call(params={"count": "true"} if spec_path != "/task-status/{id}" and not spec_path.endswith("/{id}") else None), 200
    if scenario in ("ok_empty", "empty"):
        emu.reset(seed="empty")
        return call(params={"count": "true"}), 200 if scenario == "ok_empty" else 204
    if scenario == "limit_251":
        return call(params={"limit": "251"}), 400
    if scenario == "negative_offset":
        return call(params={"offset": "-1"}), 400
    if scenario == "unknown_filter_field":
        return call(params={"filters": 'name eq "x"'}), 400
    if scenario == "bad_sorter":
        return call(params={"sorters": "name"}), 400
    if scenario == "no_token":
        return call(auth=False), 401
    if scenario == "expired_token":
        pat.token  # noqa: B018 - log in before the tokens expire
        emu.tenant.expire_tokens()
        return call(), 401
    if scenario == "rate_limited":
        pat.token  # noqa: B018 - the token endpoint has its own bucket; log in first
        emu.tenant.configure(rate_limit={"requests": 1, "window_s": 30})
        pat.get(version.list_path)
        return call(), 429
    if scenario == "fault_500":
        pat.token  # noqa: B018 - log in before the fault is queued
        emu.tenant.inject_fault("status", status=500)
        return call(), 500
    if scenario == "not_found":
        path = _url_path(version, spec_path, "0" * 32)
        return call(), 404
    if scenario == "wrong_content_type":
        return call(headers={"Content-Type": "application/json"}), 400
    if scenario == "forbidden_field":
        return call(operations=[{"op": "replace", "path": "/launcher", "value": "me"}]), 400
    if scenario == "failed_test":
        return call(operations=[{"op": "test", "path": "/progress", "value": "nope"}, *valid_patch]), 400
    if scenario == "api_client":
        return call(session=ApiSession(emu.url, API_CLIENT)), 403
    raise AssertionError(f"no scenario {scenario}")


@pytest.mark.parametrize(("version_name", "spec_path", "method", "operation_id", "scenario"), CASES)
def test_response_conforms_to_the_version_spec(emu: Emulator, pat: ApiSession, openapi_by_version, version_name, spec_path, method, operation_id, scenario):
    version = API_VERSIONS[version_name]
    response, expected_status = _run_scenario(emu, pat, version, spec_path, method, scenario)
    assert response.status_code == expected_status, response.text
    openapi = openapi_by_version[version_name]
    _validate(openapi, response)
    if scenario in SPEC_VIOLATIONS:
        with pytest.raises(SPEC_VIOLATIONS[scenario]):
            openapi.validate_request(RequestsOpenAPIRequest(response.request))
    if expected_status == 429:
        assert int(response.headers["Retry-After"]) >= 1
    if operation_id.startswith("getPending"):
        assert response.headers["X-Deprecated"] == "true"
    if method == "get" and spec_path.endswith("{id}") and expected_status == 404:
        assert response.content == b""
