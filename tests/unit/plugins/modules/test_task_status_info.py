# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import Mock

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError, IscNotFoundError
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import API_VERSIONS
from ansible_collections.sailpoint.isc.plugins.modules import task_status_info
from ansible_collections.sailpoint.isc.plugins.modules.task_status_info import TaskQuery, build_query, run
from ansible_collections.sailpoint.isc.tests.unit.fakes import mock_client

TASK_A = {"id": "task-a", "completionStatus": "SUCCESS"}
TASK_B = {"id": "task-b", "completionStatus": None}


def params(**overrides: Any) -> dict[str, Any]:
    base = {"id": None, "filters": None, "sorters": None, "offset": None, "limit": None, "pending": False, "count_only": False}
    base.update({"fields": None, "older_than": None})
    base.update(overrides)
    return base


class TestBuildQuery:
    def test_id_alone(self) -> None:
        assert build_query(params(id=" task-a "), API_VERSIONS["beta"]) == TaskQuery(task_id="task-a")

    def test_empty_id_is_refused(self) -> None:
        with pytest.raises(IscConfigError) as raised:
            build_query(params(id="  "), API_VERSIONS["beta"])
        assert raised.value.option == "id"

    @pytest.mark.parametrize(("name", "value"), [("offset", -1), ("limit", 0), ("limit", -5)])
    def test_out_of_range_paging_is_refused(self, name: str, value: int) -> None:
        with pytest.raises(IscConfigError) as raised:
            build_query(params(**{name: value}), API_VERSIONS["beta"])
        assert raised.value.option == name

    def test_structured_filter_is_normalized_to_isc_field_names(self) -> None:
        query = build_query(
            params(filters={"source_id": ["a", "b"], "type": "CLOUD_ACCOUNT_AGGREGATION", "completion_status": None}),
            API_VERSIONS["v2025"],
        )
        assert query.filters == {"sourceId": ["a", "b"], "type": "CLOUD_ACCOUNT_AGGREGATION", "completionStatus": None}

    @pytest.mark.parametrize(
        ("version", "filters"),
        [
            ("beta", {"name": "x"}),
            ("beta", {"launcher": "sweep"}),
            ("v2024", {"completionStatus": None}),
            ("v1", {"sourceId": []}),
            ("v2026", {"id": {"nested": "dict"}}),
        ],
    )
    def test_structured_filter_invalid_for_version_is_refused(self, version: str, filters: dict[str, Any]) -> None:
        with pytest.raises(IscConfigError) as raised:
            build_query(params(filters=filters), API_VERSIONS[version])
        assert raised.value.option == "filters"

    def test_launcher_is_accepted_where_the_version_has_it(self) -> None:
        assert build_query(params(filters={"launcher": "sweep"}), API_VERSIONS["v2026"]).filters == {"launcher": "sweep"}

    def test_raw_filter_string_passes_unchanged(self) -> None:
        raw = 'sourceId eq "a \\"quoted\\" # & % \\\\ value"'
        assert build_query(params(filters=raw), API_VERSIONS["beta"]).filters == raw

    def test_json_string_is_read_as_the_structured_form(self) -> None:
        query = build_query(params(filters='{"source_id": "a", "completionStatus": null}'), API_VERSIONS["v1"])
        assert query.filters == {"sourceId": "a", "completionStatus": None}

    def test_json_string_is_validated_like_a_dictionary(self) -> None:
        with pytest.raises(IscConfigError, match="field 'launcher' cannot be filtered on API version beta"):
            build_query(params(filters=' {"launcher": "x"}'), API_VERSIONS["beta"])

    def test_broken_json_string_is_refused(self) -> None:
        with pytest.raises(IscConfigError, match="not valid JSON"):
            build_query(params(filters='{"type": '), API_VERSIONS["beta"])

    @pytest.mark.parametrize("filters", ["", "   ", ["completionStatus"], 5])
    def test_unusable_filters_are_refused(self, filters: Any) -> None:
        with pytest.raises(IscConfigError) as raised:
            build_query(params(filters=filters), API_VERSIONS["beta"])
        assert raised.value.option == "filters"

    def test_pending_refuses_raw_filter_strings(self) -> None:
        with pytest.raises(IscConfigError, match="structured form"):
            build_query(params(pending=True, filters='type eq "X"'), API_VERSIONS["v2025"])

    @pytest.mark.parametrize("name", ["completionStatus", "completion_status"])
    def test_pending_refuses_completion_status(self, name: str) -> None:
        with pytest.raises(IscConfigError, match="completionStatus cannot be combined with pending"):
            build_query(params(pending=True, filters={name: "ERROR"}), API_VERSIONS["v1"])

    def test_defaults(self) -> None:
        assert build_query(params(), API_VERSIONS["beta"]) == TaskQuery()


class TestRun:
    def test_one_task(self) -> None:
        client = mock_client()
        client.get_task.return_value = TASK_A

        assert run(TaskQuery(task_id="task-a"), client) == {"changed": False, "tasks": [TASK_A], "count": 1}
        client.get_task.assert_called_once_with("task-a")

    def test_unknown_task_is_reported_not_failed(self) -> None:
        client = mock_client()
        client.get_task.return_value = None

        result = run(TaskQuery(task_id="gone"), client)

        assert result["tasks"] == [] and result["count"] == 0 and result["changed"] is False
        assert "gone" in result["msg"] and "90 days" in result["msg"]

    def test_list_passes_every_option_and_returns_tasks_unchanged(self) -> None:
        client = mock_client()
        client.iter_tasks.return_value = iter([TASK_A, TASK_B])

        result = run(TaskQuery(filters={"type": "X"}, sorters="-created", offset=3, limit=2), client)

        assert result == {"changed": False, "tasks": [TASK_A, TASK_B], "count": 2}
        client.iter_tasks.assert_called_once_with({"type": "X"}, sorters="-created", offset=3, limit=2)
        client.count_tasks.assert_not_called()

    def test_pending_list(self) -> None:
        client = mock_client("v2025")
        client.iter_pending_tasks.return_value = iter([TASK_B])

        result = run(TaskQuery(pending=True, filters={"sourceId": "s"}, limit=5), client)

        assert result == {"changed": False, "tasks": [TASK_B], "count": 1}
        client.iter_pending_tasks.assert_called_once_with({"sourceId": "s"}, limit=5)
        client.iter_tasks.assert_not_called()

    def test_older_than_keeps_tasks_without_progress_that_long_stalest_first(self) -> None:
        now = datetime.now(UTC)

        def stamp(ago: timedelta) -> str:
            return (now - ago).strftime("%Y-%m-%dT%H:%M:%S.000Z")

        long_run = {"id": "long", "launched": stamp(timedelta(days=4)), "modified": stamp(timedelta(minutes=1))}
        stuck = {"id": "stuck", "launched": stamp(timedelta(hours=3)), "modified": None}
        stucker = {"id": "stucker", "launched": stamp(timedelta(days=2)), "modified": stamp(timedelta(hours=5))}
        client = mock_client("v1")
        client.iter_pending_tasks.side_effect = lambda filters: iter([long_run, stuck, stucker])

        result = run(TaskQuery(pending=True, older_than=timedelta(hours=2)), client)
        assert [task["id"] for task in result["tasks"]] == ["stucker", "stuck"]
        assert run(TaskQuery(pending=True, older_than=timedelta(hours=2), count_only=True), client)["count"] == 2
        assert [task["id"] for task in run(TaskQuery(pending=True, older_than=timedelta(hours=2), limit=1), client)["tasks"]] == ["stucker"]

    def test_older_than_needs_pending(self) -> None:
        with pytest.raises(IscConfigError) as raised:
            build_query(params(older_than="2h"), API_VERSIONS["v1"])
        assert raised.value.option == "older_than" and "pending" in str(raised.value)

    def test_bad_older_than_is_refused_by_name(self) -> None:
        with pytest.raises(IscConfigError) as raised:
            build_query(params(pending=True, older_than="2 fortnights"), API_VERSIONS["v1"])
        assert raised.value.option == "older_than"

    def test_count_only(self) -> None:
        client = mock_client()
        client.count_tasks.return_value = 42

        assert run(TaskQuery(count_only=True, filters='type eq "X"'), client) == {"changed": False, "count": 42}
        client.count_tasks.assert_called_once_with('type eq "X"')
        client.iter_tasks.assert_not_called()

    def test_count_only_pending(self) -> None:
        client = mock_client()
        client.count_pending_tasks.return_value = 7

        assert run(TaskQuery(count_only=True, pending=True), client) == {"changed": False, "count": 7}
        client.count_pending_tasks.assert_called_once_with(None)
        client.iter_pending_tasks.assert_not_called()

    def test_api_errors_propagate(self) -> None:
        client = mock_client()
        client.get_task.side_effect = IscNotFoundError(method="GET", path="/beta/task-status/{id}", status=404)
        with pytest.raises(IscNotFoundError):
            run(TaskQuery(task_id="x"), client)


class TestFields:
    def test_projection_keeps_id_and_the_named_fields(self) -> None:
        client = mock_client("v2025")
        client.iter_tasks.return_value = iter([{**TASK_A, "uniqueName": "A", "messages": []}, {**TASK_B, "uniqueName": "B"}])
        query = build_query(params(fields=["uniqueName", "completionStatus"]), API_VERSIONS["v2025"])
        assert query.fields == ("id", "uniqueName", "completionStatus")
        assert run(query, client)["tasks"] == [
            {"id": "task-a", "uniqueName": "A", "completionStatus": "SUCCESS"},
            {"id": "task-b", "uniqueName": "B", "completionStatus": None},
        ]

    def test_projection_of_one_task(self) -> None:
        client = mock_client()
        client.get_task.return_value = {**TASK_A, "uniqueName": "A"}
        result = run(build_query(params(id="task-a", fields=["completionStatus"]), API_VERSIONS["beta"]), client)
        assert result["tasks"] == [{"id": "task-a", "completionStatus": "SUCCESS"}]

    @pytest.mark.parametrize("fields", [["status"], ["completionStatus", "sourceId"], []])
    def test_unknown_or_no_fields_are_refused_by_name(self, fields: list[str]) -> None:
        with pytest.raises(IscConfigError) as raised:
            build_query(params(fields=fields), API_VERSIONS["beta"])
        assert raised.value.option == "fields" and "completionStatus" in str(raised.value)


class ModuleExit(Exception):
    def __init__(self, kind: str, result: dict[str, Any]) -> None:
        super().__init__(kind)
        self.kind = kind
        self.result = result


@pytest.fixture
def module_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    def exit_json(self: Any, **kwargs: Any) -> None:
        raise ModuleExit("exit", kwargs)

    def fail_json(self: Any, **kwargs: Any) -> None:
        raise ModuleExit("fail", kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


@pytest.fixture
def fake_client_class(monkeypatch: pytest.MonkeyPatch) -> Mock:
    built = Mock(name="IscClient")
    instance = Mock(spec=IscClient)
    built.return_value = instance
    monkeypatch.setattr(task_status_info, "IscClient", built)
    return built


@pytest.fixture
def sail_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SAIL_TENANT", "SAIL_ACCESS_TOKEN", "SAIL_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAIL_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SAIL_CLIENT_ID", "env-client")
    monkeypatch.setenv("SAIL_CLIENT_SECRET", "env-secret-value")


def run_main(args: dict[str, Any]) -> ModuleExit:
    with patch_module_args(args), pytest.raises(ModuleExit) as raised:
        task_status_info.main()
    return raised.value


@pytest.mark.usefixtures("module_exits", "sail_env")
class TestMain:
    def test_connection_from_environment_and_one_task(self, fake_client_class: Mock) -> None:
        fake_client_class.return_value.get_task.return_value = TASK_A

        outcome = run_main({"id": "task-a", "api_version": "v2026"})

        assert outcome.kind == "exit"
        assert outcome.result["tasks"] == [TASK_A] and outcome.result["changed"] is False
        config = fake_client_class.call_args.args[0]
        assert (config.base_url, config.client_id, config.api_version) == ("http://127.0.0.1:9", "env-client", "v2026")
        assert config.client_secret == "env-secret-value"

    def test_check_mode_runs_normally(self, fake_client_class: Mock) -> None:
        fake_client_class.return_value.count_pending_tasks.return_value = 3

        outcome = run_main({"pending": True, "count_only": True, "_ansible_check_mode": True})

        assert outcome.kind == "exit" and outcome.result["count"] == 3

    @pytest.mark.parametrize(
        "args",
        [
            {"id": "a", "filters": {"type": "X"}},
            {"id": "a", "pending": True},
            {"id": "a", "limit": 3},
            {"pending": True, "sorters": "created"},
            {"count_only": True, "limit": 3},
        ],
    )
    def test_mutually_exclusive_options_fail_before_a_client_exists(self, fake_client_class: Mock, args: dict[str, Any]) -> None:
        outcome = run_main(args)

        assert outcome.kind == "fail" and "mutually exclusive" in outcome.result["msg"]
        fake_client_class.assert_not_called()

    def test_invalid_filter_fails_naming_the_option_before_a_client_exists(self, fake_client_class: Mock) -> None:
        outcome = run_main({"filters": {"launcher": "sweep"}, "api_version": "beta"})

        assert outcome.kind == "fail"
        assert outcome.result["option"] == "filters" and "launcher" in outcome.result["msg"]
        fake_client_class.assert_not_called()

    def test_missing_connection_fails_with_the_fix(self, fake_client_class: Mock, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("SAIL_BASE_URL")

        outcome = run_main({"pending": True})

        assert outcome.kind == "fail" and outcome.result["option"] == "base_url"
        fake_client_class.assert_not_called()

    def test_api_error_becomes_fail_json_without_the_secret(self, fake_client_class: Mock) -> None:
        fake_client_class.return_value.iter_tasks.side_effect = IscNotFoundError(method="GET", path="/beta/task-status", status=404)

        outcome = run_main({"limit": 1})

        assert outcome.kind == "fail" and outcome.result["status"] == 404
        assert "env-secret-value" not in repr(outcome.result)
