"""100 requests per 10 s per client_id and API version by default; 429 with a correct Retry-After."""

from __future__ import annotations

import requests
from emulator_testlib import ApiSession

from isc_emulator import Emulator


def test_default_limit_is_100_per_client_and_version(emu: Emulator, pat: ApiSession) -> None:
    # docs/api/rate-limit.md: "100 requests per client_id and API version per 10 seconds".
    assert emu.tenant.config.rate_limit.requests == 100
    assert emu.tenant.config.rate_limit.window_s == 10
    pat.token  # noqa: B018 - the token endpoint has its own bucket
    # On a stopped tenant clock all 101 requests fall into one window, however long this machine takes to send them.
    emu.tenant.freeze_clock()
    statuses = [pat.get("/beta/task-status", params={"limit": 1}).status_code for _repeat in range(101)]
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429
    emu.tenant.advance_clock(9.9)
    assert pat.get("/beta/task-status", params={"limit": 1}).status_code == 429
    emu.tenant.advance_clock(0.2)  # past the 10 s (exactly 10.0 would leave float rounding to decide)
    assert pat.get("/beta/task-status", params={"limit": 1}).status_code == 200


def test_429_body_and_retry_after_until_the_oldest_request_leaves_the_window(emu: Emulator, pat: ApiSession) -> None:
    emu.tenant.configure(rate_limit={"requests": 3, "window_s": 5})
    pat.token  # noqa: B018
    emu.tenant.freeze_clock()
    assert pat.get("/v2025/task-status").status_code == 200
    emu.tenant.advance_clock(1.5)
    for _repeat in range(2):
        assert pat.get("/v2025/task-status").status_code == 200
    refused = pat.get("/v2025/task-status")
    assert refused.status_code == 429
    assert refused.json() == {"message": " Rate Limit Exceeded "}
    # The first request leaves the window 5 s after it was made, 3.5 s from now: whole seconds, rounded up.
    assert refused.headers["Retry-After"] == "4"
    emu.tenant.advance_clock(3.4)
    assert pat.get("/v2025/task-status").headers["Retry-After"] == "1"
    emu.tenant.advance_clock(0.2)
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
