# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""sailpoint.isc.task_status_info against the emulator: every mode, every API version, complete results."""

from __future__ import annotations

from collections import Counter
from typing import Any

from conftest import CANARY_SECRET, CLIENTS

from isc_emulator.records import Source

VERSIONS = ("beta", "v2024", "v2025", "v2026", "v1")
# Versions whose list has completed tasks only (task-management.beta.yaml and .v2024.yaml, getTaskStatusList).
PENDING_ENDPOINT_VERSIONS = ("beta", "v2024")
LIST_PATHS = {"beta": "/beta/task-status", "v2024": "/v2024/task-status", "v2025": "/v2025/task-status", "v2026": "/v2026/task-status", "v1": "/task-status/v1"}

SOURCE_A = "2c9180835d2e5168015d32f890ca1581"
SOURCE_B = "2c91808568c529c60168cca6f90c1313"
SOURCE_C = "2c9180867624cbd7017642d8c8c81f67"
DAY_S = 86400.0
SECRETS = (CANARY_SECRET, "api-demo-secret")


# -- ground truth helpers ----------------------------------------------------------------------------------------


def api_view(task: dict[str, Any]) -> dict[str, Any]:
    """A ground-truth task as the API shows it (without the emulator's hidden fields)."""
    return {key: value for key, value in task.items() if not key.startswith("_")}


def source_of(task: dict[str, Any]) -> str | None:
    target = task.get("target") or {}
    return target.get("id") if target.get("type") == "APPLICATION" else None


def visible(truth: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    """What the list endpoint of ``version`` returns: retained tasks; beta and v2024 only completed ones."""
    lists_in_progress = version not in ("beta", "v2024")
    return [task for task in truth if not task["_expired"] and (lists_in_progress or task["completionStatus"] is not None)]


def pending(truth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [task for task in truth if not task["_expired"] and task["completionStatus"] is None]


def by_id(tasks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    assert len({task["id"] for task in tasks}) == len(tasks), "a task was returned more than once"
    return {task["id"]: task for task in tasks}


def same_tasks(returned: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Every expected task exactly once, unchanged, and nothing else (in any order)."""
    assert by_id(returned) == by_id([api_view(task) for task in expected])


def per_version(run: Any, task_name: str, versions: tuple[str, ...] = VERSIONS) -> dict[str, dict[str, Any]]:
    """Results of a task that ran once per API version host (see playbooks/version_hosts.yml), keyed by version."""
    ran = [record for record in run.records if task_name == record["name"] and record["status"] != "skipped"]
    keyed = {record["host"].removeprefix("isc-"): record["result"] for record in ran}
    assert len(keyed) == len(ran), f"{task_name}: ran more than once on a host"
    assert sorted(keyed) == sorted(versions), f"{task_name}: ran for {sorted(keyed)}"
    for version, result in keyed.items():
        for one_run in result.get("results", [result]):
            assert one_run["invocation"]["module_args"]["api_version"] == version
    return keyed


def loop_results(run: Any, task_name: str) -> list[dict[str, Any]]:
    return run.result(task_name)["results"]


def seed_mixed_tasks(emulator: Any) -> dict[str, Any]:
    """Completed and pending tasks of several types, sources and outcomes, one older than 90 days."""
    add = emulator.tenant.add_task
    layout = [
        ("CLOUD_ACCOUNT_AGGREGATION", SOURCE_A, "SUCCESS"),
        ("CLOUD_ACCOUNT_AGGREGATION", SOURCE_A, "ERROR"),
        ("CLOUD_ACCOUNT_AGGREGATION", SOURCE_B, "WARNING"),
        ("CLOUD_ACCOUNT_AGGREGATION", SOURCE_C, "SUCCESS"),
        ("CLOUD_GROUP_AGGREGATION", SOURCE_A, "TEMPERROR"),
        ("CLOUD_GROUP_AGGREGATION", SOURCE_B, "ERROR"),
        ("IDENTITY_REFRESH", None, "SUCCESS"),
        ("IDENTITY_REFRESH", None, "TERMINATED"),
        ("CLOUD_ACCOUNT_AGGREGATION", SOURCE_A, None),
        ("CLOUD_ACCOUNT_AGGREGATION", SOURCE_A, None),
        ("CLOUD_GROUP_AGGREGATION", SOURCE_A, None),
        ("CLOUD_ACCOUNT_AGGREGATION", SOURCE_B, None),
        ("IDENTITY_REFRESH", None, None),
    ]
    created = [
        add(definition_type=kind, source_id=source, completion_status=status, age_s=3600.0 * (len(layout) - index))
        for index, (kind, source, status) in enumerate(layout)
    ]
    add(definition_type="CLOUD_ACCOUNT_AGGREGATION", source_id=SOURCE_A, completion_status="ERROR", age_s=91 * DAY_S)
    return {"known": created[1]}


# -- every mode on every version -----------------------------------------------------------------------------------


def test_every_mode_on_every_version(run_playbook, emulator):
    seeded = seed_mixed_tasks(emulator)
    truth = emulator.tenant.tasks()
    assert any(task["_expired"] for task in truth)

    # SAIL_BASE_URL is removed: the connection must come from module_defaults group/sailpoint.isc.isc.
    run = run_playbook(
        "task_status_info_modes.yml",
        extra_vars={"isc_base_url": emulator.url, "known_task_id": seeded["known"]["id"], "source_a": SOURCE_A, "source_b": SOURCE_B},
        env={"SAIL_BASE_URL": None},
    )

    module_records = [record for record in run.records if record["action"] == "sailpoint.isc.task_status_info"]
    assert len(module_records) == 15 * len(VERSIONS)
    assert all(record["status"] == "ok" and record["result"]["changed"] is False for record in module_records)
    in_progress = pending(truth)
    assert len(in_progress) == 5
    for version in VERSIONS:
        listed = visible(truth, version)
        newest_first = sorted(listed, key=lambda task: task["created"], reverse=True)
        oldest_first = sorted(listed, key=lambda task: task["created"])

        one = per_version(run, "Get one task")[version]
        assert one["tasks"] == [api_view(seeded["known"])] and one["count"] == 1

        unknown = per_version(run, "Get unknown task")[version]
        assert unknown["tasks"] == [] and unknown["count"] == 0 and "90 days" in unknown["msg"]

        every = per_version(run, "List every task")[version]
        same_tasks(every["tasks"], listed)
        assert every["count"] == len(listed)

        structured = per_version(run, "List with structured filters")[version]["tasks"]
        same_tasks(structured, [t for t in listed if t["_definitionType"] == "CLOUD_ACCOUNT_AGGREGATION" and source_of(t) in (SOURCE_A, SOURCE_B)])

        raw = per_version(run, "List with raw filter")[version]["tasks"]
        same_tasks(raw, [t for t in listed if t["completionStatus"] in ("ERROR", "TEMPERROR")])

        window = per_version(run, "List newest first with offset and limit")[version]["tasks"]
        assert window == [api_view(task) for task in newest_first[1:4]]
        first_two = per_version(run, "List oldest first with limit")[version]["tasks"]
        assert first_two == [api_view(task) for task in oldest_first[:2]]

        same_tasks(per_version(run, "List pending")[version]["tasks"], in_progress)
        same_tasks(per_version(run, "List pending of one source")[version]["tasks"], [t for t in in_progress if source_of(t) == SOURCE_A])
        limited = per_version(run, "List pending with limit")[version]["tasks"]
        assert len(limited) == 1 and limited[0] in [api_view(task) for task in in_progress]

        assert per_version(run, "Count failed tasks")[version]["count"] == sum(t["completionStatus"] == "ERROR" for t in listed)
        assert "tasks" not in per_version(run, "Count failed tasks")[version]
        assert per_version(run, "Count every task")[version]["count"] == len(listed)
        assert per_version(run, "Count pending")[version]["count"] == len(in_progress)
        assert per_version(run, "Count pending in check mode")[version]["count"] == len(in_progress)
        expected_aggregations = [t for t in in_progress if t["_definitionType"] == "CLOUD_ACCOUNT_AGGREGATION" and source_of(t) == SOURCE_A]
        assert per_version(run, "Count pending aggregations of one source")[version]["count"] == len(expected_aggregations) == 2

    counts = emulator.tenant.request_counts()
    for version in VERSIONS:
        pending_path = f"{LIST_PATHS[version]}/pending-tasks"
        if version in PENDING_ENDPOINT_VERSIONS:
            # Both unfiltered pending counts (normal and check mode) are a single HEAD each.
            assert counts.get(f"HEAD {pending_path}") == 2, counts
            assert counts.get(f"GET {pending_path}", 0) >= 3, counts
        else:
            assert not any(pending_path in key for key in counts), counts
    # count_only asks for a minimal page: limit=1 with count=true, never a full listing.
    count_requests = [entry for entry in emulator.tenant.request_log() if entry["query"].get("count") == "true" and entry["method"] == "GET"]
    assert any(entry["query"].get("limit") == "1" for entry in count_requests)


# -- filters with special characters -----------------------------------------------------------------------------------


SPECIAL_SOURCE = 'src "quoted" \\ back#hash & amp %25 percent and spaces'
OTHER_SPECIAL_SOURCE = 'other "src" #2 & 100% \\\\'
SPECIAL_LAUNCHER = 'svc "ops" #1 & 50% \\ team'


# SPECIAL_SOURCE in a raw filter, escaped by hand as docs/api/standard-collection-parameters.md says: \" for a quote,
# \\ for a backslash; #, & and % are left to the URL encoding of the query.
RAW_SPECIAL_FILTER = 'sourceId eq "src \\"quoted\\" \\\\ back#hash & amp %25 percent and spaces"'


def test_filters_with_quotes_and_special_characters(run_playbook, emulator):
    add = emulator.tenant.add_task
    wanted = [
        add(source_id=SPECIAL_SOURCE, source_name="Special", completion_status="SUCCESS", age_s=300),
        add(source_id=SPECIAL_SOURCE, source_name="Special", completion_status=None, age_s=200),
    ]
    other = add(source_id=OTHER_SPECIAL_SOURCE, source_name="Other", completion_status="ERROR", age_s=250)
    # Decoys that a badly escaped or truncated value would match.
    add(source_id='src "quoted" ', source_name="Decoy", completion_status="SUCCESS", age_s=400)
    add(source_id="src ", source_name="Decoy 2", completion_status="SUCCESS", age_s=410)
    add(source_id=SPECIAL_SOURCE.replace("%25", "%"), source_name="Decoy 3", completion_status="SUCCESS", age_s=420)
    by_launcher = add(source_id=SOURCE_C, completion_status="SUCCESS", age_s=100, launcher=SPECIAL_LAUNCHER)
    add(source_id=SOURCE_C, completion_status="SUCCESS", age_s=110, launcher="svc ")

    run = run_playbook(
        "task_status_info_special_filters.yml",
        extra_vars={
            "special_source": SPECIAL_SOURCE,
            "other_special_source": OTHER_SPECIAL_SOURCE,
            "raw_special_filter": RAW_SPECIAL_FILTER,
            "special_launcher": SPECIAL_LAUNCHER,
        },
    )

    truth = {task["id"]: task for task in emulator.tenant.tasks()}
    for version in VERSIONS:
        expected = [truth[task["id"]] for task in wanted]
        completed_only = version in ("beta", "v2024")
        listed = [task for task in expected if not completed_only or task["completionStatus"] is not None]
        same_tasks(per_version(run, "Structured eq filter with special characters")[version]["tasks"], listed)
        same_tasks(per_version(run, "Raw filter with special characters")[version]["tasks"], listed)
        same_tasks(per_version(run, "Structured in filter with special characters")[version]["tasks"], [*listed, truth[other["id"]]])
        same_tasks(per_version(run, "Pending with special characters")[version]["tasks"], [truth[wanted[1]["id"]]])
    for launcher_result in per_version(run, "Launcher with special characters", ("v2026", "v1")).values():
        same_tasks(launcher_result["tasks"], [truth[by_launcher["id"]]])

    sent = {entry["query"].get("filters") for entry in emulator.tenant.request_log()}
    assert RAW_SPECIAL_FILTER in sent


# -- invalid filters are caught before any request ---------------------------------------------------------------------


def test_invalid_filters_fail_before_any_request(run_playbook, emulator):
    run = run_playbook("task_status_info_invalid.yml")

    refused_locally = {
        "Unknown filter field": "field 'name' cannot be filtered",
        "Launcher filter on beta": "field 'launcher' cannot be filtered on API version beta",
        "Null completionStatus on v2024": "isnull",
        "Raw filter with pending": "structured form",
        "completionStatus with pending": "cannot be combined with pending",
        "Zero limit": "limit",
        "Id with filters": "mutually exclusive",
        "Malformed task id": "is not a task id",
    }
    for task_name, message in refused_locally.items():
        assert run.status(task_name) == "failed", task_name
        assert message in run.result(task_name)["msg"], run.result(task_name)["msg"]
    assert run.result("Unknown filter field")["option"] == "filters"

    # Only the last task, whose raw filter only ISC can judge, reached the emulator: a token and one 400.
    log = emulator.tenant.request_log()
    assert [(entry["method"], entry["path"], entry["status"]) for entry in log] == [
        ("POST", "/oauth/token", 200),
        ("GET", "/v2025/task-status", 400),
    ]
    assert log[1]["query"]["filters"] == 'name eq "Big Task"'
    refused = run.result("Raw filter ISC refuses")
    assert run.status("Raw filter ISC refuses") == "failed" and refused["status"] == 400


# -- 0, 250, 251 and 10,000 matching tasks --------------------------------------------------------------------------------


def test_every_matching_task_returned_exactly_once(run_playbook, emulator):
    big_version = "v2025"
    for size in (250, 251):
        emulator.tenant.generate(size, sources=[Source(f"volume-{size}", f"Volume {size}")], definition_types=["CLOUD_ACCOUNT_AGGREGATION"])
        emulator.tenant.generate(
            size, pending_fraction=1.0, sources=[Source(f"pending-{size}", f"Pending {size}")], definition_types=["CLOUD_ACCOUNT_AGGREGATION"]
        )
    emulator.tenant.generate(10_000, sources=[Source("volume-10000", "Volume 10000")], definition_types=["CLOUD_ACCOUNT_AGGREGATION"])
    truth = emulator.tenant.tasks()
    ids_by_source = {}
    for task in truth:
        ids_by_source.setdefault(source_of(task), set()).add(task["id"])
    assert len(ids_by_source["volume-10000"]) == 10_000 and len(ids_by_source["pending-251"]) == 251
    assert all(task["completionStatus"] is None for task in truth if source_of(task) == "pending-251")
    emulator.tenant.clear_request_log()

    run = run_playbook("task_status_info_volumes.yml", extra_vars={"big_version": big_version})

    listed = per_version(run, "List 0, 250 and 251 tasks")
    pending_listed = per_version(run, "List 0, 250 and 251 pending tasks")
    for version in VERSIONS:
        for prefix, results in (("volume", listed[version]["results"]), ("pending", pending_listed[version]["results"])):
            assert [item["item"] for item in results] == [0, 250, 251]
            for item in results:
                expected_ids = ids_by_source.get(f"{prefix}-{item['item']}", set())
                assert Counter(task["id"] for task in item["tasks"]) == Counter(expected_ids), (version, prefix, item["item"])

    big = run.result("List 10,000 tasks")
    assert Counter(task["id"] for task in big["tasks"]) == Counter(ids_by_source["volume-10000"])
    newest_first = sorted((t for t in truth if source_of(t) == "volume-10000"), key=lambda task: (task["created"], task["id"]), reverse=True)
    tail = run.result("List 251 of 10,000 newest first from offset 9,800")["tasks"]
    assert [task["id"] for task in tail] == [task["id"] for task in newest_first[9800:]]
    assert len(tail) == 200

    # For the 10,000: a first page of 250, then 40 pages that each re-read 5 positions of the one before (the
    # overlap of _client.PAGE_OVERLAP), and the read past the end; 1 short page for the 200-task tail.
    big_pages = [
        entry
        for entry in emulator.tenant.request_log()
        if entry["method"] == "GET" and entry["path"] == LIST_PATHS[big_version] and entry["query"].get("filters") == 'sourceId eq "volume-10000"'
    ]
    assert 42 <= len(big_pages) <= 43, len(big_pages)
    assert all(int(entry["query"]["limit"]) <= 250 for entry in big_pages)


# -- ad hoc --------------------------------------------------------------------------------------------------------------


def test_adhoc_with_connection_from_sail_environment_only(run_adhoc, emulator):
    known = emulator.tenant.add_task(source_id=SOURCE_A, completion_status="WARNING", age_s=60)
    emulator.tenant.add_task(source_id=SOURCE_A, completion_status=None, age_s=30)
    emulator.tenant.add_task(source_id=SOURCE_B, completion_status=None, age_s=20)

    one = run_adhoc(f"id={known['id']}", api_version="v2025", verbosity=3)
    assert one.result()["tasks"] == [api_view(emulator.tenant.tasks()[0])]
    for secret in SECRETS:
        assert secret not in one.output
        assert secret not in repr(one.records)

    counted = run_adhoc("pending=true count_only=true", api_version="v2024")
    assert counted.result()["count"] == 2
    assert "localhost | SUCCESS" in counted.stdout

    structured_json = run_adhoc(f'pending=true filters=\'{{"source_id": "{SOURCE_B}"}}\'', api_version="v1")
    assert [source_of(task) for task in structured_json.result()["tasks"]] == [SOURCE_B]

    missing = run_adhoc("id=does-not-exist")
    assert missing.result()["tasks"] == [] and "older than 90 days" in missing.result()["msg"]

    no_credentials = run_adhoc("pending=true", client=None, expect_rc=2)
    assert "SAIL_CLIENT_ID" in no_credentials.result()["msg"]
    assert [entry["path"] for entry in emulator.tenant.request_log()].count("/oauth/token") == 4


def test_fields_keep_only_what_was_asked(run_playbook, emulator):
    emulator.tenant.reset(seed="demo")
    run = run_playbook("task_status_info_fields.yml", api_version="v2025")
    assert run.status("Check the projection") == "ok"
    newest = sorted((task for task in emulator.tenant.tasks() if not task["_expired"]), key=lambda task: task["created"], reverse=True)[:5]
    assert [task["uniqueName"] for task in run.result("The newest tasks, a few fields only")["tasks"]] == [task["uniqueName"] for task in newest]


def test_options_in_the_task_beat_sail_variables_of_the_other_kind(run_adhoc, emulator):
    """An AWX credential fills SAIL_*; a task that names the tenant or a token another way is obeyed, not refused."""
    task = emulator.tenant.add_task(age_s=60)
    expected = [api_view(emulator.tenant.tasks()[0])]

    named = run_adhoc({"id": task["id"], "base_url": emulator.url}, env={"SAIL_BASE_URL": None, "SAIL_TENANT": "acme"})
    assert named.result()["tasks"] == expected

    token = emulator.tenant.issue_token(*CLIENTS["pat"])["access_token"]
    emulator.tenant.clear_request_log()
    with_token = run_adhoc({"id": task["id"], "access_token": token})
    assert with_token.result()["tasks"] == expected
    assert "POST /oauth/token" not in emulator.tenant.request_counts(), "the token given in the task is used, not the environment's client"

    emulator.tenant.clear_request_log()
    refused = run_adhoc({"id": task["id"]}, env={"SAIL_TENANT": "acme"}, expect_rc=2)
    assert "SAIL_BASE_URL and SAIL_TENANT" in refused.output
    assert "Unset one of them" in refused.output
    assert emulator.tenant.request_counts() == {}, "refused before any request"


def test_empty_sail_variables_count_as_unset(run_adhoc, emulator):
    """A blank field of an AWX credential injects an empty variable; the option's default applies."""
    task = emulator.tenant.add_task(age_s=60)
    run = run_adhoc({"id": task["id"]}, env={"SAIL_API_VERSION": "", "SAIL_TIMEOUT": "", "SAIL_TENANT": ""})
    assert [found["id"] for found in run.result()["tasks"]] == [task["id"]]
    assert emulator.tenant.request_counts().get("GET /task-status/v1/{id}") == 1, emulator.tenant.request_counts()
