# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The shared client against the running ISC emulator: tokens, retries, paging, filters, errors."""

from __future__ import annotations

import time

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils import _transport as transport_module
from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import (
    IscAuthenticationError,
    IscBadRequestError,
    IscConfigError,
    IscConnectionError,
    IscForbiddenError,
    IscNotFoundError,
    IscRateLimitError,
    IscServerError,
)
from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig

PAT = ("pat-0001-demo-client", "pat-demo-secret")
API_CLIENT = ("api-0002-demo-client", "api-demo-secret")
VERSIONS = ("beta", "v2024", "v2025", "v2026", "v1")


def make_client(emulator, client=PAT, warnings=None, page_concurrency=4, **options):
    settings = {"base_url": emulator.url, "client_id": client[0], "client_secret": client[1], "rate_limit": 0, **options}
    return IscClient(ClientConfig.from_options(settings), warn=(warnings.append if warnings is not None else None), page_concurrency=page_concurrency)


def api_requests(emulator, method=None):
    return [entry for entry in emulator.tenant.request_log() if method is None or entry["method"] == method]


def visible(emulator, **fields):
    return [task for task in emulator.tenant.tasks() if not task["_expired"] and all(task.get(k) == v for k, v in fields.items())]


# -- tokens -------------------------------------------------------------------------------------------------


def test_one_token_is_reused_for_many_requests(emulator):
    task = emulator.tenant.add_task()
    client = make_client(emulator)
    for _repeat in range(3):
        assert client.get_task(task["id"])["id"] == task["id"]
    assert emulator.tenant.request_counts()["POST /oauth/token"] == 1
    assert emulator.tenant.request_counts()["POST /oauth/token"] == 1


def test_token_is_renewed_before_it_expires(emulator):
    emulator.tenant.configure(token_ttl_s=1.5)
    task = emulator.tenant.add_task()
    client = make_client(emulator)
    client.get_task(task["id"])
    time.sleep(1.5)
    client.get_task(task["id"])
    assert emulator.tenant.request_counts()["POST /oauth/token"] == 2
    assert [entry["status"] for entry in api_requests(emulator, "GET")] == [200, 200], "renewal must happen before a 401"


def test_one_relogin_after_a_401(emulator):
    task = emulator.tenant.add_task()
    client = make_client(emulator)
    client.get_task(task["id"])
    emulator.tenant.expire_tokens()
    assert client.get_task(task["id"])["id"] == task["id"]
    assert [entry["status"] for entry in api_requests(emulator, "GET")] == [200, 401, 200]
    assert emulator.tenant.request_counts()["POST /oauth/token"] == 2


def test_a_rejected_access_token_is_not_retried(emulator):
    client = IscClient(ClientConfig.from_options({"base_url": emulator.url, "access_token": "not-a-token", "rate_limit": 0}))
    with pytest.raises(IscAuthenticationError) as caught:
        client.count_tasks()
    assert "access_token was refused" in str(caught.value)
    assert len(api_requests(emulator)) == 1


def test_bad_credentials_name_the_options_and_hide_the_secret(emulator):
    client = make_client(emulator, client=("pat-0001-demo-client", "wrong-secret-value"))
    with pytest.raises(IscAuthenticationError) as caught:
        client.count_tasks()
    message = str(caught.value)
    assert "HTTP 401" in message and "client_secret" in message
    assert "wrong-secret-value" not in message and "wrong-secret-value" not in repr(caught.value.to_fail_json())
    assert emulator.tenant.request_counts() == {"POST /oauth/token": 1}


# -- retries ------------------------------------------------------------------------------------------------


def test_retry_after_is_honoured(emulator):
    emulator.tenant.add_task()
    warnings = []
    client = make_client(emulator, warnings=warnings)
    client.count_tasks()
    emulator.tenant.inject_fault("status", status=429, retry_after=2, count=1, path_contains="/task-status")
    started = time.monotonic()
    assert client.count_tasks() == 1
    assert time.monotonic() - started >= 2.0
    assert [entry["status"] for entry in api_requests(emulator, "GET")] == [200, 429, 200]
    assert any("429" in warning and "attempt 2" in warning for warning in warnings)


def test_429_is_retried_on_patch_too(emulator):
    task = emulator.tenant.add_task(completion_status=None)
    client = make_client(emulator)
    emulator.tenant.inject_fault("status", status=429, retry_after=1, count=1, method="PATCH")
    updated = client.patch_task(task["id"], [{"op": "replace", "path": "/description", "value": "retried"}])
    assert updated["description"] == "retried"
    assert [entry["status"] for entry in api_requests(emulator, "PATCH")] == [429, 200]


def test_5xx_is_retried_on_get(emulator):
    emulator.tenant.add_task()
    client = make_client(emulator)
    emulator.tenant.inject_fault("status", status=503, count=2, path_contains="/task-status")
    assert client.count_tasks() == 1
    assert [entry["status"] for entry in api_requests(emulator, "GET")] == [503, 503, 200]


def test_5xx_retries_give_up_and_say_how_many_attempts(emulator):
    client = make_client(emulator, retries=2)
    emulator.tenant.inject_fault("status", status=502, count=10, path_contains="/task-status")
    with pytest.raises(IscServerError) as caught:
        client.count_tasks()
    assert "HTTP 502" in str(caught.value) and "after 3 attempts" in str(caught.value)
    assert len(api_requests(emulator, "GET")) == 3


def test_total_retry_wait_is_bounded(emulator, monkeypatch):
    client = make_client(emulator, retries=5, max_retry_wait=1.5)
    emulator.tenant.inject_fault("status", status=429, retry_after=1, count=10, path_contains="/task-status")
    real_sleep, slept = time.sleep, []
    monkeypatch.setattr(transport_module.time, "sleep", lambda seconds: (slept.append(seconds), real_sleep(seconds)))
    with pytest.raises(IscRateLimitError) as caught:
        client.count_tasks()
    # What the client slept, not how long this machine took: one wait of Retry-After (1 s plus jitter), and no
    # second one, which would go past max_retry_wait.
    assert len(slept) == 1 and 1.0 <= slept[0] <= 1.5
    assert "429" in str(caught.value) and "rate_limit" in str(caught.value)
    assert len(api_requests(emulator, "GET")) == 2


def test_429_outlasting_the_retry_count_is_waited_out(emulator):
    emulator.tenant.add_task()
    client = make_client(emulator, retries=1)
    emulator.tenant.inject_fault("rate_limit_storm", retry_after=1, count=3, path_contains="/task-status")
    assert client.count_tasks() == 1
    assert [entry["status"] for entry in api_requests(emulator, "GET")] == [429, 429, 429, 200]


def test_429_with_retry_after_zero_still_waits(emulator):
    emulator.tenant.add_task()
    client = make_client(emulator, max_retry_wait=2.5)
    emulator.tenant.inject_fault("rate_limit_storm", retry_after=0, count=50, path_contains="/task-status")
    started = time.monotonic()
    with pytest.raises(IscRateLimitError):
        client.count_tasks()
    statuses = [entry["status"] for entry in api_requests(emulator, "GET")]
    assert statuses == [429, 429, 429], "one try and two retries a second apart fit in 2.5 s; a tight loop would send dozens"
    assert time.monotonic() - started >= 2.0


def test_429_without_retry_after_waits_at_least_a_second(emulator):
    emulator.tenant.add_task()
    client = make_client(emulator)
    emulator.tenant.inject_fault("status", status=429, retry_after=None, count=1, path_contains="/task-status")
    started = time.monotonic()
    assert client.count_tasks() == 1
    assert time.monotonic() - started >= 1.0


def test_429_retries_are_capped_in_number(emulator, monkeypatch):
    monkeypatch.setattr(transport_module, "MIN_RATE_LIMITED_WAIT", 0.01)
    monkeypatch.setattr(transport_module, "MAX_RATE_LIMITED_RETRIES", 3)
    client = make_client(emulator, max_retry_wait=60)
    emulator.tenant.inject_fault("rate_limit_storm", retry_after=0, count=50, path_contains="/task-status")
    with pytest.raises(IscRateLimitError) as caught:
        client.count_tasks()
    assert len(api_requests(emulator, "GET")) == 4
    assert "after 4 attempts" in str(caught.value)


def test_retries_count_against_the_rate_budget(emulator):
    emulator.tenant.add_task()
    client = make_client(emulator, rate_limit=50)
    emulator.tenant.inject_fault("status", status=503, retry_after=0, count=2, path_contains="/task-status")
    assert client.count_tasks() == 1
    sent = len(api_requests(emulator))
    assert sent == 4, "token, two 503s, then the answer"
    assert len(client.transport.budget.sent) == sent, "every request sent, retries included, is counted by the rate budget"


def test_retry_wait_running_out_keeps_the_cause():
    client = IscClient(ClientConfig.from_options({"base_url": "http://127.0.0.1:9", "client_id": "a", "client_secret": "b", "max_retry_wait": 0.3}))
    with pytest.raises(IscConnectionError) as caught:
        client.count_tasks()
    assert "refused" in str(caught.value).lower(), str(caught.value)


def test_patch_is_not_repeated_after_a_5xx(emulator):
    task = emulator.tenant.add_task(completion_status=None)
    client = make_client(emulator)
    emulator.tenant.inject_fault("status", status=503, count=1, method="PATCH")
    with pytest.raises(IscServerError) as caught:
        client.patch_task(task["id"], [{"op": "replace", "path": "/description", "value": "x"}])
    assert caught.value.attempts == 1
    assert len(api_requests(emulator, "PATCH")) == 1


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda client: client.iter_tasks(filters='name eq "x"').__next__(), IscBadRequestError),
        (lambda client: client.patch_task("0" * 32, [{"op": "replace", "path": "/description", "value": "x"}]), IscNotFoundError),
    ],
    ids=["400", "404"],
)
def test_4xx_is_never_retried(emulator, call, error):
    client = make_client(emulator)
    with pytest.raises(error) as caught:
        call(client)
    assert caught.value.attempts == 1
    assert len([entry for entry in api_requests(emulator) if entry["path"] != "/oauth/token"]) == 1


def test_dropped_connection_is_retried_for_reads(emulator):
    emulator.tenant.add_task()
    client = make_client(emulator)
    emulator.tenant.inject_fault("drop", count=1, path_contains="/task-status")
    assert client.count_tasks() == 1


def test_unreachable_tenant_is_a_clear_connection_error():
    client = IscClient(ClientConfig.from_options({"base_url": "http://127.0.0.1:9", "client_id": "a", "client_secret": "b", "retries": 1}))
    with pytest.raises(IscConnectionError) as caught:
        client.count_tasks()
    assert "127.0.0.1:9" in str(caught.value)
    assert "POST /oauth/token" in str(caught.value) and "after 2 attempts" in str(caught.value), "the token POST is retried like a read"


def test_plain_http_on_an_https_url_gets_a_scheme_hint(emulator):
    client = IscClient(
        ClientConfig.from_options({"base_url": emulator.url.replace("http://", "https://"), "client_id": "a", "client_secret": "b", "retries": 0})
    )
    with pytest.raises(IscConnectionError) as caught:
        client.count_tasks()
    assert "does not speak TLS" in str(caught.value) and "after 1 attempt:" not in str(caught.value)


# -- errors ---------------------------------------------------------------------------------------------------


def test_403_on_patch_explains_personal_access_tokens(emulator):
    task = emulator.tenant.add_task(completion_status=None)
    client = make_client(emulator, client=API_CLIENT)
    with pytest.raises(IscForbiddenError) as caught:
        client.patch_task(task["id"], [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}])
    message = str(caught.value)
    assert "HTTP 403" in message and "personal access token" in message and "idn:task-management:write" in message
    assert caught.value.tracking_id and caught.value.tracking_id in message
    assert caught.value.to_fail_json()["status"] == 403


def test_404_hint_mentions_the_90_day_window(emulator):
    client = make_client(emulator)
    with pytest.raises(IscNotFoundError) as caught:
        client.patch_task("f" * 32, [{"op": "replace", "path": "/description", "value": "x"}])
    assert "90 days" in str(caught.value)
    assert client.get_task("f" * 32) is None


def test_500_carries_detail_code_and_tracking_id(emulator):
    client = make_client(emulator, retries=0)
    emulator.tenant.inject_fault("status", status=500, count=1, path_contains="/task-status")
    with pytest.raises(IscServerError) as caught:
        client.count_tasks()
    assert caught.value.detail_code and caught.value.detail_code in str(caught.value)
    assert caught.value.tracking_id in str(caught.value)


def test_html_error_page_is_named(emulator):
    client = make_client(emulator, retries=0)
    emulator.tenant.inject_fault("status", status=502, html=True, count=1, path_contains="/task-status")
    with pytest.raises(IscServerError) as caught:
        client.count_tasks()
    assert "text/html" in str(caught.value) and "proxy" in str(caught.value)


def test_bad_request_text_comes_from_isc(emulator):
    client = make_client(emulator, api_version="beta")
    with pytest.raises(IscBadRequestError) as caught:
        client.count_tasks('launcher eq "x"')
    assert "launcher" in str(caught.value) and "HTTP 400" in str(caught.value)


# -- paging -------------------------------------------------------------------------------------------------


# (tasks, GETs): a first page of 250 (the spec's largest `limit`) with count=true; the pages after it each start
# 5 positions back (245, 490, ...), and are followed by a read past the total (tasks added meanwhile).
@pytest.mark.parametrize(("count", "gets"), [(0, 1), (1, 1), (249, 1), (250, 1), (251, 3), (500, 4)])
def test_every_task_listed_exactly_once(emulator, count, gets):
    emulator.tenant.generate(count)
    client = make_client(emulator, api_version="v2025")
    ids = [task["id"] for task in client.iter_tasks()]
    assert len(ids) == len(set(ids)) == count
    assert set(ids) == {task["id"] for task in visible(emulator)}
    reads = api_requests(emulator, "GET")
    assert len(reads) == gets
    assert reads[0]["query"]["limit"] == "250" and all(int(entry["query"]["limit"]) <= 250 for entry in reads)


def test_ten_thousand_tasks_concurrent_equals_sequential(emulator):
    emulator.tenant.generate(10_000)
    concurrent = [task["id"] for task in make_client(emulator, api_version="v2025", page_concurrency=4).iter_tasks(sorters="created")]
    sequential = [task["id"] for task in make_client(emulator, api_version="v2025", page_concurrency=1).iter_tasks(sorters="created")]
    assert concurrent == sequential
    assert len(set(concurrent)) == 10_000


def test_limit_and_offset_are_totals_not_page_sizes(emulator):
    emulator.tenant.generate(600)
    client = make_client(emulator, api_version="v2026")
    everything = [task["id"] for task in client.iter_tasks(sorters="-created")]
    window = [task["id"] for task in client.iter_tasks(sorters="-created", offset=100, limit=300)]
    assert window == everything[100:400]


# -- versions, filters, pending -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_structured_filter_matches_server_side(emulator, version):
    emulator.tenant.reset(seed="demo")
    client = make_client(emulator, api_version=version)
    wanted = {"type": "CLOUD_ACCOUNT_AGGREGATION", "completionStatus": ["ERROR", "warning"]}
    got = {task["id"] for task in client.iter_tasks(filters=wanted)}
    expected = {
        task["id"] for task in visible(emulator) if task["_definitionType"] == "CLOUD_ACCOUNT_AGGREGATION" and task["completionStatus"] in ("ERROR", "WARNING")
    }
    assert got == expected and got


@pytest.mark.parametrize("version", VERSIONS)
def test_pending_is_the_same_on_every_version(emulator, version):
    emulator.tenant.reset(seed="demo")
    client = make_client(emulator, api_version=version)
    pending = {task["id"] for task in client.iter_pending_tasks()}
    expected = {task["id"] for task in visible(emulator, completionStatus=None)}
    assert pending == expected and len(expected) >= 3
    assert client.count_pending_tasks() == len(expected)
    counts = emulator.tenant.request_counts()
    if version in ("beta", "v2024"):
        # Their list has completed tasks only (task-management.beta.yaml, getTaskStatusList): the deprecated endpoint is the one way.
        assert counts.get(f"HEAD /{version}/task-status/pending-tasks") == 1
    else:
        # v2025 documents `completionStatus isnull` on its list (task-management.v2025.yaml): the deprecated endpoint is not used.
        assert not any("pending-tasks" in key for key in counts)
        lists = [entry for entry in api_requests(emulator, "GET") if "pending-tasks" not in entry["path"]]
        assert lists and all("completionStatus isnull" in entry["query"].get("filters", "") for entry in lists)


@pytest.mark.parametrize("version", VERSIONS)
def test_pending_with_structured_filters(emulator, version):
    emulator.tenant.reset(seed="demo")
    stuck = emulator.tenant.add_task(completion_status=None, definition_type="CLOUD_GROUP_AGGREGATION", source_id='src-quote"#&', age_s=3 * 86400)
    client = make_client(emulator, api_version=version)
    found = list(client.iter_pending_tasks(filters={"type": "CLOUD_GROUP_AGGREGATION", "source_id": 'src-quote"#&'}))
    assert [task["id"] for task in found] == [stuck["id"]]
    assert client.count_pending_tasks({"source_id": 'src-quote"#&'}) == 1


def test_pending_with_a_filter_and_a_limit_stops_at_the_limit(emulator):
    emulator.tenant.reset(seed="empty")
    wanted = emulator.tenant.add_task(completion_status=None, definition_type="CLOUD_GROUP_AGGREGATION", age_s=3 * 86400)
    for _index in range(600):
        emulator.tenant.add_task(completion_status=None, definition_type="CLOUD_ACCOUNT_AGGREGATION", age_s=3600)
    client = make_client(emulator, api_version="beta", page_concurrency=1)
    found = list(client.iter_pending_tasks(filters={"type": "CLOUD_GROUP_AGGREGATION"}, limit=1))
    assert [task["id"] for task in found] == [wanted["id"]]
    assert len(api_requests(emulator, "GET")) == 1, "the match is on the first page; no further page is needed"


def test_isnull_filter_refused_before_any_request_on_beta(emulator):
    client = make_client(emulator, api_version="beta")
    with pytest.raises(IscConfigError):
        client.count_tasks({"completionStatus": None})
    assert emulator.tenant.request_log() == []


# -- configuration ------------------------------------------------------------------------------------------


def test_user_agent_names_the_collection(emulator):
    client = make_client(emulator)
    assert client.transport._session.headers["User-Agent"].startswith("sailpoint.isc (Ansible collection) python-requests/")


# -- TLS and proxies ----------------------------------------------------------------------------------------


def test_self_signed_certificate_refused_by_default(tls_emulator):
    server, _ca_file = tls_emulator
    assert server.url.startswith("https://")
    client = make_client(server, retries=0)
    with pytest.raises(IscConnectionError) as caught:
        client.count_tasks()
    assert "TLS" in str(caught.value) and "ca_path" in str(caught.value)


def test_ca_path_trusts_the_certificate(tls_emulator):
    server, ca_file = tls_emulator
    assert make_client(server, ca_path=ca_file).count_tasks() > 0


def test_validate_certs_false_works_and_warns(tls_emulator):
    server, _ca_file = tls_emulator
    warnings = []
    assert make_client(server, warnings=warnings, validate_certs=False).count_tasks() > 0
    assert any("validate_certs is false" in warning for warning in warnings)


def test_proxy_from_the_environment_is_used(emulator, monkeypatch):
    from isc_emulator.testing import ForwardingProxy

    emulator.tenant.add_task()
    with ForwardingProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert make_client(emulator).count_tasks() == 1
        assert any(line.startswith("POST http://127.0.0.1") and "/oauth/token" in line for line in proxy.seen)
        assert any("/task-status/v1" in line for line in proxy.seen)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        before = len(proxy.seen)
        assert make_client(emulator).count_tasks() == 1
        assert len(proxy.seen) == before, "NO_PROXY must bypass the proxy"


# -- nothing lost -----------------------------------------------------------------------------------------------


def test_listing_under_faults_and_churn_returns_every_lasting_task_once(emulator):
    """Tasks are added and completed while a 1,000-task listing runs through 5xx faults and a dropped connection."""
    import threading

    emulator.tenant.generate(1000, pending_fraction=0.2)
    lasting = {task["id"] for task in visible(emulator)}
    emulator.tenant.configure(latency_ms=20)
    emulator.tenant.inject_fault("status", status=503, count=2, path_contains="/task-status")
    emulator.tenant.inject_fault("drop", count=1, path_contains="/task-status")
    stop = threading.Event()
    added = []

    def churn():
        while not stop.is_set():
            added.append(emulator.tenant.add_task(completion_status=None)["id"])
            emulator.tenant.launch_task(duration_s=0.05)
            time.sleep(0.01)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        ids = [task["id"] for task in make_client(emulator, api_version="v2025").iter_tasks()]
    finally:
        stop.set()
        worker.join()
    assert len(ids) == len(set(ids)), "a task was returned twice"
    assert lasting <= set(ids), f"{len(lasting - set(ids))} tasks that existed throughout were lost"
    assert set(ids) <= {task["id"] for task in emulator.tenant.tasks()}
    assert added, "the churn thread added no task while the listing ran"


def test_tasks_leaving_the_90_day_window_during_a_listing_push_no_other_task_out(emulator):
    """The oldest tasks expire while pages are read; the rest move forward, and no task that stays is missed."""
    emulator.tenant.reset(seed="empty")
    edge_s = 90 * 86400
    for index in range(30):
        emulator.tenant.add_task(age_s=edge_s - 0.5 - index)  # one leaves the window per second of the tenant's clock
    for index in range(970):
        emulator.tenant.add_task(age_s=30 * 86400 - index * 60)
    client = make_client(emulator, api_version="v2025", page_concurrency=1)
    read_page = client._page

    def page_then_time_passes(*args, **kwargs):
        answer = read_page(*args, **kwargs)
        emulator.tenant.advance_clock(3)  # three more tasks leave the window after every page
        return answer

    client._page = page_then_time_passes
    ids = [task["id"] for task in client.iter_tasks()]
    lasting = {task["id"] for task in visible(emulator)}
    assert len(lasting) < 1000, "tasks left the window during the listing"
    assert len(ids) == len(set(ids)), "a task was returned twice"
    assert lasting <= set(ids), f"{len(lasting - set(ids))} tasks that stayed were missed"


def test_error_paths_name_the_real_task_id(emulator):
    client = make_client(emulator, api_version="v1", retries=0)
    emulator.tenant.inject_fault("status", status=500, count=10, path_contains="/task-status")
    with pytest.raises(IscServerError) as caught:
        client.get_task("2c9180835d2e5168015d32f890ca1581")
    assert caught.value.path == "/task-status/v1/2c9180835d2e5168015d32f890ca1581"
    assert "GET /task-status/v1/2c9180835d2e5168015d32f890ca1581" in str(caught.value)


def test_500_is_retried_for_reads(emulator):
    emulator.tenant.add_task()
    client = make_client(emulator)
    emulator.tenant.inject_fault("status", status=500, count=2, path_contains="/task-status")
    assert client.count_tasks() == 1
    assert len(api_requests(emulator, "GET")) == 3


def test_500_on_patch_is_not_repeated(emulator):
    task = emulator.tenant.add_task(completion_status=None)
    client = make_client(emulator)
    emulator.tenant.inject_fault("status", status=500, count=1, method="PATCH")
    with pytest.raises(IscServerError):
        client.patch_task(task["id"], [{"op": "replace", "path": "/description", "value": "x"}])
    assert len(api_requests(emulator, "PATCH")) == 1


@pytest.mark.parametrize("version", ["beta", "v2024"])
def test_deprecated_answer_is_warned_once_naming_the_version_to_move_to(emulator, version):
    emulator.tenant.reset(seed="demo")
    warnings: list[str] = []
    client = make_client(emulator, api_version=version, warnings=warnings)
    list(client.iter_pending_tasks())
    client.count_pending_tasks()
    deprecated = [warning for warning in warnings if "X-Deprecated" in warning]
    assert len(deprecated) == 1
    assert f"/{version}/task-status/pending-tasks" in deprecated[0] and "api_version: v1" in deprecated[0]


def test_ca_path_with_validate_certs_false_is_refused(tls_emulator):
    server, ca_file = tls_emulator
    with pytest.raises(IscConfigError) as caught:
        ClientConfig.from_options({"base_url": server.url, "client_id": "a", "client_secret": "b", "ca_path": str(ca_file), "validate_certs": False})
    assert caught.value.option == "ca_path" and "validate_certs" in str(caught.value)


def test_a_host_name_that_does_not_resolve_fails_at_once_naming_base_url():
    warnings: list[str] = []
    client = IscClient(ClientConfig.from_options({"base_url": "https://acme-typo.invalid", "client_id": "a", "client_secret": "b"}), warn=warnings.append)
    with pytest.raises(IscConnectionError) as caught:
        client.count_tasks()
    assert "base_url" in str(caught.value) and "acme-typo.invalid" in str(caught.value) and "does not resolve" in str(caught.value)
    assert warnings == [], "not retried"


def test_a_base_url_without_a_token_endpoint_is_named(emulator):
    client = make_client(emulator, retries=0)
    emulator.tenant.inject_fault("status", status=404, count=1, path_contains="/oauth/token")
    with pytest.raises(IscNotFoundError) as caught:
        client.count_tasks()
    assert "does not look like an ISC tenant's API" in str(caught.value) and emulator.url in str(caught.value)
