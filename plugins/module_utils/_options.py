# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""The connection options, declared once.

``CONNECTION_OPTIONS`` yields the module argument spec (with environment fallbacks and ``no_log``), the option
names the lookup reads and the doc fragment ``sailpoint.isc.connection``, which is built from this table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible.module_utils.errors import AnsibleFallbackNotFound

API_VERSION_CHOICES = ("beta", "v2024", "v2025", "v2026", "v1")


def env_fallback(*names: str) -> str:
    """The first of ``names`` set to a non-empty value: an empty SAIL_* variable (a blank credential field) is unset."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


@dataclass(frozen=True)
class ConnectionOption:
    name: str
    type: str
    env: str | None = None
    default: Any = None
    no_log: bool = False
    choices: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    description: tuple[str, ...] = ()

    def argument_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": self.type, "no_log": self.no_log}
        if self.env:
            spec["fallback"] = (env_fallback, [self.env])
        if self.default is not None:
            spec["default"] = self.default
        if self.choices:
            spec["choices"] = list(self.choices)
        if self.aliases:
            spec["aliases"] = list(self.aliases)
        return spec


CONNECTION_OPTIONS: tuple[ConnectionOption, ...] = (
    ConnectionOption(
        "base_url",
        "str",
        env="SAIL_BASE_URL",
        description=(
            "URL of the ISC tenant's API, for example V(https://acme.api.identitynow.com).",
            "Plain V(http://) is accepted only for loopback addresses (a local emulator).",
            "One of O(base_url) and O(tenant) is required. When both are set and one of them comes from the environment, the other one is used.",
        ),
    ),
    ConnectionOption(
        "tenant",
        "str",
        env="SAIL_TENANT",
        description=("Tenant name; the API URL becomes V(https://{tenant}.api.identitynow.com).",),
    ),
    ConnectionOption(
        "client_id",
        "str",
        env="SAIL_CLIENT_ID",
        description=("OAuth client ID of a personal access token or API client.",),
    ),
    ConnectionOption(
        "client_secret",
        "str",
        env="SAIL_CLIENT_SECRET",
        no_log=True,
        description=("OAuth client secret belonging to O(client_id).",),
    ),
    ConnectionOption(
        "access_token",
        "str",
        env="SAIL_ACCESS_TOKEN",
        no_log=True,
        description=(
            "An access token to use instead of O(client_id) and O(client_secret). It cannot be renewed when it expires.",
            "When both this and O(client_secret) are set and one of them comes from the environment, the other one is used.",
        ),
    ),
    ConnectionOption(
        "api_version",
        "str",
        env="SAIL_API_VERSION",
        default="v1",
        choices=API_VERSION_CHOICES,
        description=(
            "ISC API version to call. V(v1) (C(/task-status/v1)) is the per-service version SailPoint's current SDK"
            " calls and is not deprecated. V(beta), V(v2024), V(v2025) and V(v2026) are the legacy versions.",
            "From V(v2025) on, the task list holds every task and pending tasks are listed with the"
            " C(completionStatus isnull) filter. On V(beta) and V(v2024) the list holds completed tasks only, so pending"
            " tasks come from their deprecated pending-tasks endpoint, which takes no filters (matched locally).",
        ),
    ),
    ConnectionOption(
        "validate_certs",
        "bool",
        env="SAIL_VALIDATE_CERTS",
        default=True,
        description=("Whether to verify the server's TLS certificate. Set to V(false) only for testing; a warning is shown.",),
    ),
    ConnectionOption(
        "ca_path",
        "path",
        env="SAIL_CA_PATH",
        description=(
            "A PEM file, or a directory prepared with C(openssl rehash), of CA certificates to trust instead of the system store.",
            "It takes precedence over E(REQUESTS_CA_BUNDLE).",
        ),
    ),
    ConnectionOption(
        "timeout",
        "float",
        env="SAIL_TIMEOUT",
        default=30.0,
        description=("Seconds to wait for each response.",),
    ),
    ConnectionOption(
        "retries",
        "int",
        env="SAIL_RETRIES",
        default=5,
        description=(
            "How many times a request is retried after a 502, 503 or 504, or a connection error. 5xx answers and read"
            " errors are retried only where repeating the request is safe (never a PATCH).",
            "429 answers are retried on every method, after the C(Retry-After) the service asks for (at least one second),"
            " for as long as O(max_retry_wait) allows and at most 100 times in a row, whatever this count.",
            "400, 403 and 404 are never retried. After a 401 a new token is requested once, when O(client_id) and O(client_secret) are given.",
        ),
    ),
    ConnectionOption(
        "max_retry_wait",
        "float",
        env="SAIL_MAX_RETRY_WAIT",
        default=120.0,
        description=(
            "Upper bound, in seconds, on the total time spent waiting between retries of one request, jitter included. Pacing by O(rate_limit) is not counted.",
        ),
    ),
    ConnectionOption(
        "rate_limit",
        "int",
        env="SAIL_RATE_LIMIT",
        default=95,
        description=(
            "Most requests, retries included, this process sends in any 10 seconds, so bulk work paces itself under"
            " ISC's limit of 100 requests per 10 seconds per client ID and API version. V(0) turns pacing off.",
        ),
    ),
    ConnectionOption(
        "experimental_header",
        "bool",
        env="SAIL_EXPERIMENTAL_HEADER",
        default=True,
        description=("Send C(X-SailPoint-Experimental: true), which endpoints that were once experimental required and which the others ignore.",),
    ),
)

CONNECTION_OPTION_NAMES: tuple[str, ...] = tuple(option.name for option in CONNECTION_OPTIONS)


def connection_argument_spec() -> dict[str, dict[str, Any]]:
    """The argument spec entries every module shares."""
    return {option.name: option.argument_spec() for option in CONNECTION_OPTIONS}


# Pairs of options of which one is used. Not handed to AnsibleModule as mutually_exclusive: it counts values
# from the environment as set, so a task's tenant would clash with an AWX credential's SAIL_BASE_URL.
# ClientConfig.from_options settles them with prefer_explicit.
EXCLUSIVE_PAIRS: tuple[tuple[str, str], ...] = (("base_url", "tenant"), ("access_token", "client_secret"))
_ENV_NAMES = {option.name: option.env for option in CONNECTION_OPTIONS}


def prefer_explicit(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """For each exclusive pair set twice, drop the half whose value is the environment's when the other half is not.

    Options arrive with environment fallbacks already applied, so a value equal to its variable's is taken to
    come from the environment, even when the task also sets it (to the same value, so nothing is lost). When both
    or neither half look explicit, both stay and the caller refuses them.
    """
    settled = dict(options)
    for first, second in EXCLUSIVE_PAIRS:
        if not (settled.get(first) and settled.get(second)):
            continue
        first_from_env = _from_environment(first, settled[first], environ)
        second_from_env = _from_environment(second, settled[second], environ)
        if first_from_env and not second_from_env:
            settled[first] = None
        elif second_from_env and not first_from_env:
            settled[second] = None
    return settled


def both_from_environment(first: str, second: str, options: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    return _from_environment(first, options.get(first), environ) and _from_environment(second, options.get(second), environ)


def env_name(option: str) -> str | None:
    return _ENV_NAMES.get(option)


def _from_environment(name: str, value: Any, environ: Mapping[str, str]) -> bool:
    variable = _ENV_NAMES.get(name)
    return bool(variable) and environ.get(variable) is not None and str(value) == environ[variable]


def options_from_plugin(plugin: Any) -> dict[str, Any]:
    """Read the connection options of a plugin (its ``get_option``) into the mapping ``ClientConfig`` takes."""
    return {name: plugin.get_option(name) for name in CONNECTION_OPTION_NAMES}
