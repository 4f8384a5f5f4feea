# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's hand-written version table against the vendor spec subsets, as the emulator reads them.

The emulator derives its table from tests/emulator/isc_emulator/specs/*.yaml at start-up (paths, pending-tasks,
which list covers in-progress tasks, filter fields and operators, sorters, enums); the client's table in
_versions.py and _filters.py is written by hand. Any difference is a misreading on one side.
"""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils import _filters, _versions
from isc_emulator import versions as spec_table

VERSION_NAMES = ["beta", "v2024", "v2025", "v2026", "v1"]


def test_the_same_versions_as_the_spec_files() -> None:
    assert list(_versions.API_VERSIONS) == list(spec_table.API_VERSIONS) == VERSION_NAMES


@pytest.mark.parametrize("name", VERSION_NAMES)
def test_version_as_its_spec_describes_it(name: str) -> None:
    client = _versions.API_VERSIONS[name]
    spec = spec_table.API_VERSIONS[name]
    assert client.list_path == spec.list_path
    assert client.has_pending_endpoint == spec.has_pending_endpoint
    assert client.list_includes_in_progress == spec.list_includes_in_progress
    assert client.filter_fields == spec.filter_fields


@pytest.mark.parametrize("name", VERSION_NAMES)
def test_every_path_the_client_builds_is_a_spec_path(name: str) -> None:
    client = _versions.API_VERSIONS[name]
    spec = spec_table.API_VERSIONS[name]
    paths = {spec.base_path + path for path in spec_table.load_spec(spec.spec_file)["paths"]}
    assert client.list_path in paths
    assert client.task_path("{id}") in paths
    assert (client.pending_path in paths) == client.has_pending_endpoint


def test_sorters_are_the_specs() -> None:
    for spec in spec_table.API_VERSIONS.values():
        assert set(_filters.SORTERS) == spec.sorters, spec.name


def test_completion_statuses_are_the_schema_enum() -> None:
    assert _versions.COMPLETION_STATUSES == spec_table.COMPLETION_STATUSES


def test_type_filter_values_are_those_the_specs_list() -> None:
    assert sorted(_versions.TASK_DEFINITION_TYPES) == sorted(spec_table.TASK_DEFINITION_TYPES)
    assert len(set(_versions.TASK_DEFINITION_TYPES)) == len(_versions.TASK_DEFINITION_TYPES)
