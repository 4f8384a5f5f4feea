# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Settings from options: one precedence rule; explicit settings win over SAIL_* variables in the exclusive pairs."""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError
from ansible_collections.sailpoint.isc.plugins.module_utils._settings import ClientConfig, settle_options

EMULATOR = "http://127.0.0.1:8080"


def test_an_explicit_tenant_beats_sail_base_url():
    environ = {"SAIL_BASE_URL": EMULATOR}
    options = {"base_url": EMULATOR, "tenant": "acme", "access_token": "t"}
    assert settle_options(options, environ)[0]["base_url"] is None
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


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"base_url": "http://isc.example.com"}, "base_url"),
        ({"base_url": "https://acme.api.identitynow.com/beta"}, "base_url"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": "https://user:pw@acme.api.identitynow.com"}, "base_url"),
        ({"base_url": "https://acme.api.identitynow.com/oauth/token"}, "base_url"),
        ({}, "base_url"),
        ({"tenant": "acme.example"}, "tenant"),
        ({"base_url": "https://a.example", "client_secret": None}, "client_secret"),
        ({"base_url": "https://a.example", "client_id": None}, "client_id"),
        ({"base_url": "https://a.example", "timeout": 0}, "timeout"),
        ({"base_url": "https://a.example", "retries": -1}, "retries"),
        ({"base_url": "https://a.example", "api_version": "v3"}, "api_version"),
    ],
)
def test_bad_connection_options_name_the_option(options, option):
    settings = {"client_id": "id", "client_secret": "s3cret-value", **options}
    with pytest.raises(IscConfigError) as caught:
        ClientConfig.from_options(settings)
    assert caught.value.option == option
    assert "s3cret-value" not in str(caught.value)


def test_tenant_and_loopback_http():
    assert ClientConfig.from_options({"tenant": "acme", "access_token": "t"}).base_url == "https://acme.api.identitynow.com"
    assert ClientConfig.from_options({"base_url": "http://127.0.0.1:8080/", "access_token": "t"}).base_url == "http://127.0.0.1:8080"
    assert "s3cret" not in repr(ClientConfig.from_options({"base_url": "https://a.example", "client_id": "i", "client_secret": "s3cret"}))


def test_arguments_then_environment_then_defaults_as_the_event_source_gets_them():
    environ = {"SAIL_BASE_URL": "https://env.api.identitynow.com", "SAIL_CLIENT_SECRET": "s", "SAIL_VALIDATE_CERTS": "no", "SAIL_TIMEOUT": "5"}
    config = ClientConfig.from_options({"client_id": "from-args", "rate_limit": 10}, environ)
    assert (config.base_url, config.client_id, config.validate_certs) == ("https://env.api.identitynow.com", "from-args", False)
    assert (config.timeout, config.rate_limit, config.retries, config.api_version) == (5.0, 10, 5, "v1")
    with pytest.raises(IscConfigError) as caught:
        ClientConfig.from_options({}, {**environ, "SAIL_CLIENT_ID": ""})
    assert caught.value.option == "client_id", "an empty variable counts as unset"


@pytest.mark.parametrize("option", ["validate_certs", "experimental_header"])
def test_a_mistyped_boolean_is_refused_not_read_as_false(option):
    with pytest.raises(IscConfigError) as caught:
        ClientConfig.from_options({"base_url": EMULATOR, "access_token": "t", option: "ture"}, {})
    assert caught.value.option == option


@pytest.mark.parametrize("base_url", ["htps://user:pa55word@acme.api.identitynow.com", "https://acme.api.identitynow.com/beta?token=pa55word"])
def test_a_base_url_is_not_quoted_while_it_may_hold_a_credential(base_url):
    with pytest.raises(IscConfigError) as caught:
        ClientConfig.from_options({"base_url": base_url, "access_token": "t"}, {})
    assert caught.value.option == "base_url" and "pa55word" not in str(caught.value)
