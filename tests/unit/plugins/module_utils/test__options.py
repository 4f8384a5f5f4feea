# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one table of connection options: the argument spec it yields."""

from __future__ import annotations

import pytest
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.sailpoint.isc.plugins.module_utils._options import CONNECTION_OPTIONS, connection_argument_spec, env_fallback


@pytest.mark.parametrize("option", CONNECTION_OPTIONS, ids=lambda option: option.name)
def test_argument_spec_has_env_fallback_and_no_log(option):
    spec = connection_argument_spec()[option.name]
    assert spec["fallback"] == (env_fallback, [option.env])
    assert spec["no_log"] is (option.name in ("client_secret", "access_token"))


def test_an_empty_environment_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("SAIL_API_VERSION", "")
    with pytest.raises(AnsibleFallbackNotFound):
        env_fallback("SAIL_API_VERSION")
    monkeypatch.setenv("SAIL_API_VERSION", "v2025")
    assert env_fallback("SAIL_API_VERSION") == "v2025"
