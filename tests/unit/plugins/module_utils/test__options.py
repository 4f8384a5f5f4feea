# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The options table: explicit settings win over SAIL_* variables in the exclusive pairs."""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._client import ClientConfig
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError
from ansible_collections.sailpoint.isc.plugins.module_utils._options import prefer_explicit

EMULATOR = "http://127.0.0.1:8080"


def test_an_explicit_tenant_beats_sail_base_url():
    environ = {"SAIL_BASE_URL": EMULATOR}
    options = {"base_url": EMULATOR, "tenant": "acme", "access_token": "t"}
    assert prefer_explicit(options, environ)["base_url"] is None
    assert ClientConfig.from_options(options, environ).base_url == "https://acme.api.identitynow.com"


def test_an_explicit_base_url_beats_sail_tenant():
    environ = {"SAIL_TENANT": "acme"}
    config = ClientConfig.from_options({"base_url": EMULATOR, "tenant": "acme", "access_token": "t"}, environ)
    assert config.base_url == EMULATOR


def test_an_explicit_access_token_beats_sail_client_secret():
    environ = {"SAIL_CLIENT_ID": "pat-id", "SAIL_CLIENT_SECRET": "s3cret-from-env"}
    config = ClientConfig.from_options({"base_url": EMULATOR, "client_id": "pat-id", "client_secret": "s3cret-from-env", "access_token": "tok"}, environ)
    assert (config.access_token, config.client_secret) == ("tok", None)


def test_explicit_client_credentials_beat_sail_access_token():
    environ = {"SAIL_ACCESS_TOKEN": "tok-from-env"}
    config = ClientConfig.from_options({"base_url": EMULATOR, "client_id": "pat-id", "client_secret": "s3cret", "access_token": "tok-from-env"}, environ)
    assert (config.access_token, config.client_secret) == (None, "s3cret")


def test_both_explicit_are_refused():
    with pytest.raises(IscConfigError) as caught:
        ClientConfig.from_options({"base_url": EMULATOR, "tenant": "acme", "access_token": "t"}, {})
    assert caught.value.option == "base_url"
    assert "mutually exclusive" in str(caught.value)


def test_both_from_the_environment_name_the_variables():
    environ = {"SAIL_CLIENT_SECRET": "s3cret-from-env", "SAIL_ACCESS_TOKEN": "tok-from-env"}
    with pytest.raises(IscConfigError) as caught:
        ClientConfig.from_options({"base_url": EMULATOR, "client_id": "id", "client_secret": "s3cret-from-env", "access_token": "tok-from-env"}, environ)
    message = str(caught.value)
    assert "SAIL_ACCESS_TOKEN" in message and "SAIL_CLIENT_SECRET" in message
    assert "s3cret-from-env" not in message and "tok-from-env" not in message
