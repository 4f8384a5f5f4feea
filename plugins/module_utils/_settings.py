# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Settings from options: one precedence rule, then ``ClientConfig``, checked before any request."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ansible.module_utils.parsing.convert_bool import boolean

from ._errors import IscConfigError
from ._options import API_VERSION_CHOICES, CONNECTION_OPTIONS
from ._versions import API_VERSIONS, DEFAULT_API_VERSION

# Pairs of options of which one is used. Not AnsibleModule's mutually_exclusive: that counts values from the
# environment as set, so a task's tenant would clash with an AWX credential's SAIL_BASE_URL.
EXCLUSIVE_PAIRS = (("base_url", "tenant"), ("access_token", "client_secret"))
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
VERSION_PATH_PATTERN = re.compile(r"/(beta|v3|v20\d\d|task-status|oauth)(/|$)")
_ENV_NAMES = {option.name: option.env for option in CONNECTION_OPTIONS}


def settle_options(given: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[dict[str, Any], frozenset[str]]:
    """Each connection option by one rule: the task's arguments (module_defaults included), then its SAIL_*
    variable, then its default. An empty variable counts as unset; an empty argument is kept, and refused later.
    Of an exclusive pair, a half the task sets wins over the other half from the environment.

    Modules get their values with the environment already applied (argument spec fallbacks), so a value equal to
    its variable's counts as the environment's. Returns the values and the names whose value is the environment's.
    """
    values: dict[str, Any] = {}
    from_env: set[str] = set()
    for option in CONNECTION_OPTIONS:
        value = given.get(option.name)
        env_value = environ.get(option.env) or None if option.env else None
        if value is None:
            value = env_value
        if env_value is not None and str(value) == env_value:
            from_env.add(option.name)
        values[option.name] = option.default if value is None else value
    for pair in EXCLUSIVE_PAIRS:
        from_env_half = from_env.intersection(pair)
        if all(values[name] for name in pair) and len(from_env_half) == 1:
            values[from_env_half.pop()] = None
    return values, frozenset(from_env)


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    api_version: str = DEFAULT_API_VERSION
    client_id: str | None = None
    client_secret: str | None = None
    access_token: str | None = None
    validate_certs: bool = True
    ca_path: str | None = None
    timeout: float = 30.0
    retries: int = 5
    max_retry_wait: float = 120.0
    rate_limit: int = 95
    experimental_header: bool = True

    def __repr__(self) -> str:
        # Secrets stay out of any repr that might end up in a traceback or a debug line.
        return f"ClientConfig(base_url={self.base_url!r}, api_version={self.api_version!r}, client_id={self.client_id!r})"

    @classmethod
    def from_options(cls, given: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> ClientConfig:
        """Settle and check connection options (module params, plugin or event source arguments); raise IscConfigError."""
        options, from_env = settle_options(given, os.environ if environ is None else environ)

        def refuse_both(first: str, second: str) -> None:
            if options[first] and options[second]:
                raise _both_set_error(first, second, both_from_env={first, second} <= from_env)

        refuse_both("base_url", "tenant")
        base_url = _base_url(options)
        api_version = str(options["api_version"])
        if api_version not in API_VERSIONS:
            raise IscConfigError("api_version", f"'{api_version}' is not a supported API version.", f"Use one of: {', '.join(API_VERSION_CHOICES)}.")
        refuse_both("access_token", "client_secret")
        credentials = _credentials(options)
        numbers = {name: _number(options, name, minimum) for name, minimum in (("timeout", 0.001), ("retries", 0), ("max_retry_wait", 0), ("rate_limit", 0))}
        ca_path = os.path.expanduser(str(options["ca_path"])) if options["ca_path"] else None
        validate_certs = boolean_option("validate_certs", options["validate_certs"])
        if ca_path and not os.path.exists(ca_path):
            raise IscConfigError("ca_path", f"'{ca_path}' does not exist.", "Give a PEM CA bundle or a directory of CA certificates on the task's host.")
        if ca_path and not validate_certs:
            raise IscConfigError(
                "ca_path",
                "ca_path and validate_certs: false contradict each other.",
                "Keep ca_path to verify the tenant against that CA, or drop it to skip verification.",
            )
        return cls(
            base_url=base_url,
            api_version=api_version,
            **credentials,
            validate_certs=validate_certs,
            ca_path=ca_path,
            timeout=numbers["timeout"],
            retries=int(numbers["retries"]),
            max_retry_wait=numbers["max_retry_wait"],
            rate_limit=int(numbers["rate_limit"]),
            experimental_header=boolean_option("experimental_header", options["experimental_header"]),
        )


def _both_set_error(first: str, second: str, *, both_from_env: bool) -> IscConfigError:
    if both_from_env:
        return IscConfigError(
            first,
            f"the environment sets both {_ENV_NAMES[first]} and {_ENV_NAMES[second]}, which are mutually exclusive.",
            f"Unset one of them, or set {first} or {second} in the task to a value other than the environment's, which then wins.",
        )
    return IscConfigError(first, f"{first} and {second} are mutually exclusive.", "Set only one of them.")


def _credentials(options: Mapping[str, Any]) -> dict[str, str | None]:
    credentials = {name: str(options[name]) if options[name] else None for name in ("client_id", "client_secret", "access_token")}
    if not credentials["access_token"]:
        if not credentials["client_id"]:
            raise IscConfigError(
                "client_id", "no credentials given.", "Set client_id and client_secret (or SAIL_CLIENT_ID and SAIL_CLIENT_SECRET), or access_token."
            )
        if not credentials["client_secret"]:
            raise IscConfigError(
                "client_secret", "client_id is set but client_secret is not.", "Set client_secret or the SAIL_CLIENT_SECRET environment variable."
            )
    return credentials


def boolean_option(name: str, value: Any) -> bool:
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise IscConfigError(name, f"'{value}' is not a boolean.", "Use true or false.") from None


def _number(options: Mapping[str, Any], name: str, minimum: float) -> float:
    value = options[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise IscConfigError(name, f"'{value}' is not a number.") from None
    if number < minimum:
        raise IscConfigError(name, f"{value} is below the minimum of {minimum:g}.")
    return number


def _base_url(options: Mapping[str, Any]) -> str:
    base_url, tenant = (str(options[name] or "").strip() for name in ("base_url", "tenant"))
    if tenant:
        if not TENANT_PATTERN.match(tenant):
            raise IscConfigError(
                "tenant", f"'{tenant}' is not a tenant name.", "Give the name only (acme for https://acme.api.identitynow.com), or use base_url."
            )
        return f"https://{tenant}.api.identitynow.com"
    if not base_url:
        raise IscConfigError("base_url", "no ISC tenant given.", "Set base_url (or the SAIL_BASE_URL environment variable), or tenant.")
    parts = urlsplit(base_url)
    # These two first: the messages after them quote base_url, which must then hold no credential.
    if parts.username is not None or parts.password is not None:
        raise IscConfigError(
            "base_url",
            "the URL must not contain a user name or password.",
            "Give the tenant's API root only (https://acme.api.identitynow.com); credentials go in client_id and client_secret.",
        )
    if parts.query or parts.fragment:
        raise IscConfigError("base_url", "the URL must not contain a query or fragment.", "Give the tenant's API root only.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IscConfigError("base_url", f"'{base_url}' is not an http(s) URL.", "Use the form https://acme.api.identitynow.com.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise IscConfigError(
            "base_url",
            f"plain http:// is refused for {parts.hostname}: credentials would travel unencrypted.",
            "Use https://; http:// is accepted only for loopback addresses (a local emulator).",
        )
    path = parts.path.rstrip("/")
    if VERSION_PATH_PATTERN.search(path + "/"):
        raise IscConfigError(
            "base_url",
            f"'{base_url}' includes an API version or endpoint path.",
            "Give the tenant's API root (https://acme.api.identitynow.com) and choose the version with api_version.",
        )
    return f"{parts.scheme}://{parts.netloc}{path}"


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
