"""100 requests per 10 s per client_id and API version by default; 429 with a correct Retry-After."""

from __future__ import annotations

import math
import time

import requests
from emulator_testlib import ApiSession

from isc_emulator import Emulator


def test_default_limit_is_100_per_client_and_version(emu: Emulator, pat: ApiSession) -> None:
    assert emu.tenant.config.rate_limit.requests == 100
    assert emu.tenant.config.rate_limit.window_s == 10
    pat.token  # noqa: B018 - the token endpoint has its own bucket
    statuses = [pat.get("/beta/task-status", params={"limit": 1}).status_code for _repeat in range(101)]
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429


def test_429_body_and_retry_after_until_the_oldest_request_leaves_the_window(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(rate_limit={"requests": 3, "window_s": 2})
    pat.token  # noqa: B018
    first_sent = time.monotonic()
    for _repeat in range(3):
        assert pat.get("/v2025/task-status").status_code == 200
    refused = pat.get("/v2025/task-status")
    assert refused.status_code == 429
    assert refused.json() == {"message": " Rate Limit Exceeded "}
    retry_after = int(refused.headers["Retry-After"])
    expected = math.ceil(first_sent + 2 - time.monotonic())
    assert retry_after in (expected, expected + 1)
    assert 1 <= retry_after <= 2
    time.sleep(retry_after)
    assert pat.get("/v2025/task-status").status_code == 200


def test_budgets_are_per_version_and_per_client(emu: Emulator, pat: ApiSession, api_client: ApiSession) -> None:
    emu.tenant.configure(rate_limit={"requests": 2, "window_s": 30})
    pat.token  # noqa: B018
    api_client.token  # noqa: B018
    assert [pat.get("/beta/task-status").status_code for _repeat in range(3)] == [200, 200, 429]
    assert pat.get("/v2024/task-status").status_code == 200
    assert pat.get("/task-status/v1").status_code == 200
    assert api_client.get("/beta/task-status").status_code == 200
    # a second token for the same client shares the client's budget
    second = ApiSession(emu.url)
    assert second.get("/beta/task-status").status_code == 429


def test_token_endpoint_has_its_own_bucket(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(rate_limit={"requests": 2, "window_s": 30})
    pat.token  # noqa: B018 - first token request
    assert [pat.login().status_code for _repeat in range(2)] == [200, 429]
    assert pat.get("/beta/task-status").status_code == 200
    assert int(pat.login().headers["Retry-After"]) >= 1


def test_rate_limit_can_be_switched_off(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(rate_limit=None)
    assert {pat.get("/beta/task-status", params={"limit": 0}).status_code for _repeat in range(150)} == {200}
    requests.post(f"{emu.url}/_emulator/config", json={"rate_limit": {"requests": 1, "window_s": 10}}, timeout=5)
    assert [pat.get("/beta/task-status").status_code for _repeat in range(2)] == [200, 429]


def test_control_endpoints_are_neither_limited_nor_logged(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(rate_limit={"requests": 1, "window_s": 30})
    for _repeat in range(20):
        assert requests.get(f"{emu.url}/_emulator/health", timeout=5).status_code == 200
    assert emu.tenant.request_log() == []
