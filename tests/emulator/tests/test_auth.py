"""OAuth client credentials, bearer tokens, expiry, and the PAT / API client split on PATCH."""

from __future__ import annotations

import json

import pytest
import requests
from emulator_testlib import API_CLIENT, PAT_CLIENT, ApiSession, allow_spec_violations

from isc_emulator import Emulator

TOKEN_FIELDS = {"access_token", "token_type", "expires_in"}


def test_token_from_form_fields(emu: Emulator, pat: ApiSession) -> None:
    response = pat.login()
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= TOKEN_FIELDS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 749
    assert body["user_id"]


def test_token_from_query_parameters_and_basic_auth(emu: Emulator) -> None:
    client_id, secret = API_CLIENT
    by_query = requests.post(f"{emu.url}/oauth/token", params={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}, timeout=5)
    assert by_query.status_code == 200
    assert "user_id" not in by_query.json()
    by_basic = requests.post(f"{emu.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=5)
    assert by_basic.status_code == 200


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "client_credentials", "client_id": PAT_CLIENT[0], "client_secret": "wrong"},
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": PAT_CLIENT[1]},
        {"grant_type": "client_credentials"},
    ],
)
def test_bad_credentials_are_401_invalid_client(emu: Emulator, form: dict[str, str]) -> None:
    response = requests.post(f"{emu.url}/oauth/token", data=form, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Bad credentials"}


def test_other_grant_types_are_refused(emu: Emulator) -> None:
    client_id, secret = PAT_CLIENT
    response = requests.post(f"{emu.url}/oauth/token", data={"grant_type": "password", "client_id": client_id, "client_secret": secret}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [(None, "no bearer token"), ("Bearer not-a-token", "JWT is invalid"), ("Basic cGF0OnNlY3JldA==", "no bearer token")],
)
def test_missing_or_unknown_bearer_tokens_are_401(emu: Emulator, authorization: str | None, reason: str) -> None:
    allow_spec_violations(emu)  # no bearer token at all breaks the operation's security requirement
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(f"{emu.url}/v2025/task-status", headers=headers, timeout=5)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error.startswith("JWT validation failed: ") and reason in error


def test_tokens_expire_after_expires_in(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(token_ttl_s=1)
    emu.tenant.freeze_clock()  # the token expires as the tenant's clock is advanced, not while this machine is slow
    assert pat.login().json()["expires_in"] == 1
    assert pat.get("/v2025/task-status").status_code == 200
    emu.tenant.advance_clock(1.1)
    response = pat.get("/v2025/task-status")
    assert response.status_code == 401
    assert response.json() == {"error": "JWT validation failed: JWT is expired"}
    pat._token = None
    assert pat.get("/v2025/task-status").status_code == 200


def test_token_ttl_from_the_constructor_and_the_control_interface() -> None:
    with Emulator(port=0, seed="empty", token_ttl_s=30) as emu:
        assert ApiSession(emu.url).login().json()["expires_in"] == 30
        assert requests.post(f"{emu.url}/_emulator/config", json={"token_ttl_s": 5}, timeout=5).json()["token_ttl_s"] == 5
        assert ApiSession(emu.url).login().json()["expires_in"] == 5


def test_expire_tokens_control_and_clock(emu: Emulator, pat: ApiSession) -> None:
    assert pat.get("/beta/task-status").status_code == 200
    assert requests.post(f"{emu.url}/_emulator/tokens/expire", timeout=5).json()["expired"] >= 1
    assert pat.get("/beta/task-status").status_code == 401
    pat._token = None
    assert pat.get("/beta/task-status").status_code == 200
    emu.tenant.advance_clock(750)
    assert pat.get("/beta/task-status").status_code == 401


def test_pat_may_patch_but_api_client_gets_403(emu: Emulator, pat: ApiSession, api_client: ApiSession) -> None:
    task = emu.tenant.add_task(completion_status=None)
    operations = [{"op": "replace", "path": "/completionStatus", "value": "TERMINATED"}]
    assert api_client.get(f"/v2025/task-status/{task['id']}").status_code == 200
    refused = api_client.patch(f"/v2025/task-status/{task['id']}", operations)
    assert refused.status_code == 403
    body = refused.json()
    assert body["detailCode"] == "403 Forbidden"
    assert "personal access token" in body["messages"][0]["text"]
    assert emu.tenant.tasks()[0]["completionStatus"] is None
    accepted = pat.patch(f"/v2025/task-status/{task['id']}", operations)
    assert accepted.status_code == 200
    assert accepted.json()["completionStatus"] == "TERMINATED"


def test_added_clients(emu: Emulator) -> None:
    emu.tenant.add_client("ci-pat-client", "s3cret", user_context=True)
    emu.tenant.add_client("ci-api-client", "s3cret", user_context=False)
    task = emu.tenant.add_task(completion_status=None)
    operations = [{"op": "replace", "path": "/progress", "value": "x"}]
    allow_spec_violations(emu)  # /v1/x/{id} is in no spec
    assert ApiSession(emu.url, ("ci-pat-client", "s3cret")).patch(f"/v1/x/{task['id']}", operations).status_code == 404
    emu.tenant.configure(validate_requests=True)
    assert ApiSession(emu.url, ("ci-pat-client", "s3cret")).patch(f"/task-status/v1/{task['id']}", operations).status_code == 200
    assert ApiSession(emu.url, ("ci-api-client", "s3cret")).patch(f"/task-status/v1/{task['id']}", operations).status_code == 403


def test_the_request_log_never_holds_secrets_or_tokens(emu: Emulator, pat: ApiSession) -> None:
    client_id, secret = PAT_CLIENT
    by_query = requests.post(f"{emu.url}/oauth/token", params={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}, timeout=5)
    token = by_query.json()["access_token"]
    pat.get("/beta/task-status")
    log = json.dumps(emu.tenant.request_log())
    assert secret not in log
    assert token not in log and pat.token not in log
    assert emu.tenant.request_log()[0]["client_id"] == client_id
    assert emu.tenant.request_log()[-1]["client_id"] == client_id
