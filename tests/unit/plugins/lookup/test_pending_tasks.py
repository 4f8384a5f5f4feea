# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import Mock

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.sailpoint.isc.plugins.doc_fragments.connection import ModuleDocFragment as ConnectionFragment
from ansible_collections.sailpoint.isc.plugins.lookup import pending_tasks
from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError, IscMissingLibraryError, IscServerError
from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig

NOW = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def task(task_id: str, *, launched_ago: timedelta | None = None, created_ago: timedelta = timedelta(0), now: datetime = NOW) -> dict[str, Any]:
    def stamp(age: timedelta) -> str:
        return (now - age).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return {
        "id": task_id,
        "created": stamp(created_ago if launched_ago is None else max(created_ago, launched_ago)),
        "launched": None if launched_ago is None else stamp(launched_ago),
        "completed": None,
        "completionStatus": None,
    }


# -- pure helpers -----------------------------------------------------------------------------------------------


def test_select_keeps_tasks_at_least_as_old_as_the_threshold_oldest_first() -> None:
    tasks = [
        task("recent", launched_ago=timedelta(hours=1)),
        task("two-days", launched_ago=timedelta(days=2)),
        task("exactly-six-hours", launched_ago=timedelta(hours=6)),
        task("queued-for-a-week", created_ago=timedelta(weeks=1)),
    ]
    selected = pending_tasks.select_tasks(tasks, "6h", None, NOW)
    assert [item["id"] for item in selected] == ["queued-for-a-week", "two-days", "exactly-six-hours"]


def test_select_without_threshold_returns_every_task_oldest_first_and_untimed_last() -> None:
    tasks = [task("b", launched_ago=timedelta(minutes=1)), {"id": "untimed"}, task("a", launched_ago=timedelta(hours=2))]
    assert [item["id"] for item in pending_tasks.select_tasks(tasks, None, None, NOW)] == ["a", "b", "untimed"]


def test_select_drops_untimed_tasks_when_a_threshold_is_set() -> None:
    assert pending_tasks.select_tasks([{"id": "untimed"}], "1s", None, NOW) == []


def test_select_limit_keeps_the_oldest() -> None:
    tasks = [task(str(hours), launched_ago=timedelta(hours=hours)) for hours in (1, 5, 3, 9)]
    assert [item["id"] for item in pending_tasks.select_tasks(tasks, None, 2, NOW)] == ["9", "5"]


def test_select_refuses_a_limit_below_one() -> None:
    with pytest.raises(IscConfigError, match="Invalid option 'limit'"):
        pending_tasks.select_tasks([], None, 0, NOW)


def test_task_types_are_case_insensitive_and_spelled_as_isc_does() -> None:
    assert pending_tasks.task_types(["identity_refresh", " Cloud_Account_Aggregation "]) == ["IDENTITY_REFRESH", "CLOUD_ACCOUNT_AGGREGATION"]


def test_unsupported_type_names_the_option_and_lists_the_valid_ones() -> None:
    with pytest.raises(IscConfigError) as caught:
        pending_tasks.task_types(["QUARTZ"])
    message = str(caught.value)
    assert message.startswith("Invalid option 'type': 'QUARTZ' is not a supported task type.")
    # The `type` filter's "Possible Values" in the v1 and v2026 specs (a superset of v2025's), written out here.
    for name in (
        "CLOUD_ACCOUNT_AGGREGATION", "CLOUD_GROUP_AGGREGATION", "CLOUD_PROCESS_UNCORRELATED_ACCOUNTS", "CLOUD_REFRESH_ROLE",
        "SOURCE_APPLICATION_DISCOVERY", "AI_AGENT_AGGREGATION", "CLOUD_ENTITLEMENT_IMPORT", "CLOUD_UNCORRELATED_REFRESH",
        "CLOUD_IDENTITY_AGGREGATION", "CLOUD_ATTRIBUTE_SYNCHRONIZATION", "IDENTITY_REFRESH", "APPLICATION_DISCOVERY",
        "MACHINE_IDENTITY_AGGREGATION", "MACHINE_IDENTITY_DELETION", "ACCOUNT_DELETION",
    ):  # fmt: skip
        assert name in message


def test_pending_filters_leave_out_empty_options() -> None:
    assert pending_tasks.pending_filters([], []) == {}
    assert pending_tasks.pending_filters(["IDENTITY_REFRESH"], ["src"]) == {"type": ["IDENTITY_REFRESH"], "sourceId": ["src"]}


# -- the plugin, loaded as Ansible loads it -------------------------------------------------------------------


@pytest.fixture
def no_sail_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SAIL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, no_sail_environment: None) -> Iterator[Mock]:
    """Replace the client class; record the configs it was built with."""
    fake = Mock(spec=IscClient)
    fake.iter_pending_tasks.return_value = iter([])
    built: list[ClientConfig] = []

    def factory(config: ClientConfig, warn: Any = None) -> Mock:
        built.append(config)
        return fake

    monkeypatch.setattr(pending_tasks, "IscClient", factory)
    fake.built_configs = built
    yield fake


def lookup(variables: dict[str, Any] | None = None) -> pending_tasks.LookupModule:
    """The plugin with the option definitions Ansible's loader would register: its DOCUMENTATION plus the
    ``sailpoint.isc.connection.PLUGINS`` fragment (the loader itself needs the collection finder installed
    before anything imports ``ansible_collections``, which plain pytest does not do)."""
    options = yaml.safe_load(pending_tasks.DOCUMENTATION)["options"]
    for name, definition in yaml.safe_load(ConnectionFragment.PLUGINS)["options"].items():
        options.setdefault(name, definition)
    plugin = pending_tasks.LookupModule(loader=DataLoader(), templar=Templar(loader=DataLoader(), variables=variables or {}))
    plugin._load_name = "sailpoint.isc.pending_tasks"
    C.config.initialize_plugin_configuration_definitions("lookup", plugin._load_name, options)
    return plugin


def test_documented_options_are_the_fragment_plus_the_lookup_options() -> None:
    documented = set(yaml.safe_load(pending_tasks.DOCUMENTATION)["options"])
    assert documented == {"_terms", "type", "source_id", "older_than", "limit"}
    assert "sailpoint.isc.connection.PLUGINS" in yaml.safe_load(pending_tasks.DOCUMENTATION)["extends_documentation_fragment"]


def test_connection_comes_from_the_environment(client: Mock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAIL_BASE_URL", "https://acme.api.identitynow.com")
    monkeypatch.setenv("SAIL_CLIENT_ID", "env-client")
    monkeypatch.setenv("SAIL_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("SAIL_API_VERSION", "v2026")
    now = datetime.now(UTC)
    client.iter_pending_tasks.return_value = iter(
        [task("old", launched_ago=timedelta(hours=13), now=now), task("new", launched_ago=timedelta(hours=11), now=now)]
    )

    result = lookup().run([], variables={}, older_than="12h")

    assert [item["id"] for item in result] == ["old"]
    (config,) = client.built_configs
    assert (config.base_url, config.client_id, config.client_secret, config.api_version) == (
        "https://acme.api.identitynow.com",
        "env-client",
        "env-secret",
        "v2026",
    )
    client.iter_pending_tasks.assert_called_once_with(filters=None)


def test_variables_override_the_environment_and_keywords_override_variables(client: Mock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAIL_BASE_URL", "https://env.api.identitynow.com")
    monkeypatch.setenv("SAIL_CLIENT_ID", "env-client")
    monkeypatch.setenv("SAIL_CLIENT_SECRET", "env-secret")
    variables = {"sail_base_url": "https://vars.api.identitynow.com", "sail_client_id": "vars-client"}

    lookup(variables).run([], variables=variables, client_id="keyword-client")

    (config,) = client.built_configs
    assert config.base_url == "https://vars.api.identitynow.com"
    assert config.client_id == "keyword-client"
    assert config.client_secret == "env-secret"


def test_connection_variables_are_templated(client: Mock) -> None:
    variables = {
        # Play variables arrive as written, marked trusted for templating as a playbook's own values are.
        "sail_base_url": trust_as_template("https://{{ isc_tenant_name }}.api.identitynow.com"),
        "sail_client_id": trust_as_template("{{ vault_client_id }}"),
        "sail_client_secret": trust_as_template("{{ vault_client_secret }}"),
        "isc_tenant_name": "acme",
        "vault_client_id": "vaulted-id",
        "vault_client_secret": "vaulted-secret",
    }
    lookup(variables).run([], variables=variables)
    (config,) = client.built_configs
    assert (config.base_url, config.client_id, config.client_secret) == ("https://acme.api.identitynow.com", "vaulted-id", "vaulted-secret")


def test_type_and_source_become_structured_filters(client: Mock) -> None:
    lookup().run(
        [],
        variables={},
        base_url="https://acme.api.identitynow.com",
        client_id="c",
        client_secret="s",
        type="cloud_account_aggregation,IDENTITY_REFRESH",
        source_id=["src-1", "src-2"],
    )
    client.iter_pending_tasks.assert_called_once_with(filters={"type": ["CLOUD_ACCOUNT_AGGREGATION", "IDENTITY_REFRESH"], "sourceId": ["src-1", "src-2"]})


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"older_than": "6x"}, "Invalid option 'older_than': unknown duration unit 'x' in '6x'."),
        ({"older_than": "soon"}, "Invalid option 'older_than': 'soon' is not a duration."),
        ({"older_than": "99999999999999w"}, "Invalid option 'older_than': '99999999999999w' is too long"),
        ({"type": "NOT_A_TYPE"}, "Invalid option 'type': 'NOT_A_TYPE' is not a supported task type."),
        ({"source_id": ["ok", " "]}, "Invalid option 'source_id': a source ID is empty."),
        ({"base_url": None}, "Invalid option 'base_url': no ISC tenant given."),
    ],
)
def test_bad_options_fail_before_any_client_exists(client: Mock, options: dict[str, Any], expected: str) -> None:
    keywords = {"base_url": "https://acme.api.identitynow.com", "client_id": "c", "client_secret": "s", **options}
    with pytest.raises(AnsibleLookupError) as caught:
        lookup().run([], variables={}, **keywords)
    assert expected in str(caught.value)
    assert client.built_configs == []


def test_client_errors_become_ansible_errors_with_the_same_message(client: Mock) -> None:
    failure = IscServerError(method="GET", path="/beta/task-status/pending-tasks", status=500, tracking_id="t-1")
    client.iter_pending_tasks.side_effect = failure
    with pytest.raises(AnsibleLookupError) as caught:
        lookup().run([], variables={}, base_url="https://acme.api.identitynow.com", client_id="c", client_secret="s")
    assert str(failure) in str(caught.value)
    assert caught.value.__cause__ is failure


def test_terms_are_refused(client: Mock) -> None:
    with pytest.raises(AnsibleLookupError, match="takes no terms"):
        lookup().run(["6h"], variables={}, base_url="https://acme.api.identitynow.com", client_id="c", client_secret="s")
    assert client.built_configs == []


def test_missing_client_library_is_reported(monkeypatch: pytest.MonkeyPatch, no_sail_environment: None) -> None:
    def without_requests(config: ClientConfig, warn: Any = None) -> Mock:
        raise IscMissingLibraryError("The Python library requests (and urllib3) is required on the host that runs this task.")

    monkeypatch.setattr(pending_tasks, "IscClient", without_requests)
    with pytest.raises(AnsibleLookupError, match="library requests"):
        lookup().run([], variables={}, base_url="https://acme.api.identitynow.com", client_id="c", client_secret="s")


def test_unknown_options_are_named(client: Mock) -> None:
    with pytest.raises(AnsibleLookupError) as caught:
        lookup().run([], variables={}, base_url="https://acme.api.identitynow.com", client_id="c", client_secret="s", older="6h")
    assert "Invalid option 'older'" in str(caught.value) and "older_than" in str(caught.value)
    assert client.built_configs == []
