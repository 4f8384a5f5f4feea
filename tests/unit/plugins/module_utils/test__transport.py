# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The transport's retry loop, token and pacing, with no server: answers come from a stand-in requests adapter.

Retries after connection errors (urllib3's side) need a socket; tests/integration/test_client.py covers them.
"""

from __future__ import annotations

import json

import pytest
import requests
from requests.adapters import BaseAdapter
from urllib3.exceptions import MaxRetryError, NameResolutionError

from ansible_collections.sailpoint.isc.plugins.module_utils import _transport as transport_module
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscAuthenticationError, IscRateLimitError, IscServerError
from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig
from ansible_collections.sailpoint.isc.plugins.module_utils._transport import Token, Transport, _Attempts, connection_error, retry_wait

BASE_URL = "https://acme.api.identitynow.com"


class ScriptedAdapter(BaseAdapter):
    """Answers each request with the next (status, headers, body) of a script; a token request always gets a token."""

    def __init__(self, script: list[tuple[int, dict[str, str], object]]) -> None:
        super().__init__()
        self.script = list(script)
        self.sent: list[tuple[str, str, str | None]] = []
        self.tokens = 0

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        path = request.path_url.split("?")[0]
        self.sent.append((request.method or "", path, request.headers.get("Authorization")))
        if path == "/oauth/token":
            self.tokens += 1
            return _response(200, {}, {"access_token": f"token-{self.tokens}", "expires_in": 3600})
        return _response(*self.script.pop(0))

    def close(self) -> None:
        pass


def _response(status: int, headers: dict[str, str], body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update({"Content-Type": "application/json", **headers})
    response._content = json.dumps(body).encode()
    return response


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(transport_module.time, "sleep", waits.append)
    return waits


def transport(script: list[tuple[int, dict[str, str], object]], warnings: list[str] | None = None, **options: object) -> tuple[Transport, ScriptedAdapter]:
    config = ClientConfig.from_options({"base_url": BASE_URL, "client_id": "id", "client_secret": "secret", "rate_limit": 0, **options}, environ={})
    adapter = ScriptedAdapter(script)
    client = Transport(config, warn=warnings.append if warnings is not None else None)
    client._session.mount(BASE_URL, adapter)
    return client, adapter


def api_calls(adapter: ScriptedAdapter) -> list[str]:
    return [method for method, path, _auth in adapter.sent if path != "/oauth/token"]


def test_token_repr_hides_the_token():
    assert "very-secret-token" not in repr(Token("very-secret-token", None))


def test_what_is_slept_is_what_max_retry_wait_counts(slept):
    client, adapter = transport([(429, {"Retry-After": "0"}, {})] * 10, max_retry_wait=3.5)
    with pytest.raises(IscRateLimitError) as caught:
        client.request("GET", "/task-status/v1")
    assert all(wait >= transport_module.MIN_RATE_LIMITED_WAIT for wait in slept), "Retry-After: 0 still waits a second"
    assert sum(slept) <= 3.5 and len(api_calls(adapter)) == len(slept) + 1
    assert f"after {len(slept) + 1} attempts" in str(caught.value)


def test_429_is_retried_on_patch_and_5xx_only_on_reads(slept):
    client, adapter = transport([(429, {"Retry-After": "1"}, {}), (200, {}, {"id": "t"}), (503, {}, {})])
    assert client.request("PATCH", "/task-status/v1/t", json_body=[]).json() == {"id": "t"}
    with pytest.raises(IscServerError) as caught:
        client.request("PATCH", "/task-status/v1/t", json_body=[])
    assert caught.value.attempts == 1 and api_calls(adapter) == ["PATCH"] * 3
    assert len(slept) == 1 and 1.0 <= slept[0] <= 1.2


def test_server_errors_give_up_after_retries_and_say_how_many_attempts(slept):
    warnings: list[str] = []
    client, adapter = transport([(502, {}, {})] * 5, warnings=warnings, retries=2)
    with pytest.raises(IscServerError) as caught:
        client.request("GET", "/task-status/v1")
    assert "after 3 attempts" in str(caught.value) and api_calls(adapter) == ["GET"] * 3
    assert slept == [0.5, 1.0], "exponential backoff without Retry-After"
    assert warnings[0] == "Retrying GET /task-status/v1 after HTTP 502 (retry 1 of 2) in 0.5s."


def test_429_is_retried_past_the_retry_count_but_not_past_the_cap(slept, monkeypatch):
    monkeypatch.setattr(transport_module, "MAX_RATE_LIMITED_RETRIES", 3)
    client, adapter = transport([(429, {}, {})] * 10, retries=0, max_retry_wait=600)
    with pytest.raises(IscRateLimitError):
        client.request("GET", "/task-status/v1")
    assert len(api_calls(adapter)) == 4


def test_one_new_token_after_a_401(slept):
    client, adapter = transport([(401, {}, {}), (200, {}, []), (401, {}, {}), (401, {}, {})])
    client.request("GET", "/task-status/v1")
    assert [auth for _method, path, auth in adapter.sent if path != "/oauth/token"] == ["Bearer token-1", "Bearer token-2"]
    with pytest.raises(IscAuthenticationError):
        client.request("GET", "/task-status/v1")
    assert adapter.tokens == 3 and slept == []


def test_every_attempt_passes_the_rate_budget(slept):
    client, adapter = transport([(503, {}, {}), (503, {}, {}), (200, {}, [])], rate_limit=50)
    client.request("GET", "/task-status/v1")
    assert len(client.budget.sent) == len(adapter.sent) == 4, "the token, two 503s and the answer"


@pytest.mark.parametrize(("status", "headers", "server_errors", "low", "high"), [
    (503, {"Retry-After": "7"}, 1, 7.0, 7.0),
    (503, {}, 4, 4.0, 4.0),
    (503, {}, 20, transport_module.BACKOFF_MAX, transport_module.BACKOFF_MAX),
    (429, {"Retry-After": "0"}, 0, 1.0, 1.2),
    (429, {"Retry-After": "soon"}, 0, 1.0, 1.2),
    (429, {"Retry-After": "10"}, 0, 10.0, 11.0),
    (429, {}, 5, 8.0, 9.0),
])  # fmt: skip
def test_retry_wait(status, headers, server_errors, low, high):
    assert low <= retry_wait(_response(status, headers, {}), server_errors) <= high


def _config(**options: object) -> ClientConfig:
    return ClientConfig.from_options({"base_url": BASE_URL, "access_token": "t", **options}, environ={})


def test_a_host_name_that_does_not_resolve_names_base_url():
    unresolved = NameResolutionError("acme.api.identitynow.com", None, OSError("Name or service not known"))  # type: ignore[arg-type]
    wrapped = requests.exceptions.ConnectionError(MaxRetryError(None, "/x", unresolved))  # type: ignore[arg-type]
    error = connection_error(_config(), "GET", "/task-status/v1", wrapped, 1)
    assert "host name of base_url, acme.api.identitynow.com, does not resolve" in str(error) and "SAIL_BASE_URL" in str(error)


def test_tls_on_a_plain_port_gets_a_scheme_hint():
    error = connection_error(_config(), "GET", "/task-status/v1", requests.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number"), 1)
    assert "does not speak TLS" in str(error)


def test_a_refused_connection_names_the_attempts_and_no_query_string():
    refused = ConnectionRefusedError("Connection refused at /task-status/v1?filters=secret-ish")
    error = connection_error(_config(), "GET", "/task-status/v1", requests.exceptions.ConnectionError(refused), 3)
    assert "after 3 attempts" in str(error) and "Connection refused" in str(error) and "filters=" not in str(error)


def test_429_without_retry_after_backs_off(slept):
    client, _adapter = transport([(429, {}, {})] * 6 + [(200, {}, [])])
    client.request("GET", "/task-status/v1")
    assert [int(wait) for wait in slept] == [1, 1, 2, 4, 8, 16], "backoff plus jitter: a rate-limited tenant gets room"


def test_resends_after_no_answer_are_counted_per_request_and_paced_after_their_wait(slept, monkeypatch):
    client, _adapter = transport([], retries=2, rate_limit=50)
    order: list[str] = []
    monkeypatch.setattr(transport_module.time, "sleep", lambda seconds: order.append(f"sleep {seconds}"))
    monkeypatch.setattr(client.budget, "acquire", lambda: order.append("budget"))
    client._local.attempts = _Attempts(sent=3, resends=0, waited=0.0)
    for _retry in range(2):
        client._on_resend("GET", "/task-status/v1", ConnectionResetError(), None)
    with pytest.raises(MaxRetryError):
        client._on_resend("GET", "/task-status/v1", ConnectionResetError(), None)
    assert order == ["sleep 0.5", "budget", "sleep 1.0", "budget"], "the budget slot is taken when the request leaves, after the wait"
    assert client._local.attempts.sent == 5, "resends count as attempts in the final error"
