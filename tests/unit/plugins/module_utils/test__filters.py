# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError
from ansible_collections.sailpoint.isc.plugins.module_utils._filters import (
    build_filter,
    matches,
    normalize_structured_filter,
    quote_value,
    validate_sorters,
)
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import API_VERSIONS, ApiVersion

# The versions with a task-status spec (sailpoint-task-api.md section 1), written out rather than read from the code.
ALL_VERSIONS = ["beta", "v2024", "v2025", "v2026", "v1"]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_eq_and_in_render_on_every_version(version):
    rendered = build_filter({"type": "CLOUD_ACCOUNT_AGGREGATION", "source_id": ["a", "b"]}, API_VERSIONS[version])
    assert rendered == 'type eq "CLOUD_ACCOUNT_AGGREGATION" and sourceId in ("a","b")'


@pytest.mark.parametrize("version", ["v2025", "v2026", "v1"])
def test_isnull_allowed_from_v2025(version):
    assert build_filter({"completionStatus": None}, API_VERSIONS[version]) == "completionStatus isnull"


@pytest.mark.parametrize("version", ["beta", "v2024"])
def test_isnull_refused_before_v2025_with_a_fix(version):
    with pytest.raises(IscConfigError) as caught:
        build_filter({"completion_status": None}, API_VERSIONS[version])
    assert caught.value.option == "filters"
    assert "pending" in str(caught.value)


@pytest.mark.parametrize("version", ["beta", "v2024", "v2025"])
def test_launcher_only_on_v2026_and_v1(version):
    with pytest.raises(IscConfigError, match="launcher"):
        build_filter({"launcher": "sweep"}, API_VERSIONS[version])
    assert build_filter({"launcher": "sweep"}, API_VERSIONS["v2026"]) == 'launcher eq "sweep"'


def test_unknown_field_names_allowed_fields():
    with pytest.raises(IscConfigError) as caught:
        build_filter({"name": "x"}, API_VERSIONS["beta"])
    assert "completionStatus, id, sourceId, type" in str(caught.value)


@pytest.mark.parametrize("bad", [{"id": []}, {"id": ""}, {"id": {"a": 1}}, {"id": [None]}])
def test_bad_values_refused(bad):
    with pytest.raises(IscConfigError):
        build_filter(bad, API_VERSIONS["v2026"])


# docs/api/standard-collection-parameters.md: inside a value, write \ as \\ and " as \"; #, % and & are
# URL-encoded in the query (%23, %25, %26), which the HTTP library does, so they stay as they are in the filter.
@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("Active Directory", '"Active Directory"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\temp", '"C:\\\\temp"'),
        ('a"b\\c #&%', '"a\\"b\\\\c #&%"'),
    ],
)
def test_quotes_and_backslashes_escaped(value, quoted):
    assert quote_value(value) == quoted


def _unquote(text: str) -> str:
    assert text[0] == text[-1] == '"'
    out, index = [], 1
    while index < len(text) - 1:
        char = text[index]
        if char == "\\":
            index += 1
            char = text[index]
        else:
            assert char != '"', "unescaped quote inside a value"
        out.append(char)
        index += 1
    return "".join(out)


@given(st.text())
def test_quoting_round_trips_any_text(value):
    assert _unquote(quote_value(value)) == value


@given(st.lists(st.text(min_size=1), min_size=1, max_size=5), st.sampled_from(ALL_VERSIONS))
def test_in_lists_render_each_value_quoted(values, version):
    rendered = build_filter({"id": values}, API_VERSIONS[version])
    assert rendered.startswith("id in (") and rendered.endswith(")")
    assert rendered.count(",") >= len(values) - 1


def test_local_matching_follows_isc_fields_case_insensitively():
    task = {
        "id": "abc",
        "completionStatus": "SUCCESS",
        "launcher": "Sweep",
        "target": {"id": "src1", "type": "APPLICATION"},
        "taskDefinitionSummary": {"uniqueName": "Cloud Account Aggregation"},
    }
    version = API_VERSIONS["v2026"]
    assert matches(task, normalize_structured_filter({"type": "cloud_account_aggregation", "sourceId": "SRC1"}, version))
    assert matches(task, normalize_structured_filter({"completionStatus": ["error", "success"], "launcher": "sweep"}, version))
    assert not matches(task, normalize_structured_filter({"completionStatus": None}, version))
    assert not matches(task, normalize_structured_filter({"sourceId": "src2"}, version))


def test_sorters():
    assert validate_sorters("-created") == "-created"
    with pytest.raises(IscConfigError, match="sorters"):
        validate_sorters("modified")


def test_an_operator_a_version_lacks_is_named_as_such():
    version = ApiVersion("x", "/x/task-status", False, True, {"type": frozenset({"eq"})})
    with pytest.raises(IscConfigError) as caught:
        normalize_structured_filter({"type": ["A", "B"]}, version)
    assert "'type' cannot be filtered with in on API version x" in str(caught.value) and "isnull" not in str(caught.value)
